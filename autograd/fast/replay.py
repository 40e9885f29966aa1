"""Record and replay: inside `tape()`, every node made is also appended to a list, and
`backward()` of a root made there reads that list backwards instead of searching the graph.

Every node is made after its parents, so the list read backwards is the very order the core's
search finds (newest first): the same sums in the same order, identical gradients, without the
walk and the sort. And `gc_paused()`: the graphs here hold no reference cycles, so a training
loop can spare the cyclic garbage collector its walks over every live node.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from .. import value as core

current: Tape | None = None  # the tape being recorded


class Tape:
    """The nodes made inside one `tape()` block, in the order they were made (`nodes`: look,
    do not change). `start`: every node made on it has a creation number at least this."""

    __slots__ = ("nodes", "start")

    def __init__(self) -> None:
        self.nodes: list[core.Value] = []
        self.start = core._next_serial()

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"Tape({len(self.nodes)} nodes)"


@contextmanager
def tape() -> Iterator[Tape]:
    """Inside, every node made is recorded, and `backward()` of a root made there reads the
    tape instead of searching the graph (about a third of backward's time on a scalar graph):

        for step in range(steps):
            with autograd.tape():
                loss = model_loss()
                loss.backward()

    The tape keeps every node made in the block alive until the block ends, so open one per
    step. Nodes on the tape that the root does not depend on end backward with grad 0 (their
    derivative), where a searched backward leaves them as they were. A `tape()` inside another
    records on the outer one.
    """
    global current
    if current is not None:
        yield current
        return
    current = Tape()
    core.recorder = current.nodes
    try:
        yield current
    finally:
        current = core.recorder = None


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (reference counting alone frees these graphs)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
