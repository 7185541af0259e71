"""Case starts per second through HTTP: gunicorn (4 workers, loopback) serving a seeded schema, client threads
posting registrations (`POST /api/v1/cases` with agent01's bearer token) — bench/engine.py `--http`.

The clients are plain `http.client` connections kept alive, one per thread, on the same 2 cores as the server
and PostgreSQL: the figure counts what the box does for HTTP parsing, the app and the database together.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 4
CLIENTS = 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(conn: http.client.HTTPConnection, method: str, path: str, body: Any,
             headers: dict[str, str]) -> tuple[int, Any]:
    conn.request(method, path, body=json.dumps(body, ensure_ascii=False).encode(),
                 headers={"Content-Type": "application/json", **headers})
    answer = conn.getresponse()
    data = answer.read()
    return answer.status, json.loads(data) if data else None


def _serve(url: str, tmp: Path, keys: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, **keys, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp), "ENVIRONMENT": "development",
           "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024", "LOG_LEVEL": "WARNING"}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen([gunicorn, "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
                               "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def http_starts(url: str, tmp: Path, keys: dict[str, str], cases: int) -> float:
    """Serve `url` with gunicorn, post `cases` registrations from CLIENTS threads; print and answer starts/s."""
    from engine import appeal, loadavg

    port = _free_port()
    server = _serve(url, tmp, keys, port)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        status, token = _request(conn, "POST", "/api/v1/auth/token",
                                 {"staff_no": "agent01", "password": "Huiyin@2026"}, {})
        if status != 201:
            raise SystemExit(f"token: {status} {token}")
        auth = {"Authorization": f"Bearer {token['token']}"}
        for n in range(2 * WORKERS):  # warm-up: every worker's caches and pool
            _request(conn, "POST", "/api/v1/cases", appeal(30_000_000 + n).as_raw(), auth)
        failures: list[str] = []
        latencies: list[float] = []

        def client(numbers: range) -> None:
            mine = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for n in numbers:
                t = time.perf_counter()
                status, answer = _request(mine, "POST", "/api/v1/cases", appeal(n).as_raw(), auth)
                latencies.append((time.perf_counter() - t) * 1000)
                if status != 201:
                    failures.append(f"{status} {answer}")
            mine.close()

        per = cases // CLIENTS
        threads = [threading.Thread(target=client, args=(range(31_000_000 + i * per, 31_000_000 + (i + 1) * per),))
                   for i in range(CLIENTS)]
        t = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - t
        latencies.sort()
        rate = per * CLIENTS / wall
        print(f"postgresql starts      {rate:7.1f}/s  through HTTP (gunicorn {WORKERS} workers, {CLIENTS} client "
              f"threads, loopback)  p50 {latencies[len(latencies) // 2]:.1f} ms  "
              f"p95 {latencies[int(len(latencies) * 0.95)]:.1f} ms  failures {len(failures)}  load {loadavg()}"
              + (f"  first failure: {failures[0][:200]}" if failures else ""))
        return rate
    finally:
        server.terminate()
        server.wait(timeout=30)
