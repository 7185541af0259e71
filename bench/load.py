"""Several processes, nothing lost (issue 15): drive the served platform for N minutes, then check it.

`run` (the default) creates a fresh PostgreSQL database (`--database`, default huiyin_load: dropped and
recreated), upgrades and seeds it (`flask db-upgrade`, `flask seed-demo`), makes two bridge tokens
(pbx-1, pbx-2), points the SMS gateway at a sink on loopback that records every message, and serves it:
4 gunicorn workers (`--workers`) and 3 scheduler processes (`--schedulers`, a pass every 2 s) on a fast
clock (bench/load_app.py: `--speed` simulated seconds per real one, default 1440 = a day a minute) so
warnings and the escalation ladder fire during the run. Threads on the standard library then drive
HTTP on loopback for `--minutes` (default 10) with a mix of what a centre does:

* intake — agent01 registers cases (POST /api/v1/cases, an Idempotency-Key each; one in ten sent twice at
  once, as a client retrying while the first is still in flight);
* worklist — dispatch01, cg01, zj01, agent01 read GET /api/v1/tasks, unfiltered or by light or task;
* complete — 受理, 派单 (转送 to 市城管局 or 市住建局), 签收, 办理, 答复, 回访, 督办反馈 by whoever works them,
  each picking a task from their worklist (two completers may pick the same: one 409 is expected);
* supervise — leader01 督办 a dispatched case (POST /api/v1/cases/<id>/supervise);
* pdf — dispatch01, signed in on two browsers (/login, session cookie), downloads the 办理转送单 of a
  dispatched case (numbered on first download; the newest case often, so first downloads meet);
* call — two bridges (pbx-1, pbx-2) post call outcomes (answered + ended, abandoned + ended) as
  telephony_bridge does (docs/telephony-bridge.md), one post in five repeated (the bridge's retry).

Then the load stops, the schedulers stop, one last sweep runs at the simulated time it stopped, and the
checker (bench/load_check.py) proves nothing was lost or doubled; p50/p95/p99 per request kind, the load
average and CPU time are printed. Exit status 1 when any check fails.

With `--url` the load drives a platform already served there (on the fast clock of bench/load_app.py, with
LOAD_CLOCK exported as this script prints it) on the database `--database-url`; nothing is created.

Run: ``nice .venv/bin/python bench/load.py --minutes 10``  (see docs/bench.md)
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import resource
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from datetime import datetime
from http.cookiejar import CookieJar
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_app import FastClock, platform_of  # noqa: E402
from load_check import check  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.clock import FrozenClock  # noqa: E402
from app.models import Setting  # noqa: E402
from app.services import auth  # noqa: E402
from app.services.actors import SYSTEM  # noqa: E402

VENV = ROOT / ".venv" / "bin"
PASSWORD = "Huiyin@2026"  # the demo accounts' (DEMO_PASSWORD)
START = datetime(2026, 11, 30, 8, 30)  # a Monday morning: the week's working days lie ahead
SUBJECTS = [("城乡建设/供水", "小区停水", "幸福里小区 {n} 号楼停水两天,物业不予答复。"),
            ("城市管理/市容环卫", "垃圾清运不及时", "和平路 {n} 号门前垃圾三天无人清运。"),
            ("城市管理/占道经营", "占道经营", "解放街早市摊贩占道 {n} 米,车辆无法通行。"),
            ("城乡建设/物业管理", "电梯故障", "阳光花园 {n} 栋电梯故障一周无人维修。")]


# ---- the platform: database, processes, SMS sink ------------------------------------------------

def environment(database_url: str, instance: Path, sink_url: str) -> dict[str, str]:
    """The variables every process of the run shares: one database, one set of keys, settings for a fast clock."""
    def key() -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()

    return {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "FLASK_APP": "wsgi",
            "SECRET_KEY": key(), "DATA_KEY": key(), "SEARCH_KEY": key(), "AUDIT_KEY": key(),
            "ENVIRONMENT": "development", "SESSION_COOKIE_SECURE": "0", "LOG_LEVEL": "WARNING",
            # simulated hours run 1440× fast: tokens and passwords must outlive the run's simulated days
            "API_TOKEN_HOURS": "100000", "PASSWORD_MAX_AGE_DAYS": "0", "SESSION_MAX_HOURS": "100000",
            "SESSION_IDLE_MINUTES": "1000000", "RATE_LIMIT_SIGN_IN_STAFF_NO": "1000/60",
            "LOAD_SINK": sink_url}


def recreate(admin: str, name: str) -> None:
    subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)


def prepare(env: dict[str, str]) -> dict[str, str]:
    """Upgrade and seed; bridge tokens, the agent map, the SMS sink, no backups. Answers the bridge tokens."""
    for command in ("db-upgrade", "seed-demo"):
        subprocess.run([str(VENV / "flask"), command], env=env, cwd=ROOT, check=True, capture_output=True)
    platform = platform_of(create_app(_config(env)))
    tokens = {pbx: auth.create_machine_token(platform, SYSTEM, pbx, "calls") for pbx in ("pbx-1", "pbx-2")}
    values = {"telephony.agent_map": {"PJSIP/8001": "agent01"}, "sms.gateway": "http",
              "sms.http_url": env["LOAD_SINK"], "sms.http_credential": "load", "backup.weekdays": []}
    with platform.db.unit_of_work() as session:
        for key, value in values.items():
            row = session.scalar(select(Setting).where(Setting.key == key))
            if row is None:
                session.add(Setting(key=key, value={"value": value}, updated_at=platform.clock.now()))
            else:
                row.value = {"value": value}
        session.commit()
    platform.db.dispose()
    return tokens


_KEPT = ("DATABASE_URL", "INSTANCE_PATH", "SECRET_KEY", "DATA_KEY", "SEARCH_KEY", "AUDIT_KEY", "ENVIRONMENT",
         "LOG_LEVEL")


def repoint(env: dict[str, str], url: str) -> None:
    """Point a kept run's SMS gateway setting at a new sink."""
    platform = platform_of(create_app(_config(env)))
    with platform.db.unit_of_work() as session:
        row = session.scalar(select(Setting).where(Setting.key == "sms.http_url"))
        if row is not None:
            row.value = {"value": url}
        session.commit()
    platform.db.dispose()


def _config(env: dict[str, str]) -> dict[str, Any]:
    return {k: env[k] for k in _KEPT}


class Sink:
    """The SMS gateway on loopback: records every (phone, template, body) it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, str]] = []
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 — the http.server name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    received.append((body["phone"], body["template"], body["body"]))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def serve(env: dict[str, str], port: int, workers: int, schedulers: int, log: Path) -> list[subprocess.Popen[bytes]]:
    out = log.open("ab")
    web = subprocess.Popen([str(VENV / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                            "--timeout", "120", "--pythonpath", str(ROOT / "bench"), "load_app:app"],
                           env=env, cwd=ROOT, stdout=out, stderr=out, start_new_session=True)
    procs = [web] + [subprocess.Popen([str(VENV / "python"), str(ROOT / "bench" / "load_app.py"), "scheduler",
                                       "--seconds", "2"], env=env, cwd=ROOT, stdout=out, stderr=out,
                                      start_new_session=True) for _ in range(schedulers)]
    for _ in range(120):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):  # noqa: S310
                return procs
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer on port {port}; see {log}")


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


# ---- the load -----------------------------------------------------------------------------------

class Load:
    """The traffic: one thread per role, each request recorded (kind, status, milliseconds, what it made)."""

    def __init__(self, url: str, bridge_tokens: dict[str, str], until: float, seed: int = 15) -> None:
        self.url, self.bridges, self.until = url, bridge_tokens, until
        self.records: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.tokens: dict[str, str] = {}
        self.dispatched: list[int] = []
        self.random = random.Random(seed)

    def request(self, kind: str, method: str, path: str, *, user: str | None = None, token: str | None = None,
                body: Any = None, headers: dict[str, str] | None = None, **facts: Any) -> tuple[int, Any]:
        head = {"Content-Type": "application/json", **(headers or {})}
        if user or token:
            head["Authorization"] = f"Bearer {token or self.tokens[user or '']}"
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=head)  # noqa: S310
        began = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=120) as response:  # noqa: S310
                status, raw, ctype = response.status, response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, raw, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
        except OSError as e:
            status, raw, ctype = 0, str(e).encode(), "text/plain"
        ms = (time.perf_counter() - began) * 1000
        answer = json.loads(raw) if "json" in ctype and raw else raw
        with self.lock:
            self.records.append({"kind": kind, "status": status, "ms": ms, **facts,
                                 **({"error": str(answer)[:300]} if status >= 400 or status == 0 else {}),
                                 **({"case_id": answer.get("id")} if kind == "intake" and isinstance(answer, dict)
                                    else {})})  # after **facts: the case an intake answer names
        return status, answer

    def sign_in(self) -> None:
        for user in ("agent01", "dispatch01", "cg01", "zj01", "leader01"):
            status, answer = self.request("sign_in", "POST", "/api/v1/auth/token",
                                          body={"staff_no": user, "password": PASSWORD})
            if status != 201:
                raise SystemExit(f"{user} could not sign in: {status} {answer}")
            self.tokens[user] = answer["token"]

    def running(self) -> bool:
        return time.time() < self.until

    def intake(self, rng: random.Random) -> None:
        while self.running():
            category, subject, content = rng.choice(SUBJECTS)
            n = rng.randint(1, 99)
            phone = f"139{rng.randint(0, 10**8 - 1):08d}"
            body = {"kind": "complaint", "channel": "phone", "category": category, "subject": subject,
                    "content": content.format(n=n), "requester": {"name": rng.choice("张王李赵刘陈") + "先生",
                                                                  "phone": phone}}
            key = str(uuid.UUID(int=rng.getrandbits(128)))
            twin = None
            if rng.random() < 0.1:  # a client retrying while its first attempt is still in flight
                twin = threading.Thread(target=self.register, args=(body, key))
                twin.start()
            self.register(body, key)
            if twin is not None:
                twin.join()

    def register(self, body: dict[str, Any], key: str) -> None:
        self.request("intake", "POST", "/api/v1/cases", user="agent01", body=body,
                     headers={"Idempotency-Key": key}, key=key)

    def worklists(self, rng: random.Random) -> None:
        while self.running():
            user = rng.choice(["dispatch01", "cg01", "zj01", "agent01"])
            query = rng.choice(["", "?light=red", "?light=yellow", "?light=green", "?task=handle", "?page=2"])
            self.request("worklist", "GET", f"/api/v1/tasks{query}", user=user)

    def step(self, rng: random.Random, user: str, spec: str, data: dict[str, Any]) -> None:
        status, answer = self.request("worklist", "GET", f"/api/v1/tasks?task={spec}", user=user)
        items = answer.get("items", []) if status == 200 and isinstance(answer, dict) else []
        if not items:
            time.sleep(0.2)
            return
        task = rng.choice(items[:10])
        status, _ = self.request("complete", "POST", f"/api/v1/tasks/{task['id']}/complete", user=user,
                                 body={"data": data}, task=spec)
        if status == 200 and spec == "dispatch":
            with self.lock:
                self.dispatched.append(int(task["case_id"]))

    def centre(self, rng: random.Random) -> None:
        while self.running():
            if rng.random() < 0.5:
                self.step(rng, "dispatch01", "accept", {"accept_decision": "accept", "kind": "complaint"})
            else:
                unit = rng.choice(list(self.units.values()))
                self.step(rng, "dispatch01", "dispatch", {"dispatch_mode": "transfer", "lead_unit_id": unit,
                                                          "directly_designated": False})
            if rng.random() < 0.3:
                self.step(rng, "agent01", "follow_up", {"satisfaction": "satisfied", "resolved": True,
                                                        "follow_up_method": "phone"})

    def bureau(self, rng: random.Random) -> None:
        """The units work slower than the centre registers: part of their tasks goes yellow, red, up the ladder."""
        while self.running():
            user = rng.choice(["cg01", "zj01"])
            spec, data = rng.choice([("sign_for", {"sign_note": "已签收"}),
                                     ("handle", {"handle_action": "reply", "handling_notes": "已现场处理"}),
                                     ("reply", {"reply_outcome": "support", "reply_opinion": "问题已解决。"}),
                                     ("supervision_feedback", {"supervision_feedback": "已加快办理。"})])
            self.step(rng, user, spec, data)
            time.sleep(rng.uniform(0, 0.5))

    def dispatched_case(self, rng: random.Random) -> int | None:
        """A dispatched case, the newest more often (so two printers may ask for its first number at once)."""
        with self.lock:
            if not self.dispatched:
                return None
            return self.dispatched[-1] if rng.random() < 0.3 else rng.choice(self.dispatched)

    def leader(self, rng: random.Random) -> None:
        while self.running():
            case_id = self.dispatched_case(rng)
            if case_id is None:
                time.sleep(0.5)
                continue
            self.request("supervise", "POST", f"/api/v1/cases/{case_id}/supervise", user="leader01",
                         body={"note": "请加快办理并书面反馈。"}, case_id=case_id)
            time.sleep(rng.uniform(0.5, 1.5))

    def printer(self, rng: random.Random) -> None:
        """dispatch01 in a browser (the PDF is a page: session cookie, signed in through /login)."""
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        with browser.open(self.url + "/login", timeout=60) as page:
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())
        form = urllib.parse.urlencode({"staff_no": "dispatch01", "password": PASSWORD,
                                       "csrf_token": token.group(1) if token else ""}).encode()
        browser.open(self.url + "/login", data=form, timeout=60).close()
        while self.running():
            case_id = self.dispatched_case(rng)
            if case_id is None:
                time.sleep(0.5)
                continue
            began = time.perf_counter()
            try:
                with browser.open(f"{self.url}/cases/{case_id}/documents/transfer-form.pdf", timeout=120) as r:
                    pdf = r.headers.get("Content-Type") == "application/pdf" and r.read(5) == b"%PDF-"
                    status = r.status if pdf else -1  # -1: an answer that is no PDF (the sign-in page)
            except urllib.error.HTTPError as e:
                status = e.code
            except OSError:
                status = 0
            with self.lock:
                self.records.append({"kind": "pdf", "status": status, "ms": (time.perf_counter() - began) * 1000,
                                     "case_id": case_id})
            time.sleep(rng.uniform(0, 0.5))

    def bridge(self, rng: random.Random, pbx: str) -> None:
        n = 0
        while self.running():
            n += 1
            linkedid = f"{int(time.time())}.{n}"
            started = datetime.utcnow().isoformat(timespec="milliseconds") + "+00:00"  # noqa: DTZ003
            kinds = ["answered", "ended"] if rng.random() < 0.7 else ["abandoned", "ended"]
            for kind in kinds:
                body = {"pbx_id": pbx, "linkedid": linkedid, "kind": kind, "caller_number": "13800138000",
                        "caller_name": None, "queue": "hotline", "agent_interface": None, "agent_member_name": None,
                        "started_at": started, "answered_at": None, "ended_at": None, "hold_seconds": None,
                        "talk_seconds": None, "position": None, "original_position": None,
                        "recording_file": None, "voicemail_file": None}
                if kind == "answered":
                    body.update(agent_interface="PJSIP/8001", agent_member_name="王晓燕", answered_at=started,
                                hold_seconds=rng.randint(0, 60))
                elif kind == "abandoned":
                    body.update(position=1, original_position=rng.randint(1, 5), hold_seconds=rng.randint(1, 90))
                else:
                    body.update(ended_at=started, talk_seconds=rng.randint(0, 600))
                for _ in range(2 if rng.random() < 0.2 else 1):  # the bridge's retry after a lost answer
                    self.request("call", "POST", "/api/v1/calls/events", token=self.bridges[pbx], body=body,
                                 pbx=pbx, linkedid=linkedid, event=kind)
            time.sleep(rng.uniform(0.2, 1.0))

    def run(self, units: dict[str, int]) -> None:
        self.units = units
        self.sign_in()
        roles = [self.intake, self.intake, self.worklists, self.worklists, self.centre, self.centre,
                 self.bureau, self.bureau, self.leader, self.printer, self.printer]
        threads = [threading.Thread(target=role, args=(random.Random(self.random.random()),)) for role in roles]
        threads += [threading.Thread(target=self.bridge, args=(random.Random(self.random.random()), pbx))
                    for pbx in self.bridges]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


# ---- figures --------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def print_latencies(records: list[dict[str, Any]], seconds: float) -> None:
    by_kind: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for r in records:
        by_kind[r["kind"]].append(r["ms"])
        statuses[r["kind"]][r["status"]] += 1
    errors = {(r["kind"], r["status"]): r["error"] for r in records if "error" in r}
    print(f"{'kind':10s} {'n':>6s} {'per s':>6s} {'p50 ms':>7s} {'p95 ms':>7s} {'p99 ms':>7s}  statuses")
    for kind, values in sorted(by_kind.items()):
        print(f"{kind:10s} {len(values):6d} {len(values) / seconds:6.1f} {percentile(values, .5):7.0f} "
              f"{percentile(values, .95):7.0f} {percentile(values, .99):7.0f}  "
              f"{dict(sorted(statuses[kind].items()))}")
    for (kind, status), error in sorted(errors.items()):
        print(f"  e.g. {kind} {status}: {error[:160]}")


def unit_ids(env: dict[str, str]) -> dict[str, int]:
    from app.models import Unit

    platform = platform_of(create_app(_config(env)))
    with platform.db.reading() as session:
        found = {u.code: u.id for u in session.scalars(select(Unit).where(Unit.code.in_(["cgj", "zjj"])))}
    platform.db.dispose()
    return found


def print_made(platform: Any) -> None:
    """What the run made: the figures the checks are about."""
    from sqlalchemy import func

    from app.models import AuditEvent, Call, Callback, Case, HumanTask, SmsMessage, TaskEscalation, TaskWarning

    with platform.db.reading() as session:
        def grouped(column: Any) -> dict[str, int]:
            return {str(k): int(n) for k, n in session.execute(select(column, func.count()).group_by(column))}

        print(f"made: {session.scalar(select(func.count()).select_from(Case))} cases, "
              f"tasks {grouped(HumanTask.state)}, warnings {grouped(TaskWarning.colour)}, "
              f"rungs {grouped(TaskEscalation.rung)}, SMS {grouped(SmsMessage.status)}, "
              f"documents {session.scalar(select(func.count()).where(AuditEvent.action == 'document.issued'))}, "
              f"calls {session.scalar(select(func.count()).select_from(Call))}, "
              f"callbacks {session.scalar(select(func.count()).select_from(Callback))}")


def final_check(env: dict[str, str], records: list[dict[str, Any]], sink: list[tuple[str, str, str]],
                at: datetime, sweep: bool = True) -> bool:
    """One last sweep at the simulated stop time (what the schedulers had not reached yet), then the checker."""
    from app import jobs
    from app.services import escalation, outbox, sweeps

    platform = platform_of(create_app(_config(env), clock=FrozenClock(at)))
    if sweep:  # then drain the outbox: a pass sends at most 100, and 2,000× days of warnings queue up
        before = len(sink)
        jobs.run_once(platform, "load-check")
        # A pass spends at most sweeps.PASS_BUDGET on engine runs: what the schedulers would do on the next passes
        while sweeps.sweep_due_timers(platform, "load-check", budget=None).timers_fired:
            pass
        while escalation.climb(platform, "load-check", budget=None).fired:
            pass
        while outbox.send_pending(platform, jobs.gateway_for(platform)):
            pass
        print(f"final sweep at {at:%Y-%m-%d %H:%M} (simulated): {len(sink) - before} SMS sent late "
              f"(queued when the load stopped, or raised by this sweep)")
    print_made(platform)
    problems = check(platform, records, sink, at)
    platform.db.dispose()
    audit_cli = subprocess.run([str(VENV / "flask"), "audit", "verify"], env=env, cwd=ROOT, capture_output=True,
                               text=True)
    problems["flask audit verify"] = [] if audit_cli.returncode == 0 else [audit_cli.stderr.strip()[-500:]]
    for name, found in problems.items():
        print(f"check {name:18s} {'ok' if not found else 'FAILED'}")
        for line in found[:20]:  # the first ones: a failing check usually fails the same way many times
            print(f"    {line}")
    return not any(problems.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--url", help="drive a platform already served there (with --database-url)")
    parser.add_argument("--database-url", help="with --url: the database that platform runs on")
    parser.add_argument("--database", default="huiyin_load", help="the database created for the run (dropped first)")
    parser.add_argument("--admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--schedulers", type=int, default=3)
    parser.add_argument("--speed", type=float, default=1440, help="simulated seconds per real second")
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--check", metavar="RUN_JSON", help="only check again a kept run (its run.json, --keep)")
    parser.add_argument("--drain", action="store_true", help="with --check: run the last sweep again first")
    args = parser.parse_args()
    if args.check:
        saved = json.loads(Path(args.check).read_text())
        env = {**os.environ, **saved["env"]}
        received = [tuple(t) for t in saved["sink"]]
        if args.drain:  # a kept run whose outbox was not drained: a new sink, the last sweep again
            drain_sink = Sink()
            repoint(env, drain_sink.url)
            received = drain_sink.received
            received[:0] = [tuple(t) for t in saved["sink"]]
        sys.exit(0 if final_check(env, saved["records"], received, datetime.fromisoformat(saved["at"]),
                                  sweep=args.drain) else 1)
    instance = Path(f"/tmp/huiyin-load-{os.getpid()}")
    instance.mkdir(exist_ok=True)
    sink = Sink()
    admin_base = args.admin.rsplit("/", 1)[0]
    database_url = args.database_url or f"{admin_base.replace('postgresql://', 'postgresql+psycopg://')}/{args.database}"
    env = environment(database_url, instance, sink.url)
    procs: list[subprocess.Popen[bytes]] = []
    if not args.url:
        recreate(args.admin, args.database)
    tokens = prepare(env) if not args.url else {}
    clock = FastClock(time.time(), START, args.speed)
    env["LOAD_CLOCK"] = clock.spec()
    log = instance / "serve.log"
    print(f"load {args.minutes:g} min against {args.url or f'127.0.0.1:{args.port}'}, {args.workers} gunicorn "
          f"workers, {args.schedulers} schedulers, clock ×{args.speed:g} from {START:%Y-%m-%d %H:%M}; "
          f"LOAD_CLOCK={clock.spec()}; log {log}", flush=True)
    print(f"loadavg before: {Path('/proc/loadavg').read_text().strip()}", flush=True)
    try:
        if not args.url:
            procs = serve(env, args.port, args.workers, args.schedulers, log)
        began, cpu = time.time(), resource.getrusage(resource.RUSAGE_SELF)
        load = Load(args.url or f"http://127.0.0.1:{args.port}", tokens, began + args.minutes * 60)
        load.run(unit_ids(env))
        seconds = time.time() - began
        print(f"loadavg after:  {Path('/proc/loadavg').read_text().strip()}")
        mine = resource.getrusage(resource.RUSAGE_SELF)
        used = mine.ru_utime + mine.ru_stime - cpu.ru_utime - cpu.ru_stime
        print(f"wall {seconds:.0f} s; load script CPU {used:.0f} s")
        print_latencies(load.records, seconds)
    finally:
        stop(procs)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"served processes CPU {children.ru_utime + children.ru_stime:.0f} s (gunicorn + schedulers, reaped)")
    at = clock.now()
    ok = final_check(env, load.records, sink.received, at)
    saved = {"env": {k: env[k] for k in _KEPT}, "at": at.isoformat(), "records": load.records,
             "sink": sink.received}  # after the final sweep: what it sent is in the sink too
    if args.keep:
        (instance / "run.json").write_text(json.dumps(saved, ensure_ascii=False))
        print(f"records, SMS received and keys kept in {instance / 'run.json'} (--check it again)")
    if not args.keep and not args.url:
        subprocess.run(["psql", args.admin, "-qc", f'DROP DATABASE IF EXISTS "{args.database}"'], check=False)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
