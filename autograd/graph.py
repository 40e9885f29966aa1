"""Walking a computation graph: orders and edges (iterative, so no recursion limit).

`topological_order` is the order a learner reads (depth-first, parents in operand order);
`backward_order` is the one `backward()` applies the chain rule in (newest node first, leaves
left out). A node is anything with `parents` (and, for `backward_order`, a creation number
`_serial`): this module imports no other, so the core and every tool can use it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from operator import attrgetter
from typing import Any

Value = Any  # a node of the graph: an `autograd.Value`


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, each after all of its parents, `root` last.

    Depth-first, with an explicit stack instead of recursion, so a chain of a million nodes
    works at the default recursion limit. The order depends only on the graph (parents are
    visited in operand order), so the same graph always gives the same order.
    """
    order: list[Value] = []
    seen: set[Value] = set()
    done: set[Value] = set()
    stack = [root]
    push, pop, append, mark, finish = stack.append, stack.pop, order.append, seen.add, done.add
    while stack:
        node = pop()
        if node in seen:  # second visit: every parent is already in `order`
            if node not in done:
                finish(node)
                append(node)
            continue
        mark(node)
        push(node)  # come back to it after its parents
        for parent in reversed(node.parents):
            if parent not in seen:
                push(parent)
    return order


def backward_order(*roots: Value) -> list[Value]:
    """The nodes `backward()` applies the chain rule at: every non-leaf node the `roots`
    depend on (the roots included), each before all of its parents (so after everything that
    uses it); for one root, `root` first.

    Every node is made after its parents, so the creation number each node carries (`_serial`)
    sorted downwards is a reverse topological order: one walk finds the nodes, one sort orders
    them. Leaves are left out: the chain rule has nothing to pass on from them.
    """
    nodes = [root for root in dict.fromkeys(roots) if root.parents]
    seen = set(nodes)
    stack = nodes[:]  # depth-first with an explicit stack: no recursion, and nodes near in memory
    mark, append, push, pop = seen.add, nodes.append, stack.append, stack.pop
    while stack:
        for parent in pop().parents:
            if parent.parents and parent not in seen:
                mark(parent)
                append(parent)
                push(parent)
    nodes.sort(key=serial_of, reverse=True)
    return nodes


serial_of = attrgetter("_serial")  # a node's creation number (the sort key)


def edges(root: Value) -> Iterator[tuple[Value, Value, int]]:
    """Every edge (parent, child, index of parent among child's parents), in graph order."""
    for node in topological_order(root):
        for index, parent in enumerate(node.parents):
            yield parent, node, index


def leaves(root: Value) -> list[Value]:
    """The nodes with no parents (inputs and parameters), in topological order."""
    return [node for node in topological_order(root) if not node.parents]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector inside: these graphs hold no reference cycles,
    so reference counting frees them, and a training loop spares the collector its walks."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
