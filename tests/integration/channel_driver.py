"""The administrator's `flask channels …` commands as tests call them."""

from __future__ import annotations

from typing import Any


def flask_command(app: Any, *args: str) -> Any:
    """`flask …` against this app."""
    return app.test_cli_runner().invoke(args=list(args))


def channel_key(app: Any, name: str, channel: str) -> str:
    """A new channel key from `flask channels create`, as the administrator would hand it out."""
    created = flask_command(app, "channels", "create", "--name", name, "--channel", channel)
    assert created.exit_code == 0, created.output
    return str(created.output.strip())
