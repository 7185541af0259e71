"""Compile-time policy for restricted scripts: RestrictedPython's transformer, tightened.

On top of RestrictedPython (no `_names`, no imports, guarded attribute/item/iteration access):
- dangerous builtin names (`open`, `globals`, `getattr`, `type` …) and frame / code / format attribute
  names (`gi_frame`, `tb_frame`, `f_globals`, `format`, `format_map` …) are refused outright;
- `try`, `with`, `class`, `yield`, `global`, `nonlocal`, `raise`, starred displays are refused;
- `+ * ** << %` become `_binop_(op, a, b)` (size-bounded), `while` bodies and functions tick the
  budget, f-string fields go through `_fstr_` and may not carry dynamic or huge format specs;
- `while True` without `break` and constant expressions that blow the size bounds are refused.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from types import CodeType
from typing import Any, Literal

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec

from app.engine.guards import BINOPS, MAX_FORMAT_WIDTH, Budget, ScriptLimit, check_format_widths, set_budget

FORBIDDEN_NAMES = frozenset(
    (
        "open",
        "eval",
        "exec",
        "compile",
        "globals",
        "locals",
        "vars",
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "breakpoint",
        "input",
        "help",
        "memoryview",
        "object",
        "super",
        "type",
        "classmethod",
        "staticmethod",
        "property",
        "dir",
        "exit",
        "quit",
        "print",
        "printed",
        "bytearray",
        "bytes",
        "id",
        "hash",
        "format",
        "__import__",
        "__builtins__",
        "reload",
    )
)
FORBIDDEN_ATTRS = frozenset(("format", "format_map", "mro"))
FORBIDDEN_ATTR_PREFIXES = ("gi_", "cr_", "ag_", "tb_", "f_", "co_", "func_", "im_")

_BINOP_SYMBOLS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Mult: "*",
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.Mod: "%",
}


class ScriptRefused(Exception):
    """A script does not compile under the restricted policy; the message is Chinese."""


def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    node = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
    for child in ast.walk(node):
        if "lineno" in child._attributes and not hasattr(child, "lineno"):
            ast.copy_location(child, like)
    return node


def _has_break(body: list[ast.stmt]) -> bool:
    """A `break` that belongs to this loop (not to a nested one)."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break):
            return True
        if isinstance(node, (ast.For, ast.While)):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


class HuiyinTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy plus Huiyin's refusals and guarded operators."""

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in FORBIDDEN_NAMES:
            self.error(node, f'不允许使用 "{node.id}"')
        return super().visit_Name(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr in FORBIDDEN_ATTRS or node.attr.startswith(FORBIDDEN_ATTR_PREFIXES):
            self.error(node, f'不允许访问属性 "{node.attr}"')
        return super().visit_Attribute(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        symbol = _BINOP_SYMBOLS.get(type(node.op))
        if symbol is None:
            return node
        return _call("_binop_", [ast.Constant(symbol), node.left, node.right], node)

    def visit_While(self, node: ast.While) -> Any:
        test = node.test
        if isinstance(test, ast.Constant) and test.value and not _has_break(node.body):
            self.error(node, "不允许没有 break 的无限循环")
        node = self.node_contents_visit(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_tick_", [], node)), node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        new = super().visit_FunctionDef(node)
        if isinstance(new, ast.FunctionDef):
            new.body.insert(0, ast.copy_location(ast.Expr(_call("_tick_", [], new)), new))
        return new

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        new = super().visit_Lambda(node)
        if isinstance(new, ast.Lambda):
            new.body = _call("_tick_", [new.body], new.body)
        return new

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            if not all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
                self.error(node, "f-string 的格式说明必须是常量")
            else:
                text = "".join(str(p.value) for p in parts if isinstance(p, ast.Constant))
                if any(int(n) > MAX_FORMAT_WIDTH for n in _digits(text)):
                    self.error(node, "f-string 的宽度或精度过大")
        node = self.node_contents_visit(node)
        node.value = _call("_fstr_", [node.value], node.value)
        return node

    def _no_starred(self, node: ast.List | ast.Tuple | ast.Set) -> None:
        if isinstance(getattr(node, "ctx", ast.Load()), ast.Load) and any(
            isinstance(e, ast.Starred) for e in node.elts
        ):
            self.error(node, "不允许在列表、元组或集合中使用 * 展开")

    def visit_List(self, node: ast.List) -> Any:
        self._no_starred(node)
        return super().visit_List(node)

    def visit_Tuple(self, node: ast.Tuple) -> Any:
        self._no_starred(node)
        return super().visit_Tuple(node)

    def visit_Set(self, node: ast.Set) -> Any:
        self._no_starred(node)
        return super().visit_Set(node)

    def _refuse(self, node: ast.AST, what: str) -> None:
        self.error(node, f"不允许使用 {what} 语句")

    def visit_Try(self, node: ast.Try) -> Any:
        self._refuse(node, "try")

    def visit_TryStar(self, node: ast.AST) -> Any:
        self._refuse(node, "try")

    def visit_With(self, node: ast.With) -> Any:
        self._refuse(node, "with")

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        self._refuse(node, "class")

    def visit_Yield(self, node: ast.Yield) -> Any:
        self._refuse(node, "yield")

    def visit_YieldFrom(self, node: ast.YieldFrom) -> Any:
        self._refuse(node, "yield")

    def visit_Global(self, node: ast.Global) -> Any:
        self._refuse(node, "global")

    def visit_Nonlocal(self, node: ast.Nonlocal) -> Any:
        self._refuse(node, "nonlocal")

    def visit_Raise(self, node: ast.Raise) -> Any:
        self._refuse(node, "raise")

    def visit_Import(self, node: ast.Import) -> Any:
        self._refuse(node, "import")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        self._refuse(node, "import")


def _digits(text: str) -> list[str]:
    out, current = [], ""
    for ch in text:
        if ch.isdigit():
            current += ch
        elif current:
            out.append(current)
            current = ""
    if current:
        out.append(current)
    return out


class _ConstantFolder(ast.NodeVisitor):
    """Evaluates constant sub-expressions with the guarded operators, so `9**9**9` is refused at deploy."""

    def __init__(self) -> None:
        self.failure: str | None = None

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)) and not any(isinstance(e, ast.Starred) for e in node.elts):
            values = [self.value(e) for e in node.elts]
            return values if isinstance(node, ast.List) else tuple(values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.value(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SYMBOLS:
            left, right = self.value(node.left), self.value(node.right)
            return BINOPS[_BINOP_SYMBOLS[type(node.op)]](left, right)
        raise LookupError  # not a constant

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if self.failure is not None:
            return
        try:
            self.value(node)
        except ScriptLimit as exc:
            self.failure = f"第 {node.lineno} 行：{exc}"
        except Exception:  # noqa: S110 - not constant, or an ordinary error left to run time
            self.generic_visit(node)


def _check_constants(source: str, mode: str) -> None:
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError:
        return  # reported by the restricted compile
    folder = _ConstantFolder()
    if isinstance(tree, (ast.Module, ast.Expression)):
        previous = set_budget(Budget(now=_EPOCH))
        try:
            folder.visit(tree)
        finally:
            set_budget(previous)
    if folder.failure:
        raise ScriptRefused(folder.failure)


def _percent_literals(source: str) -> None:
    """Refuse `'%*d' % …` style templates written as literals."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        left = node.left if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) else None
        if isinstance(left, ast.Constant) and isinstance(left.value, str):
            try:
                check_format_widths(left.value)
            except ScriptLimit as exc:
                raise ScriptRefused(f"第 {getattr(node, 'lineno', '?')} 行：{exc}") from None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=4096)
def compile_script(source: str, mode: Literal["eval", "exec"]) -> CodeType:
    """Compile a script or expression under the policy; raise ScriptRefused (Chinese) if refused."""
    if not isinstance(source, str) or not source.strip():
        raise ScriptRefused("脚本或表达式为空")
    if len(source) > 20_000:
        raise ScriptRefused("脚本过长（超过 20000 个字符）")
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source.strip() if mode == "eval" else source, "<bpmn-script>", policy=HuiyinTransformer)
    if result.errors or result.code is None:
        raise ScriptRefused("；".join(_clean(e) for e in result.errors) or "脚本无法编译")
    _check_constants(source.strip() if mode == "eval" else source, mode)
    _percent_literals(source.strip() if mode == "eval" else source)
    return result.code


def _clean(error: str) -> str:
    return error.replace("Line ", "第 ").replace(": ", " 行：", 1) if error.startswith("Line ") else error


@dataclass(frozen=True)
class ScriptProblem:
    """Why a script is refused, and where (1-based line and column of the script text; None if unknown)."""

    line: int | None
    column: int | None
    message: str


_ENGLISH = ((re.compile(r'"(.+)" is an invalid (?:attribute|variable) name because it starts with "_"\.?'),
             r'不允许使用以下划线开头的名称 "\1"'),)


class _Locating(HuiyinTransformer):
    """The policy's transformer, remembering the line and column of each refusal."""

    def __init__(self) -> None:
        super().__init__(errors=[], warnings=[], used_names={})
        self.found: list[ScriptProblem] = []

    def error(self, node: ast.AST, info: str) -> None:
        for pattern, words in _ENGLISH:
            info = pattern.sub(words, info)
        column = getattr(node, "col_offset", None)
        self.found.append(ScriptProblem(getattr(node, "lineno", None), None if column is None else column + 1, info))
        super().error(node, info)


def script_problems(source: str, mode: Literal["eval", "exec"]) -> list[ScriptProblem]:
    """Every reason `compile_script` would refuse a script, with line and column (empty: it compiles)."""
    try:
        compile_script(source, mode)
        return []
    except ScriptRefused as exc:
        refused = str(exc)
    text = source.strip() if mode == "eval" else source
    try:
        tree = ast.parse(text, mode=mode)
    except SyntaxError as exc:
        column = exc.offset
        if exc.lineno and not column:  # reported at no column: the end of its line (e.g. `kind ==`)
            lines = text.splitlines() or [""]
            column = len(lines[min(exc.lineno, len(lines)) - 1]) + 1
        return [ScriptProblem(exc.lineno, column, f"语法错误：{exc.msg}")]
    except (ValueError, TypeError):
        return [ScriptProblem(None, None, refused)]
    locator = _Locating()
    locator.visit(tree)
    if locator.found:
        return locator.found
    line = re.match(r"第 (\d+) 行", refused)
    return [ScriptProblem(int(line.group(1)) if line else None, None, refused)]
