"""Asking the carrier about a worker's address (see `swaps.addresses` for what follows from it)."""

import logging

from app.errors import Unprocessable
from app.models import SwapRequest
from app.shipping.carrier import Address, Carrier, CarrierError
from app.swaps.addresses import CORRECTED, FIELDS, UNCHECKED, VALID, AddressVerdict

log = logging.getLogger(__name__)


def check(carrier: Carrier, address: Address, *, field_prefix: str = "worker.address") -> AddressVerdict:
    """Raises Unprocessable for an address the carrier says it cannot deliver to."""
    try:
        answer = carrier.validate_address(address)
    except CarrierError as e:
        log.warning("address check unavailable (%s): the swap goes ahead, checked again before booking", e)
        return AddressVerdict(UNCHECKED, messages=("The carrier could not be asked; checked again before booking.",))
    if not answer.valid:
        fields = answer.fields or ("street1", "postal_code")
        raise Unprocessable(
            "The carrier cannot deliver to this address: " + ("; ".join(answer.messages) or "it is not valid") + ".",
            errors=[{"field": f"{field_prefix}.{f}", "in": "body", "message": "not a deliverable address"}
                    for f in fields], carrier_messages=list(answer.messages))
    given = {"street1": address.street1, "city": address.city, "region": address.state,
             "postal_code": address.postal_code}
    corrections = {k: {"given": given[k] or "", "corrected": v} for k, v in (answer.corrected or {}).items()
                   if k in FIELDS}
    return AddressVerdict(CORRECTED if corrections else VALID, corrections, answer.messages)



def address_of(swap: SwapRequest) -> Address:
    return Address(name=swap.worker_name, street1=swap.street1, street2=swap.street2, city=swap.city,
                   state=swap.region, postal_code=swap.postal_code, country=swap.country, phone=swap.worker_phone,
                   email=swap.worker_email)
