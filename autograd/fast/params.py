"""Parameters that live in a layer's arrays, each still a `Value` you can read, set and draw.

A `ParameterBlock` holds the parameters of k neurons that read the same n inputs as one matrix,
`values` (k, m): row j is neuron j's n weights, then (with biases) its bias, which is the order
of `parameters()`. `grads` has the same shape. Every entry is also a `Parameter`: a leaf `Value`
whose `data` and `grad` read and write that entry, so `neuron.w[0].data`, `.grad`, the
pictures, the step-through and every rule of the core see it as any other Value, while the
batched step (the layer's matrix products, L2, an optimizer, `zero_grad`) touches the whole
block in a few NumPy calls: Python work per layer, not per parameter.

Copy on write: a graph that read the block keeps `values` as they were (`lend()` makes the array
read-only); setting a parameter, or an optimizer's step, then writes a new array. So a graph's
recorded local derivatives never change under it, as with plain Values.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from .. import ops
from ..data import as_data
from ..ieee import quiet
from ..value import LEAF, Value, make


class ParameterBlock:
    """The parameters of k neurons as one (k, m) array, m = n + 1 with biases, else n.

    - `values`, `grads`: the arrays (row j: neuron j's weights, then its bias);
    - `rows[j]`: neuron j's weight `Parameter`s (a tuple), `biases[j]`: its bias `Parameter`
      (None without biases); `parameters`: every one, row by row (the order of `values`).
    """

    __slots__ = (
        "_values", "_read", "_grad_array", "_grads", "bias", "rows", "biases", "parameters",
        "joined", "buffers", "__weakref__",
    )  # fmt: skip

    def __init__(self, values: Any, bias: bool = True, labels: Sequence[str] | None = None):
        np = ops.use_numpy()
        values = np.array(values, dtype=float)
        if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] < (2 if bias else 1):
            raise ValueError(
                f"a parameter block is a (neurons, weights{' + bias' if bias else ''}) matrix "
                f"with at least one of each, got shape {values.shape}"
            )
        k, m = values.shape
        n = m - 1 if bias else m
        if labels is None:
            labels = [f"N{j + 1}" for j in range(k)]
        if len(labels) != k:
            raise ValueError(f"{k} neurons need {k} labels, got {len(labels)}")
        self._values = None
        self.values, self.bias = values, bool(bias)
        self._grad_array = np.zeros(values.shape)  # (C order: one flat entry per parameter)
        self._grads = memoryview(self._grad_array.reshape(-1))  # (each entry as a float)
        rows, biases, every = [], [], []
        for j, name in enumerate(labels):
            prefix = f"{name}." if name else ""
            row = tuple(Parameter(self, j * m + i, f"{prefix}w{i + 1}") for i in range(n))
            rows.append(row)
            every.extend(row)
            if bias:
                b = Parameter(self, j * m + n, f"{prefix}b")
                biases.append(b)
                every.append(b)
            else:
                biases.append(None)
        self.rows, self.biases, self.parameters = tuple(rows), tuple(biases), tuple(every)
        self.joined: Any = None  # (blocks, their parameters): sum_of_squares' last parents
        self.buffers: dict[tuple, Any] = {}  # scratch arrays the bulk backward reuses

    @property
    def values(self) -> Any:
        return self._values

    @values.setter
    def values(self, values: Any) -> None:
        """A new float64 array of the block's shape, taken as it is (the optimizers give one);
        `assign` copies anything array-like."""
        now = self._values
        if (
            type(values) is not ops.np.ndarray
            or values.dtype != float
            or (now is not None and values.shape != now.shape)
        ):
            shape = getattr(values, "shape", None)
            raise ValueError(
                f"a block's values are a float64 array of shape "
                f"{now.shape if now is not None else '(neurons, weights)'}, got "
                f"{type(values).__name__} {shape if shape is not None else ''}".rstrip()
            )
        if not values.flags.c_contiguous:  # (one flat entry per parameter, in row order)
            values = ops.np.ascontiguousarray(values)
        self._values = values
        self._read = memoryview(values.reshape(-1)).toreadonly()  # (each entry as a float)

    @property
    def grads(self) -> Any:
        """The parameters' gradients, `values`' shape (one array for the block's life: it is
        changed in place, never replaced)."""
        return self._grad_array

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    @property
    def n_inputs(self) -> int:
        """n, the inputs every neuron of the block reads."""
        return self.values.shape[1] - self.bias

    def weights(self) -> Any:
        """W (k, n), a view of `values` (read-only once a graph has read it)."""
        return self.values[:, :-1] if self.bias else self.values

    def lend(self) -> Any:
        """`values` for a graph to keep: read-only from now on (writing makes a new array)."""
        values = self.values
        values.flags.writeable = False
        return values

    def writable(self) -> Any:
        """`values`, copied first if a graph holds them (copy on write)."""
        values = self.values
        if not values.flags.writeable:
            values = self.values = values.copy()
        return values

    def assign(self, values: Any) -> None:
        """Replace every value at once (a float array of `values`' shape, copied)."""
        np = ops.np
        new = np.array(values, dtype=float, order="C")
        if new.shape != self.values.shape:
            raise ValueError(f"the block holds shape {self.values.shape}, got {new.shape}")
        self.values = new

    def buffer(self, name: str, shape: tuple) -> Any:
        """The scratch array `name` of `shape`, the same one each time (the bulk backward's S
        and the block's share of a pass, used and done with inside one layer's rule): no new
        memory in each step."""
        key = (name, shape)
        found = self.buffers.get(key)
        if found is None:
            if len(self.buffers) >= 8:  # (batches of many sizes: keep the latest few)
                self.buffers.clear()
            found = self.buffers[key] = ops.np.empty(shape)
        return found

    def accumulate(self, share: Any) -> None:
        """grads += share: an array of `grads`' shape, or (weight grads (k, n), bias grads (k,)
        or None)."""
        grads = self.grads
        if type(share) is tuple:
            weight_grads, bias_grads = share
            if self.bias:
                grads[:, :-1] += weight_grads
                if bias_grads is not None:  # (None: the weights' share alone)
                    grads[:, -1] += bias_grads
            else:
                grads += weight_grads
        else:
            grads += share

    def zero_grad(self) -> None:
        self.grads.fill(0.0)

    def __len__(self) -> int:
        return len(self.parameters)

    def __reduce__(self) -> tuple:
        """Copies and pickles carry the arrays and every parameter's label (`copy.deepcopy`
        of a model gives it arrays of its own)."""
        labels = [p.label for p in self.parameters]
        return (_restored, (self.values.copy(), self.grads.copy(), self.bias, labels))

    def __repr__(self) -> str:
        k, m = self.values.shape
        bias = " + bias" if self.bias else ""
        return f"ParameterBlock({k} neurons x {m - self.bias} weights{bias})"


def _restored(values: Any, grads: Any, bias: bool, labels: list[str]) -> ParameterBlock:
    block = ParameterBlock(values, bias, [""] * len(values))
    block.grads[...] = grads  # (in place: the one array the parameters read)
    for p, label in zip(block.parameters, labels):
        p.label = label
    return block


def _parameter_at(block: ParameterBlock, index: int) -> Parameter:
    return block.parameters[index]  # (the flat order of the arrays is `parameters`' order)


class Parameter(Value):
    """A leaf Value whose `data` and `grad` are one entry of a `ParameterBlock`'s arrays.

    It behaves as any leaf: `p.data = 0.5` sets the entry (a number; the block copies its array
    first if a graph holds it), `p.grad` accumulates in the block's `grads`, `p.grad = 0.0`
    resets it. `block`, `row`, `col`: where it lives.
    """

    __slots__ = ("block", "index")

    def __init__(self, block: ParameterBlock, index: int, label: str = "") -> None:
        self.block, self.index = block, index  # entry `index` of the block's arrays, flat
        self.label, self.op, self.parents, self.local_grads, self._serial = label, "", (), (), LEAF
        self.requires_grad = True

    def __reduce__(self) -> tuple:
        return (_parameter_at, (self.block, self.index))  # (a copy: the copied block's)

    @property
    def row(self) -> int:
        """The neuron (row of the block) this parameter belongs to."""
        return self.index // self.block.values.shape[1]

    @property
    def col(self) -> int:
        """Its place in the neuron's row: weight `col`, or the bias (the last)."""
        return self.index % self.block.values.shape[1]

    @property  # type: ignore[override]
    def data(self) -> float:
        return self.block._read[self.index]

    @data.setter
    def data(self, value: Any) -> None:
        value = as_data(value)
        if type(value) is not float:
            raise TypeError(
                f"{self.label or 'this parameter'} is one number of its layer's arrays; "
                "it cannot hold a batch"
            )
        self.block.writable().reshape(-1)[self.index] = value

    @property  # type: ignore[override]
    def grad(self) -> float:
        return self.block._grads[self.index]

    @grad.setter
    def grad(self, value: Any) -> None:
        if type(value) is not float:
            if getattr(value, "size", 1) != 1:
                raise TypeError(
                    f"{self.label or 'this parameter'}'s gradient is one number, got an array "
                    f"of shape {value.shape}"
                )
            value = float(value)
        self.block._grads[self.index] = value


def whole_blocks(parameters: Sequence[Value]) -> tuple[list[ParameterBlock], list[Value]]:
    """Split a parameter list into whole blocks (each block's `parameters`, in order, one after
    another) and the rest (every other Value, in order)."""
    blocks: list[ParameterBlock] = []
    loose: list[Value] = []
    i, count = 0, len(parameters)
    seen: set[int] = set()
    while i < count:
        p = parameters[i]
        if type(p) is Parameter and p.index == 0 and id(p.block) not in seen:
            block = p.block
            size = len(block.parameters)
            part = parameters[i : i + size]
            if len(part) == size and all(map(operator.is_, part, block.parameters)):
                blocks.append(block)
                seen.add(id(block))
                i += size
                continue
        loose.append(p)
        i += 1
    return blocks, loose


class Parents(Sequence):
    """The parents of a neuron node made from a block's row, (w_1..w_n, x_1..x_n, b), joined
    into one tuple only when read. A step reads its layers through their arrays and need not
    join them (joining touches every weight: about 13 ns per parameter and step on a wide
    layer), and the bulk backward knows from `row` where the weights' gradients go. It reads
    as that tuple: len, indexing, slicing, iteration, `==` with a tuple.

    `row`: the weights (a block's `rows[j]`), `inputs`: the inputs, `bias`: the bias (the
    block's, or a constant 0.0 for a block without biases)."""

    __slots__ = ("row", "inputs", "bias", "joined")

    def __init__(self, row: tuple, inputs: tuple, bias: Value) -> None:
        self.row, self.inputs, self.bias, self.joined = row, inputs, bias, None

    def tuple(self) -> tuple:
        joined = self.joined
        if joined is None:
            joined = self.joined = (*self.row, *self.inputs, self.bias)
        return joined

    def __len__(self) -> int:
        return len(self.row) + len(self.inputs) + 1

    def __bool__(self) -> bool:  # (never empty: the graph's search asks it at every edge)
        return True

    def __getitem__(self, index: Any) -> Any:
        if index == -1:
            return self.bias
        return self.tuple()[index]

    def __iter__(self) -> Any:
        return iter(self.tuple())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Parents):
            other = other.tuple()
        return self.tuple() == other

    __hash__ = None  # type: ignore[assignment]  (as a tuple of Values compares, not hashes)

    def __repr__(self) -> str:
        return repr(self.tuple())


class SquaresGrads:
    """The local derivatives of one sum-of-squares node over whole blocks: 2 v for every
    parameter it squares (x + x, as the table's row writes it), kept as the blocks' arrays
    (`values`: each block's, or its weights alone). It reads like the tuple of those numbers;
    `bulk(grad)` gives each block's share at once."""

    __slots__ = ("values", "blocks", "biases", "__weakref__")

    def __init__(self, blocks: Sequence[ParameterBlock], biases: bool = True) -> None:
        self.blocks, self.biases = tuple(blocks), biases
        lent = [block.lend() for block in self.blocks]
        self.values = tuple(
            v[:, :-1] if block.bias and not biases else v for block, v in zip(self.blocks, lent)
        )

    def __len__(self) -> int:
        return sum(v.size for v in self.values)

    def __iter__(self) -> Any:
        for v in self.values:
            with quiet():
                doubled = (v + v).ravel().tolist()  # (row by row, as the parents)
            yield from doubled

    def __getitem__(self, index: Any) -> Any:
        items = tuple(self)
        return items[index]

    def bulk(self, grad: float) -> list:
        """(block, 2 v * grad) for each block: what its parameters receive."""
        shares = []
        for block, v in zip(self.blocks, self.values):
            share = (v + v) * grad
            whole = self.biases or not block.bias
            shares.append((block, share if whole else (share, None)))
        return shares

    def __repr__(self) -> str:
        return f"SquaresGrads({len(self)} local derivatives, 2 v each)"


def sum_of_squares_of(blocks: Sequence[ParameterBlock], biases: bool = True) -> Value:
    """`autograd.sum_of_squares` of every parameter of these blocks (an L2 penalty), or of
    their weights alone (`biases=False`): the same node, one edge per parameter carrying 2 v,
    computed from the arrays. The sum is NumPy's (the per-Value node adds left to right: the
    two can differ in the last bits)."""
    np = ops.use_numpy()
    blocks = tuple(blocks)
    if not blocks:
        raise ValueError("sum_of_squares_of() no blocks: give at least one")
    local_grads = SquaresGrads(blocks, biases)
    total = 0.0
    with quiet():  # (a sum past float64's range is inf, as the floats give it)
        for v in local_grads.values:
            flat = v.ravel()
            total += float(np.dot(flat, flat))
    joined = blocks[0].joined  # the parents, joined once for the same blocks
    if (
        joined is None
        or joined[1] != biases
        or len(joined[0]) != len(blocks)
        or not all(map(operator.is_, joined[0], blocks))
    ):
        parents = [p for b in blocks for p in (b.parameters if biases else _weights_of(b))]
        joined = blocks[0].joined = (blocks, biases, tuple(parents))
    return make(total, joined[2], local_grads, "sum_of_squares")


def _weights_of(block: ParameterBlock) -> list:
    return [w for row in block.rows for w in row]
