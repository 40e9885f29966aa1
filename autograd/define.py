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

Fixed a derivative? Define the operation again under the same name, with as many operands:
your earlier row is replaced, and the function the earlier `define` returned refuses to run.
Graphs built before keep their numbers, but the tools then write them with the new row's
formulas: build them again. A built-in's name stays an error.
"""

from __future__ import annotations

import inspect
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
    functions run once per sample. Your own earlier row of that name is replaced (with as many
    operands); a built-in's name is an error.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"define: the name must be an identifier such as 'softplus', got {name!r}")
    if name in ops.OPERATIONS and name not in _YOURS:
        raise ValueError(
            f"define: the table of operations already has a built-in row named {name!r}; "
            "give your operation a name of its own"
        )
    if not callable(value):
        raise TypeError(f"define: value must be a function of the operands' data, got {value!r}")
    if (
        callable(derivatives)
        or isinstance(derivatives, str)
        or not hasattr(derivatives, "__iter__")
    ):
        raise TypeError(
            "define: derivatives must be a list of functions, one per operand, got "
            f"{derivatives!r:.60} (for one operand: [its derivative])"
        )
    derivatives = list(derivatives)
    if not derivatives or not all(map(callable, derivatives)):
        raise TypeError("define: derivatives must be a list of functions, one per operand")
    arity = len(derivatives)
    _check_arity(name, value, derivatives)
    if _YOURS.get(name, arity) != arity:
        raise ValueError(
            f"define: you defined {name!r} before with {_YOURS[name]} operand(s); defined again "
            f"it keeps that count (graphs built with it read its row): give this one, of "
            f"{arity}, a name of its own"
        )
    if formulas is not None:
        formulas = list(formulas) if not isinstance(formulas, str) else [formulas]
        if len(formulas) != arity or not all(isinstance(f, str) for f in formulas):
            raise ValueError(f"define: give {arity} formula strings, one per operand, or none")
        for i, formula in enumerate(formulas):
            _check_formula(name, i, formula, arity)

    yours = [(value, "value function")]
    yours += [(d, f"derivatives[{i}] (d {name}/d operand {i})") for i, d in enumerate(derivatives)]

    def compute(*data: Any) -> tuple[Any, tuple]:
        if all(type(x) is float for x in data):
            out, *slopes = [_call(f, data, name, what) for f, what in yours]
            return out, tuple(slopes)
        np = ops.np  # arrays (a batch, a matrix): your functions once per entry
        arrays = np.broadcast_arrays(*map(np.asarray, data))
        rows = list(zip(*(a.ravel().tolist() for a in arrays)))

        def each(f: Callable, what: str) -> Any:
            results = [_call(f, row, name, what) for row in rows]
            return np.array(results, dtype=float).reshape(arrays[0].shape)

        out, *slopes = [each(f, what) for f, what in yours]
        return out, tuple(slopes)

    def write(names: list[str]) -> str:
        return f"{name}({', '.join(names)})"

    def derive(i: int, names: list[str]) -> str:
        if formulas is not None:
            return fill(formulas[i], names)
        return f"d {name}/d {names[i]}"

    ops.OPERATIONS.pop(name, None)  # (your earlier row of this name, replaced)
    row = ops.register(ops.Operation(name, write, derive, compute))
    _YOURS[name] = arity

    def operation(*operands: Any) -> Value:
        if ops.OPERATIONS.get(name) is not row:
            raise TypeError(
                f"{name} was defined again after this function was made: use the function the "
                "newer define() returned"
            )
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


_YOURS: dict[str, int] = {}  # the rows `define` made, and their operand counts


def _check_arity(name: str, value: Callable, derivatives: list[Callable]) -> None:
    """One derivative per operand, each a function of all the operands, as `value` is (checked
    where the functions' signatures say how many operands they take)."""
    arity = len(derivatives)
    given = f"{arity} derivative was" if arity == 1 else f"{arity} derivatives were"
    takes = _operands_taken(value)
    if takes is not None and not takes[0] <= arity <= takes[1]:
        raise TypeError(
            f"define {name!r}: value takes {_count(takes)} but {given} given: give one "
            "derivative per operand, each a function of all the operands"
        )
    for i, derivative in enumerate(derivatives):
        takes = _operands_taken(derivative)
        if takes is not None and not takes[0] <= arity <= takes[1]:
            raise TypeError(
                f"define {name!r}: derivatives[{i}] takes {_count(takes)}, but the operation "
                f"has {arity} (one per derivative): each derivative is a function of all the "
                "operands, as value is"
            )


def _count(takes: tuple[float, float]) -> str:
    fewest, most = takes
    if fewest == most:
        return f"{int(fewest)} operand{'s' if fewest != 1 else ''}"
    return (
        f"{int(fewest)} or more operands"
        if most == math.inf
        else f"{int(fewest)} to {int(most)} operands"
    )


def _operands_taken(f: Callable) -> tuple[float, float] | None:
    """(fewest, most) positional arguments `f` takes, or None if its signature cannot say."""
    if type(f).__name__ == "ufunc":  # NumPy's (np.exp): its inputs, not its `out`
        return f.nin, f.nin
    try:
        parameters = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):  # (some built-ins have no signature)
        return None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    fewest = sum(p.default is p.empty for p in positional)
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return fewest, math.inf
    return fewest, len(positional)


def _call(f: Callable, data: Sequence[float], name: str, what: str) -> float:
    """Your function's result as a float, with inf and nan where Python raises instead: an
    overflow (math.exp(1000)) is inf, a division by zero or math's domain error (math.log(-1))
    nan, as is what a nan operand makes raise (math.floor(nan)). Any other error your function
    raises, or a result that is not a number, is an error naming the operation, the function
    and the operands."""
    try:
        result = f(*data)
    except OverflowError:
        return math.inf
    except ZeroDivisionError:
        return math.nan
    except ValueError as error:
        if _domain_error(error) or any(x != x for x in data):
            return math.nan
        raise _yours(error, name, what, data) from error
    except Exception as error:
        raise _yours(error, name, what, data) from error
    if isinstance(result, str | bytes):
        raise TypeError(
            f"{name}: your {what} returned the text {result!r:.40} at {_at(data)}, not a number"
        )
    try:
        return float(result)
    except OverflowError:  # an int beyond float64's range
        return math.inf if result > 0 else -math.inf
    except (TypeError, ValueError):
        raise TypeError(
            f"{name}: your {what} returned {result!r:.40} ({type(result).__name__}) at "
            f"{_at(data)}, not a number"
        ) from None


def _domain_error(error: ValueError) -> bool:
    """Python's math saying an input is outside the function's domain (math.log(-1))."""
    text = str(error)
    return text == "math domain error" or bool(_MATH_DOMAIN.fullmatch(text))


# Python 3.14's wording of math's domain errors: "expected a positive input, got -1.0"
_MATH_DOMAIN = re.compile(r"expected a (positive|nonnegative|nonzero|finite) input(, got .*)?")


def _yours(error: Exception, name: str, what: str, data: Sequence[float]) -> Exception:
    """`error` as one that names your operation and which of its functions raised it."""
    message = f"{name}: your {what} raised {type(error).__name__} at {_at(data)}: {error}"
    kind = type(error)
    if kind.__module__ == "builtins" and not issubclass(kind, KeyError):
        try:
            return kind(message)  # (ValueError stays ValueError, TypeError TypeError)
        except Exception:
            pass
    return RuntimeError(message)  # (your own exception type: yours is chained as the cause)


def _at(data: Sequence[float]) -> str:
    return "operands (" + ", ".join(f"{x:.6g}" for x in data) + ")"
