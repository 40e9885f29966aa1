"""More than two classes: `logsumexp` as one n-ary node, and `softmax`, `log_softmax` and the
cross-entropy of one sample built on it, right wherever the true value is representable.

    logsumexp(v_1..v_k) = m + log1p(sum over i != argmax of exp(v_i - m)),  m = max_i v_i
    d logsumexp/d v_i   = exp(v_i - logsumexp) = softmax_i

Softmax is the same for z and z - c for any constant c, so the others first subtract the
largest logit as a constant `max` (the textbook's trick, shown as a step; no gradient flows to
a constant, and none needs to: d/dz of the shift cancels):

    s_i = z_i - max                 (exact where z_i is near the max: 1e16 - 1e16 = 0)
    log_softmax(z)_i = s_i - logsumexp(s)        s_i <= 0 <= logsumexp(s): no cancellation
    softmax(z)_i = exp(log_softmax(z)_i)
    d log_softmax_i/d z_j = [i == j] - softmax_j

Built of that row and the primitive rows (`-`, `exp`), so the step-through, `explain` and the
pictures show every step. `softmax([Value(1e16), Value(1e16)])` is 0.5 each and `log_softmax`
there -log 2, where z_i - logsumexp(z) would subtract two nearly equal huge numbers (1e16 - (1e16
+ log 2) rounds to 0). On scalars and on batched Values (each sample's k logits, elementwise).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from . import ops
from .nary import n_ary
from .value import Value


def _logsumexp(*xs: Any) -> tuple[Any, tuple]:
    """m + log1p(the other terms' sum): log1p keeps log(1 + 4e-18) = 4e-18, which log loses."""
    if all(type(x) is float for x in xs):
        m = max(xs)
        if not math.isfinite(m) or m != m or any(x != x for x in xs):  # inf or nan: IEEE's
            out = ops.log(sum(map(ops.exp, xs)))  # answer, as the plain sum gives it
        else:
            terms = [math.exp(x - m) for x in xs]
            del terms[xs.index(m)]  # the largest term, exp(0) = 1: the 1 of log1p
            out = m + math.log1p(math.fsum(terms))
        return out, tuple([ops.exp(x - out) for x in xs])
    np = ops.np
    arrays = np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in xs])
    stacked = np.stack(arrays)  # (k, samples)
    m = stacked.max(axis=0)  # (nan where a sample has a nan)
    finite = np.isfinite(m)
    safe = np.where(finite, m, 0.0)  # (inf or nan: the plain sum's IEEE answer)
    terms = np.exp(stacked - safe)
    largest = np.argmax(stacked, axis=0)
    samples = np.arange(stacked.shape[1])
    plain = np.log(terms.sum(axis=0))
    terms[largest, samples] = 0.0  # the largest term, exp(0) = 1: the 1 of log1p
    out = np.where(finite, safe + np.log1p(terms.sum(axis=0)), plain)
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
    return n_ary("logsumexp", values)


def shifted(values: Sequence[Any]) -> list[Value]:
    """[z_i - max]: the logits less the largest of them, a constant (labelled `max`; per sample
    for batched logits; 0 where the largest is inf or nan, which IEEE then answers)."""
    values = [v if isinstance(v, Value) else Value(v, requires_grad=False) for v in values]
    if not values:
        raise ValueError("softmax of no values: give at least one logit")
    data = [v.data for v in values]
    if all(type(x) is float for x in data):
        largest = max(data)
        if not math.isfinite(largest) or any(x != x for x in data):
            largest = 0.0
    else:
        np = ops.use_numpy()
        stacked = np.stack(np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in data]))
        largest = stacked.max(axis=0)
        largest = np.where(np.isfinite(largest), largest, 0.0)
    shift = Value(largest, "max", requires_grad=False)
    return [v - shift for v in values]


def log_softmax(values: Sequence[Any]) -> list[Value]:
    """[log softmax(z)_i] = [s_i - logsumexp(s)], s_i = z_i - max: the log-probabilities of k
    classes; d/dz_j = [i == j] - softmax_j."""
    logits = shifted(values)
    total = logsumexp(logits)
    return [s - total for s in logits]


def softmax(values: Sequence[Any]) -> list[Value]:
    """[exp(log_softmax(z)_i)]: the probabilities of k classes, summing to 1;
    d softmax_i/d z_j = softmax_i ([i == j] - softmax_j)."""
    return [p.exp() for p in log_softmax(values)]


def cross_entropy_term(values: Sequence[Any], target: int) -> Value:
    """One sample's cross-entropy, -log softmax(z)[target] = logsumexp(s) - s_target with
    s = z - max (both terms >= 0: no cancellation); d/dz_j = softmax_j - [j == target].

    `values`: the sample's k logits (scalar Values, or batched Values with one target for every
    sample); `target`: the class index 0..k-1."""
    values = list(values)
    if not isinstance(target, numbers.Integral) or isinstance(target, bool):
        raise TypeError(f"the target is a class index (an int), got {target!r:.40}")
    if not 0 <= target < len(values):
        raise ValueError(f"target {target} is out of range for {len(values)} classes (0..k-1)")
    logits = shifted(values)
    return logsumexp(logits) - logits[int(target)]
