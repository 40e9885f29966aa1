"""More than two classes: `logsumexp` as one n-ary node, and `softmax`, `log_softmax` built on it.

    logsumexp(v_1..v_k) = m + log(sum_i exp(v_i - m)),  m = max_i v_i   (never overflows)
    d logsumexp/d v_i   = exp(v_i - logsumexp) = softmax_i

`log_softmax(v)_i = v_i - logsumexp(v)` and `softmax(v)_i = exp(log_softmax(v)_i)` are made of
that row and the primitive rows (`-`, `exp`), so the step-through, `explain` and the pictures show
every step. Finite for any finite inputs (logits of 1000 and -1000 included), on scalars and on
batched Values (each sample's k logits, elementwise).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import ops
from .value import Value, _n_ary


def _logsumexp(*xs: Any) -> tuple[Any, tuple]:
    if all(type(x) is float for x in xs):
        m = max(xs)
        if not math.isfinite(m):  # inf among them, or nan: IEEE's answer, as the sum gives it
            out = ops.log(sum(map(ops.exp, xs)))
        else:
            out = m + math.log(math.fsum(math.exp(x - m) for x in xs))
        return out, tuple([ops.exp(x - out) for x in xs])
    np = ops.np
    arrays = np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs])
    m = np.maximum.reduce(arrays)
    safe = np.where(np.isfinite(m), m, 0.0)  # (inf or nan: the plain sum's IEEE answer)
    out = safe + np.log(sum(np.exp(x - safe) for x in arrays))
    return out, tuple(np.exp(x - out) for x in arrays)


LOGSUMEXP = ops.register(
    ops.Operation(
        "logsumexp",
        lambda names: f"logsumexp({', '.join(names)})",
        lambda i, names: f"exp({names[i]} - logsumexp({', '.join(names)}))",
        _logsumexp,
    )
)


def logsumexp(values: Sequence[Any]) -> Value:
    """log(sum_i exp(v_i)) as one node, computed stably; d/dv_i = softmax_i."""
    return _n_ary("logsumexp", values)


def log_softmax(values: Sequence[Any]) -> list[Value]:
    """[v_i - logsumexp(v)]: the log-probabilities of k classes (one node each, and one shared
    logsumexp node)."""
    values = list(values)
    total = logsumexp(values)
    return [v - total for v in values]


def softmax(values: Sequence[Any]) -> list[Value]:
    """[exp(v_i - logsumexp(v))]: the probabilities of k classes, summing to 1."""
    return [p.exp() for p in log_softmax(values)]
