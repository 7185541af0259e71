"""What a definition's scripts may read, and the values a name can take: a deploy-time, conservative view.

Restricted scripts have no `try`, so a name no step ever provides fails the run that reads it. A name may
come from: the platform's start variables (an argument), a top-level field of one of the definition's
forms, a name any script of the definition assigns, a multi-instance item or collection, a message
variable, a data object, a data input/output, or the whitelisted functions. Where in the flow a name is
assigned is not followed: assigned anywhere counts (pragmatic; the run still guards the rest).

Values are enumerated where they are finite: a start variable's domain (e.g. every kind in the data
dictionary), a form field's choices (`enum`, `const`, `oneOf`/`anyOf` of consts, booleans) and every
`name = expression` a script makes, evaluated over those. Anything else is unbounded (None).
"""

from __future__ import annotations

import ast
import itertools
import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.engine.functions import SAFE_BUILTINS
from app.engine.scripting import RestrictedEnvironment

MAX_COMBINATIONS = 1024  # value combinations one expression is evaluated over at deploy
EVALUATION_SECONDS = 3.0  # wall time all deploy-time evaluations of one definition may take together
REFERENCE_NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # the clock deploy-time evaluation runs on
KNOWN_FUNCTIONS = frozenset(SAFE_BUILTINS)


class EvaluationSpent(Exception):
    """Deploy-time evaluation of one definition ran over its time budget."""


class Unbounded(Exception):
    """The values of an expression cannot be enumerated at deploy (it reads something unbounded)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _tree(source: str, mode: str) -> ast.AST:
    return ast.parse(source.strip() if mode == "eval" else source, mode="eval" if mode == "eval" else "exec")


def read_names(source: str, mode: str) -> set[str]:
    """Every name a script or expression reads (loads, and the target of `x += …`)."""
    names: set[str] = set()
    for node in ast.walk(_tree(source, mode)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def assignments(source: str) -> Iterator[tuple[str, str | None]]:
    """Every (name, expression source or None) a script binds; None when the value is not a plain `name = expr`."""
    tree = _tree(source, "exec")
    plain: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            for target in node.targets:
                plain.add(id(target))
                yield target.id, ast.unparse(node.value)  # type: ignore[attr-defined]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            plain.add(id(node.target))
            yield node.target.id, ast.unparse(node.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and id(node) not in plain:
            yield node.id, None
        elif isinstance(node, ast.arg):
            yield node.arg, None
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, None


def field_choices(prop: Any) -> frozenset[Any] | None:
    """The finite values a form field may take, or None."""
    if not isinstance(prop, dict):
        return None
    if "const" in prop:
        return _hashable([prop["const"]])
    if isinstance(prop.get("enum"), list):
        return _hashable(prop["enum"])
    for key in ("oneOf", "anyOf"):
        options = prop.get(key)
        if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
            return _hashable([o["const"] for o in options])
    if prop.get("type") == "boolean":
        return frozenset((True, False))
    return None


def _hashable(values: Iterable[Any]) -> frozenset[Any] | None:
    try:
        return frozenset(values)
    except TypeError:
        return None


@dataclass
class DataFlow:
    """The names a definition provides and where each one's values come from."""

    sources: dict[str, list[frozenset[Any] | str | None]] = field(default_factory=dict)
    deadline: float = field(default_factory=lambda: time.monotonic() + EVALUATION_SECONDS)
    _values: dict[str, frozenset[Any] | None] = field(default_factory=dict)
    _resolving: set[str] = field(default_factory=set)

    def provide(self, name: str, source: frozenset[Any] | str | None) -> None:
        """`name` is provided somewhere, with these values (a set), from this expression, or unbounded (None)."""
        if name:
            self.sources.setdefault(name, []).append(source)

    def defines(self, name: str) -> bool:
        return name in self.sources or name in KNOWN_FUNCTIONS

    def undefined(self, source: str, mode: str) -> list[str]:
        """The names a script reads that nothing in the definition or the platform provides."""
        return sorted(n for n in read_names(source, mode) if not self.defines(n))

    def values(self, name: str) -> frozenset[Any]:
        """Every value `name` can take; raise Unbounded if that is not a finite, known set."""
        if name in self._values:
            known = self._values[name]
            if known is None:
                raise Unbounded(name)
            return known
        if name in self._resolving or name not in self.sources:
            raise Unbounded(name)
        self._resolving.add(name)
        try:
            found: set[Any] = set()
            for source in self.sources[name]:
                if source is None:
                    raise Unbounded(name)
                found.update(source if isinstance(source, frozenset) else self.expression_values(source))
            result = frozenset(found)
        except Unbounded:
            self._values[name] = None
            raise
        finally:
            self._resolving.discard(name)
        self._values[name] = result
        return result

    def expression_values(self, expression: str) -> list[Any]:
        """Every value an expression gives over every combination of the values it reads; raise Unbounded
        (naming the first unbounded name) or the evaluation's own error."""
        names = sorted(read_names(expression, "eval") - KNOWN_FUNCTIONS)
        domains = [sorted(self.values(n), key=repr) for n in names]
        count = 1
        for domain in domains:
            count *= len(domain)
        if count > MAX_COMBINATIONS:
            raise Unbounded(names[0])
        results: list[Any] = []
        for combination in itertools.product(*domains):
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise EvaluationSpent(expression)
            environment = RestrictedEnvironment(REFERENCE_NOW, seconds=min(left, 0.25))
            value = environment.evaluate(expression, dict(zip(names, combination, strict=True)))
            if value not in results:
                results.append(value)
        return results


def build(
    scripts: Iterable[str],
    provided: Iterable[str],
    forms: Mapping[str, dict[str, Any]],
    start_variables: Mapping[str, Collection[Any] | None],
) -> DataFlow:
    """The data flow of a definition: its exec-mode scripts, the names its elements provide, its forms
    and the platform's start variables (name → its finite values, or None for any value)."""
    flow = DataFlow()
    for name, domain in start_variables.items():
        flow.provide(name, None if domain is None else _hashable(domain))
    for schema in forms.values():
        for name, prop in (schema.get("properties") or {}).items():
            flow.provide(str(name), field_choices(prop))
    for source in scripts:
        for name, expression in assignments(source):
            flow.provide(name, expression)
    for name in provided:
        flow.provide(name, None)
    return flow
