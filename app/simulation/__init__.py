"""The service simulating itself: a year of failures played through the real intake, allocation,
waitlist, booking, tracking, returns and refurbishing on a throwaway database, with the simulated
carrier and the injected clock; SimPy only orders the arrivals and the couriers' events."""
