"""How long each run-time script attack takes to be stopped (the tests assert only *what* stops it).

Run: `.venv/bin/python bench/script_budget.py [--repeat 3]`. Prints, per attack, the bound that stopped
it and the slowest of the runs in milliseconds; the budget allows 1 s of wall time per script run
(`app/engine/guards.py` MAX_SECONDS), so anything near or above that on an idle machine is a regression.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.guards import ScriptLimit  # noqa: E402
from app.engine.scripting import RestrictedEnvironment  # noqa: E402
from tests.unit.engine_facade.conftest import NOW  # noqa: E402
from tests.unit.engine_facade.test_engine_scripting import RUN_TIME_ATTACKS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = RestrictedEnvironment(NOW)
    for script, _bound in RUN_TIME_ATTACKS:
        slowest, outcome = 0.0, ""
        for _ in range(args.repeat):
            started = time.perf_counter()
            try:
                env.execute(script, {})
                outcome = "NOT STOPPED"
            except (ScriptLimit, RecursionError) as exc:
                outcome = str(exc)[:40]
            slowest = max(slowest, time.perf_counter() - started)
        print(f"{slowest * 1000:8.1f} ms  {outcome:<42} {script.splitlines()[0][:50]}")


if __name__ == "__main__":
    main()
