"""The customs declaration a shipment across a customs border carries: what the box holds, what it is
worth, where it was made, and who pays the duties (the company, never the worker)."""

from dataclasses import asdict, dataclass
from decimal import Decimal

from app.inventory.regions import crosses_customs
from app.shipping.carrier import Customs, CustomsItem, PermanentCarrierError

# US exports: no Electronic Export Information is needed under $2,500 a commodity (15 CFR 30.37(a));
# to Canada none at all (30.36). Above that an AES filing gives an ITN that only a person can obtain.
US_EEI_EXEMPT_BELOW = Decimal(2500)


@dataclass(frozen=True)
class Goods:
    description: str
    value: Decimal
    currency: str
    weight_kg: Decimal
    hs_code: str | None
    origin_country: str | None


def declaration(goods: Goods, *, from_country: str, to_country: str, returning: bool, signer: str) -> Customs | None:
    """The declaration for one device going from `from_country` to `to_country` (None within a
    customs union). Missing data is a permanent failure: a wrong declaration is worse than none."""
    if not crosses_customs(from_country, to_country):
        return None
    missing = [name for name, value in (("hs_code", goods.hs_code), ("origin_country", goods.origin_country)) if not value]
    if missing or goods.value <= 0:
        raise PermanentCarrierError(
            f"a shipment from {from_country} to {to_country} needs a customs declaration: set the model's "
            f"{', '.join(missing + ([] if goods.value > 0 else ['replacement_value']))}")
    eel_pfc = None
    if from_country == "US":
        if goods.currency == "USD" and goods.value >= US_EEI_EXEMPT_BELOW and to_country != "CA":
            raise PermanentCarrierError(f"an export from the US worth {goods.value} USD needs an AES filing (ITN): "
                                        "book this label by hand")
        eel_pfc = "NOEEI_30_36" if to_country == "CA" else "NOEEI_30_37_a"
    item = CustomsItem(description=goods.description[:100], quantity=1, net_weight_kg=goods.weight_kg,
                       value=goods.value, currency=goods.currency, origin_country=goods.origin_country,
                       hs_code=goods.hs_code.replace(".", ""))
    return Customs(contents_type="RETURN_MERCHANDISE" if returning else "MERCHANDISE", items=(item,),
                   certify_signer=signer, incoterm="DDP", eel_pfc=eel_pfc)


def as_record(customs: Customs | None) -> dict | None:
    """The declaration as kept on the shipment (JSON: amounts as strings)."""
    if customs is None:
        return None
    record = asdict(customs)
    for item in record["items"]:
        item["net_weight_kg"], item["value"] = str(item["net_weight_kg"]), str(item["value"])
    return record
