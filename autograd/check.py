"""Check gradients numerically: the engine against central differences, or yours against the engine.

`gradcheck(f, inputs)` builds fresh leaf Values from `inputs`, runs `f` and `backward()`, and
compares every gradient with the central difference

    numeric d f/d x_k = (f(x + eps e_k) - f(x - eps e_k)) / (2 eps),

accepting it when |analytic - numeric| <= atol + rtol * |numeric| (the test and defaults of
`torch.autograd.gradcheck`). It returns a `GradcheckReport` (a table: input, analytic,
numeric, difference), or raises `GradcheckError` showing the rows that do not match.

`check_gradient_function(gradient, f, inputs)` checks a hand-written gradient (for example
NumPy backprop code such as `backward_propagation` returning `dW1, db1, ...`) against the
engine's `backward()` on the same function, entry by entry.

Inputs: a sequence (f is called as f(*args)) or a mapping of names (f(**args)). Each input may be
a number (f gets a scalar Value), a Value (f gets a fresh copy with the same data and label; a
batched Value stays batched), or an array-like of numbers of any shape (f gets a NumPy object
array of that shape holding one scalar Value per entry, labelled `W1[0,2]`, so NumPy code such as
`np.tanh(W1 @ X + b1)` runs on Values unchanged).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .data import numbers_in
from .graph import backward_order
from .value import Value, is_recording, no_grad

__all__ = [
    "GradcheckError",
    "GradcheckReport",
    "GradientRow",
    "check_gradient_function",
    "gradcheck",
]


@dataclass(frozen=True)
class GradientRow:
    """One entry compared: `expected` is the reference (numeric, or the engine's)."""

    input: str
    actual: float  # the gradient being checked (engine's, or yours)
    expected: float  # the reference it is checked against
    difference: float  # |actual - expected|
    ok: bool


@dataclass(frozen=True, repr=False)
class GradcheckReport:
    """All entries compared, with the tolerances used. `passed` when every row is ok."""

    rows: tuple[GradientRow, ...]
    atol: float
    rtol: float
    eps: float | None
    value: float  # f at the inputs
    columns: tuple[str, str] = ("analytic", "numeric")
    hints: tuple[str, ...] = ()  # where the math explains a mismatch (a kink at 0, ...)
    first_wrong: str | None = None  # the first node, in backward order, whose own rule is off
    title: str = "gradcheck"  # what checked (check_gradient_function: your gradients)

    @property
    def passed(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def mismatches(self) -> tuple[GradientRow, ...]:
        return tuple(row for row in self.rows if not row.ok)

    @property
    def max_difference(self) -> float:
        return max((row.difference for row in self.rows), default=0.0)

    def table(self, rows: Sequence[GradientRow] | None = None) -> str:
        """The rows as an aligned text table: input, actual, expected, difference, ok."""
        rows = self.rows if rows is None else rows
        header = ("input", *self.columns, "difference", "")
        body = [
            (r.input, _num(r.actual), _num(r.expected), _num(r.difference), "ok" if r.ok else "X")
            for r in rows
        ]
        widths = [max(len(line[k]) for line in [header, *body]) for k in range(5)]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
            for line in [header, *body]
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        step = f"eps={self.eps:g}, " if self.eps is not None else ""
        verdict = (
            "passed"
            if self.passed
            else f"FAILED: {_count(len(self.mismatches), 'mismatch', 'mismatches')}"
        )
        head = (
            f"{self.title} {verdict} ({len(self.rows)} gradient{'s' * (len(self.rows) != 1)}; "
            f"{step}atol={self.atol:g}, "
            f"rtol={self.rtol:g}; max difference {_num(self.max_difference)})"
        )
        return head + "\n" + self.table() + _afterword(self)

    __repr__ = __str__


class GradcheckError(AssertionError):
    """Raised when gradients do not match; `report` holds every row, the message the bad ones."""

    def __init__(self, report: GradcheckReport) -> None:
        self.report = report
        bad = report.mismatches
        rule = f"|{report.columns[0]} - {report.columns[1]}| > atol + rtol * |{report.columns[1]}|"
        step = f"eps={report.eps:g}, " if report.eps is not None else ""
        super().__init__(
            f"{len(bad)} of {len(report.rows)} gradients do not match ({rule}; {step}"
            f"atol={report.atol:g}, rtol={report.rtol:g}):\n"
            + report.table(bad)
            + _afterword(report)
        )


def _afterword(report: GradcheckReport) -> str:
    where = f"\nwhere it goes wrong: {report.first_wrong}" if report.first_wrong else ""
    return where + "".join(f"\nhint: {h}" for h in report.hints)


def _first_wrong_node(out: Any, atol: float, rtol: float, suspects: set[int]) -> str | None:
    """The first node, in backward order, whose recorded local derivatives disagree with
    central differences of its own operation (its row's value, at its operands' data): where a
    wrong gradient starts. A batch's elementwise node is checked entry by entry: 32 entries
    spread over it (so that the search stays cheaper than the check) and the `suspects`, where
    the check found an input's gradient wrong. Kinks (the two one-sided slopes differ) and
    layer-grain nodes are passed by."""
    from .graph import backward_order
    from .ops import operation
    from .show import show
    from .steps import node_names

    if not isinstance(out, Value):
        return None
    names = node_names(out)
    for node in backward_order(out):
        row = None
        for data, locals_, entry in _entries(node, suspects):
            row = row or operation(node.op)
            for i, local in enumerate(locals_):
                numeric = _slope(row, data, i)
                if numeric is not None and not _close(local, numeric, atol, rtol):
                    shown = ", ".join(
                        f"{names[p]}{entry} = {show(x)}" for p, x in zip(node.parents, data)
                    )
                    return (
                        f"{names[node]} = {row.expression([names[p] for p in node.parents])} "
                        f"(operation {node.op!r}) at {shown}: its local derivative "
                        f"d{names[node]}/d{names[node.parents[i]]}{entry} is {_num(local)} as "
                        f"written, {_num(numeric)} by central differences of its own value"
                    )
    return None


def _entries(node: Value, suspects: set[int]) -> list[tuple[list[float], list[float], str]]:
    """The node's operands and local derivatives as numbers, with where they are: the node's
    own (""), or for an elementwise node of a batch (its data, its array operands and local
    derivatives all of one shape) its entries' ("[k]", "[i,j]"): all of a small node, else
    ENTRIES_CHECKED spread over it and the `suspects` it has. None for any other node."""
    data = [p.data for p in node.parents]
    if type(node.data) is float:
        scalar = all(type(x) is float for x in (*data, *node.local_grads))
        return [(data, list(node.local_grads), "")] if scalar else []
    arrays = [x for x in (*data, *node.local_grads) if type(x) is not float]
    shape, size = getattr(node.data, "shape", None), node.data.size
    if any(type(a) is not type(node.data) or a.shape != shape for a in arrays):
        return []  # (a layer's rules, a row over rows: not entry by entry)
    chosen = set(range(size)) if size <= ENTRIES_CHECKED else {k for k in suspects if k < size}
    chosen |= {k * (size - 1) // (ENTRIES_CHECKED - 1) for k in range(ENTRIES_CHECKED)}
    pick = lambda x, k: x if type(x) is float else float(x.flat[k])  # noqa: E731
    numbers = lambda values, k: [pick(x, k) for x in values]  # noqa: E731
    return [
        (numbers(data, k), numbers(node.local_grads, k), f"[{_index(k, shape)}]")
        for k in sorted(chosen)
    ]


ENTRIES_CHECKED = 32  # of each batch node, by `_first_wrong_node`


def _slope(row: Any, data: list[float], i: int) -> float | None:
    """d row/d operand i at `data` by central differences, or None at a kink or off the
    function's domain (where the one-sided slopes differ, or a value is not finite)."""
    h = 1e-6 * max(1.0, abs(data[i]))

    def at(x: float) -> float:
        moved = list(data)
        moved[i] = x
        return row.compute(*moved)[0]

    low, mid, high = at(data[i] - h), at(data[i]), at(data[i] + h)
    if not all(map(math.isfinite, (low, mid, high))):
        return None
    left, right = (mid - low) / h, (high - mid) / h
    if not _close(left, right, 1e-4, 1e-2):
        return None
    return (high - low) / (2.0 * h)


def _num(x: float) -> str:
    if x != x or x in (math.inf, -math.inf):
        return repr(x)
    return f"{x:.6g}"


def _close(actual: float, expected: float, atol: float, rtol: float) -> bool:
    if actual == expected:  # also equal infinities
        return True
    if actual != actual or expected != expected:
        return actual != actual and expected != expected
    return abs(actual - expected) <= atol + rtol * abs(expected)


# ---------------------------------------------------------------------------------------------
# Inputs: flatten to a list of floats, rebuild as the arguments f expects


@dataclass
class _Input:
    name: str
    kind: str  # "scalar", "batched" (a Value with array data) or "array" (object array)
    shape: tuple[int, ...]
    data: list[float]

    def entry_names(self) -> list[str]:
        if self.kind == "scalar":
            return [self.name]
        return [f"{self.name}[{_index(i, self.shape)}]" for i in range(len(self.data))]

    def build(self, data: Sequence[float]) -> tuple[Any, list[Value]]:
        """The argument for f, and its leaves in flat order."""
        if self.kind == "scalar":
            leaf = Value(data[0], self.name)
            return leaf, [leaf]
        np = _numpy()
        if self.kind == "batched":  # a Value holding an array (a batch, or a layer's matrix)
            leaf = Value(np.array(data, dtype=float).reshape(self.shape), self.name)
            return leaf, [leaf]
        names = self.entry_names()
        leaves = [Value(x, n) for x, n in zip(data, names)]
        array = np.empty(len(leaves), dtype=object)
        array[:] = leaves
        return array.reshape(self.shape), leaves


def _index(flat: int, shape: tuple[int, ...]) -> str:
    parts = []
    for size in reversed(shape):
        parts.append(str(flat % size))
        flat //= size
    return ",".join(reversed(parts))


def _numpy() -> Any:
    from .ops import use_numpy

    return use_numpy()


def _prepare(name: str, item: Any) -> _Input:
    if isinstance(item, Value):
        label = item.label or name
        if type(item.data) is float:
            return _Input(label, "scalar", (), [item.data])
        return _Input(label, "batched", item.data.shape, item.data.ravel().tolist())
    if isinstance(item, (int, float)) and not isinstance(item, bool):
        return _Input(name, "scalar", (), [float(item)])
    try:
        array = numbers_in(item)  # (Values among them: their numbers)
    except (TypeError, ValueError):
        raise TypeError(
            f"input {name}: expected a number, a Value or an array of numbers, got "
            f"{type(item).__name__}"
        ) from None
    if array.ndim == 0:
        return _Input(name, "scalar", (), [float(array)])
    return _Input(name, "array", array.shape, [float(x) for x in array.ravel()])


def _parameter_names(f: Callable[..., Any] | None, count: int) -> list[str]:
    """Names for positional inputs: f's own parameter names where it has that many plain
    positional parameters (`lambda x, w, b: ...` -> x, w, b), else x1, x2, ..."""
    try:
        parameters = list(inspect.signature(f).parameters.values()) if f else []
    except (TypeError, ValueError):  # a builtin or other callable without a signature
        parameters = []
    plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if len(parameters) == count and all(p.kind in plain for p in parameters):
        return [p.name for p in parameters]
    return [f"x{k + 1}" for k in range(count)]


class _Arguments:
    """The inputs of f: rebuild them from flat data, call f, return (output, leaves)."""

    def __init__(
        self, inputs: Sequence[Any] | Mapping[str, Any], f: Callable[..., Any] | None = None
    ) -> None:
        if isinstance(inputs, Mapping):
            self.keys: list[str] | None = list(inputs)
            items = list(inputs.items())
        elif isinstance(inputs, (Sequence,)) and not isinstance(inputs, (str, bytes)):
            self.keys = None
            names = _parameter_names(f, len(inputs))
            items = list(zip(names, inputs))
        else:
            raise TypeError(
                "inputs must be a sequence (f(*inputs)) or a mapping of names (f(**inputs)), "
                f"got {type(inputs).__name__}"
            )
        if not items:
            raise ValueError("gradcheck needs at least one input")
        self.inputs = [_prepare(name, item) for name, item in items]
        self.names = [n for inp in self.inputs for n in inp.entry_names()]
        self.flat = [x for inp in self.inputs for x in inp.data]
        self.last_output: Any = None  # f's output in the engine's run (for the report's hints)
        self.last_leaves: list[Value] = []  # and its leaves, one per entry of the inputs

    def entries_of(self, marked: Sequence[bool]) -> set[int]:
        """Where the marked entries of `flat` are, each within its own input (a flat index)."""
        within = [k for inp in self.inputs for k in range(len(inp.data))]
        return {k for k, mark in zip(within, marked) if mark}

    def call(self, f: Callable[..., Any], flat: Sequence[float]) -> tuple[Any, list[Value]]:
        args, leaves, start = [], [], 0
        for inp in self.inputs:
            arg, its_leaves = inp.build(flat[start : start + len(inp.data)])
            start += len(inp.data)
            args.append(arg)
            leaves.extend(its_leaves)
        if self.keys is None:
            out = f(*args)
        else:
            out = f(**dict(zip(self.keys, args)))
        return out, leaves

    def grads(self, leaves: list[Value]) -> list[float]:
        flat: list[float] = []
        for leaf in leaves:
            g = leaf.grad
            if type(leaf.data) is float:
                flat.append(float(g))
            else:
                np = _numpy()
                flat.extend(np.broadcast_to(g, leaf.data.shape).ravel().tolist())
        return flat


def _scalar(out: Any) -> float:
    if isinstance(out, Value):
        if type(out.data) is not float:
            raise ValueError(
                "f must return a scalar Value, but it returned a batched one; reduce it with "
                ".sum() or .mean()"
            )
        return out.data
    if isinstance(out, (int, float)):
        return float(out)
    raise TypeError(f"f must return a scalar Value, got {type(out).__name__}")


def _kinks(out: Any) -> tuple[str, ...]:
    """Hints for the nodes where the function has no derivative: relu and abs at exactly 0."""
    from .graph import topological_order

    if not isinstance(out, Value):
        return ()
    hints = []
    for node in topological_order(out):
        if node.op in ("relu", "abs") and node.parents[0].data == 0.0:
            name = node.parents[0].label or "its input"
            hints.append(
                f"{node.op} has a kink at 0 ({name} = 0 here), where it has no derivative: the "
                f"engine takes {'0' if node.op == 'relu' else 'sign(0) = 0'}, as PyTorch does, "
                "while central differences see the average of the two sides"
                + (" (0.5)" if node.op == "relu" else " (0)")
                + "; check at a point off the kink"
            )
    if type(out.data) is float and out.data != out.data:  # nan: where it began
        from .steps import node_names, where_nan_began

        began = where_nan_began(out, node_names(out))
        if began:
            hints.append(
                f"{began}; the function and its gradients are nan from there: check at a point "
                "where every value on the way is defined and finite"
            )
    return tuple(dict.fromkeys(hints))


def _engine_gradients(f: Callable[..., Any], arguments: _Arguments) -> tuple[float, list[float]]:
    if not is_recording():
        raise RuntimeError(
            "gradients are off inside no_grad(): operations there record no parents, so every "
            "gradient would be 0; check gradients outside the `with no_grad():` block"
        )
    out, leaves = arguments.call(f, arguments.flat)
    value = _scalar(out)
    if not isinstance(out, Value):
        raise TypeError("f returned a plain number, so it does not depend on its inputs' Values")
    out.backward()
    arguments.last_output, arguments.last_leaves = out, leaves
    return value, arguments.grads(leaves)


def gradcheck(
    f: Callable[..., Any],
    inputs: Sequence[Any] | Mapping[str, Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    *,
    raise_exception: bool = True,
) -> GradcheckReport:
    """Compare the engine's gradients of f at `inputs` with central differences.

    numeric = (f(x + eps) - f(x - eps)) / (2 eps) for each input entry in turn; a row passes
    when |analytic - numeric| <= atol + rtol * |numeric|. Returns the report; raises
    GradcheckError with a table of the mismatches unless `raise_exception=False`.
    """
    if not callable(f):
        raise TypeError(
            f"gradcheck(f, inputs) needs f to be a function of the inputs (such as "
            f"lambda x: x * x), got {type(f).__name__} {f!r:.40}"
        )
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    arguments = _Arguments(inputs, f)
    value, analytic = _engine_gradients(f, arguments)
    rows = []
    flat = list(arguments.flat)
    with no_grad():
        for k, name in enumerate(arguments.names):
            x = flat[k]
            flat[k] = x + eps
            plus = _scalar(arguments.call(f, flat)[0])
            flat[k] = x - eps
            minus = _scalar(arguments.call(f, flat)[0])
            flat[k] = x
            numeric = (plus - minus) / (2.0 * eps)
            a = analytic[k]
            diff = abs(a - numeric) if a == a and numeric == numeric else math.nan
            rows.append(GradientRow(name, a, numeric, diff, _close(a, numeric, atol, rtol)))
    report = GradcheckReport(tuple(rows), atol, rtol, eps, value)
    if not report.passed:
        out = arguments.last_output
        suspects = arguments.entries_of([not row.ok for row in rows])
        first_wrong = _first_wrong_node(out, atol, rtol, suspects)
        report = replace(report, hints=_kinks(out), first_wrong=first_wrong)
    if raise_exception and not report.passed:
        raise GradcheckError(report)
    return report


def check_gradient_function(
    gradient: Callable[..., Mapping[str, Any]],
    f: Callable[..., Any],
    inputs: Mapping[str, Any],
    atol: float = 1e-5,
    rtol: float = 1e-3,
    *,
    raise_exception: bool = True,
    intermediates: Mapping[str, str] | None = None,
) -> GradcheckReport:
    """Check your hand-written `gradient` against the engine's backward() on `f`.

    `inputs` maps names to numbers or arrays (any shape). The engine runs `f(**values)` on
    Values (object arrays for arrays) and `backward()`; your `gradient(**inputs)` gets the
    plain numbers/arrays and returns a mapping from each name (or `"d" + name`, as in
    `grads["dW1"]`) to its gradient, of the input's shape. Rows compare yours (`yours`) with
    the engine's (`engine`), entry by entry, by |yours - engine| <= atol + rtol * |engine|.

    Your intermediate gradients too (`dZ2`, `dA1`, `dZ1`, ...): any other entry of your
    mapping is matched to the engine's nodes of that label (`dZ1` to the nodes `f` labelled
    `Z1`, with `autograd.label(Z1, "Z1")`; `intermediates={"dZ1": "Z1"}` says so explicitly),
    and when one is wrong the report names the first, in backward order, that differs, and the
    last one before it that was right.
    """
    if not isinstance(inputs, Mapping):
        raise TypeError("check_gradient_function needs inputs as a mapping of names to values")
    arguments = _Arguments(inputs)
    value, engine = _engine_gradients(f, arguments)
    np = _numpy()
    plain = {
        name: (inp.data[0] if inp.kind == "scalar" else np.array(inp.data).reshape(inp.shape))
        for name, inp in zip(inputs, arguments.inputs)
    }
    given = gradient(**plain)
    if not isinstance(given, Mapping):
        raise TypeError(
            f"gradient must return a mapping of names to gradients, got {type(given).__name__}"
        )
    yours: list[float] = []
    keys: list[str] = []  # your key of each entry (`dw` for every entry of w)
    for name, inp in zip(inputs, arguments.inputs):
        key = name if name in given else f"d{name}"
        if key not in given:
            raise KeyError(
                f"your gradient has no entry for {name!r} (looked for {name!r} and 'd{name}'; "
                f"it has {', '.join(map(repr, given)) or 'none'})"
            )
        g = np.asarray(given[key], dtype=float)
        if g.size != len(inp.data) or (inp.kind != "scalar" and g.shape != inp.shape):
            raise ValueError(
                f"your gradient {key!r} has shape {g.shape}, but input {name!r} has shape "
                f"{inp.shape}"
            )
        yours.extend(float(x) for x in g.ravel())
        keys.extend([key] * g.size)
    rows = []
    for name, mine, reference in zip(arguments.names, yours, engine):
        diff = abs(mine - reference) if mine == mine and reference == reference else math.nan
        rows.append(GradientRow(name, mine, reference, diff, _close(mine, reference, atol, rtol)))
    taken = {name if name in given else f"d{name}" for name in inputs}
    asked = {
        key: (intermediates or {}).get(key, key[1:] if key.startswith("d") else key)
        for key in given
        if key not in taken
    }
    first_wrong = None
    if asked:
        middle, first_wrong, ordered = _intermediates(
            arguments.last_output, given, asked, atol, rtol
        )
        bad = [k for k, row in enumerate(rows) if not row.ok]
        if first_wrong is None and bad:  # every intermediate right, a result wrong
            first_wrong = _wrong_result(bad, rows, keys, arguments.last_leaves, ordered)
        rows = middle + rows
    report = GradcheckReport(
        tuple(rows),
        atol,
        rtol,
        None,
        value,
        ("yours", "engine"),
        first_wrong=first_wrong,
        title="check_gradient_function",
    )
    if raise_exception and not report.passed:
        raise GradcheckError(report)
    return report


def label(values: Any, name: str) -> Any:
    """Label an intermediate result so that `check_gradient_function` can compare your
    gradient of it: a Value becomes `name`, an array of Values `name[0,1]`, ... Returns it."""
    if isinstance(values, Value):
        values.label = name
        return values
    np = _numpy()
    array = np.asarray(values, dtype=object)
    for index in np.ndindex(array.shape):
        array[index].label = f"{name}[{','.join(map(str, index))}]"
    return values


def _intermediates(
    out: Value, given: Mapping[str, Any], asked: Mapping[str, str], atol: float, rtol: float
) -> tuple[list[GradientRow], str | None, list[tuple[str, list[Value]]]]:
    """Rows for your intermediate gradients, which is the first wrong in backward order, and
    (your key, the engine's nodes) of each, in that order."""
    from .graph import topological_order
    from .ops import operation
    from .steps import node_names

    np = _numpy()
    order = topological_order(out)
    by_label = {node.label: node for node in order if node.label}
    names = node_names(out, order)
    found = []  # (latest creation number, key, rows, nodes)
    for key, base in asked.items():
        mine = np.asarray(given[key], dtype=float)
        if base in by_label and mine.size == 1:
            nodes = [by_label[base]]
        else:
            nodes = [
                by_label.get(f"{base}[{','.join(map(str, i))}]") for i in np.ndindex(mine.shape)
            ]
        if not nodes or any(n is None for n in nodes):
            have = sorted({label.split("[")[0] for label in by_label})
            raise KeyError(
                f"your {key!r} has no nodes labelled {base!r} (or {base}[i,j]) of its shape "
                f"{mine.shape} in the graph: label them in f with autograd.label(..., {base!r}) "
                f"or map it with intermediates={{{key!r}: ...}}; labels: {', '.join(have[:12])}"
            )
        rows = []
        for node, yours in zip(nodes, mine.ravel().tolist()):
            engine = float(node.grad)
            diff = abs(yours - engine) if yours == yours and engine == engine else math.nan
            entry = f"{key}" if len(nodes) == 1 else f"d{node.label}"
            rows.append(GradientRow(entry, yours, engine, diff, _close(yours, engine, atol, rtol)))
        found.append((max(n._serial for n in nodes), key, rows, nodes))
    found.sort(key=lambda item: -item[0])  # backward order: the node made last comes first
    rows = [row for *_, group, _ in found for row in group]
    for k, (_, key, group, nodes) in enumerate(found):
        if all(row.ok for row in group):
            continue
        right = next((f"{found[j][1]} was right" for j in range(k - 1, -1, -1)), "the first one")
        bad, node = next((row, n) for row, n in zip(group, nodes) if not row.ok)
        child = next((c for c in order if node in c.parents), None)  # (the entry found wrong)
        rule = ""
        if child is not None:
            i = child.parents.index(node)
            formula = operation(child.op).derivative(i, [names[p] for p in child.parents])
            rule = f"; the engine's local derivative d {names[child]} / d {names[node]} = {formula}"
        return (
            rows,
            (
                f"your {key} is wrong ({right}): at {bad.input} expected {_num(bad.expected)}, got "
                f"{_num(bad.actual)}{rule}"
            ),
            [],
        )
    return rows, None, [(key, nodes) for _, key, _, nodes in found]


def _wrong_result(
    bad: list[int],
    rows: list[GradientRow],
    keys: list[str],
    leaves: list[Value],
    ordered: list[tuple[str, list[Value]]],
) -> str:
    """Every intermediate right, a result wrong: which, and the step to look at, from the
    nearest of your intermediates (in backward order, the last) that the result depends on."""
    first = bad[0]
    key, row = keys[first], rows[first]
    reaching = [k for k, nodes in ordered if _reaches(nodes, leaves[first])]
    step = (
        f"look at the step from your {reaching[-1]} to {key}"
        if reaching
        else f"none of your intermediates depends on it: look at how you compute {key}"
    )
    others = list(dict.fromkeys(keys[k] for k in bad if keys[k] != key))
    also = f" (also wrong: {', '.join(others)})" if others else ""
    return (
        f"your {key} is wrong, though every intermediate you gave is right: at {row.input} "
        f"expected {_num(row.expected)}, got {_num(row.actual)}; {step}{also}"
    )


def _reaches(nodes: list[Value], leaf: Value) -> bool:
    """Does one of `nodes` depend on `leaf` (is it one of them, or a parent of a node they
    depend on)?"""
    return any(n is leaf or leaf in n.parents for n in [*nodes, *backward_order(*nodes)])


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
