"""Thin Flask routes: load the request, call one service, render or serialize.

context (platform, acting user) · errors (one mapping of errors to HTTP) · auth (sign-in pages) ·
api (JSON under /api/v1, bearer tokens only) · pages (the workstation) · audit (the auditor's log) · health.
"""

from __future__ import annotations

from flask import Flask
from flask_wtf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from app.web import (
    admin,
    admin_backups,
    admin_calendar,
    admin_channels,
    admin_config,
    admin_modeler,
    admin_settings,
    admin_units,
    admin_users,
    audit,
    auth,
    calls,
    context,
    documents,
    errors,
    health,
    knowledge,
    open311,
    portal,
    portal_faq,
    query,
    reports,
    screening,
)
from app.web.api import bp as api_bp
from app.web.workstation import bp as workstation_bp

csrf = CSRFProtect()


def register_web(app: Flask) -> None:
    csrf.init_app(app)  # first, as before: its check runs ahead of loading the actor
    hops = app.extensions["huiyin"].settings.PROXY_HOPS
    if hops:  # trust exactly that many proxies' X-Forwarded-For / -Proto: the client address and HTTPS
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.before_request(context.load_actor)
    app.after_request(context.security_headers)
    errors.register(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(workstation_bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin_modeler.bp)
    app.register_blueprint(admin_backups.bp)
    app.register_blueprint(admin_channels.bp)
    app.register_blueprint(admin_users.bp)
    app.register_blueprint(admin_units.bp)
    app.register_blueprint(admin_settings.bp)
    app.register_blueprint(admin_calendar.bp)
    app.register_blueprint(admin_config.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(calls.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(screening.bp)
    app.register_blueprint(knowledge.bp)
    app.register_blueprint(query.bp)
    app.register_blueprint(portal_faq.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(open311.bp)
    csrf.exempt(open311.bp)  # signed with api_key, never the session cookie
    csrf.exempt(api_bp)  # the API takes bearer tokens only, never the session cookie
