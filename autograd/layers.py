"""A network's two grains, as rows of the table of operations.

**Neuron grain.** `linear(ws, xs, b, activation)` is one node for a whole neuron,
out = act(b + sum_i w_i x_i), with parents (w_1..w_n, x_1..x_n, b) and local derivatives

    d out/d w_i = act'(z) x_i,   d out/d x_i = act'(z) w_i,   d out/d b = act'(z)

(act(z) and act'(z) from the activation's own row).

**Layer grain.** `layer(X, W, b, activation)` is one node for a whole layer on a batch:

    Z = X W^T + b,   out = act(Z)     X: samples x inputs, W: neurons x inputs, b: neurons

with parents (X, W, b). With G = d loss/d out (samples x neurons), backward's own line
`parent.grad += local * node.grad` gives each parent its share, because each local derivative
here is an object whose product with G is that share, S = act'(Z) * G computed once:

    X.grad += S W        W.grad += S^T X        b.grad += S^T 1 (the column sums of S)

These are the neuron grain's numbers summed: W.grad[j, i] = sum over samples s of
act'(z_sj) G_sj x_si, each sample's d out/d w_ji times its gradient. The losses over a batch
(`hinge`, `mse`, `sse`, `bce`, `bce_with_logits`, `cross_entropy`) and the L2 penalty
of matrices (`squared_norms`) are rows too, so a layer-grain step is a handful of nodes that
backward's one loop runs. `Entry` is the bridge back: a leaf Value that is one number of a
layer's W, so both grains read and write one set of numbers.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

from . import ops
from .ieee import chain_sum
from .nary import sum_of_squares as scalar_sum_of_squares
from .value import LEAF, Value, _as_value, _batch_node, array_node, make, settled

ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid")
SLOPE = {  # act'(z), as the activation's row writes it
    "linear": "1",
    "relu": "(1 if z > 0 else 0)",
    "tanh": "(1 - tanh(z)^2)",
    "sigmoid": "sigmoid(z) * (1 - sigmoid(z))",
}


def check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    return activation


def _activate(activation: str, z: Any) -> tuple[Any, Any]:
    """(act(z), act'(z)) from the activation's own row (linear: z and 1)."""
    if activation == "linear":
        return z, 1.0
    out, (slope,) = ops.OPERATIONS[activation].compute(z)
    return out, slope


# ---------------------------------------------------------------------------------------------
# Neuron grain: one node per neuron


def _neuron_compute(activation: str):
    def compute(*operands: Any) -> tuple[Any, tuple]:
        n = (len(operands) - 1) // 2
        ws, xs, b = operands[:n], operands[n : 2 * n], operands[2 * n]
        # z = b + w_1 x_1 + ... + w_n x_n, left to right as the neuron of `*` and `+` adds it
        z = chain_sum(map(operator.mul, ws, xs), b)
        if activation == "relu" and type(z) is float:  # (the scalar case in a few steps)
            if z > 0.0:
                return z, (*xs, *ws, 1.0)
            if -math.inf < z:  # finite: every x_i and w_i is, and 0.0 * each is a zero
                return 0.0, (0.0,) * (2 * n + 1)
        out, d = _activate(activation, z)
        if activation == "linear":
            return out, (*xs, *ws, 1.0)
        return out, (*[d * x for x in xs], *[d * w for w in ws], d)

    return compute


def _neuron_row(activation: str) -> ops.Operation:
    name = "linear" if activation == "linear" else f"{activation}(linear)"
    slope = SLOPE[activation]

    def write(names: list[str]) -> str:
        n = (len(names) - 1) // 2
        terms = " + ".join(f"{w}*{x}" for w, x in zip(names[:n], names[n : 2 * n]))
        z = f"{names[-1]} + {terms}" if terms else names[-1]
        return z if activation == "linear" else f"{activation}({z})"

    def derive(i: int, names: list[str]) -> str:
        n = (len(names) - 1) // 2
        factor = names[n + i] if i < n else names[i - n] if i < 2 * n else "1"
        if activation == "linear":
            return factor
        return slope if factor == "1" else f"{slope} * {factor}"

    return ops.Operation(name, write, derive, _neuron_compute(activation))


LINEAR_OPS = {a: ops.register(_neuron_row(a)).name for a in ACTIVATIONS}


def linear(
    weights: Sequence[Any], inputs: Sequence[Any], bias: Any = 0.0, activation: str = "linear"
) -> Value:
    """One node for a whole neuron: act(bias + sum_i weights[i] * inputs[i]).

    Parents are (w_1..w_n, x_1..x_n, b); d/dw_i = act'(z) x_i, d/dx_i = act'(z) w_i, d/db =
    act'(z). The same value and gradients as the neuron built from `*`, `+` and the
    activation's node (`fused=False` in `nn`).
    """
    op = LINEAR_OPS[check_activation(activation)]
    if len(weights) != len(inputs):
        raise ValueError(f"linear() got {len(weights)} weights but {len(inputs)} inputs")
    rest = (*inputs, bias)
    if type(weights) is Row:  # a neuron's row of W: Entry leaves, their numbers read in one go
        if not _VALUES.issuperset(map(type, rest)):  # numbers among them: constants
            rest = tuple(map(_as_value, rest))
        parents, operands = (*weights, *rest), [p.data for p in rest]
        batch = not _FLOATS.issuperset(map(type, operands))
        operands[:0] = weights.numbers()
    else:
        parents = (*weights, *rest)
        if not _VALUES.issuperset(map(type, parents)):
            parents = tuple(map(_as_value, parents))
        operands = [p.data for p in parents]
        batch = not _FLOATS.issuperset(map(type, operands))
    if batch:  # a batch: elementwise, one shape
        return _batch_node(ops.OPERATIONS[op], parents)
    data, local_grads = ops.OPERATIONS[op].compute(*operands)
    return make(data, parents, local_grads, op)


_FLOATS = frozenset({float})
_VALUES: set[type] = {Value}  # (and Entry, below)


# ---------------------------------------------------------------------------------------------
# Layer grain: one node per layer


class Shares:
    """What a layer node's three rules share: act'(Z), its inputs X and weights W, and
    S = act'(Z) * G, computed once per gradient G (the node's, in one backward pass)."""

    __slots__ = ("slope", "X", "W", "G", "S")

    def __init__(self, slope: Any, X: Any, W: Any) -> None:
        self.slope, self.X, self.W, self.G, self.S = slope, X, W, None, None

    def scaled(self, G: Any) -> Any:
        """S = act'(Z) * G (G itself for a linear layer: its slope is 1)."""
        if G is not self.G:
            self.G = G
            self.S = G if type(self.slope) is float else self.slope * G
        return self.S


class LayerRule:
    """d layer/d parent as an object: `rule * G` is the parent's share of the gradient G.

    `parent` is "X" (S W), "W" (S^T X) or "b" (S^T 1, the column sums of S). Each product is a
    fresh array."""

    __slots__ = ("shares", "parent")
    FORMULAS = {"X": "S W", "W": "S^T X", "b": "S^T 1"}

    def __init__(self, shares: Shares, parent: str) -> None:
        self.shares, self.parent = shares, parent

    def __mul__(self, G: Any) -> Any:
        shares = self.shares
        S = shares.scaled(G)
        W = shares.W
        return S * W if len(W) == 1 else S @ W  # (one neuron: a broadcast, not a product)

    __rmul__ = __mul__

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the share: the parent's."""
        X, W = self.shares.X, self.shares.W
        return {"X": X.shape, "W": W.shape, "b": W.shape[:1]}[self.parent]

    def __repr__(self) -> str:
        return self.FORMULAS[self.parent]  # (S = G * act'(Z); `describe` adds the shapes)

    def describe(self, names: Sequence[str]) -> str:
        """The share in the parents' names, with the shapes that multiply: `S^T X (3x2 =
        (4x3)^T 4x2)` for W, names (X, W, b)."""
        X, W = self.shares.X, self.shares.W
        S = f"{len(X)}x{len(W)}"
        if self.parent == "W":
            return f"S^T {names[0]}   ({_shape(W.shape)} = ({S})^T {_shape(X.shape)})"
        if self.parent == "b":
            return f"S^T 1   ({len(W)} = the column sums of S, {S})"
        return f"S {names[1]}   ({_shape(X.shape)} = {S} {_shape(W.shape)})"


class _WeightRule(LayerRule):
    def __mul__(self, G: Any) -> Any:
        shares = self.shares
        return shares.scaled(G).T @ shares.X

    __rmul__ = __mul__


class _BiasRule(LayerRule):
    def __mul__(self, G: Any) -> Any:
        S = self.shares.scaled(G)
        return _ones(len(S)) @ S

    __rmul__ = __mul__


def _shape(shape: tuple) -> str:
    return "x".join(map(str, shape))


_ONES: dict[int, Any] = {}


def _ones(n: int) -> Any:
    """A read-only vector of n ones (S^T 1 as one product), made once per n."""
    ones = _ONES.get(n)
    if ones is None:
        if len(_ONES) >= 16:  # (batches of many sizes: keep a few)
            _ONES.clear()
        ones = _ONES[n] = ops.use_numpy().ones(n)
        ones.flags.writeable = False
    return ones


def _layer_compute(activation: str):
    def compute(X: Any, W: Any, b: Any = None) -> tuple[Any, tuple]:
        Z = X @ W.T
        if b is not None:
            Z += b
        if activation == "relu":  # the relu row's numbers, in fewer arrays: its slope [z > 0]
            slope = Z > 0.0  # kept as booleans, and max(z, 0) written over Z (nan stays nan)
            out = ops.np.maximum(Z, 0.0, out=Z)
        else:
            out, slope = _activate(activation, Z)
        shares = Shares(slope, X, W)
        if b is None:
            return out, (LayerRule(shares, "X"), _WeightRule(shares, "W"))
        return out, (LayerRule(shares, "X"), _WeightRule(shares, "W"), _BiasRule(shares, "b"))

    return compute


def _layer_row(activation: str) -> ops.Operation:
    name = "layer" if activation == "linear" else f"{activation}(layer)"

    def write(names: list[str]) -> str:
        z = f"{names[0]} {names[1]}^T" + (f" + {names[2]}" if len(names) > 2 else "")
        return z if activation == "linear" else f"{activation}({z})"

    def derive(i: int, names: list[str]) -> str:
        formula = ("S {1}", "S^T {0}", "S^T 1")[i].format(*names)
        act = "" if activation == "linear" else f" * {activation}'(Z)"
        return f"{formula}, S = G{act}"

    return ops.Operation(name, write, derive, _layer_compute(activation))


LAYER_OPS = {a: ops.register(_layer_row(a)).name for a in ACTIVATIONS}
_LAYER_ROWS = {a: ops.OPERATIONS[name] for a, name in LAYER_OPS.items()}
LAYER_ACTIVATION = {name: a for a, name in LAYER_OPS.items()}  # a layer node's op -> its act


def layer(X: Any, W: Value, b: Value | None = None, activation: str = "linear") -> Value:
    """One node for a whole layer on a batch: act(X W^T + b), shape (samples, neurons).

    `X` (samples x inputs) is a Value (a previous layer's node, or the data: a constant) or an
    array (made a constant); `W` (neurons x inputs) and `b` (neurons) are Values holding arrays.
    The local derivatives are the rules S W, S^T X and S^T 1 (see the module's docstring)."""
    row = _LAYER_ROWS.get(activation) if type(activation) is str else None
    if row is None:
        row = _LAYER_ROWS[check_activation(activation)]
    X = X if isinstance(X, Value) else Value(X, "X", requires_grad=False)
    parents = (X, W) if b is None else (X, W, b)
    data = settled(parents)
    x, w = data[0], data[1]
    if getattr(x, "ndim", 0) != 2 or getattr(w, "ndim", 0) != 2 or x.shape[1] != w.shape[1]:
        raise ValueError(
            f"layer(): X must be (samples, {_cols(w)}) and W (neurons, inputs); got X of shape "
            f"{getattr(x, 'shape', 'a number')} and W of shape {getattr(w, 'shape', 'a number')}"
        )
    if b is not None and getattr(data[2], "shape", None) != w.shape[:1]:
        raise ValueError(
            f"layer(): b must hold {len(w)} biases, got {getattr(data[2], 'shape', 1)}"
        )
    return array_node(row, parents, data)


def _cols(w: Any) -> str:
    return str(w.shape[1]) if getattr(w, "ndim", 0) == 2 else "inputs"


# ---------------------------------------------------------------------------------------------
# Losses over a batch and the L2 penalty of matrices: one node each


def _loss_row(name: str, compute: Any, expression: str, derivative: str) -> ops.Operation:
    return ops.register(
        ops.Operation(
            name,
            lambda names: expression.format(*names),
            lambda i, names: (derivative.format(*names), "0 (the targets)", "0 (a constant)")[i],
            compute,
        )
    )


def _mse(P: Any, Y: Any) -> tuple[float, tuple]:
    """L = mean over every entry of (P - Y)^2; dL/dP = 2 (P - Y) / N."""
    D = P - Y
    return float((D * D).sum()) / D.size, ((2.0 / D.size) * D, 0.0)


def _sse(P: Any, Y: Any) -> tuple[float, tuple]:
    """L = sum over every entry of (P - Y)^2; dL/dP = 2 (P - Y)."""
    D = P - Y
    return float((D * D).sum()), (2.0 * D, 0.0)


def _hinge(S: Any, Y: Any) -> tuple[float, tuple]:
    """L = mean of relu(1 - Y S); dL/dS = -Y / N where the margin Y S < 1, else 0."""
    np = ops.np
    margin = 1.0 - Y * S
    return float(np.maximum(margin, 0.0).sum()) / S.size, (
        np.where(margin > 0.0, -Y / S.size, 0.0),
        0.0,
    )


EPS = 1e-12  # probabilities are clamped to [EPS, 1 - EPS] so that log stays finite


def _bce(P: Any, Y: Any, eps: float = EPS) -> tuple[float, tuple]:
    """q = clamp(P, eps, 1 - eps); L = -mean(Y log q + (1 - Y) log(1 - q)); dL/dP = (q - Y) /
    (N q (1 - q)) where eps < P <= 1 - eps, else 0 (as the clamp's relus). `eps`, if not the
    default, is a third operand: a constant."""
    np = ops.np
    q = np.clip(P, eps, 1.0 - eps)
    r = 1.0 - q  # (once, for the loss and its gradient)
    loss = -float((Y * np.log(q) + (1.0 - Y) * np.log(r)).sum()) / P.size
    inside = (P > eps) & (P <= 1.0 - eps)
    return loss, (np.where(inside, (q - Y) / (P.size * q * r), 0.0), 0.0, 0.0)[: 2 + (eps != EPS)]


def _bce_with_logits(Z: Any, Y: Any) -> tuple[float, tuple]:
    """L = mean(softplus(z) - y z), softplus(z) = max(z, 0) + log(1 + e^-|z|) (never overflows);
    dL/dz = (sigmoid(z) - y) / N."""
    np = ops.np
    softplus = np.maximum(Z, 0.0) + np.log1p(np.exp(-np.abs(Z)))
    sigmoid, _ = ops.OPERATIONS["sigmoid"].compute(Z)
    return float((softplus - Y * Z).sum()) / Z.size, ((sigmoid - Y) / Z.size, 0.0)


def _cross_entropy(Z: Any, T: Any) -> tuple[float, tuple]:
    """L = mean over samples of -log_softmax(z)[t], log_softmax(z) = (z - m) - log(sum
    exp(z - m)), m = max z (exact at huge equal logits); dL/dZ = (softmax(Z) - onehot) / B."""
    np = ops.np
    m = Z.max(axis=1, keepdims=True)
    shifted = Z - np.where(np.isfinite(m), m, 0.0)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(Z))
    targets = T.astype(int)
    loss = -float(log_softmax[rows, targets].sum()) / len(Z)
    grad = np.exp(log_softmax)
    grad[rows, targets] -= 1.0
    return loss, (grad / len(Z), 0.0)


LOSS_OPS = {
    "mse": _loss_row("mse", _mse, "mean(({0} - {1})^2)", "2 ({0} - {1}) / N"),
    "sse": _loss_row("sse", _sse, "sum(({0} - {1})^2)", "2 ({0} - {1})"),
    "hinge": _loss_row("hinge", _hinge, "mean(relu(1 - {1} {0}))", "-{1} / N where {1} {0} < 1"),
    "bce": _loss_row(
        "bce",
        _bce,
        "-mean({1} log {0} + (1 - {1}) log(1 - {0}))",
        "({0} - {1}) / (N {0} (1 - {0}))",
    ),
    "bce_with_logits": _loss_row(
        "bce_with_logits",
        _bce_with_logits,
        "mean(softplus({0}) - {1} {0})",
        "(sigmoid({0}) - {1}) / N",
    ),
    "cross_entropy": _loss_row(
        "cross_entropy",
        _cross_entropy,
        "mean(-log_softmax({0})[{1}])",
        "(softmax({0}) - onehot({1})) / B",
    ),
}


def check_eps(eps: float) -> float:
    """Binary cross-entropy's clamp: a number in (0, 0.5), or a clear error."""
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps, binary cross-entropy's clamp, must be in (0, 0.5); got {eps!r}")
    return eps


def batch_loss(name: str, predictions: Value, targets: Any, eps: float = EPS) -> Value:
    """The loss `name` of a layer's outputs (samples x outputs) against targets, as one node;
    the targets are a constant parent `y`. Cross-entropy takes class indices, one per sample.
    `eps` is binary cross-entropy's clamp, in (0, 0.5): another than the default is a third
    parent, a constant."""
    row = LOSS_OPS[name]
    if eps != EPS and name != "bce":
        raise ValueError(f"eps is binary cross-entropy's clamp; {name!r} takes none")
    check_eps(eps)
    P = settled((predictions,))[0]
    y = targets if isinstance(targets, Value) else Value(targets, "y", requires_grad=False)
    Y = settled((y,))[0]
    if name == "cross_entropy":
        expected: tuple = (len(P),)
    else:
        expected = P.shape
        if getattr(Y, "shape", None) == (len(P),) and P.shape == (len(P), 1):
            Y = Y.reshape(-1, 1)  # a view of the read-only numbers: no copy
            y = Value(0.0, y.label or "y", requires_grad=False)
            y.data = Y
    if getattr(Y, "shape", None) != expected:
        raise ValueError(
            f"{name}: predictions of shape {P.shape} need targets of shape {expected}, got "
            f"{getattr(Y, 'shape', 'a number')}"
        )
    if eps != EPS:
        eps_value = Value(eps, "eps", requires_grad=False)
        return array_node(row, (predictions, y, eps_value), [P, Y, eps])
    return array_node(row, (predictions, y), [P, Y])


def _squared_norms(*arrays: Any) -> tuple[float, tuple]:
    """sum over every array of every entry squared; d/dA = 2 A."""
    total, vdot = 0.0, ops.np.vdot
    for a in arrays:
        total += float(vdot(a, a))  # (a's entries, flattened, times themselves, summed)
    return total, tuple([a + a for a in arrays])


SQUARED_NORMS = ops.register(
    ops.Operation(
        "squared_norms",
        lambda names: " + ".join(f"||{n}||^2" for n in names),
        lambda i, names: f"2 * {names[i]}",
        _squared_norms,
    )
)


def sum_of_squares(values: Sequence[Any]) -> Value:
    """v_1**2 + ... + v_n**2 as one node, d/dv_i = 2 v_i: an L2 penalty. Of numbers, the table's
    n-ary row. If any value holds an array (a layer's W, its biases), every entry of every value
    squared and summed: one number, whatever the arrays hold. (A batch's sum of squares sample
    by sample is the n-ary row's, `autograd.nary.sum_of_squares`.)"""
    parents = tuple(values)
    if any(isinstance(p, Value) and type(p.data) is not float for p in parents):
        return squared_norms(tuple(map(_as_value, parents)))
    return scalar_sum_of_squares(parents)


def squared_norms(values: Sequence[Value]) -> Value:
    """||A_1||^2 + ... + ||A_n||^2 (every entry squared) as one node: an L2 penalty of matrices."""
    parents = tuple(values)
    if not parents:
        raise ValueError("squared_norms() of no values: give at least one")
    return array_node(SQUARED_NORMS, parents)


# ---------------------------------------------------------------------------------------------
# The bridge: one number of a layer's array, as a leaf Value


class Entry(Value):
    """A leaf Value that is one number of an array Value (weight i of neuron j is entry (j, i)
    of its layer's W): `data` and `grad` read and write that entry, so the neuron grain and the
    layer grain see one set of numbers. Setting `data` gives the array a new copy first if a
    graph holds it (the engine's arrays never change under a graph)."""

    __slots__ = ("source", "index", "at")

    def __init__(self, source: Value, index: int, label: str = "") -> None:
        self.source, self.index = source, index  # the flat index of the entry
        self.at = divmod(index, source.data.shape[1]) if source.data.ndim == 2 else (index,)
        self.label, self.requires_grad = label, True
        self.op, self.parents, self.local_grads, self._serial = "", (), (), LEAF

    @property  # type: ignore[override]
    def data(self) -> float:
        return self.source.data.item(self.at)

    @data.setter
    def data(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(
                f"{self.label or 'this entry'} is one number of {self.source.label or 'an array'};"
                f" set it to a number, got {type(value).__name__}"
            )
        array = self.source.data
        if not array.flags.writeable:  # a graph holds it: change a copy
            array = self.source.data = array.copy()
        array[self.at] = value

    @property  # type: ignore[override]
    def grad(self) -> float:
        grad = self.source.grad
        return grad if type(grad) is float else grad.item(self.at)

    @grad.setter
    def grad(self, value: Any) -> None:
        grad = self.source.grad
        if type(value) is float and type(grad) is not float:  # (backward's `+=`, in one step)
            grad[self.at] = value
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(
                f"{self.label or 'this entry'}'s gradient is one number, got {type(value).__name__}"
            )
        if type(grad) is float:
            grad = self.source.grad = ops.np.full(self.source.data.shape, grad)
        grad[self.at] = value


_VALUES.add(Entry)


class Row(tuple):
    """A neuron's weights: the entries of row `row` of `source` (a layer's W), in order, as a
    tuple of `Entry` leaves that also reads their numbers in one go."""

    source: Value
    row: int

    def __new__(cls, source: Value, row: int, labels: Sequence[str]) -> Row:
        n = source.data.shape[1]
        entries = super().__new__(cls, (Entry(source, row * n + i, labels[i]) for i in range(n)))
        entries.source, entries.row = source, row
        return entries

    def numbers(self) -> list[float]:
        return self.source.data[self.row].tolist()

    def __reduce__(self) -> tuple:  # (copy and pickle make it again from its source)
        return Row, (self.source, self.row, [entry.label for entry in self])


def neurons(node: Value, sample: int = 0, label: str = "") -> list[Entry]:
    """A layer node seen at neuron grain: for one sample (a row of its data), one Value per
    neuron, `L1.N1`, `L1.N2`, ..., whose `data` and `grad` are that row's entries of the node's
    (a view of the same numbers, not a new computation)."""
    data = node.data
    if getattr(data, "ndim", 0) != 2:
        raise ValueError("neurons() expands a layer node, whose data is (samples, neurons)")
    count, width = data.shape
    if not 0 <= sample < count:
        raise IndexError(f"sample {sample} of a batch of {count}")
    name = label or node.label or "layer"
    return [Entry(node, sample * width + j, f"{name}.N{j + 1}") for j in range(width)]
