"""The design of issue 21 with nothing else: a measuring stick for `nn.fit`'s step, never imported
by the project.

One node per layer, its local derivatives objects for which `local * G` is the parent's share
(S W, S^T X, S^T 1 with S = act'(Z) * G computed once), the hinge and the L2 penalty one node
each, and a backward loop of the core's shape: every node of the graph found by a walk and
sorted by creation number, grads zeroed, `parent.grad += local * node.grad` at every edge (an
array's first share adopted). It is the engine's node structure without what the engine adds
around it: no checks of operands, shapes or names, no read-only data, no modes (`no_grad`,
`detect_anomaly`), no step-through, no labels, no modules or grain dispatch, NumPy's quiet state
entered once per step. So `speed.py` and `step_cost.py` can tell two costs apart:

    ours / lean NumPy  =  (ours / bare)  x  (bare / lean NumPy)
                          what the engine    what one node per layer costs at all,
                          adds to a node     in Python, beside a hand-written step
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

_created = itertools.count().__next__


class Node:
    __slots__ = ("data", "grad", "parents", "local_grads", "serial", "requires_grad")

    def __init__(self, data: Any, parents: tuple = (), local_grads: tuple = (), requires_grad=True):
        self.data, self.grad, self.parents, self.local_grads = data, 0.0, parents, local_grads
        self.serial, self.requires_grad = _created(), requires_grad


class Shares:
    """act'(Z) (None: 1), X and W of one layer node, and S = act'(Z) * G once per G."""

    __slots__ = ("slope", "X", "W", "G", "S")

    def __init__(self, slope: Any, X: Any, W: Any) -> None:
        self.slope, self.X, self.W, self.G, self.S = slope, X, W, None, None

    def scaled(self, G: Any) -> Any:
        if G is not self.G:
            self.G, self.S = G, G if self.slope is None else self.slope * G
        return self.S


class InputRule:  # S W (one neuron: a broadcast)
    __slots__ = ("shares",)

    def __init__(self, shares: Shares) -> None:
        self.shares = shares

    def __mul__(self, G: Any) -> Any:
        S, W = self.shares.scaled(G), self.shares.W
        return S * W if len(W) == 1 else S @ W


class WeightRule(InputRule):  # S^T X
    __slots__ = ()

    def __mul__(self, G: Any) -> Any:
        return self.shares.scaled(G).T @ self.shares.X


class BiasRule(InputRule):  # S^T 1
    __slots__ = ()

    def __mul__(self, G: Any) -> Any:
        S = self.shares.scaled(G)
        return ones(len(S)) @ S


_ONES: dict[int, np.ndarray] = {}


def ones(n: int) -> np.ndarray:
    if n not in _ONES:
        _ONES[n] = np.ones(n)
    return _ONES[n]


def layer(X: Node, W: Node, b: Node, activation: str) -> Node:
    Z = X.data @ W.data.T
    Z += b.data
    slope = None
    if activation == "relu":
        slope = Z > 0.0
        Z = np.maximum(Z, 0.0, out=Z)
    shares = Shares(slope, X.data, W.data)
    return Node(Z, (X, W, b), (InputRule(shares), WeightRule(shares), BiasRule(shares)))


def hinge(P: Node, Y: Node) -> Node:
    n, margin = P.data.size, 1.0 - Y.data * P.data
    loss = float(np.maximum(margin, 0.0).sum()) / n
    return Node(loss, (P, Y), (np.where(margin > 0.0, -Y.data / n, 0.0), 0.0))


def squared_norms(params: list[Node]) -> Node:
    total = sum(float(np.vdot(p.data, p.data)) for p in params)
    return Node(total, tuple(params), tuple([p.data + p.data for p in params]))


def scaled_sum(a: Node, b: Node, alpha: float) -> Node:  # a + alpha b
    return Node(a.data + alpha * b.data, (a, b), (1.0, alpha))


def backward(root: Node) -> None:
    order, seen, stack = [root], {root}, [root]
    while stack:
        for parent in stack.pop().parents:
            if parent.parents and parent not in seen:
                seen.add(parent)
                order.append(parent)
                stack.append(parent)
    order.sort(key=lambda node: node.serial, reverse=True)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in order:
        grad = node.grad
        for parent, local in zip(node.parents, node.local_grads):
            if not parent.requires_grad:
                continue
            share = local * grad
            if type(share) is not float and type(parent.grad) is float and not parent.grad:
                parent.grad = share  # an array's first share, adopted
            else:
                parent.grad += share


def bare_step(
    weights: list[tuple[np.ndarray, np.ndarray]],
    X: np.ndarray,
    y: np.ndarray,
    activations: list[str],
    l2: float,
    lr: float,
):
    """One full-batch step's closure (forward, hinge + l2 * squared norms, backward, SGD) and
    its parameters, as `speed.py`'s other steps are made."""
    params = [Node(a.copy()) for W, b in weights for a in (W, b)]
    data, targets = Node(X, requires_grad=False), Node(y.reshape(-1, 1), requires_grad=False)

    def loss_of() -> Node:
        h = data
        for k, activation in enumerate(activations):
            h = layer(h, params[2 * k], params[2 * k + 1], activation)
        return scaled_sum(hinge(h, targets), squared_norms(params), l2)

    def step() -> float:
        with np.errstate(all="ignore"):
            loss = loss_of()
            for p in params:
                p.grad = 0.0
            backward(loss)
            for p in params:
                p.data = p.data - lr * p.grad
        return loss.data

    return step, params, loss_of
