"""The worker's address, checked with the carrier at intake: a courier cannot deliver to an address it
does not know, and finding out at booking time costs the worker a day.

- invalid: the request is refused (422) naming the fields and the carrier's words, and nothing is kept;
- valid with corrections: the corrected fields are stored (what was given stays on record) and shown;
- the carrier cannot be asked (an outage): the swap is taken in all the same, marked `unchecked`, and
  the address is checked again before its labels are bought.

The carrier is asked by `shipping.address_check`; this module holds the verdict and what it does."""

from dataclasses import dataclass, field

from app.models import SwapRequest

VALID, CORRECTED, UNCHECKED = "valid", "corrected", "unchecked"
FIELDS = ("street1", "city", "region", "postal_code")


@dataclass(frozen=True)
class AddressVerdict:
    status: str  # valid | corrected | unchecked
    corrections: dict[str, dict[str, str]] = field(default_factory=dict)  # field → {"given", "corrected"}
    messages: tuple[str, ...] = ()

    def record(self) -> dict:
        return {"corrections": self.corrections, "messages": list(self.messages)}


def apply(swap: SwapRequest, verdict: AddressVerdict) -> None:
    """The swap takes the carrier's spelling; the check (and what was given) stays on the swap."""
    for name, change in verdict.corrections.items():
        setattr(swap, name, change["corrected"])
    swap.address_status, swap.address_check = verdict.status, verdict.record()
