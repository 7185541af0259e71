"""The composition root: settings, keys, database and clock wired into the Flask app, the web and the CLI."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Flask

from app.clock import Clock, SystemClock
from app.crypto import load_keys
from app.db import Database
from app.logs import configure_logging
from app.services.platform import Platform
from app.settings import Settings


def create_app(config: dict[str, Any] | None = None, *, clock: Clock | None = None) -> Flask:
    """Build the web application; `config` overrides settings (tests pass DATABASE_URL, keys, TESTING)."""
    config = dict(config or {})
    base = Settings.from_env()
    known = {f.name for f in dataclasses.fields(Settings)}
    settings = dataclasses.replace(base, **{k: v for k, v in config.items() if k in known and k != "extra"},
                                   extra={k: v for k, v in config.items() if k not in known})
    configure_logging(settings.LOG_LEVEL)
    keys = load_keys({n: getattr(settings, n) for n in ("SECRET_KEY", "DATA_KEY", "SEARCH_KEY", "AUDIT_KEY",
                                                        "DATA_KEYS_RETIRED")},
                     settings.INSTANCE_PATH)
    platform = Platform(db=Database(settings.DATABASE_URL, reports_url=settings.REPORTS_DATABASE_URL),
                        settings=settings, keys=keys, clock=clock or SystemClock())

    app = Flask(__name__, instance_path=settings.INSTANCE_PATH, template_folder="web/templates",
                static_folder="web/static")
    app.config.update(
        SECRET_KEY=keys.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https_only,
        SESSION_COOKIE_NAME="huiyin",
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,  # a case body, a BPMN upload with its forms: 413 beyond
        MAX_FORM_MEMORY_SIZE=500_000,  # bytes per form field (诉求内容 of 20,000 characters is 60 KB)
        MAX_FORM_PARTS=1000,  # fields in one form post
        WTF_CSRF_TIME_LIMIT=None,  # the session's own lifetime bounds the token
        JSON_AS_ASCII=False,
    )
    app.config.update(settings.extra)
    app.extensions["huiyin"] = platform
    from app.web import door

    door.install(app)  # before any route: bounded <int:…>, bounded JSON depth, the text check first of all

    from app.web import register_web

    register_web(app)

    from app.cli import register_cli

    register_cli(app)
    return app
