"""Your own operation: a row of the table of operations, written by you, shown like a built-in.

    softplus = autograd.define(
        "softplus",
        lambda x: math.log1p(math.exp(x)),          # the value, from the operands' data
        [lambda x: 1 / (1 + math.exp(-x))],         # one local derivative per operand
        formulas=["sigmoid({0})"],                  # optional: the derivatives as text
    )
    y = softplus(x)                                  # one node, op "softplus"

The step-through, `explain`, `gradcheck` and the pictures show it as they show `tanh`. If a
derivative you wrote disagrees with central differences of your own value, `gradcheck` of any
function that uses it names the operation, the inputs and both numbers.

In a formula, `{0}`, `{1}`, ... stand for the operands' names; everything else is shown as
written, braces included (`"1/(1+e^{-{0}})"` shows `1/(1+e^{-x})`). What reads like a field of
Python's `str.format` but names no operand (`{1}` for one operand, `{}`, `{x}`, `{0.real}`,
`{0:>3}`) is refused when you define the operation, with the formula and what is wrong.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from . import ops
from .value import Value, apply


def define(
    name: str,
    value: Callable[..., float],
    derivatives: Sequence[Callable[..., float]],
    formulas: Sequence[str] | None = None,
) -> Callable[..., Value]:
    """Add the operation `name` to the table and return the function that applies it.

    `value(*data)` computes the output from the operands' data (floats); `derivatives[i](*data)`
    computes d out/d operand i. `formulas[i]`, if given, writes that derivative in the operands'
    names `{0}`, `{1}`, ... (else it is shown as `d name/d operand i`). On a batch, the
    functions run once per sample. A name the table already has is an error.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"define: the name must be an identifier such as 'softplus', got {name!r}")
    if name in ops.OPERATIONS:
        raise ValueError(f"define: the table of operations already has a row named {name!r}")
    if not callable(value):
        raise TypeError(f"define: value must be a function of the operands' data, got {value!r}")
    derivatives = list(derivatives)
    if not derivatives or not all(map(callable, derivatives)):
        raise TypeError("define: derivatives must be a list of functions, one per operand")
    arity = len(derivatives)
    if formulas is not None:
        formulas = list(formulas) if not isinstance(formulas, str) else [formulas]
        if len(formulas) != arity or not all(isinstance(f, str) for f in formulas):
            raise ValueError(f"define: give {arity} formula strings, one per operand, or none")
        for i, formula in enumerate(formulas):
            _check_formula(name, i, formula, arity)

    def compute(*data: Any) -> tuple[Any, tuple]:
        if all(type(x) is float for x in data):
            return _call(value, data), tuple(_call(d, data) for d in derivatives)
        np = ops.np  # a batch: your functions once per sample
        rows = list(zip(*(c.tolist() for c in np.broadcast_arrays(*map(np.asarray, data)))))

        def each(f: Callable) -> Any:
            return np.array([_call(f, row) for row in rows], dtype=float)

        return each(value), tuple(each(d) for d in derivatives)

    def write(names: list[str]) -> str:
        return f"{name}({', '.join(names)})"

    def derive(i: int, names: list[str]) -> str:
        if formulas is not None:
            return fill(formulas[i], names)
        return f"d {name}/d {names[i]}"

    ops.register(ops.Operation(name, write, derive, compute))

    def operation(*operands: Any) -> Value:
        if len(operands) != arity:
            raise TypeError(f"{name}() takes {arity} operand(s), got {len(operands)}")
        return apply(name, *operands)

    operation.__name__ = name
    operation.__doc__ = f"Your operation {name!r}: one node of its row of the table."
    return operation


_OPERAND = re.compile(r"\{([0-9]+)\}")  # {0}, {1}, ...: an operand's name
_GROUP = re.compile(r"\{([^{}]*)\}")  # any innermost {...}
# what str.format would read as a field: a number or a name, then perhaps .attr [key] !r :spec
_LOOKS_LIKE_A_FIELD = re.compile(r"\s*(\d*|[^\W\d]\w*)\s*([.\[!:].*)?", re.S)


def fill(formula: str, names: Sequence[str]) -> str:
    """`formula` with each `{i}` replaced by `names[i]`; every other character as written."""
    return _OPERAND.sub(lambda match: names[int(match.group(1))], formula)


def _check_formula(name: str, i: int, formula: str, arity: int) -> None:
    """Refuse a formula with a `{...}` that reads like a field but names no operand."""
    operands = "{0}" if arity == 1 else f"{{0}} to {{{arity - 1}}}"
    for match in _GROUP.finditer(formula):
        content = match.group(1)
        if content.isdigit() and content.isascii():
            if int(content) < arity:
                continue
            what = f"{{{content}}} names no operand ({name} takes {arity}: {operands})"
        elif _LOOKS_LIKE_A_FIELD.fullmatch(content):
            what = f"{match.group(0)} names no operand"
        else:
            continue  # text in braces (a group such as e^{-{0}}): shown as written
        plural = "operand" if arity == 1 else "operands"
        raise ValueError(
            f"define: the formula {formula!r} (d {name}/d{{{i}}}): {what}. Write the "
            f"{plural} as {operands}, by position; everything else is shown as written"
        )


def _call(f: Callable, data: Sequence[float]) -> float:
    """Your function's result as a float, with IEEE's inf and nan where Python's math raises
    (math.exp(1000) overflows, math.log(-1) is a domain error)."""
    try:
        return float(f(*data))
    except OverflowError:
        return math.inf
    except (ValueError, ZeroDivisionError):
        return math.nan
