"""`detect_anomaly()`: inside, the first nan or inf raises FloatingPointError naming where it
came from, the operation whose value or local derivative is not finite, or the gradient that
became so. While it is on (in the thread that entered it), the core checks each new node and
each edge of backward.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import ops
from . import value as core
from .show import show


class _Checks:
    """What the core calls at each new node and at each edge of backward."""

    @staticmethod
    def forward(op: str, parents: tuple, data: Any, local_grads: Any) -> None:
        bad = None if _finite(data) else f"produced {show(data)}"
        for i, local in enumerate(local_grads):
            if bad is None and not _finite(local):
                which = f"{parents[i].label} (operand {i + 1})" if parents[i].label else ""
                bad = f"has local derivative {show(local)} with respect to " + (
                    which or f"operand {i + 1} ({show(parents[i].data)})"
                )
        if bad is not None:
            inputs = ", ".join(_describe(p) for p in parents)
            raise FloatingPointError(f"operation {op!r} on inputs ({inputs}) {bad}")

    @staticmethod
    def backward(node: core.Value, parent: core.Value, local: Any) -> None:
        if not _finite(parent.grad):
            raise FloatingPointError(
                f"backward: the gradient of {_describe(parent)} became {show(parent.grad)} at "
                f"the node {node.op!r} ({_describe(node)}, grad {show(node.grad)}; local "
                f"derivative {show(local)})"
            )


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Inside, the first nan or inf raises FloatingPointError naming where it came from."""
    with core.mode(anomaly=_Checks):  # (this thread's mode, as no_grad())
        yield


def _finite(x: Any) -> bool:
    """Is every number of x finite? A float, an array, or a layer's rule object (its numbers,
    the layer's inputs and slope, are other nodes' and show in the gradients it gives)."""
    if type(x) is float:
        return math.isfinite(x)
    if type(x).__name__ != "ndarray":
        return True
    return bool(ops.use_numpy().isfinite(x).all())


def _describe(node: core.Value) -> str:
    return f"{node.label}={show(node.data)}" if node.label else show(node.data)
