"""Checking that an adapter really implements a port (a typing.Protocol): every attribute the port
declares, and every method with the same parameters, by name and kind."""

import inspect
from typing import get_type_hints


def port_mismatches(port: type, adapter: object) -> list[str]:
    """What `adapter` (an instance) lacks of `port`, or declares differently; empty when it conforms."""
    problems = []
    for name in get_type_hints(port):
        if not hasattr(adapter, name):
            problems.append(f"attribute {name}: missing")
    for name, member in inspect.getmembers(port, inspect.isfunction):
        if name.startswith("_"):
            continue
        implemented = getattr(adapter, name, None)
        if not callable(implemented):
            problems.append(f"method {name}: missing")
            continue
        wanted = [(p.name, p.kind) for p in inspect.signature(member).parameters.values() if p.name != "self"]
        have = [(p.name, p.kind) for p in inspect.signature(implemented).parameters.values()]
        if wanted != have:
            problems.append(f"method {name}: takes {have}, the port says {wanted}")
    return problems
