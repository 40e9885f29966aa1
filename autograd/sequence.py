"""A sequence at layer grain: the rows a GPT needs beside `layer`, one node each.

A sequence of T positions is a T x D array (row t: position t). These rows join the table of
operations as `autograd.layers` adds its own: each node's local derivatives are objects for
which `local * G` (G = d loss/d node, the node's shape) is the parent's share, so backward's one
loop, `parent.grad += local * node.grad`, runs them unchanged. Each rule is written once, here:

**embedding(W, ids)**: the rows of W (V x D) that the token ids pick, T x D:

    out[t] = W[ids[t]]              dW[v] = sum over t with ids[t] == v of G[t]   (scatter-add)

**rmsnorm(X)**: each row scaled to a root mean square of 1 (eps = 1e-5), T x D:

    r_t = (mean_i X_ti^2 + eps)^(-1/2),   out_t = r_t X_t
    dX_t = r_t G_t - X_t r_t^3 (G_t . X_t) / D

**causal_attention(Q, K, V, heads)**: multi-head causal self-attention, T x D. Head h reads
its d = D / heads columns of Q, K and V (Q_h, K_h, V_h, each T x d):

    S = Q_h K_h^T / sqrt(d),  S[t, j] = -inf for j > t        (position t sees 0..t)
    A = softmax of each row of S,   out_h = A V_h,   out = [out_1 ... out_heads]
    dV_h = A^T G_h     dA = G_h V_h^T     dS = A * (dA - rowsum(A * dA))
    dQ_h = dS K_h / sqrt(d)     dK_h = dS^T Q_h / sqrt(d)

dS is the softmax's Jacobian applied row by row: each a_tj reads every score of its row, which
is how the positions are coupled. These are the neuron grain's numbers summed (the GPT of
`nn.gpt` built of scalar Values gives the same loss and gradients); the residual add of two
sequences is the ordinary `+` (one elementwise node), the projections and the MLP are `layer`
nodes, the loss `batch_loss("cross_entropy", logits, targets)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import ops
from .value import Value, array_node, settled

RMS_EPS = 1e-5  # rmsnorm's eps, as `nn.gpt.rmsnorm` (the neuron grain) takes it by default


def _np() -> Any:
    return ops.use_numpy()


# ---------------------------------------------------------------------------------------------
# embedding: gather rows, scatter-add back


class EmbeddingRule:
    """d out/d W as an object: `rule * G` adds row t of G into row ids[t] of a zero matrix
    of W's shape (a token read at two positions receives both rows)."""

    __slots__ = ("ids", "shape")

    def __init__(self, ids: Any, shape: tuple[int, ...]) -> None:
        self.ids, self.shape = ids, shape

    def __mul__(self, G: Any) -> Any:
        np = _np()
        share = np.zeros(self.shape)
        np.add.at(share, self.ids, G)
        return share

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return "scatter-add of G's rows into W's rows ids"


def _embedding(W: Any, ids: Any) -> tuple[Any, tuple]:
    """out[t] = W[ids[t]]; dW: G's rows scatter-added (EmbeddingRule); the ids: constants."""
    index = ids.astype(int)
    return W[index], (EmbeddingRule(index, W.shape), 0.0)


EMBEDDING = ops.register(
    ops.Operation(
        "embedding",
        lambda names: f"{names[0]}[{names[1]}]",
        lambda i, names: f"G's rows scatter-added into rows {names[1]}" if i == 0 else "0 (ids)",
        _embedding,
    )
)


def embedding(W: Value, ids: Sequence[int], label: str = "") -> Value:
    """One node: the rows of `W` (a Value holding a V x D array) picked by `ids` (T token ids),
    a T x D sequence. Backward scatter-adds each row of the gradient into W's row ids[t]."""
    np = _np()
    data = settled((W,))[0]
    if getattr(data, "ndim", 0) != 2:
        raise ValueError(f"embedding(): W must hold a matrix (V x D), got {_shape(data)}")
    index = np.asarray(ids)
    if index.ndim != 1 or len(index) == 0 or index.dtype.kind not in "iu":
        raise ValueError(f"embedding(): ids must be a non-empty list of ints, got {ids!r:.60}")
    if index.min() < 0 or index.max() >= len(data):
        raise IndexError(f"embedding(): ids must lie in 0..{len(data) - 1}, got {ids!r:.60}")
    out = array_node(EMBEDDING, (W, Value(index, "ids", requires_grad=False)))
    out.label = label
    return out


# ---------------------------------------------------------------------------------------------
# rmsnorm over rows


class RMSNormRule:
    """d out/d X as an object: `rule * G` is r G - X r^3 (G . X) / D, row by row."""

    __slots__ = ("X", "r")

    def __init__(self, X: Any, r: Any) -> None:
        self.X, self.r = X, r  # r: T x 1

    def __mul__(self, G: Any) -> Any:
        X, r = self.X, self.r
        dots = (G * X).sum(axis=1, keepdims=True)
        return r * G - X * (r * r * r * dots / X.shape[1])

    __rmul__ = __mul__

    @property
    def shape(self) -> tuple[int, ...]:
        return self.X.shape

    def __repr__(self) -> str:
        return "r G - X r^3 (G . X) / D, each row"


def _rmsnorm(X: Any) -> tuple[Any, tuple]:
    """out_t = r_t X_t, r_t = (mean_i X_ti^2 + eps)^(-1/2); dX: RMSNormRule."""
    np = _np()
    mean_square = (X * X).sum(axis=1, keepdims=True) / X.shape[1]
    r = 1.0 / np.sqrt(mean_square + RMS_EPS)
    return X * r, (RMSNormRule(X, r),)


RMSNORM = ops.register(
    ops.Operation(
        "rmsnorm(rows)",
        lambda names: f"rmsnorm({names[0]})",
        lambda i, names: f"r G - {names[0]} r^3 (G . {names[0]}) / D, each row",
        _rmsnorm,
    )
)


def rmsnorm(X: Value, label: str = "") -> Value:
    """One node: each row of the sequence `X` (T x D) divided by its root mean square,
    x / sqrt(mean(x^2) + 1e-5)."""
    data = settled((X,))[0]
    if getattr(data, "ndim", 0) != 2:
        raise ValueError(f"rmsnorm(): X must hold a sequence (T x D), got {_shape(data)}")
    out = array_node(RMSNORM, (X,))
    out.label = label
    return out


# ---------------------------------------------------------------------------------------------
# causal multi-head self-attention


class AttentionShares:
    """What the three rules of one attention node share: the heads' Q_h, K_h, V_h (each
    heads x T x d), the weights A (heads x T x T), and dS, computed once per gradient G."""

    __slots__ = ("Q", "K", "V", "A", "scale", "G", "dS")

    def __init__(self, Q: Any, K: Any, V: Any, A: Any, scale: float) -> None:
        self.Q, self.K, self.V, self.A, self.scale = Q, K, V, A, scale
        self.G: Any = None
        self.dS: Any = None

    def split(self, G: Any) -> Any:
        """G (T x D) as heads x T x d."""
        T, D = G.shape
        heads = len(self.A)
        return G.reshape(T, heads, D // heads).transpose(1, 0, 2)

    def scores_gradient(self, G: Any) -> Any:
        """dS = A * (dA - rowsum(A * dA)), dA = G_h V_h^T, for every head (once per G)."""
        if G is not self.G:
            A = self.A
            dA = self.split(G) @ self.V.transpose(0, 2, 1)
            self.dS = A * (dA - (A * dA).sum(axis=2, keepdims=True))
            self.G = G
        return self.dS


class AttentionRule:
    """d attention/d parent as an object: `rule * G` is the parent's share, T x D:
    Q: dS K_h / sqrt(d);  K: dS^T Q_h / sqrt(d);  V: A^T G_h (each head's columns)."""

    __slots__ = ("shares", "parent")
    FORMULAS = {"Q": "dS K_h / sqrt(d)", "K": "dS^T Q_h / sqrt(d)", "V": "A^T G_h"}

    def __init__(self, shares: AttentionShares, parent: str) -> None:
        self.shares, self.parent = shares, parent

    def __mul__(self, G: Any) -> Any:
        s = self.shares
        if self.parent == "V":
            share = s.A.transpose(0, 2, 1) @ s.split(G)
        elif self.parent == "Q":
            share = (s.scores_gradient(G) @ s.K) * s.scale
        else:
            share = (s.scores_gradient(G).transpose(0, 2, 1) @ s.Q) * s.scale
        return _joined(share)

    __rmul__ = __mul__

    @property
    def shape(self) -> tuple[int, ...]:
        heads, T, d = self.shares.Q.shape
        return (T, heads * d)

    def __repr__(self) -> str:
        return self.FORMULAS[self.parent] + " per head h"


def _joined(per_head: Any) -> Any:
    """heads x T x d back to T x D (the heads' columns side by side), a fresh array."""
    heads, T, d = per_head.shape
    return _np().ascontiguousarray(per_head.transpose(1, 0, 2)).reshape(T, heads * d)


def _attention(Q: Any, K: Any, V: Any, heads: float) -> tuple[Any, tuple]:
    """out_h = softmax(mask(Q_h K_h^T / sqrt(d))) V_h for every head; rules: AttentionRule."""
    np = _np()
    T, D = Q.shape
    n, d = int(heads), Q.shape[1] // int(heads)
    Qh, Kh, Vh = (M.reshape(T, n, d).transpose(1, 0, 2) for M in (Q, K, V))
    scale = 1.0 / math.sqrt(d)
    S = (Qh @ Kh.transpose(0, 2, 1)) * scale
    S[:, np.triu(np.ones((T, T), dtype=bool), k=1)] = -np.inf  # position t sees 0..t
    shifted = S - S.max(axis=2, keepdims=True)  # (the diagonal is always there: finite)
    E = np.exp(shifted)
    A = E / E.sum(axis=2, keepdims=True)
    shares = AttentionShares(Qh, Kh, Vh, A, scale)
    rules = (AttentionRule(shares, "Q"), AttentionRule(shares, "K"), AttentionRule(shares, "V"))
    return _joined(A @ Vh), (*rules, 0.0)


def _attention_derivative(i: int, names: list[str]) -> str:
    if i == 3:
        return "0 (the number of heads)"
    S = "dS = A * (dA - rowsum(A * dA)), dA = G_h V_h^T"
    return (f"dS K_h / sqrt(d), {S}", f"dS^T Q_h / sqrt(d), {S}", "A^T G_h")[i]


ATTENTION = ops.register(
    ops.Operation(
        "causal_attention",
        lambda names: f"causal_attention({', '.join(names)})",
        _attention_derivative,
        _attention,
    )
)


def attention(Q: Value, K: Value, V: Value, heads: int, label: str = "") -> Value:
    """One node for multi-head causal self-attention over a sequence: Q, K, V (each T x D, a
    `layer` node) are split into `heads` heads of D / heads columns; position t of each head
    attends to positions 0..t. Returns the heads' outputs side by side, T x D.
    `attention_weights(node)` gives each head's weights."""
    data = settled((Q, K, V))
    shapes = {getattr(x, "shape", None) for x in data}
    if len(shapes) != 1 or getattr(data[0], "ndim", 0) != 2:
        raise ValueError(
            "attention(): Q, K and V must hold sequences of one shape (T x D), got "
            + ", ".join(_shape(x) for x in data)
        )
    if not isinstance(heads, int) or heads < 1 or data[0].shape[1] % heads:
        raise ValueError(
            f"attention(): heads must divide the width {data[0].shape[1]}, got {heads!r}"
        )
    count = Value(float(heads), "heads", requires_grad=False)
    out = array_node(ATTENTION, (Q, K, V, count))
    out.label = label
    return out


def attention_weights(node: Value) -> list[list[list[float]]]:
    """An attention node's weights: [head][t] is position t's distribution over 0..t."""
    if node.op != ATTENTION.name or not node.local_grads:
        raise ValueError("attention_weights() reads a causal_attention node made with a graph")
    A = node.local_grads[0].shares.A
    return [[row[: t + 1] for t, row in enumerate(head.tolist())] for head in A]


def _shape(x: Any) -> str:
    return "x".join(map(str, x.shape)) if hasattr(x, "shape") else "a number"
