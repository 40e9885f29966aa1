"""Backward with fewer Python steps: the core's chain rule for a tape or a batched graph.

`backward(root)` is the core's hook (`autograd.value.fast_backward`). It takes a root made on
the current tape (the tape read backwards is the order: no search), and a graph holding batched
values or neurons read from a layer's arrays (`nn`'s; the core's order); for anything else, a
scalar graph of plain Values off a tape, it says False and the core's own loop runs.

`run(nodes)` applies the same rule, parent.grad += local * node.grad, with the same local
derivatives, in the same order: a scalar node's edges written out (one or two parents without a
loop), a batched node by the core's `chain_rule` (which sums over the batch for a scalar
parent), and a run of nodes whose row has a bulk rule (the fused neurons of a layer:
`fused.LayerRun`) at once. It names no operation: it asks a node's row for a bulk rule, and
local derivatives that are not a tuple for theirs (the L2 node of whole layers). One sample's
neuron of a layer's block (`params.Parents`) gives its weights their shares through the row
they live in, added up when anything else is to read them (`_settle`), in the core's order.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import islice
from typing import Any

from .. import ops
from ..graph import backward_order, serial_of
from ..ieee import quiet
from ..value import Value, chain_rule, start_backward
from . import replay
from .params import Parameter, ParameterBlock, Parents

# The grad of a node on a tape that backward has not reached (yet): a 0.0 told apart by
# identity. Arithmetic on floats always makes new objects, so no sum is ever this one.
UNREACHED = float("0.0")


def backward(root: Value) -> bool:
    """Run `root.backward()` here if it is on the tape, or its graph is batched or reads a
    layer's arrays (an `nn` network's neurons); else False."""
    on = replay.current
    if on is not None and root.parents and root._serial >= on.start and type(root.data) is float:
        with quiet():
            _backward_on_tape(root, on)
        return True
    if not _for_bulk(root):
        return False
    order = start_backward(root)
    with quiet():
        run(order)
    return True


def _for_bulk(root: Value) -> bool:
    """Does any node of `root`'s graph hold a batch, or is one a neuron of a block's row (whose
    weights `run` adds to a row at a time)? (None can while no array was ever made.)"""
    if ops.np is None:
        return False
    seen, stack = {root}, [root]
    while stack:
        parents = stack.pop().parents
        if type(parents) is Parents:
            return True
        for parent in parents:
            if type(parent.data) is not float:
                return True
            if parent.parents and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return False


def _backward_on_tape(root: Value, on: replay.Tape) -> None:
    """Every node recorded up to `root`, newest first. Each starts at `UNREACHED`; one that still
    holds it when its turn comes received nothing, passes nothing on and keeps grad 0 (which is
    d root/d node), so the same nodes pass on the same sums in the same order as after a search.
    A non-leaf made before the tape that gradient reaches is reset the first time (as the
    search's reset would have) and its part of the graph searched at the end."""
    recorded = on.nodes
    end = bisect_right(recorded, root._serial, key=serial_of)  # root is recorded[end - 1]
    nodes = recorded if end == len(recorded) else recorded[:end]
    for node in nodes:
        node.grad = UNREACHED
    root.grad = 1.0
    outside = run(reversed(nodes), on.start)
    if outside:
        rest = backward_order(*outside)
        for node in rest:
            if node not in outside:
                node.grad = 0.0
        run(rest)


def run(nodes: Any, start: int = -1) -> set[Value]:
    """The chain rule at every node of `nodes` (each before its parents). On a tape (`start`:
    its first creation number) nodes still `UNREACHED` are skipped, and the non-leaves made
    before the tape that receive gradient are returned."""
    outside: set[Value] = set()
    unreached = UNREACHED
    bulk = None  # the run of nodes being gathered for one bulk rule
    group_kind: Any = None  # (and the kind and group of local derivatives it gathers)
    group: Any = None
    rows: dict = {}  # per block row, what its neurons gave its weights and bias, not yet added
    for node in nodes:
        if bulk is not None:
            local_grads = node.local_grads
            if type(local_grads) is group_kind and local_grads.shared is group:
                if node.grad is not unreached:  # (the next node of the same layer: it joins)
                    bulk.nodes.append(node)
                continue
            if bulk.take(node, node.grad is not unreached):
                continue
            _add(bulk.contributions(), start, outside)  # before anything the run feeds
            bulk = None
        grad = node.grad
        if grad is unreached:  # on a tape: the root does not depend on this node
            continue
        parents = node.parents
        if type(node.data) is float:  # plain numbers (an array only from a batch's reduction)
            if type(parents) is Parents:  # a neuron of a block's row, one sample
                local_grads = node.local_grads
                n = len(parents.inputs)
                first = parents.row[0]  # its weights' shares: added up at the end
                held = rows.get(first)
                if held is None:
                    held = rows[first] = [[], [], parents.bias.grad]
                held[0].append(local_grads[:n])
                held[1].append(grad)
                if first.block.bias:  # the bias's sum, as the core adds it
                    held[2] += local_grads[-1] * grad
                else:  # the constant 0.0 this neuron reads as its bias
                    parents.bias.grad += local_grads[-1] * grad
                # (its inputs are plain Values, never parameters: `linear_block` makes such a
                # node only then, so no share held here is one an input's edge adds to)
                for parent, local in zip(parents.inputs, islice(local_grads, n, 2 * n)):
                    if parent._serial < start and parent not in outside:
                        parent.grad = 0.0  # (see _reset_outside)
                        outside.add(parent)
                    parent.grad += local * grad
                continue
            if len(parents) == 2:
                a, b = parents
                if rows and (type(a) is Parameter or type(b) is Parameter):
                    _settle(rows)
                if a._serial < start or b._serial < start:  # (a leaf's LEAF is the largest)
                    _reset_outside(parents, start, outside)
                local_a, local_b = node.local_grads
                a.grad += local_a * grad
                b.grad += local_b * grad
            elif len(parents) == 1:
                a = parents[0]
                if rows and type(a) is Parameter:
                    _settle(rows)
                if a._serial < start:
                    _reset_outside(parents, start, outside)
                a.grad += node.local_grads[0] * grad
            else:
                if rows:
                    _settle(rows)
                local_grads = node.local_grads
                if type(local_grads) is not tuple:  # local derivatives that apply in bulk
                    in_bulk = getattr(local_grads, "bulk", None)
                    if in_bulk is not None:
                        _add(in_bulk(grad), start, outside)
                        continue
                for parent, local in zip(parents, local_grads):
                    if parent._serial < start and parent not in outside:
                        parent.grad = 0.0  # (see _reset_outside)
                        outside.add(parent)
                    parent.grad += local * grad
            continue
        if rows:
            _settle(rows)
        make_bulk = getattr(ops.operation(node.op), "bulk", None)  # a batched node
        bulk = make_bulk(node) if make_bulk is not None else None
        if bulk is not None:  # nodes whose local derivatives share its group join at once
            group_kind, group = type(node.local_grads), bulk.shared
            continue
        if start >= 0:
            _reset_outside(parents, start, outside)
        chain_rule(node)
    if bulk is not None:
        _add(bulk.contributions(), start, outside)
    if rows:
        _settle(rows)
    return outside


def _settle(rows: dict) -> None:
    """Add the shares the block rows' neurons gave their weights and biases (`run` holds them
    per row while it goes) to the rows' grads, before anything else may read or add to them.

    Per parameter the sum is the core's, in its order: grad + c_1 + c_2 + ..., c_k = local_k *
    grad_k (NumPy adds the rows of a stack one after another when it sums along them)."""
    np = ops.np
    for first, (local_grads, grads, bias_grad) in rows.items():
        block = first.block
        j = first.index // block.values.shape[1]
        n = len(local_grads[0])
        shares = np.array(local_grads) * np.array(grads)[:, None]
        weight_grads = block.grads[j, :n]
        weight_grads[:] = np.add.reduce(np.concatenate((weight_grads[None], shares)), axis=0)
        if block.bias:
            block.biases[j].grad = bias_grad
    rows.clear()


def _reset_outside(parents: tuple, start: int, outside: set[Value]) -> None:
    """The first time a pass reaches a non-leaf made before the tape, its grad still holds an
    earlier pass's: reset it, as the search's reset would have, and note it."""
    for parent in parents:
        if parent._serial < start and parent not in outside:
            parent.grad = 0.0
            outside.add(parent)


def _add(contributions: list, start: int, outside: set[Value]) -> None:
    """parent.grad += value for what a bulk rule computed: (parents, a list of numbers),
    (a `ParameterBlock`, its share as arrays) or (parents, the rows of a fresh array, one per
    parent, and a note told those rows when each parent took its row as it is)."""
    for parents, values, *note in contributions:
        if type(parents) is ParameterBlock:
            parents.accumulate(values)
            continue
        if type(values) is list:
            for parent, value in zip(parents, values):
                if parent._serial < start and parent not in outside:
                    parent.grad = 0.0  # (see _reset_outside)
                    outside.add(parent)
                parent.grad += value
            continue
        if start >= 0:
            _reset_outside(parents, start, outside)
        rows = tuple(values)
        fresh = True
        for parent, row in zip(parents, rows):
            grad = parent.grad
            if type(grad) is float and grad == 0.0:
                parent.grad = row  # its own row of the rule's fresh array: no copy needed
            else:
                parent.grad += row
                fresh = False
        if fresh and note and note[0] is not None:
            note[0](rows)
