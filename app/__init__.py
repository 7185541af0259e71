"""Huiyin 回音 — case management for 12345 hotlines and petition offices.

Packages (arrows point down; import-linter in scripts/test holds them, see docs/architecture.md):
factory / cli (composition) · web (thin Flask routes) and jobs (the scheduler) · services (use cases, the
only commits) · engine (SpiffWorkflow, nothing else imports it) · documents (PDFs) · models (tables) ·
domain (pure rules). The package root imports nothing, so importing `app.domain` never pulls in Flask.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """`from app import create_app` for entry points (wsgi.py, tests) without importing Flask eagerly."""
    if name == "create_app":
        from app.factory import create_app

        return create_app
    raise AttributeError(name)
