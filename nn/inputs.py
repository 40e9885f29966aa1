"""How a network's inputs become Values, at each grain: one sample's numbers as leaves `x1, x2,
...` (neuron grain), a batch as one constant Value holding (samples x features) (layer grain),
or as one batched Value per feature (a batch at neuron grain)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd import Value
from autograd.layers import Entry

GRAINS = ("neuron", "layer")
_VALUES = frozenset({Value, Entry})


def columns(X: Any) -> list[Value]:
    """A batch as the inputs of a neuron-grain graph: one batched Value per feature, `x1, ...`."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (samples, features), got shape {X.shape}")
    return [Value(X[:, j], f"x{j + 1}") for j in range(X.shape[1])]


def as_inputs(x: Any, nin: int) -> list[Value]:
    """One sample's inputs as `nin` Values (numbers become leaves `x1, x2, ...`, made once, so
    `x1.grad` sums every use); a 2-D array becomes one batched Value per column."""
    if type(x) is list and len(x) == nin and _VALUES.issuperset(map(type, x)):
        return x  # (a layer's outputs, as the next layer reads them: one check in C)
    if isinstance(x, np.ndarray) and x.ndim == 2:
        if x.shape[1] != nin:
            raise ValueError(f"expected {nin} input features, got an array of shape {x.shape}")
        return columns(x)
    if isinstance(x, np.ndarray) and x.ndim == 1:
        x = x.tolist()
    if isinstance(x, Value) or not isinstance(x, Sequence) or isinstance(x, str):
        raise TypeError(
            f"inputs must be a list of {nin} numbers or Values (or a NumPy array), "
            f"got {type(x).__name__}"
        )
    if len(x) != nin:
        raise ValueError(f"expected {nin} inputs, got {len(x)}")
    return [v if isinstance(v, Value) else Value(v, f"x{j}") for j, v in enumerate(x, start=1)]


def as_batch(x: Any, nin: int) -> Value:
    """A batch as the input of a layer-grain graph: a Value holding (samples x nin). Data given
    as numbers is a constant `X` (no gradient, unless you pass a Value that asks for one)."""
    if isinstance(x, Value):
        return x
    if isinstance(x, list) and x and all(isinstance(v, Value) for v in x):
        raise TypeError("a layer-grain layer reads one Value holding a matrix, not a list")
    X = np.asarray(x, dtype=float)
    if X.ndim == 1:
        X = X[None, :]  # one sample: one row
    if X.ndim != 2 or X.shape[1] != nin:
        raise ValueError(f"expected (samples, {nin}) inputs, got an array of shape {X.shape}")
    return Value(X, "X", requires_grad=False)


def grain_of(x: Any, grain: str | None) -> str:
    """The grain a call builds: as asked, else "layer" for a matrix, "neuron" for one sample."""
    if grain is not None:
        if grain not in GRAINS:
            raise ValueError(f"grain must be 'neuron' or 'layer', got {grain!r}")
        return grain
    data = x.data if isinstance(x, Value) else x
    return "layer" if getattr(data, "ndim", 0) == 2 else "neuron"
