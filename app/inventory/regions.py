"""Where a depot may ship: its own country, and the countries or regions it is set to serve.

Shipping across a customs border makes a swap slower and dearer (duties, declarations, export rules),
so a depot serves only its own country unless its `serves` says more — country codes, or a region's
name for a whole customs union at once."""

from collections.abc import Iterable

# The European Union's customs union: goods move between its members without customs formalities.
EU = frozenset({"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
                "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"})
REGIONS: dict[str, frozenset[str]] = {"EU": EU}


def countries_served(own_country: str, serves: Iterable[str]) -> frozenset[str]:
    """The countries a depot in `own_country` ships to, `serves` naming countries or regions."""
    served = {own_country}
    for name in serves:
        served |= REGIONS.get(name, {name})
    return frozenset(served)


def crosses_customs(from_country: str, to_country: str) -> bool:
    """A shipment between two countries needs a customs declaration unless both are one customs union."""
    if from_country == to_country:
        return False
    return not any(from_country in union and to_country in union for union in REGIONS.values())
