"""Optimizers: `SGD` (with momentum) and `Adam`, PyTorch's names and update formulas.

Each keeps a list of parameters (leaf Values) and, on `step()`, changes every `p.data` using
`p.grad`; `zero_grad()` sets the grads back to 0. Parameters that make up whole layers (an
`nn.Layer`'s, which live in its `block` of arrays) are updated a layer at a time in a few NumPy
calls, with the very same arithmetic per entry as for a single Value. A learning-rate schedule
is a function of the step number k (0 for the first step) returning the learning rate for that
step:

    opt = SGD(model.parameters(), lr=1.0, lr_schedule=lambda k: 1.0 - 0.9 * k / 100)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from autograd import Value
from autograd.fast import whole_blocks
from autograd.ieee import quiet

Schedule = Callable[[int], float]


def linear_decay(start: float, end: float, steps: int) -> Schedule:
    """lr(k) = start + (end - start) * k / steps: from `start` at k = 0 to `end` at k = steps.

    `linear_decay(1.0, 0.1, 100)` is the micrograd moons schedule lr = 1.0 - 0.9 k / 100.
    """
    if steps <= 0:
        raise ValueError(f"linear_decay needs steps > 0, got {steps}")
    return lambda k: start + (end - start) * k / steps


class Optimizer:
    """Base class: parameters, a learning rate (or schedule), `step()` and `zero_grad()`."""

    def __init__(
        self, params: Iterable[Value], lr: float, lr_schedule: Schedule | None = None
    ) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimizer got no parameters")
        for p in self.params:
            if not isinstance(p, Value):
                raise TypeError(f"parameters must be Values, got {type(p).__name__}")
        if not isinstance(lr, int | float) or not math.isfinite(lr) or lr < 0:
            raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
        if lr_schedule is not None and not callable(lr_schedule):
            raise TypeError("lr_schedule must be a function of the step number k returning lr")
        #: the whole layers among the parameters (updated a layer at a time) and the rest
        self.blocks, self.loose = whole_blocks(self.params)
        self.base_lr = float(lr)
        self.lr = float(lr)
        self.lr_schedule = lr_schedule
        self.steps = 0  # number of step() calls so far

    def zero_grad(self) -> None:
        for block in self.blocks:
            block.zero_grad()
        for p in self.loose:
            p.grad = 0.0

    def _next_lr(self) -> float:
        if self.lr_schedule is not None:
            self.lr = float(self.lr_schedule(self.steps))
        return self.lr

    def _grads(self) -> list[float]:
        """The grads of the parameters outside whole layers (`loose`), checked to be numbers."""
        grads = [p.grad for p in self.loose]
        if not _JUST_FLOATS.issuperset(map(type, grads)):  # one C-level pass over the types
            p = next(p for p in self.loose if type(p.grad) is not float)
            raise TypeError(
                f"parameter {p.label or p!r} has a batched gradient; parameters must be "
                "scalar Values"
            )
        return grads

    def step(self) -> None:
        raise NotImplementedError


_JUST_FLOATS = frozenset({float})


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
        self.velocity = [0.0] * len(self.loose)  # v of each loose parameter
        self.block_velocity = [np.zeros(block.shape) for block in self.blocks] if momentum else []

    def step(self) -> None:
        lr = self._next_lr()
        grads = self._grads()
        mu = self.momentum
        with quiet():  # (inf and nan as the floats give them, without NumPy's warnings)
            for i, block in enumerate(self.blocks):  # a layer at a time, the same arithmetic
                g = block.grads
                if mu:
                    v = self.block_velocity[i]
                    v *= mu
                    v += g
                    g = v
                block.values = block.values - lr * g
        if mu:
            velocity = self.velocity
            for i, g in enumerate(grads):
                velocity[i] = mu * velocity[i] + g
            grads = velocity
        for p, g in zip(self.loose, grads):
            p.data -= lr * g
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
        self.m = [0.0] * len(self.loose)  # the moments of each loose parameter
        self.v = [0.0] * len(self.loose)
        self.block_m = [np.zeros(block.shape) for block in self.blocks]  # of each whole layer
        self.block_v = [np.zeros(block.shape) for block in self.blocks]

    def step(self) -> None:
        lr = self._next_lr()
        grads = self._grads()
        b1, b2 = self.betas
        t = self.steps + 1
        correction1 = 1.0 - b1**t
        correction2 = 1.0 - b2**t
        with quiet():  # (inf and nan as the floats give them, without NumPy's warnings)
            for block, m, v in zip(self.blocks, self.block_m, self.block_v):
                g = block.grads  # a layer at a time, in the order the loop below computes
                m *= b1
                m += (1.0 - b1) * g
                v *= b2
                v += (1.0 - b2) * (g * g)
                block.values = block.values - lr * (m / correction1) / (
                    np.sqrt(v / correction2) + self.eps
                )
        for i, (p, g) in enumerate(zip(self.loose, grads)):
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * (g * g)
            m_hat = self.m[i] / correction1
            v_hat = self.v[i] / correction2
            p.data -= lr * m_hat / (math.sqrt(v_hat) + self.eps)
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
            for block in self.blocks:
                block.values = block.values * shrink
        for p in self.loose:
            p.data *= shrink
        super().step()
