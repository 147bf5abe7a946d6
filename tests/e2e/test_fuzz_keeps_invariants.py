"""Whatever any caller sends to any operation, in any order, the records keep telling one consistent
story: every operation of the served OpenAPI document is fuzzed (schemathesis) against one database
holding demo data, as an admin (every route), then the invariant check must find no breach.

Ids are drawn from the range the demo data occupies (the document allows any 32-bit id, and random
ones almost never name a record), so the fuzzer really moves units, swaps and returns. Random draws
rarely pick one given value of a 13-valued enum, so the moves by hand are also tried systematically:
each unit is sent to one state, every state in turn, and left there for the check to see."""

import copy
import json
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings

from app.db import unit_of_work
from app.demo import seed_demo
from app.inventory.states import UnitState
from app.warehouse.reconciliation import check_invariants
from tests.support.asgi_client import AppClient

EXAMPLES = 12
DOCUMENT = json.loads((Path(__file__).parents[2] / "openapi" / "openapi.json").read_text())
OPERATIONS = [(path, method) for path, item in DOCUMENT["paths"].items() for method in item]
DEMO_IDS = 80  # more than the demo data has of anything


def _ids_in_demo_range(document: dict) -> dict:
    doc = copy.deepcopy(document)

    def narrow(name: str, schema: dict) -> None:
        for option in [schema, *schema.get("anyOf", [])]:
            if option.get("type") == "integer" and (name == "id" or name.endswith("_id")):
                option["maximum"] = DEMO_IDS

    for item in doc["paths"].values():
        for operation in item.values():
            for param in operation.get("parameters", []):
                narrow(param["name"], param.get("schema", {}))
    for component in doc.get("components", {}).get("schemas", {}).values():
        for name, prop in component.get("properties", {}).items():
            narrow(name, prop)
    return doc


def test_fuzzing_every_operation_leaves_no_breach(app, session_factory, keys):
    with unit_of_work(session_factory) as session:
        seed_demo(session)
    schema = schemathesis.openapi.from_dict(_ids_in_demo_range(DOCUMENT))
    called = 0
    for path, method in OPERATIONS:
        operation = schema[path][method]
        where = f"{method.upper()} {path}"

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def fuzz(case):
            nonlocal called
            response = case.call(app=app, headers=keys["admin"])
            assert response.status_code < 500, f"{where}: {response.status_code}"  # noqa: B023 - run at once
            called += 1

        fuzz()
    assert called >= len(OPERATIONS) * 2  # the fuzzer really sent requests
    moved = 0
    with AppClient(app) as client:
        units = client.get("/api/v1/units", params={"limit": 200}, headers=keys["admin"]).json()["items"]
        states = list(UnitState)
        for i, unit in enumerate(units):
            target = states[i % len(states)]
            r = client.post(f"/api/v1/units/{unit['id']}/transitions", headers=keys["warehouse"],
                            json={"target_state": target.value, "reason": "fuzz by hand"})
            assert r.status_code in (200, 409), r.text
            moved += r.status_code == 200
    assert len(units) > 2 * len(states) and moved > 0  # every state was tried, and some moves were made
    with session_factory() as session:
        breaches = check_invariants(session)
    assert breaches == [], "\n".join(f"{b.kind}: unit {b.unit_id} swap {b.swap_id}: {b.detail}" for b in breaches)
