"""Parse an arithmetic expression such as `tanh(x*w + b)` into a graph of Values, safely.

The text is parsed with Python's `ast` and then checked against a whitelist; nothing is ever
passed to `eval`. Allowed: numbers (int or float literals), variable names, the operators
`+ - * / **`, unary `-` and `+`, parentheses, and calls of the engine's functions
(`exp log tanh sigmoid relu abs`) with one positional argument. Everything else (attribute
access, subscripts, lambdas, comprehensions, keywords, names starting with `_`, strings,
comparisons, ...) is an `ExpressionError` with a one-line message naming what is not allowed.

Numbers become floats at once, as constants: leaves with `requires_grad=False`, labelled with
their text (`2`, `0.5`), to which the chain rule passes nothing, so no tool shows a gradient
for them. Every operation is done by the engine with IEEE float semantics, so `9**9**9` is
`inf` immediately: no Python integer arithmetic, no constant folding, nothing that can hang.
The input length and nesting depth are limited, and evaluation walks the tree with an explicit
stack (no recursion).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .value import Value

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Expression",
    "ExpressionError",
    "parse",
    "parse_assignments",
]

MAX_LENGTH = 2000  # characters
MAX_DEPTH = 1000  # nested operations (a flat sum of n terms is n deep)
MAX_PARENTHESES = 50  # nested brackets

# function name -> the Value method that applies it
FUNCTIONS: dict[str, str] = {
    "exp": "exp",
    "log": "log",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "relu": "relu",
    "abs": "abs",
}

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}

_WHAT = {
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "subscripts (a[i])",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "'if ... else'",
    ast.Starred: "'*' unpacking",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.JoinedStr: "strings",
    ast.NamedExpr: "':='",
    ast.Await: "'await'",
    ast.Yield: "'yield'",
    ast.YieldFrom: "'yield'",
    ast.Slice: "slices",
}


class ExpressionError(ValueError):
    """The expression (or a variable assignment) is not allowed or not valid; one-line message."""


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression. `variables` in order of first appearance."""

    text: str
    tree: ast.expr
    variables: tuple[str, ...]

    def evaluate(self, values: Mapping[str, float | Value]) -> Value:
        """Build the graph: each variable becomes a leaf Value labelled with its name.

        `values` must give exactly the expression's variables (numbers or Values).
        Number literals become constants (`requires_grad=False`) labelled with their text
        (`2`, `0.5`); an exponent that is a literal number gives the one-parent node `x**n`.
        """
        check_variables(self.variables, values)
        leaves = {
            name: value if isinstance(value, Value) else Value(float(value), name)
            for name, value in values.items()
        }
        return _build(self.tree, leaves)

    def __str__(self) -> str:
        return self.text


def _fail(node: ast.AST | None, message: str, column: int | None = None) -> ExpressionError:
    if column is None and node is not None and hasattr(node, "col_offset"):
        column = node.col_offset + 1
    return ExpressionError(message + (f" (column {column})" if column is not None else ""))


def _operator_column(node: ast.BinOp, source: str, symbol: str) -> int | None:
    """The column of a binary operator's own symbol (between its operands), if one line."""
    left, right = node.left, node.right
    if left.end_lineno != right.lineno or left.end_col_offset is None or node.lineno != 1:
        return None
    raw = source.encode()  # (the offsets count UTF-8 bytes: `θ^2`)
    found = raw.find(symbol.encode(), left.end_col_offset, right.col_offset)
    return len(raw[:found].decode()) + 1 if found >= 0 else None


def parse(text: str) -> Expression:
    """Parse and check `text` against the whitelist; raise ExpressionError naming what is wrong."""
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression too long: {len(text)} characters (at most {MAX_LENGTH})")
    if not text.strip():
        raise ExpressionError("empty expression: write one such as 'tanh(x*w + b)'")
    if "\x00" in text:
        raise ExpressionError("the expression contains a NUL character")
    if _paren_depth(text) > MAX_PARENTHESES:
        raise ExpressionError(
            f"expression nested too deeply (more than {MAX_PARENTHESES} levels of brackets)"
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        detail = (error.msg or "invalid syntax").splitlines()[0]
        column = f" (column {error.offset})" if error.offset else ""
        raise ExpressionError(f"not a valid expression: {detail}{column}") from None
    except (RecursionError, MemoryError, ValueError, OverflowError) as error:
        raise ExpressionError(f"not a valid expression: {type(error).__name__}") from None
    variables = _check(tree.body, text.strip())
    return Expression(text, tree.body, variables)


def _paren_depth(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


def _check(root: ast.expr, source: str = "") -> tuple[str, ...]:
    """Walk the tree (iteratively) and reject anything outside the whitelist (`source`: the
    text parsed, for the column of an operator)."""
    variables: dict[str, None] = {}
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _fail(node, f"expression nested too deeply (more than {MAX_DEPTH} levels)")
        children: list[ast.AST] = []
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                symbol = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitXor: "^"}.get(
                    type(node.op), type(node.op).__name__
                )
                hint = "; for a power write x**2, not x^2" if symbol == "^" else ""
                raise _fail(
                    node,
                    f"operator {symbol!r} is not allowed (use + - * / **){hint}",
                    _operator_column(node, source, symbol),
                )
            children = [node.left, node.right]
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise _fail(
                    node, f"operator {type(node.op).__name__} is not allowed (only unary -)"
                )
            children = [node.operand]
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                kind = "complex numbers" if isinstance(value, complex) else repr(value)[:20]
                raise _fail(node, f"{kind} not allowed: only real numbers")
        elif isinstance(node, ast.Name):
            _check_name(node)
            if node.id in FUNCTIONS:
                raise _fail(node, f"{node.id} is a function: call it, as in {node.id}(x)")
            variables.setdefault(node.id, None)
        elif isinstance(node, ast.Call):
            func = node.func
            if not isinstance(func, ast.Name):
                raise _fail(node, "only the engine's functions can be called, by name")
            _check_name(func)
            if func.id not in FUNCTIONS:
                raise _fail(
                    node, f"unknown function {func.id!r}; available: {', '.join(FUNCTIONS)}"
                )
            if node.keywords:
                raise _fail(node, f"{func.id}() takes no keyword arguments")
            if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
                raise _fail(node, f"{func.id}() takes exactly one argument")
            children = [node.args[0]]
        else:
            what = _WHAT.get(type(node), type(node).__name__)
            raise _fail(node, f"{what} not allowed in an expression")
        stack.extend((child, depth + 1) for child in reversed(children))  # left first
    return tuple(variables)


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def _check_name(node: ast.Name) -> None:
    if node.id.startswith("_"):
        raise _fail(node, f"name {node.id!r} not allowed: names starting with '_' are reserved")
    if not _NAME.match(node.id):
        raise _fail(node, f"name {node.id!r} not allowed: use ASCII letters, digits and _")


def _number(value: int | float) -> float:
    """A literal as a float, with IEEE overflow to inf (never a huge Python int)."""
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _literal_exponent(node: ast.expr) -> float | None:
    """The exponent as a number if it is a literal (optionally negated), else None."""
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        if isinstance(node.op, ast.USub):
            sign = -sign
        node = node.operand
    if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
        return sign * _number(node.value)
    return None


def _build(root: ast.expr, leaves: Mapping[str, Value]) -> Value:
    """Evaluate the checked tree with the engine, post-order, with an explicit stack."""
    results: dict[int, Value] = {}
    stack: list[tuple[ast.expr, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if isinstance(node, ast.Constant):
            number, text = _number(node.value), _literal_text(node.value)
            results[id(node)] = Value(number, text, requires_grad=False)  # a constant
            continue
        if isinstance(node, ast.Name):
            results[id(node)] = leaves[node.id]
            continue
        if isinstance(node, ast.BinOp):
            exponent = _literal_exponent(node.right) if isinstance(node.op, ast.Pow) else None
            children = [node.left] if exponent is not None else [node.left, node.right]
        elif isinstance(node, ast.UnaryOp):
            children = [node.operand]
        else:  # ast.Call, checked
            children = [node.args[0]]
        if not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in children)
            continue
        args = [results.pop(id(child)) for child in children]
        if isinstance(node, ast.BinOp):
            op = _BINARY[type(node.op)]
            if exponent is not None:
                out = args[0] ** exponent
            elif op == "+":
                out = args[0] + args[1]
            elif op == "-":
                out = args[0] - args[1]
            elif op == "*":
                out = args[0] * args[1]
            elif op == "/":
                out = args[0] / args[1]
            else:
                out = args[0] ** args[1]
        elif isinstance(node, ast.UnaryOp):
            out = -args[0] if isinstance(node.op, ast.USub) else args[0]
        else:
            out = getattr(args[0], FUNCTIONS[node.func.id])()
        results[id(node)] = out
    return results[id(root)]


def _literal_text(value: int | float) -> str:
    if isinstance(value, int) and abs(value) >= 10**15:
        return "inf" if _number(value) == math.inf else f"{float(value):g}"
    return repr(value) if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------------------------------
# Variable assignments from the command line: x=2 w=-3


def parse_assignments(items: Sequence[str]) -> dict[str, float]:
    """Parse `name=number` items; raise ExpressionError for bad names, numbers or repeats."""
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not sep:
            raise ExpressionError(f"expected name=number, got {item[:40]!r}")
        if not _NAME.match(name) or name in FUNCTIONS:
            raise ExpressionError(f"{name[:40]!r} is not a valid variable name (in {item[:40]!r})")
        if name in values:
            raise ExpressionError(f"variable {name} given twice")
        if len(text) > 100:
            raise ExpressionError(f"the value of {name} is too long to be a number")
        try:
            values[name] = float(text)
        except ValueError:
            raise ExpressionError(
                f"the value of {name} is not a number: {text[:40]!r} (in {item[:40]!r})"
            ) from None
    return values


def check_variables(variables: Sequence[str], values: Mapping[str, object]) -> None:
    """Raise ExpressionError if a variable has no value or a value names no variable."""
    missing = [name for name in variables if name not in values]
    extra = [name for name in values if name not in variables]
    if missing:
        given = " ".join(f"{name}=NUMBER" for name in missing)
        raise ExpressionError(f"missing value for {', '.join(missing)} (add {given})")
    if extra:
        have = ", ".join(variables) if variables else "none"
        raise ExpressionError(
            f"value given for {', '.join(extra)}, which the expression does not use "
            f"(its variables: {have})"
        )
