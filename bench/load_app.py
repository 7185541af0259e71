"""The platform as bench/load.py serves it: the stock app on a fast clock shared by every process.

`LOAD_CLOCK="<real epoch>,<simulated ISO start>,<speed>"` makes every gunicorn worker and scheduler agree on
one simulated time that runs `speed` times faster than the wall clock, so yellow/red warnings and the
escalation ladder's rungs (days apart) are reached within a run of minutes. Nothing else differs from
`wsgi.py` and `flask scheduler`: the same factory, services and sweeps.

    gunicorn --pythonpath bench load_app:app            # a web worker
    python bench/load_app.py scheduler --seconds 2      # a scheduler process
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from flask import Flask  # noqa: E402

from app import create_app  # noqa: E402
from app.services.platform import Platform  # noqa: E402


class FastClock:
    """Simulated local time: `start` at the real instant `epoch`, then `speed` simulated seconds per real one."""

    def __init__(self, epoch: float, start: datetime, speed: float) -> None:
        self.epoch, self.start, self.speed = epoch, start, speed

    def now(self) -> datetime:
        return (self.start + timedelta(seconds=(time.time() - self.epoch) * self.speed)).replace(microsecond=0)

    def spec(self) -> str:
        return f"{self.epoch},{self.start.isoformat()},{self.speed}"

    @classmethod
    def parse(cls, spec: str) -> FastClock:
        epoch, start, speed = spec.split(",")
        return cls(float(epoch), datetime.fromisoformat(start), float(speed))


def load_app() -> Flask:
    """The stock application on the clock LOAD_CLOCK names (the system clock without it)."""
    spec = os.environ.get("LOAD_CLOCK")
    return create_app(clock=FastClock.parse(spec) if spec else None)


def platform_of(application: Flask) -> Platform:
    return application.extensions["huiyin"]  # type: ignore[no-any-return]


def scheduler_main(seconds: float) -> None:
    """One scheduler process: the stock passes (app.jobs.run_once) every `seconds` real seconds."""
    from app import jobs

    platform = platform_of(load_app())
    worker = jobs.worker_name()
    stop = False

    def finish(*_: object) -> None:
        nonlocal stop
        stop = True

    import signal

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    while not stop:
        began = time.monotonic()
        jobs.run_once(platform, worker)
        print(f"pass {time.time():.3f} {time.monotonic() - began:.2f}s", flush=True)
        time.sleep(max(0.0, seconds - (time.monotonic() - began)))


if __name__ == "__main__" and sys.argv[1:2] == ["scheduler"]:
    scheduler_main(float(sys.argv[3]) if sys.argv[2:3] == ["--seconds"] else 2.0)
elif __name__ != "__main__":
    app = load_app() if os.environ.get("LOAD_CLOCK") is not None else None
