"""Upgrade a database to the newest schema and make sure the fixed role catalogue is in it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.settings import ROOT


def alembic_config(url: str) -> Config:
    cfg = Config(str(Path(ROOT) / "alembic.ini"))
    cfg.set_main_option("script_location", str(Path(ROOT) / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str) -> None:
    """Apply every migration not yet applied (an empty database gets the whole schema)."""
    command.upgrade(alembic_config(url), "head")
