"""Printed documents (办理转送单, 交办函, 督办通知单) as PDF downloads."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("documents", __name__)
