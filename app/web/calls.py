"""Telephony: call events from the bridge, callbacks, screen pops, call statistics."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("calls", __name__)
