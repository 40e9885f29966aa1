"""The fused neuron: act(b + sum_i w_i x_i) as one node, and a layer of such nodes at once.

`linear(ws, xs, b, activation)` is one node whose parents are (w_1..w_n, x_1..x_n, b) and whose
local derivatives are the chain rule through the neuron's `*`, `+` and activation nodes, which
the row takes from the primitive rows of `autograd.ops` (act(z) and act'(z) from the
activation's row):

    d out/d w_i = act'(z) x_i,   d out/d x_i = act'(z) w_i,   d out/d b = act'(z)

On a batch (scalar weights and bias, batched inputs) the node is computed as z = [w, b] @ [X; 1]
and keeps its local derivatives as a `LinearGrads`: it reads like the tuple of the 2n + 1 arrays
above, but holds only a reference to what a layer's neurons share. The row's `bulk` then applies
the chain rule to a run of such nodes at once (`LayerRun`), with S the rows act'(z) * g of the
run's neurons (g each one's gradient):

    every weight and bias:  sum over the batch of S_j x_i, and of S_j:  S @ [X; 1]^T
    every input:            sum_j w_ji S_j:                              W^T @ S

the same numbers as the per-edge rule, summed in another order (equal to rounding, ~1e-16).
"""

from __future__ import annotations

import math
import operator
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import ops
from ..ieee import quiet
from ..value import Value, _as_value, make, settled

ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid")
FORMULA_OF_SLOPE = {  # act'(z), written as the activation's row writes it
    "linear": "",
    "relu": "(1 if z > 0 else 0)",
    "tanh": "(1 - tanh(z)^2)",
    "sigmoid": "sigmoid(z) * (1 - sigmoid(z))",
}


def _activate(activation: str, z: Any) -> tuple[Any, Any]:
    """(act(z), act'(z)) from the activation's own row, elementwise, for an array z."""
    if activation == "linear":
        return z, ops.np.ones_like(z)
    out, (slope,) = ops.OPERATIONS[activation].compute(z)
    return out, slope


@dataclass(frozen=True)
class FusedOperation(ops.Operation):
    """A row of the table with a bulk rule: `bulk(node)` starts a `LayerRun` for a batched node
    (None where the node's local derivatives are a plain tuple)."""

    def bulk(self, node: Value) -> LayerRun | None:
        return LayerRun(node) if type(node.local_grads) is LinearGrads else None


def _compute(activation: str):
    def compute(*operands):
        n = (len(operands) - 1) // 2
        ws, xs, b = operands[:n], operands[n : 2 * n], operands[2 * n]
        if n and type(ws[0]) is float and type(xs[0]) is float and type(b) is float:
            done = _numbers(activation, ws, xs, b)
            if done is not None:
                return done
        with quiet():  # a batch: IEEE results without NumPy's warnings
            done = _linear_batch(activation, ws, xs, b) if n else None
            return done if done is not None else _elementwise(activation, ws, xs, b)

    return compute


def _numbers(activation: str, ws: tuple, xs: tuple, b: float) -> Any:
    """The neuron on plain numbers (None if an operand after the first is a batch after all).

    z = b + w_1 x_1 + ... + w_n x_n, left to right as the neuron made of `+` and `*` adds it
    (map and sum do the loop in C; Python 3.12+ sums floats with compensation, so z can then
    differ from the chain of `+` nodes in the last bit).
    """
    z = sum(map(operator.mul, ws, xs), b)
    if type(z) is not float:
        return None
    if activation == "linear" or (activation == "relu" and z > 0.0):  # 1.0 * x is exactly x
        return z, (*xs, *ws, 1.0)
    if activation == "relu":
        if -math.inf < z:  # finite, so is every x_i and w_i: 0.0 * each is a zero
            return 0.0, (0.0,) * (2 * len(xs) + 1)
        # z is -inf or nan: some x_i or w_i is inf or nan, and 0.0 * it is nan, as the taught
        # neuron's chain gives it (the sign of a zero is lost in the sums either way)
        return (z if z != z else 0.0), (*[0.0 * x for x in xs], *[0.0 * w for w in ws], 0.0)
    out, (d,) = ops.OPERATIONS[activation].compute(z)
    return out, (*[d * x for x in xs], *[d * w for w in ws], d)


def _elementwise(activation: str, ws: tuple, xs: tuple, b: Any) -> Any:
    """Any other mix of numbers and batches: the same rule, elementwise."""
    z = sum(map(operator.mul, ws, xs), b)
    out, d = (z, 1.0) if activation == "linear" else _activate(activation, z)
    return out, (*[d * x for x in xs], *[d * w for w in ws], d)


def _fused_row(activation: str) -> FusedOperation:
    name = "linear" if activation == "linear" else f"{activation}(linear)"
    prime = FORMULA_OF_SLOPE[activation]

    def write(names: list[str]) -> str:
        n = (len(names) - 1) // 2
        terms = " + ".join(f"{w}*{x}" for w, x in zip(names[:n], names[n : 2 * n]))
        z = f"{names[-1]} + {terms}" if terms else names[-1]
        return z if activation == "linear" else f"{activation}({z})"

    def derive(i: int, names: list[str]) -> str:
        n = (len(names) - 1) // 2
        factor = names[n + i] if i < n else names[i - n] if i < 2 * n else "1"
        if not prime:
            return factor
        return prime if factor == "1" else f"{prime} * {factor}"

    return FusedOperation(name, write, derive, _compute(activation))


LINEAR_OPS = {activation: ops.register(_fused_row(activation)).name for activation in ACTIVATIONS}


def linear(
    weights: Sequence[Any], inputs: Sequence[Any], bias: Any = 0.0, activation: str = "linear"
) -> Value:
    """One node for a whole neuron: act(bias + sum_i weights[i] * inputs[i]).

    Parents are (w_1..w_n, x_1..x_n, b); d/dw_i = act'(z) x_i, d/dx_i = act'(z) w_i, d/db =
    act'(z). `activation`: linear, relu, tanh or sigmoid. The same value and gradients as the
    neuron built from `*`, `+` and the activation's node.
    """
    op = LINEAR_OPS.get(activation)
    if op is None:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    if len(weights) != len(inputs):
        raise ValueError(f"linear() got {len(weights)} weights but {len(inputs)} inputs")
    parents = (*weights, *inputs, bias if type(bias) is Value else _as_value(bias))
    operands = [p.data for p in parents if type(p) is Value]  # the type test while reading
    if len(operands) != len(parents):  # numbers or arrays among them: make them leaves
        parents = tuple(map(_as_value, parents))
        operands = [p.data for p in parents]
    n = len(inputs)
    if n and type(operands[n]) is not float and _hand_made(operands[n : 2 * n]):
        operands = settled(parents)  # data you set yourself: the rule of Value(data) first
    data, local_grads = ops.OPERATIONS[op].compute(*operands)
    return make(data, parents, local_grads, op)


def linear_layer(
    weights: Sequence[Sequence[Any]],
    inputs: Sequence[Any],
    biases: Sequence[Any],
    activation: str = "linear",
) -> list[Value]:
    """A layer of neurons reading the same inputs: `[linear(w, inputs, b, activation) for w, b
    in zip(weights, biases)]`, the very same nodes. On a batch (scalar weights and biases,
    batched inputs) the whole layer is one matrix product, Z = [W, b] @ [X; 1]."""
    if len(weights) != len(biases):
        raise ValueError(f"linear_layer() got {len(weights)} weight rows but {len(biases)} biases")
    inputs, rows = tuple(inputs), [tuple(row) for row in weights]
    n = len(inputs)
    if (
        inputs
        and activation in LINEAR_OPS
        and {Value}.issuperset(map(type, inputs))  # (the tests in C: a layer's hot path)
        and type(inputs[0].data) is not float
        and all(map(n.__eq__, map(len, rows)))
    ):
        if _hand_made([x.data for x in inputs]):  # data you set yourself: the rule of Value
            settled(inputs)  # (then read-only copies: the stacked inputs may be shared)
        parameters = [p for row, b in zip(rows, biases) for p in (*row, b)]
        flat = [p.data for p in parameters if type(p) is Value]
        if len(flat) != len(parameters):  # numbers among them: make them constant leaves
            rows = [tuple(map(_as_value, row)) for row in rows]
            biases = list(map(_as_value, biases))
            parameters = [p for row, b in zip(rows, biases) for p in (*row, b)]
            flat = [p.data for p in parameters]
        with quiet():
            made = _layer_batch(activation, flat, len(rows), inputs, parameters)
        if made is not None:
            op = LINEAR_OPS[activation]
            return [
                make(data, (*row, *inputs, b), local_grads, op)
                for data, local_grads, row, b in zip(*made, rows, biases)
            ]
    return [linear(row, inputs, b, activation) for row, b in zip(rows, biases)]


class LinearLayerGrads:
    """What batched linear nodes made together (a layer's neurons, or one neuron) share:

    - `matrix` (k, n + 1): row j holds neuron j's weights, then its bias;
    - `slopes` (k, B): row j holds act'(z) of neuron j, one entry per sample;
    - `columns` (n + 1, B): the inputs x_1..x_n as rows, then a row of ones (the bias's input);
      `sources`: the input arrays it was stacked from;
    - `reads`: the input Values as one tuple, and `parameters`: the weight and bias Values in
      the order of `matrix`'s entries (both set by `linear_layer`, else None).

    A neuron made alone (`linear`) keeps its own rows: `matrix` (n + 1,), `slopes` (B,).
    """

    __slots__ = ("matrix", "columns", "slopes", "sources", "reads", "parameters", "__weakref__")

    def __init__(self, matrix, columns, slopes, sources, reads=None, parameters=None) -> None:
        self.matrix, self.columns, self.slopes = matrix, columns, slopes
        self.sources, self.reads, self.parameters = sources, reads, parameters


class LinearGrads:
    """The local derivatives of one batched linear node, row `row` of a `LinearLayerGrads`
    (`row` None: a node made alone). With slope = act'(z), one entry per sample:

        self[i] = slope * x_i (i < n),   self[n + i] = slope * w_i,   self[2n] = slope

    It reads like the tuple of those 2n + 1 arrays (len, indexing, iteration, zip with the
    parents), so the core's chain rule and every tool can use it as they use any node's.
    """

    __slots__ = ("shared", "row", "__weakref__")

    def __init__(self, shared: LinearLayerGrads, row: int | None) -> None:
        self.shared, self.row = shared, row

    @property
    def weights(self) -> Any:
        """w_1..w_n, shape (n,)."""
        matrix = self.shared.matrix
        return matrix[:-1] if self.row is None else matrix[self.row, :-1]

    @property
    def slope(self) -> Any:
        """act'(z), one entry per sample."""
        return self.shared.slopes if self.row is None else self.shared.slopes[self.row]

    @property
    def columns(self) -> Any:
        """[x_1; ...; x_n; 1], shape (n + 1, B)."""
        return self.shared.columns

    def __len__(self) -> int:
        return 2 * self.shared.matrix.shape[-1] - 1

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        size = len(self)
        i = index + size if index < 0 else index
        if not 0 <= i < size:
            raise IndexError(f"local derivative {index} out of range for {size} parents")
        return tuple(self)[i]

    def __iter__(self) -> Any:
        slope = self.slope
        yield from slope * self.columns[:-1]
        yield from ops.np.multiply.outer(self.weights, slope)
        yield slope

    def __repr__(self) -> str:
        return f"LinearGrads({len(self)} local derivatives, batch of {len(self.slope)})"


class LayerRun:
    """The chain rule for a run of batched linear nodes that read the same inputs (consecutive
    in backward's order: the neurons of a layer), in two matrix products. `take(node)`: it
    joins if it may; `contributions()`: what every parent receives, as (parents, values)."""

    def __init__(self, node: Value) -> None:
        shared = node.local_grads.shared
        n = shared.matrix.shape[-1] - 1
        self.columns = shared.columns
        self.inputs = shared.reads if shared.reads is not None else node.parents[n : 2 * n]
        self.neurons: list[tuple[LinearGrads, Any, tuple]] = []
        self.take(node)

    def take(self, node: Value, reached: bool = True) -> bool:
        """May `node` join the run (a batched linear node reading the same inputs)? If so it
        joins, with its gradient, unless it has none to give (`reached` False)."""
        local_grads = node.local_grads
        if type(local_grads) is not LinearGrads or local_grads.shared.columns is not self.columns:
            return False
        shared = local_grads.shared
        if shared.reads is not self.inputs:
            n = shared.matrix.shape[-1] - 1
            inputs = shared.reads if shared.reads is not None else node.parents[n : 2 * n]
            if len(inputs) != len(self.inputs) or not all(map(operator.is_, inputs, self.inputs)):
                return False
        if reached:
            self.neurons.append((local_grads, node.grad, node.parents))
        return True

    def contributions(self) -> list[tuple[Sequence[Value], Any]]:
        np, neurons = ops.np, self.neurons
        shared = neurons[0][0].shared
        gradients = [g for _, g, _ in neurons]
        if any(type(g) is float for g in gradients):  # a number: the same for every sample
            gradients = [np.broadcast_to(g, self.columns.shape[1:]) for g in gradients]
        if (
            shared.parameters is not None
            and len(neurons) == len(shared.matrix)
            and all(local_grads.shared is shared for local_grads, _, _ in neurons)
        ):  # a whole layer, each neuron once: its arrays as they are, rows in its order
            by_row = gradients[:]
            for (local_grads, _, _), g in zip(neurons, gradients):
                by_row[local_grads.row] = g
            weights, slopes, gradients = shared.matrix[:, :-1], shared.slopes, by_row
            parameters = shared.parameters  # W then b of each neuron, as `matrix` holds them
        else:  # any other run: its neurons' own rows, stacked
            weights = np.array([local_grads.weights for local_grads, _, _ in neurons])
            slopes = np.array([local_grads.slope for local_grads, _, _ in neurons])
            n = weights.shape[1]
            parameters = [p for _, _, parents in neurons for p in (*parents[:n], parents[-1])]
        scaled = slopes * np.array(gradients)  # S, (k, B)
        totals = (scaled @ self.columns.T).ravel().tolist()  # each neuron's weights, then bias
        return [(parameters, totals), (self.inputs, weights.T @ scaled)]


# What the last batched linear nodes made share, held weakly (a dropped graph frees its arrays):
# a layer's neurons made one by one read the same inputs, so they share one stacked `columns`.
# Sound because the arrays it was stacked from are read-only (`_remember` checks): the engine
# never changes batched data in place, and an array you assign to `.data` yourself and may
# change later is stacked afresh each time.
_last_linear: Any = lambda: None
_ONES: dict[int, Any] = {}  # a read-only row of ones for each batch size met


def _stacked_last(xs: Any) -> Any:
    """What the last linear node shares, if it stacked these very input arrays; else None."""
    last = _last_linear()
    if (
        last is not None
        and len(last.sources) == len(xs)
        and all(map(operator.is_, xs, last.sources))
    ):
        return last
    return None


def _stack(xs: tuple) -> Any:
    """[x_1; ...; x_n; 1] as an (n + 1, B) array, shared with the last linear node if it can."""
    last = _stacked_last(xs)
    if last is not None:
        return last.columns
    size = len(xs[0])
    ones = _ONES.get(size)
    if ones is None:
        if len(_ONES) >= 8:
            _ONES.clear()
        ones = _ONES[size] = ops.np.ones(size)
        ones.flags.writeable = False
    return ops.np.array((*xs, ones))


def _linear_batch(activation: str, ws: tuple, xs: tuple, b: Any) -> Any:
    """One batched neuron in a few NumPy calls, or None unless the weights and bias are numbers
    and every input a batch of one size (other mixes take the elementwise rule)."""
    if type(b) is not float:
        return None
    try:
        weights = ops.np.array((*ws, b), dtype=float)
        columns = _stack(xs)
    except (ValueError, TypeError):  # a mix of numbers and arrays, or arrays of unequal sizes
        sizes = sorted({len(x) for x in (*ws, *xs, b) if type(x) is not float})
        if len(sizes) > 1:
            raise ValueError(
                f"linear() got batches of different sizes ({', '.join(map(str, sizes))}): "
                "every batched input must hold one entry per sample of the same batch"
            ) from None
        return None
    if weights.ndim != 1 or columns.ndim != 2:
        return None
    out, slope = _activate(activation, weights @ columns)
    out.flags.writeable = False
    shared = LinearLayerGrads(weights, columns, slope, xs)
    _remember(shared)
    return out, LinearGrads(shared, None)


def _layer_batch(activation: str, flat: list, count: int, inputs: tuple, parameters: list) -> Any:
    """A whole layer, Z = [W, b] @ [X; 1]: (rows of act(Z), each neuron's local derivatives), or
    None when the operands do not have that shape (then `linear` per neuron)."""
    xs = tuple([x.data for x in inputs])
    try:
        matrix = ops.np.array(flat, dtype=float)
        columns = _stack(xs)
    except (ValueError, TypeError):
        return None
    if matrix.ndim != 1 or columns.ndim != 2 or matrix.size != count * columns.shape[0]:
        return None
    matrix = matrix.reshape(count, columns.shape[0])
    outs, slopes = _activate(activation, matrix @ columns)
    outs.flags.writeable = False
    shared = LinearLayerGrads(matrix, columns, slopes, xs, inputs, parameters)
    _remember(shared, read_only=True)  # (`linear_layer` settled its inputs)
    return outs, [LinearGrads(shared, j) for j in range(count)]


_WRITEABLE = operator.attrgetter("flags.writeable")


def _hand_made(xs: Any) -> bool:
    """Are some of these batched inputs' data not the engine's (read-only) arrays, so that the
    rule of `Value(data)` is still to be applied? (Not asked again of the very inputs the last
    linear node stacked: those were.)"""
    if _stacked_last(xs) is not None:
        return False
    try:
        return any(map(_WRITEABLE, xs))
    except AttributeError:  # not an array at all
        return True


def _remember(shared: LinearLayerGrads, read_only: bool = False) -> None:
    """Offer `shared`'s stacked inputs to the next linear node, if they cannot change."""
    global _last_linear
    last = _last_linear()
    if (
        read_only
        or (last is not None and shared.columns is last.columns)
        or not any(map(_WRITEABLE, shared.sources))
    ):
        _last_linear = weakref.ref(shared)
    else:
        _last_linear = lambda: None
