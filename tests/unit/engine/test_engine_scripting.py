"""The restricted environment on its own: attacks are harmless at run time, plain scripts work."""

from __future__ import annotations

import time

import pytest

from app.engine.guards import ScriptLimit
from app.engine.policy import ScriptRefused, compile_script
from app.engine.scripting import RestrictedEnvironment
from tests.unit.engine.conftest import NOW

RUN_TIME_ATTACKS = [
    "n = 0\nwhile n >= 0:\n    n += 1",
    "x = [i for i in range(10**6) for j in range(10**6)]",
    "k = 9\nx = k ** k ** k",
    "k = 10**5\nx = 'a' * k * k",
    "s = 'ab'\nfor i in range(100):\n    s = s + s",
    "s = 'ab'\nfor i in range(100):\n    s += s",
    "l = [1]\nfor i in range(100):\n    l.extend(l)",
    "l = [1]\nfor i in range(100):\n    l[len(l):] = l",
    "s = 'x'\nfor i in range(60):\n    s = s.join([s, s])",
    "w = 10**9\nx = 'a'.ljust(w)",
    "f = '%' + '*d'\nx = f % (10**9, 1)",
    "def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nx = f(60)",
    "x = [1]\nfor i in range(60):\n    x = [x, x]",
    "x = ['a' * 100000] * 10000\ny = str(x)",
    "x = now().tzinfo.utcoffset(None)",
    "x = sum([[1]] * 1000, [])",
    "x = range(10**12)",
    "f = (lambda g: g(g))\nx = f(lambda g: g(g))",
]


@pytest.fixture
def env():
    """A restricted environment on the test clock."""
    return RestrictedEnvironment(NOW)


@pytest.mark.parametrize("script", RUN_TIME_ATTACKS)
def test_run_time_attacks_are_stopped_quickly(env, script):
    data = {"untouched": 1}
    started = time.monotonic()
    with pytest.raises((ScriptLimit, RecursionError, ScriptRefused)):
        env.execute(script, data)
    assert time.monotonic() - started < 2.5
    assert data == {"untouched": 1}  # a failed script leaves task data alone


@pytest.mark.parametrize(
    "source",
    [
        "import os",
        "__import__('os')",
        "open('/etc/passwd')",
        "globals()",
        "x.gi_frame",
        "x.f_back",
        "x.tb_frame",
        "'{0.__class__}'.format(1)",
        "''.format_map({})",
        "while 1: pass",
        "9**9**9",
        "[*a, *a]",
        "try:\n    x = 1\nexcept:\n    pass",
        "class A: pass",
        "def g():\n    yield 1",
    ],
)
def test_dangerous_source_never_compiles(source):
    with pytest.raises(ScriptRefused):
        compile_script(source, "exec")


def test_plain_scripts_see_task_data_and_whitelisted_functions(env):
    data = {"units": [3, 1, 2], "kind": "complaint"}
    env.execute("ordered = sorted(units)\nbiggest = max(units)\nlabel = f'{kind}-{len(units):03d}'", data)
    assert data == {
        "units": [3, 1, 2],
        "kind": "complaint",
        "ordered": [1, 2, 3],
        "biggest": 3,
        "label": "complaint-003",
    }
    assert env.evaluate("any(u > 2 for u in units) and all(u > 0 for u in units)", data) is True
    assert env.evaluate("'%s/%d' % (kind, round(2.6))", data) == "complaint/3"


def test_a_script_can_delete_a_variable(env):
    data = {"temp": 1, "keep": 2}
    env.execute("del temp", data)
    assert data == {"keep": 2}


def test_functions_handed_to_scripts_are_not_modules_or_classes(env):
    with pytest.raises(ScriptLimit):
        env.evaluate("date.today", {})
    with pytest.raises(ScriptLimit):
        env.evaluate("str.join", {})


def test_the_budget_does_not_leak_between_runs(env):
    with pytest.raises(ScriptLimit):
        env.execute("n = 0\nwhile n >= 0:\n    n += 1", {})
    data: dict[str, int] = {}
    env.execute("n = 0\nfor i in range(1000):\n    n += i", data)
    assert data["n"] == 499500
