"""Fixtures for the stock-workflow tests: `case` starts a case over the real files in workflows/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from workflow_driver import Case, start_data


@pytest.fixture
def case() -> Callable[..., Case]:
    """Start a case of a stock process: `case('hotline_order', kind='help')`."""

    def start(key: str, **overrides: Any) -> Case:
        return Case(key, start_data(**overrides))

    return start
