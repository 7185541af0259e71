"""The real platform served on 127.0.0.1 (a werkzeug server in a thread) and Debian's headless Chromium.

`served` is parametrized over a migrated, seeded SQLite file and a PostgreSQL schema of its own, so every
browser test runs on both. The clock is frozen at a working Wednesday, so deadlines and lights are fixed.
Screenshots go to test-artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from app import create_app
from app.clock import FrozenClock
from app.migrate import upgrade
from app.services.seed import seed_demo
from tests.conftest import FAST_HASH, START, TEST_KEYS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
def _postgres_url() -> str:
    """A schema of this process's own: parallel workers and side-by-side runs never share one."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.fail("TEST_DATABASE_URL is not set: run the suite with scripts/test, which provides PostgreSQL")
    base = base.replace("postgresql://", "postgresql+psycopg://", 1) if base.startswith("postgresql://") else base
    schema = f"huiyin_e2e_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


class Served:
    """A running platform: its base URL, its frozen clock and its service handle."""

    def __init__(self, name: str, url: str, clock: FrozenClock, app: Any) -> None:
        self.name, self.url, self.clock, self.app = name, url, clock, app

    @property
    def platform(self) -> Any:
        return self.app.extensions["huiyin"]


@contextmanager
def serving(kind: str, folder: Path, **config: Any) -> Iterator[Served]:
    """The platform on a fresh migrated and seeded database of that kind, served on a free port in a thread."""
    db_url = f"sqlite:///{folder / 'huiyin.db'}" if kind == "sqlite" else _postgres_url()
    upgrade(db_url)
    clock = FrozenClock(START)
    # Served over plain HTTP on 127.0.0.1: a test install, not production (whose cookie is HTTPS-only).
    app = create_app({"DATABASE_URL": db_url, "INSTANCE_PATH": str(folder / "instance"), "ENVIRONMENT": "test",
                      **TEST_KEYS, **FAST_HASH, **config}, clock=clock)
    seed_demo(app.extensions["huiyin"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"e2e-{kind}", daemon=True)
    thread.start()
    try:
        yield Served(kind, f"http://127.0.0.1:{server.server_port}", clock, app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        app.extensions["huiyin"].db.dispose()
        if kind == "postgresql":
            _drop_schema_of(db_url)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The platform on both databases, one per module."""
    with serving(request.param, tmp_path_factory.mktemp(f"e2e-{request.param}")) as platform_served:
        yield platform_served


def _drop_schema_of(url: str) -> None:
    schema = url.rsplit("search_path%3D", 1)[-1]
    admin = create_engine(url.split("?")[0], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="module")  # sync Playwright holds an event loop open: end it with the module
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Desk:
    """One signed-in user's browser context at 1366×768, collecting console errors (CSP violations show there)."""

    def __init__(self, browser: Any, served: Served, staff_no: str, **context_args: Any) -> None:
        self.served = served
        self.context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", **context_args)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.go("/login")
        self.page.fill("#staff_no", staff_no)
        self.page.fill("#password", "Huiyin@2026")
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{served.url}/")

    def go(self, path: str) -> Any:
        self.page.goto(self.served.url + path)
        return self.page

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.served.name}-{name}.png"), full_page=False)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def desk(chromium: Any, served: Served) -> Iterator[Any]:
    """desk('cg01') opens a signed-in browser context for that user; all are closed after the test."""
    opened: list[Desk] = []

    def open_desk(staff_no: str) -> Desk:
        opened.append(Desk(chromium, served, staff_no))
        return opened[-1]

    yield open_desk
    for d in opened:
        d.close()
