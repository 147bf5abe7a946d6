"""How a courier is named to a person (carriers' tokens are Shippo's)."""

NAMES = {
    "usps": "USPS", "ups": "UPS", "fedex": "FedEx", "dhl_express": "DHL Express", "dhl_ecommerce": "DHL eCommerce",
    "royal_mail": "Royal Mail", "parcelforce": "Parcelforce", "dpd_uk": "DPD", "dpd_de": "DPD", "evri": "Evri",
    "deutsche_post": "Deutsche Post", "canada_post": "Canada Post", "australia_post": "Australia Post",
    "simulated": "Demo Courier",
}


def courier_name(token: str | None) -> str | None:
    if not token:
        return None
    return NAMES.get(token.lower(), token.replace("_", " ").title())
