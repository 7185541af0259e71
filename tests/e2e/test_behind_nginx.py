"""The workstation through Debian's nginx with the shipped config (deploy/nginx/huiyin.conf).

The platform runs with PROXY_HOPS=1, as deploy/huiyin.env.example sets it. nginx overwrites
X-Forwarded-For with the peer it saw, so a client that forges the header is still counted and audited
under its own address — the proxy is trusted, the client is not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.models import AuditEvent
from tests.e2e.conftest import Desk, Served, serving
from tests.e2e.test_workstation import open_case_from_worklist, register, submit

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
FORGED = "203.0.113.77"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _site_config(app_port: int, listen_port: int) -> str:
    """The shipped server block with only the addresses and the release folder of this machine put in."""
    site = (ROOT / "deploy" / "nginx" / "huiyin.conf").read_text()
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
    site = re.sub(r"^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{listen_port};", site, flags=re.M)
    return site.replace("/opt/huiyin/", f"{ROOT}/")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The platform trusting one proxy hop, reached only through nginx: `url` is nginx's."""
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: apt-get install -y --no-install-recommends nginx-light (scripts/test does)")
    folder = tmp_path_factory.mktemp(f"nginx-{request.param}")
    with serving(request.param, folder, PROXY_HOPS=1) as direct:
        app_port = int(direct.url.rsplit(":", 1)[1])
        listen = _free_port()
        (folder / "site.conf").write_text(_site_config(app_port, listen))
        temp = folder / "nginx-temp"
        temp.mkdir()
        user = "user root;\n" if os.geteuid() == 0 else ""  # as root the workers would drop to nobody
        (folder / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
            f"events {{ worker_connections 256; }}\n"
            f"http {{\n  include /etc/nginx/mime.types;\n  access_log {folder}/access.log;\n"
            f"  client_body_temp_path {temp}/body;\n  proxy_temp_path {temp}/proxy;\n"
            f"  fastcgi_temp_path {temp}/fastcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n  scgi_temp_path {temp}/scgi;\n"
            f"  include {folder}/site.conf;\n}}\n")
        check = subprocess.run([NGINX, "-t", "-c", str(folder / "nginx.conf")], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        proc = subprocess.Popen([NGINX, "-c", str(folder / "nginx.conf")], stderr=subprocess.PIPE)
        url = f"http://127.0.0.1:{listen}"
        _wait_until_up(url + "/healthz", proc)
        try:
            yield Served(request.param, url, direct.clock, direct.app)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _wait_until_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if proc.poll() is not None:
            raise AssertionError(f"nginx exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 — loopback
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nginx did not answer within 5 s")


def _audited_addresses(served: Served, action: str) -> list[str | None]:
    with served.platform.db.reading() as s:
        return list(s.scalars(select(AuditEvent.ip).where(AuditEvent.action == action)))


def test_a_case_is_registered_and_opened_through_nginx(chromium: Any, served: Served) -> None:
    """Forms (CSRF), the worklist, the case page with its diagram and static files all pass the proxy."""
    forged = {"extra_http_headers": {"X-Forwarded-For": FORGED}}
    agent, dispatcher = Desk(chromium, served, "agent01", **forged), Desk(chromium, served, "dispatch01", **forged)
    try:
        page = register(agent, "经代理登记的诉求")
        submit(page, "保存登记")
        number = page.locator("#case-number").inner_text()
        page = open_case_from_worklist(dispatcher, number, "受理")
        page.wait_for_selector("#diagram[data-ready='1'] .djs-element.current")  # bpmn-js came via /static/
        dispatcher.shot("behind-nginx-case")
        assert not agent.errors and not dispatcher.errors, agent.errors + dispatcher.errors
    finally:
        agent.close()
        dispatcher.close()
    addresses = _audited_addresses(served, "login.ok")
    assert addresses, "the sign-in was not audited"
    assert FORGED not in addresses, "a client-forged X-Forwarded-For reached the audit"
    assert set(addresses) == {"127.0.0.1"}


def test_a_forged_address_does_not_escape_the_sign_in_limit(served: Served) -> None:
    """Wrong passwords from one client with a new forged address each time are still counted as one client."""
    limit = int(served.platform.settings.RATE_LIMIT_SIGN_IN_ADDRESS.split("/")[0])
    statuses = []
    for n in range(limit + 1):
        body = json.dumps({"staff_no": f"nobody{n}", "password": "wrong"}).encode()
        request = urllib.request.Request(served.url + "/api/v1/auth/token", data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Forwarded-For": f"198.51.100.{n + 1}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 — loopback
                statuses.append(answer.status)
        except urllib.error.HTTPError as refused:
            statuses.append(refused.code)
    assert statuses[-1] == 429, statuses
