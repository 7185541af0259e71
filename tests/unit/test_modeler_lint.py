"""The editor's lint rules (app/web/static/modeler/lint.js), run by node on crafted files: each rule fires
on the element that breaks it, and the stock definitions have no error."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "app" / "web" / "static" / "vendor" / "node_modules"
ROLES = "agent,dispatcher,handler,leader"
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">')
GOOD_TASK = ('<bpmn:userTask id="{id}" name="核查"><bpmn:extensionElements><spiffworkflow:properties>'
             '<spiffworkflow:property name="formJsonSchemaFilename" value="sign_for.json" />'
             '<spiffworkflow:property name="deadlineRule" value="hotline.accept" />'
             '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>')


@pytest.fixture(scope="module")
def lint_cli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lint rules bundled for node, as the page bundle is (esbuild from the pinned packages)."""
    esbuild, node = VENDOR / "esbuild" / "bin" / "esbuild", shutil.which("node")
    if not esbuild.exists() or node is None:
        pytest.fail("esbuild or node is missing: scripts/test installs them (ensure_bpmn_js)")
    out = tmp_path_factory.mktemp("lint") / "lint_cli.js"
    subprocess.run([str(esbuild), str(ROOT / "app/web/static/modeler/lint_cli.js"), "--bundle", "--platform=node",
                    f"--outfile={out}", "--log-level=warning"], check=True,
                   env={**os.environ, "NODE_PATH": str(VENDOR)})
    return out


def lint(cli: Path, *files: Path) -> dict[str, list[dict[str, str]]]:
    answer = subprocess.run(["node", str(cli), *map(str, files)], capture_output=True, text=True, check=True,
                            env={**os.environ, "HUIYIN_ROLES": ROLES})
    return {Path(row["file"]).name: row["problems"] for row in map(json.loads, answer.stdout.splitlines())}


def _wire(xml: str, node: str, child: str) -> str:
    """Put <bpmn:incoming>/<bpmn:outgoing> into the node's element, as modelers write them."""
    xml = re.sub(rf'(<bpmn:(\w+) id="{node}"([^>]*?))\s*/>', r"\1></bpmn:\2>", xml, count=1)
    return re.sub(rf'(<bpmn:\w+ id="{node}"[^>]*>)', lambda m: m.group(1) + child, xml, count=1)


def process(body: str, flows: list[tuple[str, str]], lane: str = "handler", lane_nodes: str = "") -> str:
    lanes = (f'<bpmn:laneSet id="ls"><bpmn:lane id="lane1" name="{lane}">{lane_nodes}</bpmn:lane></bpmn:laneSet>'
             if lane_nodes else "")
    xml = f'<bpmn:startEvent id="start" />{body}<bpmn:endEvent id="end" />'
    for i, (a, b) in enumerate(flows):
        xml = _wire(_wire(xml, a, f"<bpmn:outgoing>f{i}</bpmn:outgoing>"), b, f"<bpmn:incoming>f{i}</bpmn:incoming>")
        xml += f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}" />'
    return f'{HEAD}<bpmn:process id="p" isExecutable="true">{lanes}{xml}</bpmn:process></bpmn:definitions>'


CRAFTED = {
    "no_form.bpmn": (process('<bpmn:userTask id="t1" name="核查"><bpmn:extensionElements><spiffworkflow:properties>'
                             '<spiffworkflow:property name="deadlineRule" value="hotline.accept" />'
                             '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>',
                             [("start", "t1"), ("t1", "end")]), "huiyin/user-task-form", "t1"),
    "no_rule.bpmn": (process('<bpmn:userTask id="t1" name="核查"><bpmn:extensionElements><spiffworkflow:properties>'
                             '<spiffworkflow:property name="formJsonSchemaFilename" value="sign_for.json" />'
                             '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>',
                             [("start", "t1"), ("t1", "end")]), "huiyin/user-task-rule", "t1"),
    "lane_words.bpmn": (process(GOOD_TASK.format(id="t1"), [("start", "t1"), ("t1", "end")], lane="经办人",
                                lane_nodes="<bpmn:flowNodeRef>t1</bpmn:flowNodeRef>"), "huiyin/lane-role", "lane1"),
    "unreachable.bpmn": (process(GOOD_TASK.format(id="t1") + GOOD_TASK.format(id="t2"),
                                 [("start", "t1"), ("t1", "end"), ("t2", "end")]), "huiyin/reachable", "t2"),
    "implicit_split.bpmn": (process(GOOD_TASK.format(id="t1") + GOOD_TASK.format(id="t2"),
                                    [("start", "t1"), ("t1", "t2"), ("t1", "end"), ("t2", "end")]),
                            "no-implicit-split", "t1"),
    "bad_timer.bpmn": (process('<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition id="td">'
                               '<bpmn:timeDuration>"P3X"</bpmn:timeDuration></bpmn:timerEventDefinition>'
                               '</bpmn:intermediateCatchEvent>', [("start", "wait"), ("wait", "end")]),
                       "huiyin/timers-parse", "wait"),
    "javascript.bpmn": (process('<bpmn:scriptTask id="s1" scriptFormat="javascript"><bpmn:script>x = 1</bpmn:script>'
                                '</bpmn:scriptTask>', [("start", "s1"), ("s1", "end")]), "huiyin/python-only", "s1"),
}


def test_each_rule_fires_on_the_element_that_breaks_it(lint_cli: Path, tmp_path: Path) -> None:
    for name, (xml, _, _) in CRAFTED.items():
        (tmp_path / name).write_text(xml, encoding="utf-8")
    found = lint(lint_cli, *(tmp_path / name for name in CRAFTED))
    for name, (_, rule, element) in CRAFTED.items():
        hits = [(p["rule"], p["element"]) for p in found[name]]
        assert (rule, element) in hits, (name, found[name])
        assert all(not p["rule"].endswith("rule-error") and "failed" not in p["message"] for p in found[name])


def test_a_well_formed_step_and_the_stock_definitions_have_no_error(lint_cli: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.bpmn"
    good.write_text(process(GOOD_TASK.format(id="t1"), [("start", "t1"), ("t1", "end")]), encoding="utf-8")
    found = lint(lint_cli, good, *sorted((ROOT / "workflows").glob("*.bpmn")))
    assert found["good.bpmn"] == []
    errors = {name: [p for p in problems if p["severity"] == "error"] for name, problems in found.items()}
    assert errors == {name: [] for name in found}, errors
