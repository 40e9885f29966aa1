"""`Value`: a number that remembers how it was computed, and `backward()`, the chain rule.

Every operation makes one node that records its parents and, as plain numbers, the local
derivative of its output with respect to each parent (from the table in `autograd.ops`):

    c = a * b   ->  c.parents == (a, b),  c.local_grads == (b.data, a.data),  c.op == "*"

`backward()` is then the chain rule and nothing else, the same lines for every operation:

    for node in reverse topological order:
        for parent, local in zip(node.parents, node.local_grads):
            parent.grad += local * node.grad

Gradients of repeated `backward()` calls: leaves (values made by you, with no parents)
*accumulate*, as in PyTorch, so call `zero_grad()` on them (or on a model) between passes;
every non-leaf node is reset at the start of a pass and shows the gradient of the latest one.
"""

from __future__ import annotations

import gc
import itertools
import math
import numbers
import operator
import sys
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Union

from . import ops
from .graph import propagation_order, serial_of

Number = int | float
Operand = Union["Value", int, float]  # noqa: UP007 (a forward reference)

_recording = True  # False inside `no_grad()`
_anomaly = False  # True inside `detect_anomaly()`
_tape: Tape | None = None  # the tape being recorded, inside `tape()`

# The `_serial` of every leaf. Nodes made by operations are numbered in the order they are
# made; a leaf has no parents, so it needs no place in backward's order.
LEAF = sys.maxsize


class Value:
    """A scalar (or, batched, a 1-D NumPy array of per-sample scalars) in a computation graph.

    Attributes: `data` (float, or 1-D float array), `grad` (same shape, 0.0 at creation),
    `label`, `op` ("" for a leaf), `parents` (tuple, in operand order, duplicates kept) and
    `local_grads` (d self / d parent for each parent, same order).
    """

    # `_serial`: creation number (LEAF for leaves). Every node is made after its parents, so
    # sorting by it gives backward its order (`graph.propagation_order`).
    __slots__ = ("data", "grad", "label", "op", "parents", "local_grads", "_serial", "__weakref__")
    __array_ufunc__ = None  # make `numpy_array * value` call Value.__rmul__, not NumPy

    def __init__(self, data: Any, label: str = "") -> None:
        self.data = _as_data(data)
        self.grad: Any = 0.0
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, got {type(label).__name__}")
        self.label = label
        self.op = ""
        self.parents: tuple[Value, ...] = ()
        self.local_grads: tuple = ()
        self._serial = LEAF

    # -- operators: each one is a single node ------------------------------------------------
    def __add__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _as_value(other)
        data, local_grads = ops._add(self.data, other.data)
        return _make(data, (self, other), local_grads, "+")

    def __radd__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _as_value(other)
        data, local_grads = ops._add(other.data, self.data)
        return _make(data, (other, self), local_grads, "+")

    def __sub__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _as_value(other)
        data, local_grads = ops._sub(self.data, other.data)
        return _make(data, (self, other), local_grads, "-")

    def __rsub__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _as_value(other)
        data, local_grads = ops._sub(other.data, self.data)
        return _make(data, (other, self), local_grads, "-")

    def __mul__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _as_value(other)
        data, local_grads = ops._mul(self.data, other.data)
        return _make(data, (self, other), local_grads, "*")

    def __rmul__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _as_value(other)
        data, local_grads = ops._mul(other.data, self.data)
        return _make(data, (other, self), local_grads, "*")

    def __truediv__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _as_value(other)
        data, local_grads = ops._div(self.data, other.data)
        return _make(data, (self, other), local_grads, "/")

    def __rtruediv__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _as_value(other)
        data, local_grads = ops._div(other.data, self.data)
        return _make(data, (other, self), local_grads, "/")

    def __neg__(self) -> Value:
        return _unary("neg", self)

    def __pos__(self) -> Value:
        return self

    def __pow__(self, exponent: Operand) -> Value:
        """x ** n (n a number): one parent, d/dx = n * x**(n-1). x ** y (y a Value): two."""
        if isinstance(exponent, Value):
            return apply("**", self, exponent)
        row = ops.power_operation(_as_number(exponent, "exponent of **"))
        data, local_grads = row.compute(self.data)
        return _make(data, (self,), local_grads, row.name)

    def __rpow__(self, base: Operand) -> Value:
        return apply("**", base, self)

    # -- functions ---------------------------------------------------------------------------
    def exp(self) -> Value:
        """out = e**x, d out/dx = out."""
        return _unary("exp", self)

    def log(self) -> Value:
        """out = ln(x), d out/dx = 1/x (log(0) = -inf, log(x<0) = nan)."""
        return _unary("log", self)

    def tanh(self) -> Value:
        """out = tanh(x), d out/dx = 1 - out**2."""
        return _unary("tanh", self)

    def sigmoid(self) -> Value:
        """out = 1 / (1 + e**-x), d out/dx = out * (1 - out). Never overflows."""
        return _unary("sigmoid", self)

    def relu(self) -> Value:
        """out = max(x, 0), d out/dx = 1 if x > 0 else 0."""
        return _unary("relu", self)

    def abs(self) -> Value:
        """out = |x|, d out/dx = sign(x) (0 at 0)."""
        return _unary("abs", self)

    __abs__ = abs

    def sum(self) -> Value:
        """For a batched value: the sum over the batch, a scalar. d out/dx_k = 1."""
        return _reduce("batch_sum", self)

    def mean(self) -> Value:
        """For a batched value: the mean over the batch, a scalar. d out/dx_k = 1/B."""
        return _reduce("batch_mean", self)

    # -- gradients ---------------------------------------------------------------------------
    def backward(self) -> None:
        """Set d self/d self = 1 and apply the chain rule to every node, in reverse order.

        Leaves accumulate across calls (use `zero_grad()`); non-leaf nodes are reset first,
        so they show this pass's gradient. The order is found without recursion
        (`graph.propagation_order`: every node is made after its parents, so newest first is
        a valid order), and the cyclic garbage collector is paused meanwhile. Inside `tape()`,
        a root made on the tape needs no search: the tape is that order already.
        """
        with gc_paused():  # backward makes no cycles; skip the collector's walks of the graph
            on = _tape
            if (
                on is not None
                and self.parents
                and self._serial >= on.start
                and type(self.data) is float
                and not _anomaly
            ):
                _backward_on_tape(self, on)
                return
            nodes, batched = start_backward(self)
            if _anomaly:  # the same order, each step checked
                for node in nodes:
                    propagate(node)
                return
            if batched:
                backward_batched(nodes)
            else:
                backward_scalar(nodes)

    def zero_grad(self) -> None:
        """Set this value's grad back to 0 (leaves accumulate across backward passes)."""
        self.grad = 0.0

    @property
    def is_leaf(self) -> bool:
        return not self.parents

    @property
    def is_batched(self) -> bool:
        return type(self.data) is not float

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={_show(self.data)}, grad={_show(self.grad)}{label})"

    def __float__(self) -> float:
        if type(self.data) is not float:
            raise TypeError("float() of a batched Value: it holds one number per sample")
        return self.data


# ---------------------------------------------------------------------------------------------
# Making nodes


def apply(op: str, *operands: Operand) -> Value:
    """Apply the table's operation `op` to operands (Values or numbers): one new node."""
    return _node(ops.OPERATIONS[op], tuple(_as_value(x) for x in operands))


def _unary(op: str, x: Value) -> Value:
    """`apply` for one Value operand (the common case, kept short)."""
    data, local_grads = ops.OPERATIONS[op].compute(x.data)
    return _make(data, (x,), local_grads, op)


def _node(operation: ops.Operation, parents: tuple[Value, ...]) -> Value:
    data, local_grads = operation.compute(*[p.data for p in parents])
    return _make(data, parents, local_grads, operation.name)


def _make(data: Any, parents: tuple, local_grads: tuple, op: str) -> Value:
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _recording:
        out.op, out.parents, out.local_grads = op, parents, local_grads
        out._serial = _next_serial()
        if _tape is not None:  # record it; note what would keep backward from the tape
            _tape.nodes.append(out)
            if type(data) is not float:
                _tape.batched = True
    else:
        out.op, out.parents, out.local_grads = "", (), ()
        out._serial = LEAF
    if _anomaly:
        _check_forward(op, parents, data, local_grads)
    return out


_new_value = object.__new__
_next_serial = itertools.count().__next__


def _reduce(op: str, value: Value) -> Value:
    if type(value.data) is float:
        raise ValueError(f".{op[6:]}() reduces a batched Value; this one holds a single number")
    return _node(ops.OPERATIONS[op], (value,))


def linear(
    weights: Sequence[Operand],
    inputs: Sequence[Operand],
    bias: Operand = 0.0,
    activation: str = "linear",
) -> Value:
    """One node for a whole neuron: act(bias + sum_i weights[i] * inputs[i]).

    Parents are (w_1..w_n, x_1..x_n, b); local derivatives d/dw_i = act'(z) * x_i,
    d/dx_i = act'(z) * w_i, d/db = act'(z). `activation` is one of linear, relu, tanh,
    sigmoid. It gives exactly the gradients of the same neuron built from `*` and `+` nodes.
    """
    row = _LINEAR_ROWS.get(activation)
    if row is None:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of {', '.join(ops.ACTIVATIONS)}"
        )
    if len(weights) != len(inputs):
        raise ValueError(f"linear() got {len(weights)} weights but {len(inputs)} inputs")
    parents = (*weights, *inputs, bias if type(bias) is Value else _as_value(bias))
    # `_node` inlined, the type test done while reading the data (a network's hot path)
    operands = [p.data for p in parents if type(p) is Value]
    if len(operands) != len(parents):  # numbers or arrays among them: wrap those
        parents = tuple(map(_as_value, parents))
        operands = [p.data for p in parents]
    data, local_grads = row.compute(*operands)
    return _make(data, parents, local_grads, row.name)


_JUST_VALUES = {Value}
_LINEAR_ROWS = {activation: ops.OPERATIONS[op] for activation, op in ops.LINEAR_OPS.items()}


def linear_layer(
    weights: Sequence[Sequence[Operand]],
    inputs: Sequence[Operand],
    biases: Sequence[Operand],
    activation: str = "linear",
) -> list[Value]:
    """A layer of neurons that read the same inputs: one fused `linear` node per neuron.

    Exactly `[linear(w, inputs, b, activation) for w, b in zip(weights, biases)]`: the same
    nodes, parents and local derivatives. On a batch (scalar weights and biases, batched
    inputs) the whole layer is computed at once, Z = [W, b] @ [X; 1], one matrix product
    instead of one per neuron.
    """
    if len(weights) != len(biases):
        raise ValueError(f"linear_layer() got {len(weights)} weight rows but {len(biases)} biases")
    inputs = tuple(inputs)
    rows = [tuple(row) for row in weights]
    n = len(inputs)
    if (
        inputs
        and activation in ops.LINEAR_OPS
        and _JUST_VALUES.issuperset(map(type, inputs))
        and type(inputs[0].data) is not float
        and all(map(n.__eq__, map(len, rows)))
    ):
        # every weight and bias, neuron after neuron; their data, the type test while reading
        parameters = [p for row, b in zip(rows, biases) for p in (*row, b)]
        flat = [p.data for p in parameters if type(p) is Value]
        if len(flat) != len(parameters):  # numbers among them: make them constant leaves
            rows = [tuple(map(_as_value, row)) for row in rows]
            biases = list(map(_as_value, biases))
            parameters = [p for row, b in zip(rows, biases) for p in (*row, b)]
            flat = [p.data for p in parameters]
        made = ops.linear_layer_batch(
            activation, flat, len(rows), tuple([x.data for x in inputs]), inputs, parameters
        )
        if made is not None:
            op = ops.LINEAR_OPS[activation]
            return [
                _make(data, (*row, *inputs, b), local_grads, op)
                for data, local_grads, row, b in zip(*made, rows, biases)
            ]
    return [linear(row, inputs, b, activation) for row, b in zip(rows, biases)]


def sum(values: Iterable[Operand]) -> Value:  # noqa: A001 - deliberately like builtins.sum
    """One n-ary node for v_1 + v_2 + ... + v_n; every local derivative is 1."""
    return _n_ary("sum", values)


def sum_of_squares(values: Iterable[Operand]) -> Value:
    """One n-ary node for v_1**2 + ... + v_n**2 (an L2 penalty); d out/dv_i = 2 v_i."""
    return _n_ary("sum_of_squares", values)


def _n_ary(op: str, values: Iterable[Operand]) -> Value:
    """`apply(op, *values)` for the table's n-ary operations, fast for many operands."""
    parents = tuple(values)
    if not parents:
        raise ValueError(f"{op}() of no values: give at least one")
    operands = [p.data for p in parents if type(p) is Value]  # the type test while reading
    if len(operands) != len(parents):  # numbers or arrays among them: wrap those
        parents = tuple(map(_as_value, parents))
        operands = [p.data for p in parents]
    data, local_grads = ops.OPERATIONS[op].compute(*operands)
    return _make(data, parents, local_grads, op)


def mean(values: Iterable[Operand]) -> Value:
    """(v_1 + ... + v_n) / n, as an n-ary sum node followed by one division."""
    parents = tuple(values)
    return sum(parents) / len(parents) if parents else sum(parents)


# ---------------------------------------------------------------------------------------------
# The chain rule at one node (shared by backward's general path and the step-through)


def start_backward(root: Value, caller: str = "backward()") -> tuple[list[Value], bool]:
    """Begin a backward pass from `root`, as `backward()` and the step-through both do.

    Every non-leaf node is reset to grad 0 (it shows this pass only) and d root/d root = 1 is
    seeded (a leaf root accumulates 1, like any leaf). Returns the nodes to apply the chain
    rule at, each before its parents (`graph.propagation_order`), and whether any is batched.
    """
    if type(root.data) is not float:
        raise ValueError(
            f"{caller} needs a scalar root, but this value holds a batch of "
            f"{len(root.data)}; reduce it first with .sum() or .mean()"
        )
    if not root.parents:
        root.grad += 1.0
        return [], False
    nodes = propagation_order(root)
    batched = False
    for node in nodes:
        node.grad = 0.0
        if type(node.data) is not float:
            batched = True
    root.grad = 1.0
    return nodes, batched


def _backward_on_tape(root: Value, tape: Tape) -> None:
    """`backward()` of a root made on a tape: the chain rule at every node recorded up to
    `root`, newest first. Each node is recorded after its parents: no search, no sort. The
    chain rule is backward's own: `backward_batched` for a batched tape, else `backward_scalar`.

    The tape may hold nodes `root` does not depend on. They are told apart as the pass goes:
    every recorded node starts with the grad `_UNREACHED` (a 0.0 of its own, so adding to it
    is adding to 0), and a node that still holds it when its turn comes has received nothing:
    it passes nothing on and keeps grad 0, which is d root/d node. So the same nodes pass on
    the same sums in the same order as after a search: identical gradients, IEEE cases
    (0 * inf) included (on a batched tape, NumPy may group a layer's sums differently when
    such nodes sit between its neurons: equal to rounding). A non-leaf made before the tape
    began that a recorded node reads is collected where gradient reaches it, and its part of
    the graph searched at the end.
    """
    recorded, start, unreached = tape.nodes, tape.start, _UNREACHED
    end = bisect_right(recorded, root._serial, key=serial_of)  # root is recorded[end - 1]
    nodes = recorded if end == len(recorded) else recorded[:end]
    for node in nodes:
        node.grad = unreached
    root.grad = 1.0
    rule = backward_batched if tape.batched else backward_scalar
    outside = rule(reversed(nodes), start)
    if outside:
        _finish_outside(outside)


def backward_scalar(nodes: Iterable[Value], start: int = -1) -> set[Value]:
    """`propagate` at every node of `nodes`, a scalar graph's (each before its parents): the
    chain rule unrolled for one and two parents, as `backward()` runs it.

    On a tape (`start`: the creation number it began at), `nodes` is the tape read backwards:
    nodes still holding `_UNREACHED` are skipped, and the non-leaves made before the tape that
    receive gradient are returned, each holding only this pass's (see `_backward_on_tape`).
    """
    unreached = _UNREACHED
    outside: set[Value] = set()
    for node in nodes:
        grad = node.grad
        if grad is unreached:  # on a tape: root does not depend on this node
            continue
        parents = node.parents
        if len(parents) == 2:
            a, b = parents
            local_a, local_b = node.local_grads
            a.grad += local_a * grad
            b.grad += local_b * grad
            if a._serial < start or b._serial < start:  # (LEAF, a leaf's, is the largest)
                _reach_outside(node, start, outside)
        elif len(parents) == 1:
            a = parents[0]
            a.grad += node.local_grads[0] * grad
            if a._serial < start:
                _reach_outside(node, start, outside)
        elif start < 0:  # searched: every non-leaf the root depends on is in `nodes`
            for parent, local in zip(parents, node.local_grads):
                parent.grad += local * grad
        else:
            before_tape = False
            for parent, local in zip(parents, node.local_grads):
                parent.grad += local * grad
                if parent._serial < start:
                    before_tape = True
            if before_tape:
                _reach_outside(node, start, outside)
    return outside


def _finish_outside(outside: set[Value]) -> None:
    """The rest of a tape's pass: the graph behind the non-leaves made before the tape began
    (they hold this pass's gradient) is not on the tape, so search it, as backward does."""
    rest = propagation_order(*outside)
    for node in rest:
        if node not in outside:
            node.grad = 0.0
    backward_batched(rest)


def _reach_outside(node: Value, start: int, outside: set[Value]) -> None:
    """`node`, on the tape, has just passed gradient to non-leaves made before the tape began.
    The first time one is met in a pass, its grad still holds an earlier pass's gradient too:
    start it again from this node's contributions alone (as backward's reset would have),
    and note it, so that its part of the graph is searched at the end. (The scalar loop
    checks once per node, after its additions, to stay short; the bulk path, which has each
    contribution at hand, uses `_arrived_outside` per contribution.)"""
    first = {p for p in node.parents if p._serial < start and p not in outside}
    for parent in first:
        parent.grad = 0.0
    grad = node.grad
    for parent, local in zip(node.parents, node.local_grads):
        if parent in first:
            parent.grad += local * grad
    outside.update(first)


# The grad of a node on a tape that backward has not reached (yet): a 0.0 told apart by
# identity. Arithmetic on floats always makes new objects, so no sum is ever this one.
_UNREACHED = float("0.0")


def propagate(node: Value) -> None:
    """Apply the chain rule at `node`: parent.grad += local * node.grad for each parent.

    A scalar parent of a batched node receives the sum over the batch of its contributions.
    """
    grad = node.grad
    for parent, local in zip(node.parents, node.local_grads):
        contribution = local * grad
        if type(parent.data) is float and type(contribution) is not float:
            contribution = float(contribution.sum())
        parent.grad += contribution
        if _anomaly and not _finite(parent.grad):
            raise FloatingPointError(
                f"backward: the gradient of {_describe(parent)} became {_show(parent.grad)} "
                f"at the node {node.op!r} ({_describe(node)}, grad {_show(grad)}; "
                f"local derivative {_show(local)})"
            )


def backward_batched(nodes: Iterable[Value], start: int = -1) -> set[Value]:
    """`propagate` at every node of `nodes` (each before its parents, as `propagation_order`
    gives them), in bulk where a node allows it.

    The same chain rule, parent.grad += local * node.grad, with the same local derivatives;
    only the arithmetic is grouped. Batched linear nodes (local derivatives kept as an
    `ops.LinearGrads`: weights w, inputs [X; 1], slope act'(z)) that come one after another
    and read the very same inputs (the neurons of a layer) are done together: with S the
    rows slope * g of those k neurons (g each one's gradient),

    - every weight and bias:  d loss/d w_ji += sum over the batch of S_j * x_i, and
      d loss/d b_j += sum of S_j, all from one product S @ [X; 1]^T;
    - every input:  d loss/d x_i += sum_j w_ji * S_j, one product W^T @ S,

    added as soon as the next node is not one of them (so before any node they feed into).
    Scalar nodes take backward's scalar loop; any other batched node, `propagate`'s rule.

    On a tape (`start`: the creation number it began at), `nodes` is the tape read backwards:
    nodes still holding `_UNREACHED` are skipped, and the non-leaves made before the tape that
    receive gradient are returned, each holding only this pass's (see `_backward_on_tape`).
    """
    linear_grads = ops.LinearGrads
    is_ = operator.is_
    unreached = _UNREACHED
    outside: set[Value] = set()
    layer = None  # (inputs, columns, [(local derivatives, gradient, parents) of each neuron])
    for node in nodes:
        local_grads = node.local_grads
        if type(local_grads) is linear_grads:
            shared = local_grads.shared
            inputs = shared.reads  # made by linear_layer: the layer's one tuple
            if inputs is None:
                n = shared.matrix.shape[-1] - 1
                inputs = node.parents[n : 2 * n]
            if layer is not None and (
                shared.columns is not layer[1]
                or (
                    inputs is not layer[0]
                    and (len(inputs) != len(layer[0]) or not all(map(is_, inputs, layer[0])))
                )
            ):  # another layer: finish the one before (it may pass gradient to this node)
                _add_layer(*layer, start, outside)
                layer = None
            grad = node.grad
            if grad is unreached:  # on a tape: root does not depend on this node
                continue
            if layer is None:
                layer = (inputs, shared.columns, [])
            layer[2].append((local_grads, grad, node.parents))
            continue
        if layer is not None:
            _add_layer(*layer, start, outside)
            layer = None
        grad = node.grad
        if grad is unreached:
            continue
        if type(node.data) is float:  # a scalar node: plain numbers (arrays from a reduction)
            for parent, local in zip(node.parents, local_grads):
                contribution = local * grad
                parent.grad += contribution
                if parent._serial < start:
                    _arrived_outside(parent, contribution, outside)
        else:
            for parent, local in zip(node.parents, local_grads):
                contribution = local * grad
                if type(parent.data) is float and type(contribution) is not float:
                    contribution = float(contribution.sum())
                parent.grad += contribution
                if parent._serial < start:
                    _arrived_outside(parent, contribution, outside)
    if layer is not None:
        _add_layer(*layer, start, outside)
    return outside


def _arrived_outside(node: Value, contribution: Any, outside: set[Value]) -> None:
    """Gradient reached `node`, a non-leaf made before the tape began. The first time in a pass,
    its grad still held an earlier pass's gradient too: keep only this contribution (as
    backward's reset would have), and note it, so its part of the graph is searched after."""
    if node not in outside:
        outside.add(node)
        node.grad = contribution


def _add_layer(
    inputs: tuple, columns: Any, neurons: list, start: int = -1, outside: Any = None
) -> None:
    """The chain rule for k batched linear nodes that read the same inputs, in two products.

    `neurons`: (local derivatives, gradient, parents) of each node, in backward's order. A
    whole layer made by `linear_layer` reads its shared arrays as they are; any other group
    stacks its nodes' own rows. `start`, `outside`: as in `backward_batched`.
    """
    np = ops.np
    shared = neurons[0][0].shared
    gradients = [g for _, g, _ in neurons]
    if not all(type(g) is not float for g in gradients):  # (a number: the same for every sample)
        gradients = [np.broadcast_to(g, columns.shape[1:]) for g in gradients]
    if (
        shared.parameters is not None
        and len(neurons) == len(shared.matrix)
        and all(local_grads.shared is shared for local_grads, _, _ in neurons)
    ):  # the whole layer (each of its nodes once): its arrays as they are, rows in its order
        by_row = gradients[:]
        for (local_grads, _, _), g in zip(neurons, gradients):
            by_row[local_grads.row] = g
        scaled = shared.slopes * np.array(by_row)  # S, (k, B)
        totals = (scaled @ columns.T).ravel().tolist()  # W then b of each neuron, as made
        for parameter, value in zip(shared.parameters, totals):
            parameter.grad += value
            if parameter._serial < start:
                _arrived_outside(parameter, value, outside)
        to_inputs = shared.matrix[:, :-1].T @ scaled  # (n, B)
    else:
        weights = np.array([local_grads.weights for local_grads, _, _ in neurons])  # (k, n)
        slopes = np.array([local_grads.slope for local_grads, _, _ in neurons])
        scaled = slopes * np.array(gradients)
        totals = (scaled @ columns.T).tolist()  # (k, n + 1): each neuron's weights, then bias
        for (_, _, parents), total in zip(neurons, totals):
            n = len(total) - 1
            for parent, value in zip((*parents[:n], parents[-1]), total):  # weights, bias
                parent.grad += value
                if parent._serial < start:
                    _arrived_outside(parent, value, outside)
        to_inputs = weights.T @ scaled
    for parent, row in zip(inputs, to_inputs):
        if type(parent.grad) is float and parent.grad == 0.0:
            parent.grad = row  # its own row of a fresh array: no copy needed
        else:
            parent.grad += row
        if parent._serial < start:
            _arrived_outside(parent, row, outside)


# ---------------------------------------------------------------------------------------------
# Modes


class Tape:
    """The nodes made inside one `tape()` block, in the order they were made.

    Every node is made after its parents, so this list read backwards is an order in which
    to apply the chain rule (each node before its parents): `backward()` of a root made on
    the tape reads it instead of searching the graph. `nodes` is the list itself (look, do
    not change).
    """

    __slots__ = ("nodes", "start", "batched")

    def __init__(self) -> None:
        self.nodes: list[Value] = []
        self.start = _next_serial()  # every node made from now on has a larger number
        self.batched = False  # a batched node was recorded: backward takes the bulk path

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"Tape({len(self.nodes)} nodes)"


@contextmanager
def tape() -> Iterator[Tape]:
    """Inside, every node made is also appended to a tape, and `backward()` of a root made
    there reads the tape backwards instead of searching the graph for an order.

    The same chain rule, the same order of sums and the same gradients, without the search
    (about a third of backward's time on a scalar graph). The tape keeps every node made in
    the block alive until the block ends (and the `Tape` it gives is dropped), so open one
    per training step:

        for step in range(steps):
            with autograd.tape():
                loss = model_loss()
                loss.backward()

    Nodes made on the tape that the root does not depend on end backward with grad 0 (their
    derivative), where a searched backward leaves them as they were. A `tape()` inside
    another records on the outer one.
    """
    global _tape
    if _tape is not None:
        yield _tape
        return
    _tape = Tape()
    try:
        yield _tape
    finally:
        _tape = None


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside, operations record no parents: results are constants (for inference)."""
    global _recording
    previous, _recording = _recording, False
    try:
        yield
    finally:
        _recording = previous


def is_recording() -> bool:
    """False inside `no_grad()`."""
    return _recording


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Inside, the first nan or inf raises FloatingPointError naming where it came from.

    Forward: the first operation whose value or local derivative is not finite.
    Backward: the first gradient that becomes not finite.
    """
    global _anomaly
    previous, _anomaly = _anomaly, True
    try:
        yield
    finally:
        _anomaly = previous


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (graphs here make no reference cycles).

    Building a large graph triggers many cyclic collections that each walk every live node;
    reference counting alone frees graphs here, so training loops can skip that work.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------------------------------------
# Checking and showing


def _as_data(data: Any) -> Any:
    if type(data) is float:
        return data
    if isinstance(data, numbers.Real) and not isinstance(data, Value):
        try:
            return float(data)
        except OverflowError:  # an int beyond float64's range (about 1.8e308)
            raise ValueError(
                f"Value(data) holds a float64, and this {type(data).__name__} of "
                f"{abs(int(data)).bit_length()} bits is beyond its range (2**1024, about 1.8e308)"
            ) from None
    if type(data).__name__ == "ndarray":
        np = ops.use_numpy()
        if data.ndim != 1 or data.dtype.kind not in "biuf":
            raise TypeError(
                "Value(data) takes a 1-D array of real numbers (one per sample), got a "
                f"{data.ndim}-D array of {data.dtype}"
            )
        # A copy of its own, read-only: the engine shares batched arrays between nodes (a
        # layer's neurons stack the same inputs once), so data is never changed in place;
        # give a Value new data by assigning `value.data = ...` instead.
        array = np.array(data, dtype=float)
        array.flags.writeable = False
        return array
    hint = "; use the Value itself" if isinstance(data, Value) else ""
    raise TypeError(
        f"Value(data) needs a real number, got {data!r:.40} ({type(data).__name__}){hint}"
    )


def _as_value(x: Operand) -> Value:
    if isinstance(x, Value):
        return x
    if type(x) is float:  # a constant: a leaf, made without re-checking its data
        out = _new_value(Value)
        out.data = x
        out.grad = 0.0
        out.label = out.op = ""
        out.parents = out.local_grads = ()
        out._serial = LEAF
        return out
    if isinstance(x, numbers.Real) or type(x).__name__ == "ndarray":
        return Value(x)
    raise TypeError(f"cannot combine a Value with {x!r:.40} ({type(x).__name__})")


def _as_number(x: Any, what: str) -> float:
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(f"{what} must be a real number or a Value, got {type(x).__name__}")


def _finite(x: Any) -> bool:
    if type(x) is float:
        return math.isfinite(x)
    return bool(ops.use_numpy().isfinite(x).all())


def _check_forward(op: str, parents: tuple, data: Any, local_grads: tuple) -> None:
    bad = None
    if not _finite(data):
        bad = f"produced {_show(data)}"
    else:
        for i, local in enumerate(local_grads):
            if not _finite(local):
                bad = f"has local derivative {_show(local)} with respect to input {i + 1}"
                break
    if bad is not None:
        inputs = ", ".join(_describe(p) for p in parents)
        raise FloatingPointError(f"operation {op!r} on inputs ({inputs}) {bad}")


def _describe(node: Value) -> str:
    name = f"{node.label}=" if node.label else ""
    return f"{name}{_show(node.data)}"


def _show(x: Any) -> str:
    """A short, readable number: 4 decimals, or 4 significant digits when tiny or huge."""
    if type(x) is not float:
        if isinstance(x, numbers.Real):
            x = float(x)
        else:
            return (
                "[" + ", ".join(_show(float(v)) for v in x[:4]) + (", ...]" if len(x) > 4 else "]")
            )
    if x != x or x in (math.inf, -math.inf) or x == 0.0:
        return repr(x)
    if 1e-4 <= abs(x) < 1e6:
        return repr(round(x, 4))
    return f"{x:.4g}"
