import itertools

import pytest

from app.errors import InvalidTransition
from app.inventory.states import TRANSITIONS, UnitState, check_transition

S = UnitState

REQUIRED_PATHS = [
    [S.RECEIVING, S.TRIAGE, S.REFURBISHING, S.READY],
    [S.READY, S.RESERVED, S.PACKED, S.IN_TRANSIT, S.DEPLOYED],
    [S.DEPLOYED, S.AWAITING_RETURN, S.RETURNING, S.RECEIVED, S.TRIAGE],
]


@pytest.mark.parametrize("path", REQUIRED_PATHS)
def test_the_lifecycle_paths_are_allowed(path):
    for a, b in itertools.pairwise(path):
        check_transition(a, b)


def test_retired_is_final_and_every_state_has_an_entry():
    assert set(TRANSITIONS) == set(UnitState)
    assert TRANSITIONS[S.RETIRED] == frozenset()


@pytest.mark.parametrize(
    "current,target",
    [(S.READY, S.DEPLOYED), (S.RECEIVING, S.READY), (S.RETIRED, S.READY), (S.RECEIVED, S.READY),
     (S.IN_TRANSIT, S.READY), (S.TRIAGE, S.READY), (S.DEPLOYED, S.READY)],
)
def test_forbidden_transition_names_current_and_allowed(current, target):
    with pytest.raises(InvalidTransition) as err:
        check_transition(current, target)
    assert err.value.extra["current_state"] == current.value
    assert err.value.extra["allowed"] == sorted(s.value for s in TRANSITIONS[current])
    assert current.value in err.value.detail
