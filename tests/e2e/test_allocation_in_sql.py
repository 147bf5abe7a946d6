"""The database picks the unit: the same choice as the pure ranking (`allocation.rank_candidates`, the
specification) on random stock, and right at any stock size (more than 1,000 ready units, the best
one the newest: the old pick read only the 1,000 oldest)."""

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from app.db import unit_of_work
from app.models import SpareUnit
from app.swaps import repository
from app.swaps.allocation import Need, rank_candidates
from tests.support import factories as f
from tests.support.factories import post_swap, swap_body

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def csv_of(rows: list[dict]) -> bytes:
    header = ["serial", "asset_tag", "model_sku", "depot_code", "state", "profile", "profile_version", "configured_at"]
    lines = [",".join(header)] + [",".join(str(r.get(c, "")) for c in header) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def import_units(client, keys, rows):
    r = client.post("/api/v1/units/import", content=csv_of(rows), headers={**keys["warehouse"],
                                                                          "Content-Type": "text/csv"})
    assert r.status_code == 201, r.text[:500]


@pytest.fixture
def catalog(client, keys):
    admin = keys["admin"]
    depots = [f.depot(client, admin, code) for code in ("LON", "MAN", "EDI")]
    wanted = f.model(client, admin, sku="LAT-5440")
    stand_in = f.model(client, admin, sku="LAT-7440")
    other = f.model(client, admin, sku="MAC-14")
    client.patch(f"/api/v1/models/{wanted['id']}", json={"substitute_ids": [stand_in["id"]]}, headers=admin)
    profile = f.profile(client, admin, name="std", version="v2")
    return {"depots": depots, "wanted": wanted, "stand_in": stand_in, "other": other, "profile": profile}


@pytest.mark.parametrize("seed", range(12))
def test_the_database_picks_what_the_ranking_rule_ranks_first(client, keys, catalog, session_factory, seed):
    rnd = random.Random(seed)
    rows = []
    for n in range(rnd.randint(5, 40)):
        rows.append({"serial": f"S{seed}-{n}", "asset_tag": f"A{seed}-{n}",
                     "model_sku": rnd.choice(["LAT-5440", "LAT-7440", "MAC-14"]),
                     "depot_code": rnd.choice(["LON", "MAN", "EDI"]), "state": rnd.choice(["ready"] * 4 + ["triage"]),
                     "profile": "std", "profile_version": rnd.choice(["v1", "v2", "v2"]),
                     "configured_at": rnd.choice(["", (T0 + timedelta(days=rnd.randint(0, 3))).isoformat()])})
    import_units(client, keys, rows)
    ids = {d["code"]: d["id"] for d in catalog["depots"]}
    promised = {ids["LON"]: date(2026, 12, 3), ids["MAN"]: date(2026, 12, 2), ids["EDI"]: date(2026, 12, 2)}
    need = Need(model_id=catalog["wanted"]["id"], substitute_ids=frozenset({catalog["stand_in"]["id"]}))
    with unit_of_work(session_factory) as session:
        units = [repository.candidate_of(session, u) for u in session.query(SpareUnit).filter_by(state="ready")]
        expected = rank_candidates(need, units, promised)
        picked = repository.pick_ready(session, need, promised)
        assert (picked.id if picked else None) == (expected[0].unit_id if expected else None)
        category = rank_candidates(Need(category="laptop"), units, promised)
        picked = repository.pick_ready(session, Need(category="laptop"), promised)
        assert (picked.id if picked else None) == (category[0].unit_id if category else None)
        session.rollback()


def test_with_more_than_a_thousand_ready_units_the_best_one_is_found_even_if_newest(client, keys, catalog):
    old = [{"serial": f"OLD{n}", "asset_tag": f"OLD{n}", "model_sku": "LAT-5440", "depot_code": "LON",
            "state": "ready", "profile": "std", "profile_version": "v1",  # stale: needs re-imaging
            "configured_at": (T0 + timedelta(minutes=n)).isoformat()} for n in range(1200)]
    best = {"serial": "NEW1", "asset_tag": "NEW1", "model_sku": "LAT-5440", "depot_code": "LON", "state": "ready",
            "profile": "std", "profile_version": "v2", "configured_at": (T0 + timedelta(days=30)).isoformat()}
    import_units(client, keys, [*old, best])
    swap = post_swap(client, keys, swap_body(catalog["wanted"]["id"])).json()
    assert swap["status"] == "allocated" and swap["unit_asset_tag"] == "NEW1" and swap["needs_reimage"] is False


@pytest.mark.postgres_only
@pytest.mark.live_db
def test_a_unit_another_transaction_holds_is_passed_over_for_the_next_in_its_group_then_the_next_group(
        client, keys, catalog, session_factory):
    """Two picks at once never wait on each other: the second gets the next unit of the same group, and
    once a group is all held, the best head of another group."""
    at = {"LON": T0, "MAN": T0 + timedelta(days=1)}
    rows = [{"serial": f"C{n}", "asset_tag": f"C{n}", "model_sku": "LAT-5440", "depot_code": depot, "state": "ready",
             "profile": "std", "profile_version": "v2", "configured_at": (at[depot] + timedelta(minutes=n)).isoformat()}
            for n, depot in enumerate(["LON", "LON", "MAN"])]
    import_units(client, keys, rows)
    ids = {d["code"]: d["id"] for d in catalog["depots"]}
    promised = {ids["LON"]: date(2026, 12, 2), ids["MAN"]: date(2026, 12, 3), ids["EDI"]: date(2026, 12, 3)}
    need = Need(model_id=catalog["wanted"]["id"])
    sessions = [session_factory() for _ in range(4)]
    try:
        picked = [repository.pick_ready(s, need, promised) for s in sessions]
        assert [u.asset_tag if u else None for u in picked] == ["C0", "C1", "C2", None]
    finally:
        for s in sessions:
            s.rollback()
            s.close()
