"""Optimizers: `SGD` (with momentum), `Adam` and `AdamW`, PyTorch's names and update formulas.

Each keeps a list of parameters (leaf Values: numbers, or arrays such as a layer's W) and, on
`step()`, changes every `p.data` using `p.grad`; `zero_grad()` sets the grads back to 0. The
same formula serves a number and an array, entry by entry. A learning-rate schedule
is a function of the step number k (0 for the first step) returning the learning rate for that
step:

    opt = SGD(model.parameters(), lr=1.0, lr_schedule=lambda k: 1.0 - 0.9 * k / 100)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from autograd import Value
from autograd.ieee import quiet

Schedule = Callable[[int], float]
_FLOAT64 = np.dtype(np.float64)  # (NumPy's one float64 dtype: `is` tests it without a lookup)


def linear_decay(start: float, end: float, steps: int) -> Schedule:
    """lr(k) = start + (end - start) * k / steps: from `start` at k = 0 to `end` at k = steps.

    `linear_decay(1.0, 0.1, 100)` is the micrograd moons schedule lr = 1.0 - 0.9 k / 100.
    """
    if steps <= 0:
        raise ValueError(f"linear_decay needs steps > 0, got {steps}")
    return lambda k: start + (end - start) * k / steps


class Optimizer:
    """Base class: parameters, a learning rate (or schedule), `step()` and `zero_grad()`.

    A parameter is any leaf Value: a number (a neuron's weight) or an array (a layer's W); the
    same formula updates both, entry by entry. Each step gives an array parameter a new array
    (a graph that read the old one keeps it)."""

    def __init__(
        self, params: Iterable[Value], lr: float, lr_schedule: Schedule | None = None
    ) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimizer got no parameters")
        for p in self.params:
            if not isinstance(p, Value):
                raise TypeError(f"parameters must be Values, got {type(p).__name__}")
        if (
            isinstance(lr, bool)
            or not isinstance(lr, int | float)
            or not math.isfinite(lr)
            or lr < 0
        ):
            raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
        if lr_schedule is not None and not callable(lr_schedule):
            raise TypeError("lr_schedule must be a function of the step number k returning lr")
        self.base_lr = float(lr)
        self.lr = float(lr)
        self.lr_schedule = lr_schedule
        self.steps = 0  # number of step() calls so far

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = 0.0

    def _next_lr(self) -> float:
        if self.lr_schedule is not None:
            self.lr = float(self.lr_schedule(self.steps))
        return self.lr

    def _grads(self) -> list[Any]:
        """Every parameter's grad, checked to have its parameter's shape."""
        grads = [p.grad for p in self.params]
        for p, g in zip(self.params, grads):
            if type(g) is float:
                continue
            if type(p.data) is float or g.shape != p.data.shape:
                raise TypeError(
                    f"parameter {p.label or p!r} holds {_what(p.data)} but its gradient is "
                    f"{_what(g)}: a parameter's gradient has its shape"
                )
        return grads

    def _set(self, p: Value, new: Any) -> None:
        """p.data = new: an array made read-only, so that the next graph may hold it as it is."""
        if type(new) is np.ndarray and new.dtype is _FLOAT64 and type(p.data) is np.ndarray:
            new.setflags(write=False)  # (a fresh array, as every update below makes)
        elif type(new) is not float and type(p.data) is not float:
            new = np.asarray(new, dtype=float)
            new.setflags(write=False)
        elif type(p.data) is float:
            new = float(new)
        p.data = new

    def step(self) -> None:
        raise NotImplementedError


def _what(x: Any) -> str:
    return "a number" if type(x) is float else f"an array of shape {x.shape}"


def _sqrt(x: Any) -> Any:
    return math.sqrt(x) if type(x) is float else np.sqrt(x)


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (PyTorch's form):

    v <- momentum * v + g        (v = g when momentum is 0)
    p <- p - lr * v
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.01,
        momentum: float = 0.0,
        lr_schedule: Schedule | None = None,
    ) -> None:
        super().__init__(params, lr, lr_schedule)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)
        self.velocity: list[Any] = [0.0] * len(self.params)  # v of each parameter

    def step(self) -> None:
        lr, mu = self._next_lr(), self.momentum
        with quiet():  # (inf and nan as the floats give them, without NumPy's warnings)
            for i, (p, g) in enumerate(zip(self.params, self._grads())):
                if mu:
                    g = self.velocity[i] = mu * self.velocity[i] + g
                self._set(p, p.data - lr * g)
        self.steps += 1


class Adam(Optimizer):
    """Adam (Kingma and Ba), with bias correction; t counts steps from 1:

    m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g**2
    m_hat = m / (1 - b1**t),  v_hat = v / (1 - b2**t)
    p <- p - lr * m_hat / (sqrt(v_hat) + eps)
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        lr_schedule: Schedule | None = None,
    ) -> None:
        super().__init__(params, lr, lr_schedule)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"betas must both be in [0, 1), got {betas}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)
        self.m: list[Any] = [0.0] * len(self.params)  # the moments of each parameter
        self.v: list[Any] = [0.0] * len(self.params)

    def step(self) -> None:
        lr = self._next_lr()
        b1, b2 = self.betas
        t = self.steps + 1
        correction1, correction2 = 1.0 - b1**t, 1.0 - b2**t
        with quiet():
            for i, (p, g) in enumerate(zip(self.params, self._grads())):
                self.m[i] = b1 * self.m[i] + (1.0 - b1) * g
                self.v[i] = b2 * self.v[i] + (1.0 - b2) * (g * g)
                m_hat = self.m[i] / correction1
                v_hat = self.v[i] / correction2
                self._set(p, p.data - lr * m_hat / (_sqrt(v_hat) + self.eps))
        self.steps += 1


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), PyTorch's AdamW: each step
    first shrinks every parameter, p <- p - lr * weight_decay * p, then takes Adam's step
    (the decay is not part of the gradient, so the moments never see it)."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        lr_schedule: Schedule | None = None,
    ) -> None:
        super().__init__(params, lr, betas, eps, lr_schedule)
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.weight_decay = float(weight_decay)

    def step(self) -> None:
        shrink = 1.0 - self._next_lr() * self.weight_decay  # (Adam's step reads the same lr)
        with quiet():
            for p in self.params:
                self._set(p, p.data * shrink)
        super().step()
