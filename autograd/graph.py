"""Walking a computation graph: topological order (iterative, so no recursion limit).

`topological_order` is the order a learner reads (depth-first, parents in operand order);
`propagation_order` is backward's fast one (creation order, newest first, leaves left out).
"""

from __future__ import annotations

from collections.abc import Iterator
from operator import attrgetter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .value import Value


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


def propagation_order(*roots: Value) -> list[Value]:
    """The nodes `backward()` applies the chain rule at: every non-leaf node the `roots`
    depend on (the roots included), each before all of its parents (so after everything that
    uses it); for one root, `root` first.

    The fast order for backward. Every node is made after its parents, so the creation number
    each node carries (`_serial`) sorted downwards is a reverse topological order; finding the
    nodes is then one walk with one set, and the sort (in C) is nearly free because the walk
    already meets nodes mostly newest first. Leaves are left out: nothing flows through them.
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


serial_of = attrgetter("_serial")  # a node's creation number (backward's sort key)


def edges(root: Value) -> Iterator[tuple[Value, Value, int]]:
    """Every edge (parent, child, index of parent among child's parents), in graph order."""
    for node in topological_order(root):
        for index, parent in enumerate(node.parents):
            yield parent, node, index


def leaves(root: Value) -> list[Value]:
    """The nodes with no parents (inputs and parameters), in topological order."""
    return [node for node in topological_order(root) if not node.parents]
