"""The request's platform handle and acting user; the only place that reads cookies and tokens."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Response, current_app, g, redirect, request, session, url_for

from app.errors import NotPermitted, NotSignedIn
from app.services import auth, rate_limits
from app.services.actors import Actor
from app.services.platform import Platform

F = TypeVar("F", bound=Callable[..., Any])
OPEN_ENDPOINTS = {"auth.login", "health.healthz", "static", "api.issue_token", "api.openapi", "api.portal_lookup",
                  "portal_faq.faq", "portal_faq.faq_entry", "portal_faq.faq_suggest",
                  "portal_faq.faq_attachment"}  # 常见问题, rate-limited
PASSWORD_ENDPOINTS = {"auth.change_password", "auth.logout"}
# Open to everyone, and never read a staff session: GeoReport v2 (GET public, POST signed with api_key) and the
# citizens' portal (rate-limited, CSRF on its forms; its own proof of a case in the signed cookie).
OPEN_BLUEPRINTS = {"open311", "portal"}


def platform() -> Platform:
    return cast(Platform, current_app.extensions["huiyin"])


def client_ip() -> str | None:
    """The caller's address: the TCP peer, or what the PROXY_HOPS trusted proxies say (ProxyFix)."""
    return request.remote_addr


def rate_limited(bucket: str = "public") -> Callable[[F], F]:
    """Count the request against the bucket's per-address limit before the view runs (429 with
    Retry-After when over). Every endpoint open without sign-in wears it; sign-in has its own bucket."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            rate_limits.hit(platform(), bucket, {"address": client_ip()})
            return view(*args, **kwargs)
        return cast(F, wrapper)
    return decorate


def load_actor() -> Response | None:
    """Find who is calling: a bearer token on the API, the session cookie on pages."""
    g.actor = None
    if request.blueprint in OPEN_BLUEPRINTS:
        return None
    if request.path.startswith("/api/"):
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            g.actor = auth.load_token(platform(), header[7:].strip(), client_ip())
        return None
    sid = session.get("sid")
    if sid:
        g.actor = auth.load_session(platform(), sid, client_ip())
        if g.actor is None:
            session.clear()
    endpoint = request.endpoint or ""
    if endpoint in OPEN_ENDPOINTS:
        return None
    if g.actor is None:
        return cast(Response, redirect(url_for("auth.login", next=request.full_path.rstrip("?"))))
    if g.actor.must_change_password and endpoint not in PASSWORD_ENDPOINTS:
        return cast(Response, redirect(url_for("auth.change_password")))
    return None


def current_actor() -> Actor:
    actor = g.get("actor")
    if actor is None:
        raise NotSignedIn("请先登录")
    return cast(Actor, actor)


def requires(permission: str) -> Callable[[F], F]:
    """Refuse the view unless the actor holds the permission. Kept for the admin user/unit pages; the
    workstation's routes carry none — their services check (actors.require) and the web maps the answer."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_actor().can(permission):
                raise NotPermitted("没有权限执行此操作")
            return view(*args, **kwargs)
        return cast(F, wrapper)
    return decorate


def local_path(target: str | None, fallback: str) -> str:
    """`target` if it is a path on this site, else `fallback`: never send a user elsewhere."""
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) < 32 for c in target) or urlsplit(target).netloc):
        return fallback
    return target


def security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
    if g.get("actor") is not None and request.endpoint != "static":
        # Whatever a signed-in user is sent may carry personal data: no cache keeps a copy, not even a
        # download (send_file's own `no-cache` would still let the browser store it).
        response.headers["Cache-Control"] = "no-store"
    settings = platform().settings
    if settings.https_only and request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={settings.HSTS_MAX_AGE}")
    return response
