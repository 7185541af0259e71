"""Fixtures for the telephony bridge: capture files, a recording fake platform, fast settings."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from telephony_bridge.call_state import CallRules, Outcome
from telephony_bridge.calls import CallTracker
from telephony_bridge.protocol import AmiParser
from telephony_bridge.settings import Settings

STREAMS = Path(__file__).parent / "streams"
TOKEN = "test-token-7f3a"
SECRET = "ami-secret-9b1c"


def load_stream(name: str) -> bytes:
    """A capture file as bytes, without its leading ``#`` comment block."""
    lines = (STREAMS / name).read_bytes().split(b"\n")
    while lines and (lines[0].startswith(b"#") or not lines[0].strip()):
        lines.pop(0)
    return b"\n".join(lines)


def replay(data: bytes, rules: CallRules | None = None, chunk: int = 0, now: float = 1.8e9,
           tracker: CallTracker | None = None) -> list[Outcome]:
    """Feed a capture through parser and tracker, then let every ended call finish."""
    tracker = tracker or CallTracker("pbx-test", rules or CallRules())
    parser = AmiParser()
    out: list[Outcome] = []
    pieces = [data] if chunk <= 0 else [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        for msg in parser.feed(piece):
            out += tracker.feed(msg, now)
    return out + tracker.tick(now + 3600)


def by_kind(outcomes: list[Outcome] | list[dict[str, Any]], linkedid: str) -> dict[str, Any]:
    """The outcomes of one call, keyed by kind (as dicts)."""
    rows = [o if isinstance(o, dict) else o.to_json() for o in outcomes]
    return {r["kind"]: r for r in rows if r["linkedid"] == linkedid}


class Platform:
    """A tiny real HTTP server standing in for the platform; records every POST it is sent."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self.script: list[int | str] = []  # statuses to answer next ("drop" closes the socket)
        self.requests = 0
        self.lock = threading.Lock()
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (stdlib name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with platform.lock:
                    platform.requests += 1
                    answer = platform.script.pop(0) if platform.script else 201
                    if answer == "drop":
                        self.close_connection = True
                        self.connection.close()
                        return
                    if answer == 201 and self.path == "/api/v1/calls/events":
                        platform.posts.append(json.loads(body))
                        platform.auth.append(self.headers.get("Authorization", ""))
                self.send_response(int(answer))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def kinds(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(p["linkedid"], p["kind"]) for p in self.posts]


@pytest.fixture
def fake_platform() -> Iterator[Platform]:
    """A recording platform on a random port (named apart from the shared ``platform`` fixture)."""
    p = Platform()
    p.thread.start()
    yield p
    p.server.shutdown()
    p.server.server_close()


def fast_settings(ami_port: int, api_url: str, **overrides: Any) -> Settings:
    """Settings with every interval shrunk so end-to-end tests take well under a second each."""
    values: dict[str, Any] = dict(
        ami_host="127.0.0.1", ami_port=ami_port, ami_username="huiyin", ami_secret=SECRET,
        ami_ping_interval=0.2, ami_ping_timeout=0.2, ami_connect_timeout=2.0,
        ami_reconnect_min=0.02, ami_reconnect_max=0.1, pbx_id="pbx-test", huiyin_api_url=api_url,
        huiyin_api_token=TOKEN, huiyin_retry_min=0.02, huiyin_retry_max=0.1, call_end_grace=0.1,
        call_tick_interval=0.02,
    )
    values.update(overrides)
    return Settings(**values)
