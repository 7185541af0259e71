"""The restricted environment on its own: attacks are harmless at run time, plain scripts work."""

from __future__ import annotations

import pytest

from app.engine.guards import ScriptLimit
from app.engine.policy import ScriptRefused, compile_script
from app.engine.scripting import RestrictedEnvironment
from tests.unit.engine_facade.conftest import NOW

STOPPED = "已被终止"  # the run's budget (steps or wall time) was spent
TOO_BIG = "过大的数据"
# Each attack and what must stop it: a bound of the guards, never how long it happened to take.
RUN_TIME_ATTACKS = [
    ("n = 0\nwhile n >= 0:\n    n += 1", STOPPED),
    ("x = [i for i in range(10**6) for j in range(10**6)]", STOPPED),
    ("k = 9\nx = k ** k ** k", "过大的整数"),
    ("k = 10**5\nx = 'a' * k * k", TOO_BIG),
    ("s = 'ab'\nfor i in range(100):\n    s = s + s", TOO_BIG),
    ("s = 'ab'\nfor i in range(100):\n    s += s", TOO_BIG),
    ("l = [1]\nfor i in range(100):\n    l.extend(l)", TOO_BIG),
    ("l = [1]\nfor i in range(100):\n    l[len(l):] = l", TOO_BIG),
    ("s = 'x'\nfor i in range(60):\n    s = s.join([s, s])", TOO_BIG),
    ("w = 10**9\nx = 'a'.ljust(w)", TOO_BIG),
    ("f = '%' + '*d'\nx = f % (10**9, 1)", "格式化宽度或精度过大"),
    ("def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nx = f(60)", STOPPED),
    ("x = [1]\nfor i in range(60):\n    x = [x, x]", "流程数据过大"),
    ("x = ['a' * 100000] * 10000\ny = str(x)", TOO_BIG),
    ("x = now().tzinfo.utcoffset(None)", "不允许访问属性"),
    ("x = sum([[1]] * 1000, [])", "sum 只能对数字求和"),
    ("x = range(10**12)", "range 过长"),
]


@pytest.fixture
def env():
    """A restricted environment on the test clock, its wall-time budget out of the way: on a loaded box
    time would otherwise stop a script before the bound under test does (the time budget has its own test)."""
    return RestrictedEnvironment(NOW, seconds=3600)


@pytest.mark.parametrize(("script", "stopped_by"), RUN_TIME_ATTACKS)
def test_run_time_attacks_are_stopped_by_their_bound(env, script, stopped_by):
    data = {"untouched": 1}
    with pytest.raises(ScriptLimit, match=stopped_by):
        env.execute(script, data)
    assert data == {"untouched": 1}  # a failed script leaves task data alone


def test_unbounded_recursion_is_stopped_by_the_recursion_limit(env):
    data = {"untouched": 1}
    with pytest.raises(RecursionError):
        env.execute("f = (lambda g: g(g))\nx = f(lambda g: g(g))", data)
    assert data == {"untouched": 1}


def test_a_spent_budget_says_which_bound_stopped_the_script(env):
    with pytest.raises(ScriptLimit, match=r"脚本执行步数超过上限（2000000），已被终止"):
        env.execute("n = 0\nwhile n >= 0:\n    n += 1", {})
    # 2,000,000 steps take CPython far longer than 50 ms, so the wall-time budget is what stops this one.
    with pytest.raises(ScriptLimit, match=r"脚本执行时间超过上限（0.05 秒），已被终止"):
        RestrictedEnvironment(NOW, seconds=0.05).execute("n = 0\nwhile n >= 0:\n    n += 1", {})


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
