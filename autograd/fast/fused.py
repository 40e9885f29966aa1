"""The fused neuron: act(b + sum_i w_i x_i) as one node, and a layer of such nodes at once.

`linear(ws, xs, b, activation)` is one node whose parents are (w_1..w_n, x_1..x_n, b) and whose
local derivatives are the chain rule through the neuron's `*`, `+` and activation nodes, which
the row takes from the primitive rows of `autograd.ops` (act(z) and act'(z) from the
activation's row):

    d out/d w_i = act'(z) x_i,   d out/d x_i = act'(z) w_i,   d out/d b = act'(z)

On a batch (scalar weights and bias, batched inputs) the node is computed as z = w X + b and
keeps its local derivatives as a `LinearGrads`: it reads like the tuple of the 2n + 1 arrays
above, but holds only a reference to what a layer's neurons share. The row's `bulk` then applies
the chain rule to a run of such nodes at once (`LayerRun`), with S the rows act'(z) * g of the
run's neurons (g each one's gradient):

    every weight:  sum over the batch of S_j x_i:  S X^T;   every bias: of S_j:  S 1
    every input:   sum_j w_ji S_j:                 W^T S

the same numbers as the per-edge rule, summed in another order (equal to rounding, ~1e-16).
`linear_block` makes a layer's nodes from a `params.ParameterBlock` (an `nn.Layer`'s arrays).
"""

from __future__ import annotations

import math
import operator
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from .. import ops
from ..ieee import quiet
from ..value import Value, _as_value, make, settled
from .params import ParameterBlock, Parents

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


def _activate_layer(activation: str, z: Any) -> tuple[Any, Any]:
    """`_activate` for a layer's fresh z, with fewer and smaller new arrays: relu's max(z, 0)
    written over z once its slope [z > 0] is taken (as booleans, an eighth of the memory),
    linear's slope one 1.0 seen at every entry. The same numbers as the row's
    (tests/test_fast_oracle.py)."""
    np = ops.np
    if activation == "relu":
        slopes = np.greater(z, 0.0)  # [z > 0] kept as booleans: 1.0 and 0.0 wherever it is read
        np.maximum(z, 0.0, out=z)
        return z, slopes
    if activation == "linear":
        return z, _ones(z.shape)
    return _activate(activation, z)


_ONES: dict[tuple, Any] = {}


def _ones(shape: tuple) -> Any:
    """A read-only array of ones of `shape` (a linear layer's slopes), made once per shape."""
    ones = _ONES.get(shape)
    if ones is None:
        if len(_ONES) >= 8:  # (batches of many sizes: keep the latest few)
            _ONES.clear()
        ones = _ONES[shape] = ops.np.ones(shape)
        ones.flags.writeable = False
    return ones


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
    batched inputs) the whole layer is one matrix product, Z = W X + b."""
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

    - `weights` (k, n): row j holds neuron j's weights (a neuron made alone: (n,));
    - `slopes` (k, B): row j holds act'(z) of neuron j, one entry per sample ((B,) alone;
      relu's as booleans, read as 1.0 and 0.0);
    - `inputs` (n, B): the inputs x_1..x_n as rows; `sources`: the input arrays it holds;
    - `reads`: the input Values as one tuple, and `parameters`: the weight and bias Values, W
      then b of each neuron, or the `ParameterBlock` they live in (both set for a whole layer,
      else None);
    - `outputs` (k, B) and `rows`: act(Z) and its rows, the output nodes' data (a whole layer),
      so that the next layer reads them as its `inputs` without stacking them again;
      `gradient`: (G, its rows) once the bulk backward gave the output nodes rows of one G.
    """

    __slots__ = (
        "weights", "inputs", "slopes", "sources", "reads", "parameters",
        "outputs", "rows", "gradient", "__weakref__",
    )  # fmt: skip

    def __init__(self, weights, inputs, slopes, sources, reads=None, parameters=None) -> None:
        self.weights, self.inputs, self.slopes = weights, inputs, slopes
        self.sources, self.reads, self.parameters = sources, reads, parameters
        self.outputs = self.rows = self.gradient = None


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
        weights = self.shared.weights
        return weights if self.row is None else weights[self.row]

    @property
    def slope(self) -> Any:
        """act'(z), one entry per sample (as floats: relu's are kept as booleans)."""
        slopes = self.shared.slopes if self.row is None else self.shared.slopes[self.row]
        return slopes if slopes.dtype.kind == "f" else slopes.astype(float)

    @property
    def columns(self) -> Any:
        """[x_1; ...; x_n], shape (n, B)."""
        return self.shared.inputs

    def __len__(self) -> int:
        return 2 * self.shared.weights.shape[-1] + 1

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
        yield from slope * self.shared.inputs
        yield from ops.np.multiply.outer(self.weights, slope)
        yield slope

    def __repr__(self) -> str:
        return f"LinearGrads({len(self)} local derivatives, batch of {len(self.slope)})"


class LayerRun:
    """The chain rule for a run of batched linear nodes that read the same inputs (consecutive
    in backward's order: the neurons of a layer), in two matrix products. `take(node)`: it
    joins if it may; `contributions()`: what every parent receives, as (parents, values)."""

    def __init__(self, node: Value) -> None:
        shared = self.shared = node.local_grads.shared
        n = shared.weights.shape[-1]
        self.columns = shared.inputs
        self.inputs = shared.reads if shared.reads is not None else node.parents[n : 2 * n]
        self.nodes: list[Value] = []
        self.mixed = False  # nodes of more than one `LinearLayerGrads` joined
        self.take(node)

    def take(self, node: Value, reached: bool = True) -> bool:
        """May `node` join the run (a batched linear node reading the same inputs)? If so it
        joins, unless it has no gradient to give (`reached` False)."""
        local_grads = node.local_grads
        if type(local_grads) is not LinearGrads:
            return False
        shared = local_grads.shared
        if shared is not self.shared:  # (a neuron of the run's own layer joins at once)
            if shared.inputs is not self.columns:
                return False
            if shared.reads is not self.inputs:
                n = shared.weights.shape[-1]
                inputs = shared.reads if shared.reads is not None else node.parents[n : 2 * n]
                if len(inputs) != len(self.inputs) or not all(
                    map(operator.is_, inputs, self.inputs)
                ):
                    return False
            self.mixed = True
        if reached:
            self.nodes.append(node)
        return True

    def contributions(self) -> list[tuple]:
        """[(parameters, what they receive), (inputs, W^T S, a note for the inputs' maker)]:
        S = act'(Z) * G, the weights' gradients S X^T and the biases' the sums of S's rows."""
        np, nodes, shared = ops.np, self.nodes, self.shared
        gradients = list(map(_GRAD, nodes))
        by_row = None
        if shared.parameters is not None and not self.mixed and len(nodes) == len(shared.weights):
            # a whole layer, each neuron once: its arrays as they are, rows in its order
            rows = list(map(_ROW, map(_LOCAL_GRADS, nodes)))
            if rows == list(range(len(rows) - 1, -1, -1)):  # a tape's order: last neuron first
                by_row = gradients[::-1]
            elif rows == list(range(len(rows))):
                by_row = gradients
            else:
                by_row = gradients[:]
                for row, g in zip(rows, gradients):
                    by_row[row] = g
        if by_row is not None:
            weights, slopes, parameters = shared.weights, shared.slopes, shared.parameters
            held = shared.gradient  # the rows of one array the bulk rule gave these neurons
            if held is not None and all(map(operator.is_, by_row, held[1])):
                gradients = held[0]
            else:
                gradients = by_row
        else:  # any other run: its neurons' own rows, stacked
            local_grads = list(map(_LOCAL_GRADS, nodes))
            weights = np.array([g.weights for g in local_grads])
            slopes = np.array([g.slope for g in local_grads])
            n = weights.shape[1]
            parameters = [
                p for parents in map(_PARENTS, nodes) for p in (*parents[:n], parents[-1])
            ]
        if type(gradients) is list:
            if any(type(g) is float for g in gradients):  # a number: the same for each sample
                gradients = [np.broadcast_to(g, self.columns.shape[1:]) for g in gradients]
            gradients = np.array(gradients)
        large = slopes.size >= _LARGE  # (for small arrays new ones cost less than buffers)
        if type(parameters) is ParameterBlock:
            # S, then the block's share [S X^T, S 1] written in place, in buffers kept for the
            # next step: the block adds it to its grads at once
            scaled = (
                np.multiply(slopes, gradients, out=parameters.buffer("S", slopes.shape))
                if large
                else slopes * gradients
            )
            share = (
                parameters.buffer("share", parameters.shape)
                if large
                else np.empty(parameters.shape)
            )
            if parameters.bias:
                np.matmul(scaled, self.columns.T, out=share[:, :-1])
                bias_grads = np.add.reduce(scaled, axis=1, out=share[:, -1])
                given: list[tuple] = [(parameters, share)]
            else:
                np.matmul(scaled, self.columns.T, out=share)
                bias_grads = np.add.reduce(scaled, axis=1)
                constants = by_row[:]  # the constant 0.0 each neuron reads as its bias
                for row, node in zip(rows, nodes):
                    constants[row] = node.parents[-1]
                given = [(parameters, share), (constants, bias_grads.tolist())]
        else:
            scaled = slopes * gradients  # S, (k, B)
            weight_grads = scaled @ self.columns.T  # (k, n)
            bias_grads = np.add.reduce(scaled, axis=1)  # (k,): each row of S summed
            totals = np.concatenate((weight_grads, bias_grads[:, None]), axis=1)
            given = [(parameters, totals.ravel().tolist())]
        input_grads = weights.T @ scaled
        maker = getattr(self.inputs[0].local_grads, "shared", None)
        if type(maker) is LinearLayerGrads and maker.outputs is self.columns:
            note = lambda rows: setattr(maker, "gradient", (input_grads, rows))  # noqa: E731
        else:
            note = None
        return [*given, (self.inputs, input_grads, note)]


_LARGE = 4096  # entries from which a layer's S is written in a buffer kept for the next step
_GRAD = operator.attrgetter("grad")
_ROW = operator.attrgetter("row")
_LOCAL_GRADS = operator.attrgetter("local_grads")
_PARENTS = operator.attrgetter("parents")


# What the last batched linear nodes made share, held weakly (a dropped graph frees its arrays):
# a layer's neurons made one by one read the same inputs, so they share one stacked `columns`.
# Sound because the arrays it was stacked from are read-only (`_remember` checks): the engine
# never changes batched data in place, and an array you assign to `.data` yourself and may
# change later is stacked afresh each time.
_last_linear: Any = lambda: None


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


def _stack(xs: tuple, inputs: Any = None) -> Any:
    """[x_1; ...; x_n] as an (n, B) array: the last linear node's if it stacked these very
    arrays, a layer's outputs if these are its rows in order, else stacked here."""
    last = _stacked_last(xs)
    if last is not None:
        return last.inputs
    if inputs is not None:
        maker = getattr(inputs[0].local_grads, "shared", None)
        if type(maker) is LinearLayerGrads and maker.rows is not None:
            rows = maker.rows
            if len(rows) == len(xs) and all(map(operator.is_, xs, rows)):
                return maker.outputs
    stacked = ops.np.array(xs)
    stacked.flags.writeable = False
    return stacked


def _linear_batch(activation: str, ws: tuple, xs: tuple, b: Any) -> Any:
    """One batched neuron in a few NumPy calls, or None unless the weights and bias are numbers
    and every input a batch of one size (other mixes take the elementwise rule)."""
    if type(b) is not float:
        return None
    try:
        weights = ops.np.array(ws, dtype=float)
        columns = _stack(xs)
    except (ValueError, TypeError):  # a mix of numbers and arrays, or arrays of unequal sizes
        sizes = sorted({len(x) for x in (*ws, *xs, b) if type(x) is not float})
        if len(sizes) > 1:
            raise ValueError(
                f"linear() got batches of different sizes ({', '.join(map(str, sizes))}): "
                "every batched input must hold one entry per sample of the same batch"
            ) from None
        return None
    if weights.ndim != 1 or columns.ndim != 2 or columns.dtype.kind != "f":
        return None
    z = weights @ columns
    z += b
    out, slope = _activate_layer(activation, z)
    out.flags.writeable = False
    shared = LinearLayerGrads(weights, columns, slope, xs)
    _remember(shared)
    return out, LinearGrads(shared, None)


def _layer_batch(activation: str, flat: list, count: int, inputs: tuple, parameters: list) -> Any:
    """A whole layer, Z = W X + b: (rows of act(Z), each neuron's local derivatives), or None
    when the operands do not have that shape (then `linear` per neuron)."""
    xs = tuple([x.data for x in inputs])
    try:
        matrix = ops.np.array(flat, dtype=float)
        columns = _stack(xs, inputs)
    except (ValueError, TypeError):
        return None
    if (
        matrix.ndim != 1
        or columns.ndim != 2
        or columns.dtype.kind != "f"
        or matrix.size != count * (columns.shape[0] + 1)
    ):
        return None
    matrix = matrix.reshape(count, columns.shape[0] + 1)
    weights = matrix[:, :-1]
    z = weights @ columns
    z += matrix[:, -1:]
    return _layer_nodes(activation, z, weights, columns, xs, inputs, parameters)


def _layer_nodes(activation, z, weights, columns, xs, inputs, parameters) -> Any:
    """(the rows of act(z), each neuron's LinearGrads) for a layer computed as one matrix."""
    outs, slopes = _activate_layer(activation, z)
    outs.flags.writeable = False
    shared = LinearLayerGrads(weights, columns, slopes, xs, inputs, parameters)
    shared.outputs, shared.rows = outs, tuple(outs)
    _remember(shared, read_only=True)  # (the inputs are settled)
    return shared.rows, list(map(LinearGrads, repeat(shared), range(len(weights))))


def linear_block(block: ParameterBlock, inputs: Sequence[Any], activation: str = "linear"):
    """The nodes of a layer whose parameters live in `block` (an `nn.Layer`'s): the very nodes
    `linear_layer(block.rows, inputs, biases, activation)` makes (biases: `block.biases`, or
    0.0 for each neuron of a block without biases), with every parameter read from the block's
    arrays at once: on a batch, Z = W X + b as one matrix product, and on plain numbers each
    neuron's operands as one list, with no Python step per parameter."""
    op = LINEAR_OPS.get(activation)
    if op is None:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    inputs = tuple(inputs)
    n = block.n_inputs
    if len(inputs) != n:
        raise ValueError(f"a layer of {n} inputs got {len(inputs)}")
    rows = block.rows
    biases = block.biases if block.bias else [_as_value(0.0) for _ in rows]
    if {Value}.issuperset(map(type, inputs)):  # (the tests in C: a layer's hot path)
        xs = [x.data for x in inputs]
        if not _JUST_FLOATS.issuperset(map(type, xs)):
            made = _block_batch(block, activation, inputs, xs)
            if made is not None:  # (each node's parents joined only when they are read)
                parents = map(Parents, rows, repeat(inputs), biases)
                return list(map(make, made[0], parents, made[1], repeat(op)))
        else:  # one sample: each neuron's operands from the block's rows, as numbers
            compute = ops.OPERATIONS[op].compute
            values = block.values.tolist()
            outs = []
            for row, b, numbers in zip(rows, biases, values):
                bias = numbers.pop() if block.bias else 0.0
                data, local_grads = compute(*numbers, *xs, bias)
                outs.append(make(data, Parents(row, inputs, b), local_grads, op))
            return outs
    return linear_layer(rows, inputs, biases, activation)


_JUST_FLOATS = frozenset({float})


def _block_batch(block: ParameterBlock, activation: str, inputs: tuple, xs: list) -> Any:
    """A block's layer on a batch, or None when the inputs are not one batch of arrays."""
    if _hand_made(xs):  # data you set yourself: the rule of Value(data) first
        xs = settled(inputs)
    xs = tuple(xs)
    with quiet():
        try:
            columns = _stack(xs, inputs)
        except (ValueError, TypeError):
            return None
        if columns.ndim != 2 or columns.dtype.kind != "f":
            return None
        values = block.lend()
        weights = block.weights()
        z = weights @ columns
        if block.bias:
            z += values[:, -1:]
        return _layer_nodes(activation, z, weights, columns, xs, inputs, block)


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
        or (last is not None and shared.inputs is last.inputs)
        or not any(map(_WRITEABLE, shared.sources))
    ):
        _last_linear = weakref.ref(shared)
    else:
        _last_linear = lambda: None
