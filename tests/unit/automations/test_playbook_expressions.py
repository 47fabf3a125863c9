"""The playbook expression language: what it computes, and everything it refuses."""

from __future__ import annotations

import re
from typing import Any

import pytest

from automations.playbooks.expressions import ANY, ExpressionError, argument_expression, parse, undefined

VALUES: dict[str, Any] = {
    "account": {"sam": "jdupont", "locked": True, "groups": ["Agents", "VPN"], "upn": "JDupont@Agence.local"},
    "partner": {"id": "cap", "domains": ["cap.fr"]},
    "request": {"targets": ["jdupont"], "confidence": 0.93},
    "inputs": {"max": 2},
    "steps": {"self_service": {"chosen": False}},
}


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("account.locked and partner.id == 'cap'", True),
        ("not steps.self_service.chosen", True),
        ("partner.id in ['ml', 'cap']", True),
        ("'VPN' in account.groups and 'Admins' not in account.groups", True),
        ("len(request.targets) <= inputs.max", True),
        ("request.confidence >= 0.9 or false", True),
        ("endswith(lower(account.upn), '@agence.local')", True),
        ("contains(account.sam, 'dup') and startswith(account.sam, 'j')", True),
        ("empty(request.targets)", False),
        ("request.targets[0] == account.sam", True),
        ("1 < 2 < 3", True),
        ("-inputs.max", -2),
        ("null == None", True),
    ],
)
def test_expressions_compute_on_plain_values(source: str, value: Any) -> None:
    assert parse(source).evaluate(VALUES) == value


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("__import__('os').system('id')", "only these functions"),
        ("account.__class__", "cannot start with '_'"),
        ("(lambda: 1)()", "only these functions"),
        ("[x for x in account.groups]", "ListComp is not allowed"),
        ("account.sam + 'x'", "BinOp is not allowed"),
        ("account.sam if account.locked else 'x'", "IfExp is not allowed"),
        ("os.environ", "unknown name 'os'"),
        ("lower(account.sam, 'x')", "takes 1 argument"),
        ("account.groups[account.sam]", "an index must be a literal"),
        ("account.sam is None", "Is is not allowed"),
        ("f'{account}'", "JoinedStr is not allowed"),
        ("account.sam ==", "syntax error"),
        ("", "cannot be empty"),
        ("x" * 600, "at most"),
    ],
)
def test_anything_but_the_small_language_is_refused(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse(source)


def test_runtime_errors_are_expression_errors_not_python_ones() -> None:
    with pytest.raises(ExpressionError, match=r"account\.mobile is not defined"):
        parse("account.mobile").evaluate(VALUES)
    with pytest.raises(ExpressionError, match="cannot compare"):
        parse("account.sam < 3").evaluate(VALUES)
    with pytest.raises(ExpressionError, match="not an object"):
        parse("account.sam.length").evaluate(VALUES)
    with pytest.raises(ExpressionError, match="expected text"):
        parse("lower(request.targets)").evaluate(VALUES)


def test_undefined_variables_are_named_with_what_is_known() -> None:
    scope = {"account": {"sam": "string", "locked": "boolean"}, "steps": {"find": ANY}}
    assert undefined(parse("account.locked and steps.find.anything.deep"), scope) == []
    (problem,) = undefined(parse("account.lockd"), scope)
    assert "'account.lockd'" in problem and "locked" in problem


def test_constant_expressions_are_known_before_running() -> None:
    assert parse("1 > 2").constant() == (True, False)
    assert parse("account.locked").constant() == (False, None)


def test_only_whole_dollar_brace_values_are_expressions() -> None:
    assert argument_expression("${ inputs.max }") == "inputs.max"
    assert argument_expression("costs ${5}") is None and argument_expression(5) is None
