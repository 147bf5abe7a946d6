"""All swap SQL. Methods that lock say so; on PostgreSQL they skip rows others hold."""

from datetime import date
from functools import lru_cache

from sqlalchemy import Select, and_, bindparam, func, or_, select, text, true, union_all
from sqlalchemy.orm import Session

from app.db import insert_new, is_postgres
from app.errors import NotFound
from app.inventory.calendar import DepotCalendar
from app.inventory.regions import countries_served
from app.inventory.states import UnitState
from app.models import (
    ConfigProfile,
    Depot,
    DeviceModel,
    Escalation,
    FollowUp,
    Reservation,
    Shipment,
    SpareUnit,
    SwapEvent,
    SwapRequest,
)
from app.models.inventory import model_substitutes
from app.reference import cached
from app.swaps.allocation import Candidate, Need, WaitingSwap, rank_candidates
from app.swaps.states import SwapStatus


def find_swap(session: Session, swap_id: int) -> SwapRequest | None:
    return session.get(SwapRequest, swap_id)


def get_swap(session: Session, swap_id: int) -> SwapRequest:
    swap = find_swap(session, swap_id)
    if swap is None:
        raise NotFound(f"No swap request with id {swap_id}.")
    return swap


def get_swap_for_update(session: Session, swap_id: int) -> SwapRequest:
    swap = session.scalars(
        select(SwapRequest).where(SwapRequest.id == swap_id).with_for_update(of=SwapRequest)
    ).unique().one_or_none()
    if swap is None:
        raise NotFound(f"No swap request with id {swap_id}.")
    return swap


def try_lock_waiting_swap(session: Session, swap_id: int) -> SwapRequest | None:
    """The swap, locked, if it is still backordered and no one else holds it."""
    stmt = select(SwapRequest).where(SwapRequest.id == swap_id, SwapRequest.status == SwapStatus.BACKORDERED)
    return session.scalars(_lock(session, stmt, SwapRequest)).unique().one_or_none()


# The live-ticket unique index's predicate, as SQL text (a bound parameter would not let PostgreSQL
# match the conflict target to the partial index).
_LIVE = text("status <> 'cancelled'")


def insert_new_swap(session: Session, swap: SwapRequest) -> SwapRequest | None:
    """Insert the new `swap` (not yet in the session); the swap as written, or None when its ticket
    already has a live swap (the unique index says so, in the same statement: nothing is read first
    and nothing fails)."""
    return insert_new(session, swap, key=("ticket_system", "ticket_id"), where=_LIVE)


def live_swap_for_ticket(session: Session, system: str, ticket_id: str) -> SwapRequest | None:
    stmt = select(SwapRequest).where(
        SwapRequest.ticket_system == system, SwapRequest.ticket_id == ticket_id,
        SwapRequest.status != SwapStatus.CANCELLED,
    )
    return session.scalars(stmt).unique().first()


def _lock(session: Session, stmt, entity):
    if is_postgres(session):
        return stmt.with_for_update(of=entity, skip_locked=True)
    return stmt  # SQLite: the whole transaction already holds the write lock (BEGIN IMMEDIATE)


def pick_ready(session: Session, need: Need, promised: dict[int, date]) -> SpareUnit | None:
    """The best ready unit for `need`, locked, at a cost that does not grow with the stock.

    Units fall into few groups (model × depot × current or stale image × configured or not); inside
    a group the ranking's order is the index's (`ix_spare_units_ready_pick`: longest configured, then
    id). So one statement reads the head of every group — an index probe each, however many units
    wait behind it —, `allocation.rank_candidates` (the rule, stated once) ranks those heads, and the
    best head's group is locked `FOR UPDATE SKIP LOCKED` on PostgreSQL: a unit another transaction
    holds is passed over for the next in its group, never waited for. A group found all taken passes
    to the next best head."""
    if any(isinstance(o, _PICK_READS) for o in (*session.new, *session.dirty, *session.deleted)):
        session.flush()  # else what is pending (a swap's first writes) waits, to go in one flush with the rest
    with session.no_autoflush:
        return _pick_ready(session, need, promised)


_PICK_READS = (SpareUnit, DeviceModel, ConfigProfile)  # the rows the pick reads


def _pick_ready(session: Session, need: Need, promised: dict[int, date]) -> SpareUnit | None:
    pairs = [(m, d) for m in _models_wanted(session, need) for d in sorted(promised)]
    if not pairs:
        return None
    with_profile = need.profile_id is not None
    params = {**({"p": need.profile_id} if with_profile else {}),
              **{f"m{i}": m for i, (m, _) in enumerate(pairs)}, **{f"d{i}": d for i, (_, d) in enumerate(pairs)}}
    heads = [Candidate(unit_id=r.id, model_id=r.model_id, category=r.category, depot_id=r.depot_id,
                       profile_id=r.profile_id, is_stale=bool(r.is_stale), configured_at=r.configured_at)
             for r in session.execute(_heads_of(len(pairs), with_profile), params)]
    ranked = rank_candidates(need, heads, promised)
    if not is_postgres(session):
        # SQLite: the transaction already holds the write lock (BEGIN IMMEDIATE); the best head is the unit.
        return session.get(SpareUnit, ranked[0].unit_id) if ranked else None
    tried: set[tuple] = set()
    for best in ranked:
        group = (best.model_id, best.depot_id, best.is_stale, best.configured_at is None)
        if group in tried:
            continue
        tried.add(group)
        lock = _locked_head(best.is_stale, best.configured_at is None, with_profile)
        unit = session.scalars(lock, {**({"p": need.profile_id} if with_profile else {}),
                                      "m0": best.model_id, "d0": best.depot_id}).unique().one_or_none()
        if unit is not None:
            return unit
    return None


# A pair (model, depot) is four groups: current or stale image, never configured or configured.
_KINDS = tuple((stale, unconfigured) for stale in (False, True) for unconfigured in (True, False))


@lru_cache(maxsize=128)
def _heads_of(pairs: int, with_profile: bool) -> Select:
    """The head of every group of `pairs` (model m<i>, depot d<i>) pairs, as candidates: one
    statement, built once per shape (the ids are bound parameters)."""
    heads = union_all(*(select(_head(i, stale, unconfigured, with_profile).subquery().c.id)
                        for i in range(pairs) for stale, unconfigured in _KINDS))
    return (select(SpareUnit.id, SpareUnit.model_id, DeviceModel.category, SpareUnit.depot_id, SpareUnit.profile_id,
                   SpareUnit.is_stale.label("is_stale"), SpareUnit.configured_at)
            .join(DeviceModel, DeviceModel.id == SpareUnit.model_id).where(SpareUnit.id.in_(heads)))


@lru_cache(maxsize=16)
def _locked_head(stale: bool, unconfigured: bool, with_profile: bool) -> Select:
    """The first unit of one group (m0, d0) that no other transaction holds, locked."""
    return (_head(0, stale, unconfigured, with_profile, entity=True)
            .with_for_update(of=SpareUnit, skip_locked=True).execution_options(populate_existing=True))


def _head(i: int, stale: bool, unconfigured: bool, with_profile: bool, *, entity: bool = False) -> Select:
    """A group's first ready unit in the ranking's order (an index probe on `ix_spare_units_ready_pick`)."""
    stmt = select(SpareUnit if entity else SpareUnit.id).where(
        SpareUnit.state == UnitState.READY, SpareUnit.model_id == bindparam(f"m{i}"),
        SpareUnit.depot_id == bindparam(f"d{i}"),
        SpareUnit.configured_at.is_(None) if unconfigured else SpareUnit.configured_at.is_not(None),
        SpareUnit.is_stale if stale else ~SpareUnit.is_stale)
    if with_profile:
        stmt = stmt.where(SpareUnit.profile_id == bindparam("p"))
    return stmt.order_by(SpareUnit.configured_at, SpareUnit.id).limit(1)


def _models_wanted(session: Session, need: Need) -> list[int]:
    if need.model_id is not None:
        return sorted({need.model_id, *need.substitute_ids})
    return list(session.scalars(select(DeviceModel.id).where(DeviceModel.category == need.category)
                                .order_by(DeviceModel.id)))


def candidate_of(session: Session, unit: SpareUnit) -> Candidate:
    return Candidate(unit_id=unit.id, model_id=unit.model_id, category=unit.model.category,
                     depot_id=unit.depot_id, profile_id=unit.profile_id, is_stale=unit.is_stale,
                     configured_at=unit.configured_at)


def depot_calendars(session: Session) -> dict[int, DepotCalendar]:
    def load():
        rows = session.execute(select(Depot.id, Depot.timezone, Depot.cutoff_local, Depot.country, Depot.serves))
        return {i: DepotCalendar(timezone=tz, cutoff_local=cut, country=c, serves=countries_served(c, serves or []))
                for i, tz, cut, c, serves in rows}

    return dict(cached(session, "depot_calendars", load))


def substitute_ids(session: Session, model_id: int) -> frozenset[int]:
    return cached(session, ("substitutes", model_id), lambda: frozenset(session.scalars(
        select(model_substitutes.c.substitute_id).where(model_substitutes.c.model_id == model_id))))


def models_served_by(session: Session, model_id: int) -> frozenset[int]:
    """Models a unit of `model_id` can serve: itself, and any model listing it as a substitute (reference
    data, like `substitute_ids`: a model's substitutes change with the model)."""
    return cached(session, ("served_by", model_id), lambda: frozenset({model_id, *session.scalars(
        select(model_substitutes.c.model_id).where(model_substitutes.c.substitute_id == model_id))}))


def need_of(session: Session, swap: SwapRequest) -> Need:
    if swap.model_id is not None:
        return Need(model_id=swap.model_id, substitute_ids=substitute_ids(session, swap.model_id),
                    profile_id=swap.profile_id)
    return Need(category=swap.category, profile_id=swap.profile_id)


def waiting_swaps_for_unit(session: Session, unit: SpareUnit, countries: frozenset[str],
                           limit: int = 500) -> list[WaitingSwap]:
    """Backordered swaps the unit could serve: same need, in a country its depot ships to (`countries`)
    or allowing a border crossing; the head of the line first."""
    stmt = select(SwapRequest).where(
        SwapRequest.status == SwapStatus.BACKORDERED,
        or_(SwapRequest.country.in_(sorted(countries)), SwapRequest.allow_cross_border.is_(True)),
        or_(SwapRequest.model_id.in_(sorted(models_served_by(session, unit.model_id))),
            SwapRequest.category == unit.model.category),
    )
    return [_waiting(session, s) for s in _fair_first(session, stmt, limit)]


def waiting_swaps(session: Session, limit: int = 500) -> list[WaitingSwap]:
    stmt = select(SwapRequest).where(SwapRequest.status == SwapStatus.BACKORDERED)
    return [_waiting(session, s) for s in _fair_first(session, stmt, limit)]


def _fair_first(session: Session, stmt, limit: int):
    # The same order as allocation.waitlist_key, so the limit keeps the head of the line.
    nulls_last = SwapRequest.needed_by.is_(None)
    stmt = stmt.order_by(nulls_last, SwapRequest.needed_by, SwapRequest.priority.desc(), SwapRequest.waiting_since,
                         SwapRequest.id).limit(limit)
    return session.scalars(stmt).unique()


def _waiting(session: Session, swap: SwapRequest) -> WaitingSwap:
    return WaitingSwap(swap_id=swap.id, need=need_of(session, swap), waiting_since=swap.waiting_since,
                       needed_by=swap.needed_by, priority=swap.priority)


def waitlist_position(session: Session, swap: SwapRequest) -> int:
    """1-based place among backordered swaps asking for the same model or category in the same region
    (the countries served by the depots that serve the swap's country), in the order of
    `allocation.waitlist_key` (no deadline = date.max, then higher priority, then waiting since, then
    id), counted in SQL."""
    same_need = (SwapRequest.model_id == swap.model_id) if swap.model_id is not None else (
        SwapRequest.category == swap.category)
    if not swap.allow_cross_border:  # one allowing any depot waits in every line it could be served from
        region = {swap.country}.union(*(c.serves for c in depot_calendars(session).values()
                                        if c.ships_to(swap.country)))
        same_need = and_(same_need, or_(SwapRequest.country.in_(sorted(region)),
                                        SwapRequest.allow_cross_border.is_(True)))
    deadline, mine = func.coalesce(SwapRequest.needed_by, date.max), swap.needed_by or date.max
    same_deadline_and_priority = and_(deadline == mine, SwapRequest.priority == swap.priority)
    ahead = or_(
        deadline < mine,
        and_(deadline == mine, SwapRequest.priority > swap.priority),
        and_(same_deadline_and_priority, SwapRequest.waiting_since < swap.waiting_since),
        and_(same_deadline_and_priority, SwapRequest.waiting_since == swap.waiting_since, SwapRequest.id < swap.id),
    )
    return 1 + session.scalar(select(func.count(SwapRequest.id)).where(
        SwapRequest.status == SwapStatus.BACKORDERED, same_need, ahead))


def active_reservation(session: Session, swap_id: int) -> Reservation | None:
    stmt = select(Reservation).where(Reservation.swap_id == swap_id, Reservation.active == true())
    return session.scalars(stmt).one_or_none()


def swaps_query(*, status: str | None = None, ticket_system: str | None = None,
                ticket_id: str | None = None, escalated: bool | None = None) -> Select:
    """Swaps filtered as the list asks (a page of it is read by the caller's cursor)."""
    stmt = select(SwapRequest)
    if escalated is not None:
        stmt = stmt.where(SwapRequest.priority > 0 if escalated else SwapRequest.priority == 0)
    if status is not None:
        stmt = stmt.where(SwapRequest.status == status)
    if ticket_system is not None:
        stmt = stmt.where(SwapRequest.ticket_system == ticket_system.lower())
    if ticket_id is not None:
        stmt = stmt.where(SwapRequest.ticket_id == ticket_id)
    return stmt


def follow_up_of(session: Session, swap_id: int) -> FollowUp | None:
    return session.scalars(select(FollowUp).where(FollowUp.swap_id == swap_id)).first()


def escalations_of(session: Session, swap_id: int) -> list[Escalation]:
    return list(session.scalars(select(Escalation).where(Escalation.swap_id == swap_id).order_by(Escalation.id)))


def last_event(session: Session, swap_id: int) -> SwapEvent | None:
    return session.scalars(select(SwapEvent).where(SwapEvent.swap_id == swap_id)
                           .order_by(SwapEvent.id.desc()).limit(1)).first()


def timeline(session: Session, swap_id: int) -> list[SwapEvent]:
    return list(session.scalars(select(SwapEvent).where(SwapEvent.swap_id == swap_id).order_by(SwapEvent.id)))


def shipments(session: Session, swap_id: int) -> list[Shipment]:
    return list(session.scalars(select(Shipment).where(Shipment.swap_id == swap_id).order_by(Shipment.id)))


def swap_holding_unit(session: Session, unit_id: int) -> SwapRequest | None:
    stmt = (select(SwapRequest).join(Reservation, Reservation.swap_id == SwapRequest.id)
            .where(Reservation.unit_id == unit_id, Reservation.active == true()))
    return session.scalars(stmt).unique().first()


def outbound_label(session: Session, swap_id: int) -> Shipment | None:
    stmt = select(Shipment).where(Shipment.swap_id == swap_id, Shipment.direction == "outbound",
                                  Shipment.label_status == "SUCCESS")
    return session.scalars(stmt).first()
