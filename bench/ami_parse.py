"""Events parsed per second on one core: the AMI parser alone, and parser + call tracker.

Run: ``.venv/bin/python bench/ami_parse.py [seconds]``. Replays the test captures, cut into
1,400-byte reads (a typical TCP segment), for about the given time (default 3 s).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from telephony_bridge.calls import CallTracker  # noqa: E402
from telephony_bridge.protocol import AmiParser  # noqa: E402

STREAMS = ROOT / "tests" / "telephony" / "streams"
CHUNK = 1400


def load_capture() -> bytes:
    """All Asterisk 16+/13/11 captures, CRLF as on the wire, comment lines removed."""
    parts = []
    for path in sorted(STREAMS.glob("*.txt")):
        lines = [line for line in path.read_bytes().split(b"\n") if not line.startswith(b"#")]
        parts.append(b"\r\n".join(lines).strip(b"\r\n") + b"\r\n\r\n")
    return b"".join(parts)


def measure(data: bytes, seconds: float, track: bool) -> float:
    """Events per second over repeated replays of ``data``."""
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    events = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        parser = AmiParser()
        tracker = CallTracker("bench") if track else None
        for chunk in chunks:
            for msg in parser.feed(chunk):
                events += 1
                if tracker is not None:
                    tracker.feed(msg, 1.8e9)
    return events / (time.perf_counter() - start)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    data = load_capture()
    print(f"capture: {len(data):,} bytes, {data.count(b'Event:'):,} events")
    print(f"parse only:         {measure(data, seconds, track=False):>10,.0f} events/s")
    print(f"parse + correlate:  {measure(data, seconds, track=True):>10,.0f} events/s")


if __name__ == "__main__":
    main()
