"""`Value`: a number that remembers how it was computed, and `backward()`, the chain rule.

Every operation makes one node that records its parents and, as plain numbers, the local
derivative of its output with respect to each parent (one row of the table in `autograd.ops`):

    c = a * b   ->  c.parents == (a, b),  c.local_grads == (b.data, a.data),  c.op == "*"

`backward()` is then the chain rule and nothing else, the same lines for every operation:

    for node in backward_order(root):            # each node before its parents
        for parent, local in zip(node.parents, node.local_grads):
            parent.grad += local * node.grad

Every graph runs this loop: a scalar one, a batch (data holding one number per sample), and a
network at layer grain, where a whole layer is one node (`autograd.layer`) whose local
derivatives are small objects for which `local * node.grad` is the parent's share. Leaves (the
values you make) accumulate across passes, as in PyTorch.
"""

from __future__ import annotations

import itertools
import numbers
import sys
from collections.abc import Callable
from typing import Any

from . import modes, ops
from .data import as_data, settled
from .graph import backward_order
from .ieee import quiet
from .modes import is_recording, mode, no_grad  # noqa: F401 (the package's names)
from .show import show

LEAF = sys.maxsize  # the creation number of every leaf (it has no place in backward's order)


_modes = modes.current  # this thread's modes (`no_grad()`, `detect_anomaly()`)


def _binary(op: str, reflected: bool = False) -> Callable:
    """The method for a binary operator: one node of the table's row `op` (looked up at each
    call: the table is the one place that knows the rule)."""
    table = ops.OPERATIONS

    def method(self: Value, other: Any) -> Value:
        other = other if type(other) is Value else _as_value(other)
        a, b = (other, self) if reflected else (self, other)
        row = table[op]
        if type(a.data) is not float or type(b.data) is not float:
            return _batch_node(row, (a, b))
        data, local_grads = row.compute(a.data, b.data)
        return make(data, (a, b), local_grads, op)

    return method


def _unary(op: str) -> Callable:
    """The method for a function of one value (`x.tanh()`): one node of the row `op`."""
    table = ops.OPERATIONS

    def method(self: Value) -> Value:
        row = table[op]
        if type(self.data) is not float:
            return _batch_node(row, (self,))
        data, local_grads = row.compute(self.data)
        return make(data, (self,), local_grads, op)

    method.__name__ = op
    return method


class Value:
    """A number in a computation graph: a float, or a NumPy array (a batch of numbers, one per
    sample, or a layer's matrix).

    `data`, `grad` (0.0 at creation, then data's shape), `label`, `op` ("" for a leaf), `parents`
    (a tuple in operand order, duplicates kept) and `local_grads` (d self/d parent for each).
    `_serial` is its creation number: every node is made after its parents.

    `requires_grad`: False for a *constant*, a number that takes part in the computation but
    whose gradient nobody asked for: the `2.0` of `2 * x` (a number combined with a Value
    becomes one), `Value(c, requires_grad=False)` (a batch of data), every result made inside
    `no_grad()`. The chain rule passes nothing to a constant (its grad stays 0.0), and the
    tools show it as a number with no gradient to track.
    """

    __slots__ = (
        "data", "grad", "label", "requires_grad", "op", "parents", "local_grads", "_serial",
        "__weakref__",
    )  # fmt: skip
    data: Any  # a float, or a read-only float array
    grad: Any  # 0.0, or an array of data's shape
    label: str
    requires_grad: bool
    op: str
    parents: tuple[Value, ...]
    local_grads: Any  # a tuple of numbers or arrays, or of rules (a layer's)
    _serial: int
    __array_ufunc__ = None  # `numpy_array * value` calls Value.__rmul__, not NumPy

    def __init__(self, data: Any, label: str = "", requires_grad: bool = True) -> None:
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, got {type(label).__name__}")
        if requires_grad is not True and requires_grad is not False:
            raise TypeError(f"requires_grad must be True or False, got {requires_grad!r:.40}")
        self.data, self.grad, self.label = as_data(data), 0.0, label
        self.requires_grad = requires_grad
        self.op, self.parents, self.local_grads, self._serial = "", (), (), LEAF

    # Each operator is one node of its row of the table; operands keep their order (2 - x).
    __add__, __radd__ = _binary("+"), _binary("+", reflected=True)
    __sub__, __rsub__ = _binary("-"), _binary("-", reflected=True)
    __mul__, __rmul__ = _binary("*"), _binary("*", reflected=True)
    __truediv__, __rtruediv__ = _binary("/"), _binary("/", reflected=True)
    __rpow__ = _binary("**", reflected=True)
    __neg__, exp, log = _unary("neg"), _unary("exp"), _unary("log")
    tanh, sigmoid, relu, abs = _unary("tanh"), _unary("sigmoid"), _unary("relu"), _unary("abs")
    __abs__ = abs
    __pos__ = lambda self: self

    def __pow__(self, exponent: Any) -> Value:
        """x ** n (n a number): one parent, d/dx = n x**(n-1); x ** y (a Value, an array): two."""
        if isinstance(exponent, Value) or type(exponent).__name__ == "ndarray":
            return apply("**", self, exponent)
        if not isinstance(exponent, numbers.Real):
            raise TypeError(
                f"exponent of ** must be a real number or a Value, got {type(exponent).__name__}"
            )
        return _node(ops.power_operation(as_data(exponent)), (self,))

    def sum(self) -> Value:
        """The sum of every entry of a Value holding an array (a scalar): d out/dx_k = 1."""
        return _node(ops.OPERATIONS["batch_sum"], (_batch(self, "sum"),))

    def mean(self) -> Value:
        """The mean of every entry of a Value holding an array (N of them): d out/dx_k = 1/N."""
        return _node(ops.OPERATIONS["batch_mean"], (_batch(self, "mean"),))

    def backward(self) -> None:
        """d self/d self = 1, then the chain rule at every node, each before its parents."""
        order = start_backward(self)  # each node before its parents; grads 0, self.grad 1
        with quiet():  # (an array's inf and nan without NumPy's warnings)
            for node in order:
                chain_rule(node)  # parent.grad += d node/d parent * node.grad, every parent

    def zero_grad(self) -> None:
        """Set this value's grad back to 0 (leaves accumulate across backward passes)."""
        self.grad = 0.0

    is_leaf = property(lambda self: not self.parents)
    is_batched = property(lambda self: type(self.data) is not float)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={show(self.data)}, grad={show(self.grad)}{label})"

    def __float__(self) -> float:  # (what math.exp(x) and float(x) call)
        raise TypeError(
            "a Value is not a float: math.exp(x) or float(x) would take it out of the graph and "
            "lose its gradient; use x.exp(), x.tanh(), ... to stay in it, or x.data for the number"
        )


def start_backward(root: Value, caller: str = "backward()") -> list[Value]:
    """Begin a pass from `root` (for `backward()` and the step-through): every non-leaf node
    `root` depends on, each before its parents, its grad reset to 0; then d root/d root = 1
    (a leaf root adds 1, as every leaf accumulates). Returns that order."""
    if type(root.data) is not float:
        raise ValueError(
            f"{caller} needs a scalar root, but this value holds an array of shape "
            f"{root.data.shape}; reduce it first, e.g. with .sum() or .mean()"
        )
    order = backward_order(root)
    for node in order:
        node.grad = 0.0
    root.grad += 1.0
    return order


def chain_rule(node: Value, shown: list | None = None) -> None:
    """The chain rule at one node, for each parent in operand order:

        parent.grad += d node/d parent * node.grad

    A scalar parent of a batched node (a weight every sample reads) receives the batch's sum;
    a constant parent (`requires_grad` False) receives nothing. `shown`, if given, receives
    (operand index, parent, local, contribution, parent.grad after) for each edge that ran.
    """
    grad, watched = node.grad, shown is not None or (modes.entered and _modes.anomaly is not None)
    for index, (parent, local) in enumerate(zip(node.parents, node.local_grads)):
        if not parent.requires_grad:
            continue  # a constant: no gradient to track
        contribution = local * grad
        if type(contribution) is float:
            parent.grad += contribution
        elif type(parent.data) is float:  # a number every sample reads: the batch's sum
            contribution = float(contribution.sum())
            parent.grad += contribution
        elif type(parent.grad) is float and not parent.grad:  # an array's first share:
            parent.grad = contribution  # adopted (each rule makes a fresh one; 0.0 + it copies)
        else:
            parent.grad += contribution
        if watched:
            _watch(index, node, parent, local, contribution, shown)


def _watch(index: int, node: Value, parent: Value, local: Any, share: Any, shown: Any) -> None:
    """What the step-through (`shown`) and `detect_anomaly()` see of one edge."""
    if modes.entered and _modes.anomaly is not None:
        _modes.anomaly.backward(node, parent, local)
    if shown is not None:  # (copies of arrays: an adopted share is the grad, which changes)
        after, copy = parent.grad, (lambda x: x if type(x) is float else +x)
        shown.append((index, parent, local, copy(share), copy(after)))


def apply(op: str, *operands: Any) -> Value:
    """The table's operation `op` on operands (Values or numbers): one new node."""
    return _node(ops.OPERATIONS[op], tuple([_as_value(x) for x in operands]))


def _node(row: ops.Operation, parents: tuple, operands: list | None = None) -> Value:
    if operands is None:
        operands = [p.data for p in parents]
    if not _FLOAT.issuperset(map(type, operands)):
        return _batch_node(row, parents)
    data, local_grads = row.compute(*operands)
    return make(data, parents, local_grads, row.name)


def _batch_node(row: ops.Operation, parents: tuple) -> Value:
    """An elementwise node of arrays: every array operand of one shape (a number stands for
    every entry)."""
    operands = settled(parents)
    shapes = {x.shape for x in operands if type(x) is not float} if len(operands) > 1 else ()
    if len(shapes) > 1:
        raise ValueError(
            f"{row.name!r} got batches of different sizes (arrays of shapes "
            f"{', '.join(map(str, sorted(shapes)))}): every array operand must hold one entry "
            "per sample of the same batch (the same shape)"
        )
    return array_node(row, parents, operands)


def array_node(row: ops.Operation, parents: tuple, operands: list | None = None) -> Value:
    """A node whose operands hold arrays: computed with IEEE results and no NumPy warnings, and
    its data read-only (the engine's arrays are shared and never change in place)."""
    if operands is None:
        operands = settled(parents)
    with quiet():
        data, local_grads = row.compute(*operands)
    if type(data) is not float:
        data.setflags(write=False)
    return make(data, parents, local_grads, row.name)


_FLOAT = {float}


def make(data: Any, parents: tuple, local_grads: Any, op: str) -> Value:
    """A new node with its data, parents and local derivatives (a constant under `no_grad`)."""
    out = _new_value(Value)
    out.data, out.grad, out.label = data, 0.0, ""  # (in threes: no tuple is built)
    out.requires_grad, out.op, out.parents = True, op, parents
    out.local_grads, out._serial = local_grads, _next_serial()
    if modes.entered:  # some thread is in a mode: is this one?
        if not _modes.recording:  # inside no_grad(): a constant
            out.requires_grad, out.op, out.parents, out.local_grads = False, "", (), ()
            out._serial = LEAF
        if _modes.anomaly is not None:
            _modes.anomaly.forward(op, parents, data, local_grads)
    return out


_new_value = object.__new__
_BIG = 2**1023  # ints within float64's range convert without a check
_next_serial = itertools.count().__next__


def _batch(value: Value, what: str) -> Value:
    if type(value.data) is float:
        raise ValueError(f".{what}() reduces a batched Value; this one holds a single number")
    return value


def _as_value(x: Any) -> Value:
    if type(x) is Value:
        return x
    if type(x) is int and -_BIG < x < _BIG:  # (`sum()` starts from the int 0)
        x = float(x)
    if type(x) is float:  # a constant: a leaf made without re-checking its data (kept quick)
        leaf = _new_value(Value)
        leaf.data, leaf.grad, leaf.label, leaf.requires_grad = x, 0.0, "", False
        leaf.op, leaf.parents, leaf.local_grads, leaf._serial = "", (), (), LEAF
        return leaf
    if isinstance(x, Value):  # (a subclass)
        return x
    if isinstance(x, numbers.Real) or type(x).__name__ == "ndarray":
        return Value(x, requires_grad=False)
    raise TypeError(f"cannot combine a Value with {x!r:.40} ({type(x).__name__})")
