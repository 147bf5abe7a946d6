"""A real SimulatedCarrier behind a wire that fails, for the outbox's reliability tests."""

import random
from collections import Counter

from app.shipping.carrier import TemporaryCarrierError
from app.shipping.simulated import SimulatedCarrier


class Crash(BaseException):
    """The worker process dying (not an error it can catch)."""


class FlakyCarrier:
    """A real SimulatedCarrier behind a wire that fails: some calls never arrive, and some label
    purchases succeed at the carrier while the answer is lost."""

    def __init__(self, inner: SimulatedCarrier, *, failure_rate: float = 0.0, seed: int = 7,
                 crash_after_buys: int = 0):
        self.inner, self.name, self.finds_pickups = inner, inner.name, inner.finds_pickups
        self.settle_after = inner.settle_after
        self.rng, self.failure_rate = random.Random(seed), failure_rate
        self.crash_after_buys = crash_after_buys
        self.purchases: Counter[str] = Counter()  # reference -> labels actually bought
        self.calls = 0

    def _wire(self):
        self.calls += 1
        if self.rng.random() < self.failure_rate:  # the call never reached the carrier
            raise TemporaryCarrierError("503 from the carrier", status_code=503, maybe_done=False)

    def get_rates(self, **kw):
        self._wire()
        return self.inner.get_rates(**kw)

    def find_labels(self, **kw):
        self._wire()
        return self.inner.find_labels(**kw)

    def find_pickup(self, **kw):
        self._wire()
        return self.inner.find_pickup(**kw)

    def refund_label(self, **kw):
        self._wire()
        return self.inner.refund_label(**kw)

    def get_label(self, *, label_id):
        self._wire()
        return self.inner.get_label(label_id)

    def book_pickup(self, **kw):
        self._wire()
        return self.inner.book_pickup(**kw)

    def track(self, **kw):
        return self.inner.track(**kw)

    def buy_label(self, *, rate_id, reference):
        self._wire()
        # Every purchase that reaches the carrier counts: a real carrier would charge each one.
        self.purchases[reference] += 1
        label = self.inner.buy_label(rate_id=rate_id, reference=reference)
        if self.crash_after_buys:
            self.crash_after_buys -= 1
            raise Crash("killed after buying, before recording")
        if self.rng.random() < self.failure_rate / 2:
            raise TemporaryCarrierError("read timeout (the label was bought)")
        return label
