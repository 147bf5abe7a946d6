"""Stock planning: the scenario a simulation runs, the Poisson par levels, and stored simulations."""
