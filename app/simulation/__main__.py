"""`python -m app.simulation --json`: reads {"scenario": …, "verify": …} on stdin, writes
{"result": …, "plot_png": base64} on stdout (the worker's simulation job runs this)."""

import base64
import json
import sys

from app.planning import report
from app.planning.scenario import Scenario
from app.simulation import plan


def main() -> int:
    if sys.argv[1:] != ["--json"]:
        print(__doc__, file=sys.stderr)
        return 2
    order = json.load(sys.stdin)
    result = plan.simulate(Scenario.model_validate(order.get("scenario") or {}), verify=order.get("verify", True),
                           progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    json.dump({"result": result, "plot_png": base64.b64encode(report.plot_png(result)).decode()}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
