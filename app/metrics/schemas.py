"""The service metrics' shape. Each field's description is its definition: the API documents it, and a
simulation that wants the same figures computes them by these words.

Terms used throughout:

- **the cohort**: the swaps *requested* (created) in [since, until), served from `depot_id` when one is
  given (a swap still on the waitlist has no depot, so a depot filter leaves it out) and asking for
  `model_id` when one is given (served by a substitute or not), **excluding
  cancelled swaps**. Only `swaps` counts cancelled ones. Every figure describes the cohort as it stands
  at `as_of` (the service's clock), however long ago the window was.
- **delivered at**: the instant of the outbound shipment's first applied DELIVERED tracking event, by
  the carrier's time for it (the time it reached us when the carrier gave none). A swap is *delivered*
  when it has one, whatever its status now (closed, exception, …).
- **delivery day**: the calendar date of *delivered at* in the worker's own timezone.
- **hours**: the difference between two instants, each truncated to the whole second, in hours rounded
  to 2 decimals.
- **median / p90 / p99**: nearest rank. Of n values sorted ascending, the p-th percentile is the value at
  rank ⌈p × n / 100⌉ (counting from 1): the median is p = 50 (the lower middle value when n is even),
  p90 is p = 90, p99 is p = 99 (the longest while n ≤ 100). Never interpolated. Null when n = 0.
- **shares** are met / counted, rounded to 4 decimals, null when nothing was counted."""

from datetime import datetime

from pydantic import Field

from app.inventory.schemas import Output


class Share(Output):
    counted: int = Field(description="swaps the figure is about (the denominator)")
    met: int = Field(description="of those, the swaps that met it (the numerator)")
    share: float | None = Field(description="met / counted, rounded to 4 decimals; null when counted is 0")


class Durations(Output):
    count: int = Field(description="how many durations were measured")
    median_hours: float | None = Field(description="nearest-rank median (rank ⌈n/2⌉) in hours; null when none")
    p90_hours: float | None = Field(description="nearest-rank 90th percentile (rank ⌈9n/10⌉) in hours; null when none")
    p99_hours: float | None = Field(description="nearest-rank 99th percentile (rank ⌈99n/100⌉: the longest while n is "
                                                "100 or fewer) in hours; null when none")


class SwapCounts(Output):
    requested: int = Field(description="swaps requested in the window (served from the depot, if given), "
                                       "cancelled ones included")
    by_status: dict[str, int] = Field(
        description="the same swaps by their status now; every status is listed, with 0 when none")


class TimeToWorking(Output):
    delivered: Durations = Field(description="request (the swap's creation) → delivered at, over the cohort's "
                                             "delivered swaps")
    working: Durations = Field(
        description="request → the follow-up's answer, over the cohort's swaps whose follow-up answer is now "
                    "'working' (answered yes, with no score or a score above 2: a yes scored 2 or less counts as "
                    "not working); the time of the latest answer")


class Backorders(Output):
    ever: int = Field(description="swaps of the cohort that were ever backordered (a 'backordered' event on their "
                                  "timeline), served since or not")
    waiting: int = Field(description="swaps of the cohort backordered now (status 'backordered')")
    waiting_median_hours: float | None = Field(
        description="of those waiting now: nearest-rank median of as_of − the time the swap joined the waitlist "
                    "(its first backorder), in hours; null when none wait")
    waiting_max_hours: float | None = Field(description="the longest of those waits, in hours; null when none wait")


class FollowUpStats(Output):
    asked: int = Field(description="follow-ups (\"is it working?\") of the cohort that were asked by as_of (their "
                                   "question was due by then) or were answered anyway")
    answered: int = Field(description="of those, the ones with an answer (yes or no)")
    answer_rate: float | None = Field(description="answered / asked, rounded to 4 decimals; null when none asked")
    average_score: float | None = Field(description="mean of the 1–5 scores given with the answers (answers without "
                                                    "a score are left out), rounded to 2 decimals; null when none")


class ServiceMetrics(Output):
    since: datetime = Field(description="start of the window (inclusive), UTC")
    until: datetime = Field(description="end of the window (exclusive), UTC")
    depot_id: int | None = Field(description="the depot the swaps were served from; null for all")
    model_id: int | None = Field(default=None, description="the device model the swaps asked for; null for all")
    as_of: datetime = Field(description="when the figures were taken (the service's clock), UTC")
    swaps: SwapCounts
    delivered_by_promised_day: Share = Field(
        description="counted: the cohort's delivered swaps; met: those whose delivery day (the worker's local date) "
                    "is on or before the swap's promised_date (the date promised when its unit was reserved)")
    next_business_day: Share = Field(
        description="counted: the cohort's swaps served from a depot in the worker's own country (a border "
                    "crossing is promised two business days, so it is left out) that were requested on a business "
                    "day before that depot's cut-off, i.e. would ship the same day by the depot's courier calendar "
                    "(its timezone, cut-off and its country's holidays: the calendar `promised_date` comes from). "
                    "The request time counts, not the reservation's: a swap that waited on the waitlist is still "
                    "counted. A swap not yet delivered whose next business day has not ended in the worker's "
                    "timezone is not decided yet and is left out; one never served (no depot) is left out. met: "
                    "the delivery day is on or before the depot calendar's next business day after the request day")
    time_to_working: TimeToWorking
    backorders: Backorders
    return_lag: Durations = Field(
        description="delivered at → the broken device scanned in at the depot (the expected return's received_at), "
                    "over the cohort's delivered swaps whose return was received")
    open_discrepancies: int = Field(
        description="open discrepancies (wrong unit, missing items, damaged, overdue, lost) about the returns of the "
                    "cohort's swaps; an 'unexpected' device belongs to no swap and is not counted")
    unreturned: int = Field(description="expected returns of the cohort's swaps whose status is 'unreturned' now "
                                        "(chased to the end; a device that came back after all is not counted)")
    follow_up: FollowUpStats
    escalations_by_rule: dict[str, int] = Field(
        description="escalations of the cohort's swaps, counted by rule (each rule fires at most once a swap); a "
                    "rule that never fired is absent")
