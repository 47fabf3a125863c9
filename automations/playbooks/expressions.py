"""A small safe expression language for playbooks: ``when`` conditions, guard conditions and step arguments.

    account.locked and account.enabled
    partner.id in ["cap_emploi", "ml"] or len(request.targets) > 1
    endswith(lower(account.upn), "@agence.local")

The text is parsed with Python's ``ast`` module into a tree and every node type is checked against a short
whitelist: names, dotted paths, literals, comparisons (``== != < <= > >= in not in``), ``and``/``or``/``not``,
list literals, constant subscripts and calls of the pure functions in ``FUNCTIONS``. Nothing is ever handed to
``eval``/``exec``; a dotted path reads keys of plain dicts (the run's values are converted to dicts, lists,
strings, numbers and booleans first), never attributes of a Python object. Variables are checked against the
playbook's known values when the playbook is validated, so a typo is an error before anything runs.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 500
MAX_DEPTH = 20
# The variable roots a playbook may read; what lies below each is described by the validator's scope.
ROOTS = ("request", "account", "partner", "inputs", "steps")
CONSTANTS: dict[str, Any] = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


class ExpressionError(ValueError):
    """An expression is malformed, reads an unknown value or fails on the values it got."""


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ExpressionError(f"expected text, got {type(value).__name__}")
    return value


def _length(value: Any) -> int:
    if not isinstance(value, str | list | tuple | dict):
        raise ExpressionError(f"len() needs text, a list or a mapping, got {type(value).__name__}")
    return len(value)


# Pure functions on plain values; each takes positional arguments only.
FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "len": (1, _length),
    "lower": (1, lambda s: _text(s).lower()),
    "upper": (1, lambda s: _text(s).upper()),
    "trim": (1, lambda s: _text(s).strip()),
    "startswith": (2, lambda s, p: _text(s).startswith(_text(p))),
    "endswith": (2, lambda s, p: _text(s).endswith(_text(p))),
    "contains": (2, lambda s, p: _text(p) in _text(s)),
    "empty": (1, lambda v: v is None or (isinstance(v, str | list | tuple | dict) and len(v) == 0)),
}

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: bool(a == b),
    ast.NotEq: lambda a, b: bool(a != b),
    ast.Lt: lambda a, b: bool(a < b),
    ast.LtE: lambda a, b: bool(a <= b),
    ast.Gt: lambda a, b: bool(a > b),
    ast.GtE: lambda a, b: bool(a >= b),
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


@dataclass(frozen=True)
class Expression:
    """A parsed expression; ``paths`` are the variables it reads, as dotted tuples (``("account", "sam")``)."""

    source: str
    tree: ast.expr
    paths: frozenset[tuple[str, ...]]

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The value of the expression over ``values`` (plain data, keyed by root name)."""
        return _evaluate(self.tree, values)

    def constant(self) -> tuple[bool, Any]:
        """``(True, value)`` when it reads no variable (its value is known now), else ``(False, None)``."""
        if self.paths:
            return False, None
        try:
            return True, _evaluate(self.tree, {})
        except ExpressionError:
            return False, None


def parse(source: str) -> Expression:
    """Parse and check ``source``; ``ExpressionError`` says what is not allowed and where."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("an expression cannot be empty")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"an expression is at most {MAX_LENGTH} characters")
    try:
        module = ast.parse(source.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"syntax error at column {error.offset or 0}: {error.msg}") from None
    paths: set[tuple[str, ...]] = set()
    _check(module.body, paths, 0)
    return Expression(source, module.body, frozenset(paths))


def _path(node: ast.expr) -> tuple[str, ...] | None:
    """``a.b.c`` as ``("a", "b", "c")``; None when the node is not a plain dotted name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return tuple(reversed(parts))
    return None


def _check(node: ast.expr, paths: set[tuple[str, ...]], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ExpressionError("the expression is nested too deeply")
    where = f"column {getattr(node, 'col_offset', 0) + 1}"
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, str | int | float | bool | type(None)):
            raise ExpressionError(f"{where}: only text, numbers, true/false and null are literals")
    elif isinstance(node, ast.Name | ast.Attribute):
        path = _path(node)
        if path is None:
            raise ExpressionError(f"{where}: only dotted names like account.sam can be read")
        if any(part.startswith("_") for part in path):
            raise ExpressionError(f"{where}: names cannot start with '_'")
        if len(path) == 1 and path[0] in CONSTANTS:
            return
        if path[0] not in ROOTS:
            raise ExpressionError(f"{where}: unknown name {path[0]!r}; values are read from {', '.join(ROOTS)}")
        paths.add(path)
    elif isinstance(node, ast.Subscript):
        if not isinstance(node.slice, ast.Constant) or not isinstance(node.slice.value, str | int):
            raise ExpressionError(f"{where}: an index must be a literal number or text")
        _check(node.value, paths, depth + 1)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, paths, depth + 1)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.Not | ast.USub):
            raise ExpressionError(f"{where}: only 'not' and '-' apply to one value")
        _check(node.operand, paths, depth + 1)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise ExpressionError(f"{where}: {type(op).__name__} is not allowed (use == != < <= > >= in)")
        for operand in (node.left, *node.comparators):
            _check(operand, paths, depth + 1)
    elif isinstance(node, ast.List | ast.Tuple):
        for element in node.elts:
            _check(element, paths, depth + 1)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise ExpressionError(f"{where}: only these functions can be called: {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise ExpressionError(f"{where}: {node.func.id}() takes no named arguments")
        arity = FUNCTIONS[node.func.id][0]
        if len(node.args) != arity:
            raise ExpressionError(f"{where}: {node.func.id}() takes {arity} argument(s), got {len(node.args)}")
        for argument in node.args:
            _check(argument, paths, depth + 1)
    else:
        raise ExpressionError(f"{where}: {type(node).__name__} is not allowed in a playbook expression")


def _read(values: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    if len(path) == 1 and path[0] in CONSTANTS:
        return CONSTANTS[path[0]]
    current: Any = values
    for depth, part in enumerate(path):
        if not isinstance(current, Mapping):
            raise ExpressionError(f"{'.'.join(path[:depth]) or 'value'} has no field {part!r} (it is not an object)")
        if part not in current:
            raise ExpressionError(f"{'.'.join(path[:depth + 1])} is not defined here")
        current = current[part]
    return current


def _evaluate(node: ast.expr, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name | ast.Attribute):
        path = _path(node)
        assert path is not None  # checked when parsed
        return _read(values, path)
    if isinstance(node, ast.Subscript):
        container = _evaluate(node.value, values)
        key = node.slice.value  # type: ignore[attr-defined]  # a Constant, checked when parsed
        try:
            return container[key]
        except (KeyError, IndexError, TypeError):
            raise ExpressionError(f"no element {key!r}") from None
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            result: Any = True
            for value in node.values:
                result = _evaluate(value, values)
                if not result:
                    return result
            return result
        result = False
        for value in node.values:
            result = _evaluate(value, values)
            if result:
                return result
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        if isinstance(node.op, ast.Not):
            return not operand
        if isinstance(operand, bool) or not isinstance(operand, int | float):
            raise ExpressionError("'-' needs a number")
        return -operand
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, values)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(comparator, values)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:
                raise ExpressionError(f"cannot compare {type(left).__name__} with {type(right).__name__}") from None
            left = right
        return True
    if isinstance(node, ast.List | ast.Tuple):
        return [_evaluate(element, values) for element in node.elts]
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return FUNCTIONS[node.func.id][1](*(_evaluate(argument, values) for argument in node.args))
    raise ExpressionError(f"{type(node).__name__} is not allowed")  # unreachable: parse() checked every node


# What a validator knows of the values: a nested mapping of field -> sub-scope, or a leaf type name.
# ANY accepts any deeper path (values whose shape the playbook cannot know, like a connector's raw result).
ANY = "any"
Scope = Mapping[str, Any]


def undefined(expression: Expression, scope: Scope) -> list[str]:
    """The dotted paths ``expression`` reads that ``scope`` does not define, each with the names it could mean."""
    problems: list[str] = []
    for path in sorted(expression.paths):
        current: Any = scope
        for depth, part in enumerate(path):
            if current == ANY:
                break
            if not isinstance(current, Mapping) or part not in current:
                known = sorted(current) if isinstance(current, Mapping) else []
                name = ".".join(path[: depth + 1])
                hint = f" (known here: {', '.join(known)})" if known else ""
                problems.append(f"undefined variable {name!r}{hint}")
                break
            current = current[part]
    return problems


# A step argument written "${ … }" is an expression; any other value is taken literally.
def argument_expression(value: Any) -> str | None:
    """The expression inside ``"${ … }"``, or None when ``value`` is a literal."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("${") and text.endswith("}"):
            return text[2:-1].strip()
    return None
