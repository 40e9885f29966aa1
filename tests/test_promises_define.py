"""`define`'s formulas: `{0}`, `{1}`, ... are the operands' names and everything else is shown
as written; what reads like a `str.format` field but names no operand is refused when the
operation is defined, with the formula and what is wrong; no tool ever crashes on a formula
that was accepted (issue 22, item 13)."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value

_names = (f"formula_op{k}" for k in itertools.count())
NAMES = ["x", "w", "b"]


def filled(formula: str, names: list[str]) -> str:
    """The oracle: scan the text; `{` + ASCII digits + `}` is an operand, all else verbatim."""
    out, k = [], 0
    while k < len(formula):
        end = k + 1
        while end < len(formula) and formula[end] in "0123456789":
            end += 1
        if formula[k] == "{" and end > k + 1 and end < len(formula) and formula[end] == "}":
            out.append(names[int(formula[k + 1 : end])])
            k = end + 1
        else:
            out.append(formula[k])
            k += 1
    return "".join(out)


def define(formula: str, arity: int):
    return autograd.define(
        next(_names),
        lambda *data: math.fsum(data),
        [lambda *data: 1.0] * arity,
        [formula] * arity,
    )


def every_tool_shows(operation, arity: int) -> list[str]:
    """Build a node of `operation`, then step through it, explain it and draw it (with
    formulas on the edges); return each operand's derivative as the step-through shows it."""
    leaves = [Value(float(k + 1), NAMES[k]) for k in range(arity)]
    out = operation(*leaves) * 2.0
    steps = out.backward_steps().run()
    for leaf in leaves:
        str(autograd.explain(out, leaf))
    autograd.draw(out, formulas=True)
    autograd.page(out)
    node_step = next(step for step in steps if step.node.op == operation.__name__)
    return [edge.formula for edge in node_step.edges]


ACCEPTED = [
    ("sigmoid({0})", 1, "sigmoid(x)"),
    ("1/(1+e^{-{0}})", 1, "1/(1+e^{-x})"),
    ("e^{2x} * {0}", 1, "e^{2x} * x"),
    ("{{0}}", 1, "{x}"),
    ("{0} * {1} + {1}", 2, "x * w + w"),
    ("}{", 1, "}{"),
    ("{-} {0}", 1, "{-} x"),
    ("{00}", 2, "x"),
    ("", 1, ""),
]
REFUSED = [
    ("{1}", 1, "{1} names no operand"),
    ("{x}", 1, "{x} names no operand"),
    ("{}", 2, "{} names no operand"),
    ("{0.real}", 1, "{0.real} names no operand"),
    ("{0[1]}", 1, "{0[1]} names no operand"),
    ("{0:>3}", 1, "{0:>3} names no operand"),
    ("{0!r}", 1, "{0!r} names no operand"),
    ("1/(1+e^{-{x}})", 1, "{x} names no operand"),
    ("{ 0 }", 1, "{ 0 } names no operand"),
    ("{3}", 3, "{3} names no operand"),
    ("{٣}", 1, "names no operand"),  # a digit, but not one of 0-9
]


@pytest.mark.parametrize("formula, arity, shown", ACCEPTED)
def test_accepted_formulas_show_their_operands_names_and_every_other_character(
    formula, arity, shown
):
    operation = define(formula, arity)
    assert every_tool_shows(operation, arity) == [shown] * arity


@pytest.mark.parametrize("formula, arity, what", REFUSED)
def test_formulas_naming_no_operand_are_refused_when_defined(formula, arity, what):
    name = next(_names)
    with pytest.raises(ValueError) as caught:
        autograd.define(name, lambda *d: 0.0, [lambda *d: 0.0] * arity, [formula] * arity)
    message = str(caught.value)
    assert "\n" not in message and repr(formula) in message and what in message
    assert name not in autograd.ops.OPERATIONS  # nothing half-defined


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="{}0123x .[!:-^e", max_size=14), st.integers(1, 3))
def test_any_formula_is_refused_clearly_or_shown_by_every_tool(formula, arity):
    try:
        operation = define(formula, arity)
    except ValueError as error:
        message = str(error)
        assert repr(formula) in message and "names no operand" in message, message
        assert "{" in formula and "}" in formula
        return
    assert every_tool_shows(operation, arity) == [filled(formula, NAMES[:arity])] * arity


def test_the_report_example_is_shown_as_written():
    sigmoid = autograd.define(
        next(_names), lambda x: 1 / (1 + math.exp(-x)), [lambda x: 0.25], ["1/(1+e^{-{0}})"]
    )
    x = Value(0.0, "x")
    text = str(autograd.explain(sigmoid(x), x))
    assert "= 1/(1+e^{-x}) = 0.25" in text
