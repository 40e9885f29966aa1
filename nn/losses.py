"""Loss functions built from `Value` operations, so every gradient can be stepped through.

Every loss takes `predictions` and `targets` in any of three forms:

- layer grain: one Value holding (samples x outputs), a network's output on a batch
  (`mlp(X)`): the loss is one node of the table (`autograd.layers.batch_loss`), its local derivative
  dL/dP an array;
- per sample: a list of scalar Values (one per sample, e.g. `[mlp(x) for x in X]`), or a list
  of lists for a network with several outputs, and targets of the same shape;
- batched: one batched Value (data = 1-D array, one entry per sample), or a list of batched
  Values (one per output), with targets of shape (samples,) or (samples, outputs).

A "mean" loss averages over every entry (samples x outputs); a "sum" loss adds them. The
result is a scalar Value ready for `backward()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

import autograd
from autograd import Value
from autograd.data import numbers_in
from autograd.layers import batch_loss, check_eps
from autograd.softmax import cross_entropy_term
from autograd.softmax import shifted as shifted_logits

Targets = Any  # a number, a sequence of numbers, or a NumPy array

#: Probabilities are clamped to [EPS, 1 - EPS] in `binary_cross_entropy` so log stays finite.
EPS = 1e-12


def _layer_grain(predictions: Any) -> bool:
    """Is this a layer's output on a batch (a Value holding a matrix)?"""
    return isinstance(predictions, Value) and getattr(predictions.data, "ndim", 0) == 2


def _flatten(predictions: Any) -> list[Value]:
    if isinstance(predictions, Value):
        return [predictions]
    if not isinstance(predictions, Sequence) or isinstance(predictions, str):
        raise TypeError(
            f"predictions must be a Value or a list of Values, got {type(predictions).__name__}"
        )
    flat: list[Value] = []
    for p in predictions:
        if isinstance(p, Value):
            flat.append(p)
        elif isinstance(p, Sequence) and not isinstance(p, str):
            flat.extend(_flatten(p))
        else:
            raise TypeError(f"predictions must be Values, found {type(p).__name__}")
    if not flat:
        raise ValueError("predictions is empty: a loss needs at least one prediction")
    return flat


def pairs(predictions: Any, targets: Targets) -> tuple[list[tuple[Value, Any]], int]:
    """Match every prediction Value with its target; also return the number of entries.

    Per-sample scalar Values pair with single numbers; batched Values (one per output) pair
    with a column of targets. Shapes that do not match raise a ValueError saying so.
    """
    values = _flatten(predictions)
    y = numbers(targets)
    batched = [v.is_batched for v in values]
    if not any(batched):
        if y.size != len(values):
            raise ValueError(
                f"{len(values)} predictions but {y.size} targets (shape {y.shape}): "
                "give one target per prediction"
            )
        return [(v, float(t)) for v, t in zip(values, y.reshape(-1))], len(values)
    if not all(batched):
        raise ValueError("predictions mix batched and single-sample Values; use one form")
    size = len(values[0].data)
    if any(len(v.data) != size for v in values):
        raise ValueError("batched predictions hold different numbers of samples")
    if y.ndim == 1 and len(values) == 1 and y.shape[0] == size:
        columns = [y]
    elif y.ndim == 2 and y.shape == (size, len(values)):
        columns = [np.ascontiguousarray(y[:, j]) for j in range(len(values))]
    else:
        raise ValueError(
            f"batched predictions: {len(values)} output(s) of {size} samples each, but targets "
            f"have shape {y.shape}; expected ({size},) or ({size}, {len(values)})"
        )
    return list(zip(values, columns)), size * len(values)


def _total(terms: list[Value]) -> Value:
    """Add the per-entry terms into one scalar (reducing a batch with `.sum()`)."""
    total = terms[0] if len(terms) == 1 else autograd.sum(terms)
    return total.sum() if total.is_batched else total


def _reduce(terms: list[Value], count: int, reduction: str) -> Value:
    if reduction == "mean":
        return _total(terms) / count
    if reduction == "sum":
        return _total(terms)
    raise ValueError(f"unknown reduction {reduction!r}; choose 'mean' or 'sum'")


def mse(predictions: Any, targets: Targets) -> Value:
    """Mean squared error: L = (1/N) sum_k (p_k - y_k)**2; dL/dp_k = 2 (p_k - y_k) / N."""
    if _layer_grain(predictions):
        return batch_loss("mse", predictions, _targets(targets))
    matched, count = pairs(predictions, targets)
    return _reduce([(p - y) ** 2 for p, y in matched], count, "mean")


def sse(predictions: Any, targets: Targets) -> Value:
    """Sum of squared errors: L = sum_k (p_k - y_k)**2; dL/dp_k = 2 (p_k - y_k)."""
    if _layer_grain(predictions):
        return batch_loss("sse", predictions, _targets(targets))
    matched, count = pairs(predictions, targets)
    return _reduce([(p - y) ** 2 for p, y in matched], count, "sum")


def clamp(p: Value, low: float, high: float) -> Value:
    """min(max(p, low), high), built as low + relu(p - low) - relu(p - high).

    d/dp = 1 for low < p <= high and 0 outside (so log() of the result stays finite).
    """
    return low + (p - low).relu() - (p - high).relu()


def binary_cross_entropy(predictions: Any, targets: Targets, eps: float = EPS) -> Value:
    """BCE on probabilities p in [0, 1], labels y in {0, 1} (or soft labels in [0, 1]):

        L = -(1/N) sum_k [ y_k log(q_k) + (1 - y_k) log(1 - q_k) ],  q_k = clamp(p_k, eps, 1-eps)

    dL/dp_k = (q_k - y_k) / (N q_k (1 - q_k)) inside the clamp, 0 outside: finite at 0 and 1.
    For a network ending in a sigmoid, `bce_with_logits` on the logits is exact everywhere.
    """
    check_eps(eps)
    if _layer_grain(predictions):
        return batch_loss("bce", predictions, _targets(targets), eps)
    matched, count = pairs(predictions, targets)
    terms = []
    for p, y in matched:
        q = clamp(p, eps, 1.0 - eps)
        terms.append(-(y * q.log() + (1.0 - y) * (1.0 - q).log()))
    return _reduce(terms, count, "mean")


def bce_with_logits(predictions: Any, targets: Targets) -> Value:
    """BCE on logits z (p = sigmoid(z)), stable for any z:

        L = (1/N) sum_k [ softplus(z_k) - y_k z_k ],  softplus(z) = log(1 + e**z)
        dL/dz_k = (sigmoid(z_k) - y_k) / N

    softplus is evaluated as  log(1 + e**z)  where z <= 0 and  z + log(1 + e**-z)  where z > 0:
    e is only ever raised to a non-positive power (no overflow), and because the branch is
    chosen from the data (a constant mask), the derivative is exact at z = 0 too (the
    relu(z) + log(1 + e**-|z|) form gives -y there instead of 1/2 - y).
    """
    if _layer_grain(predictions):
        return batch_loss("bce_with_logits", predictions, _targets(targets))
    matched, count = pairs(predictions, targets)
    terms = []
    for z, y in matched:
        positive = (z.data > 0) * 1.0 if z.is_batched else float(z.data > 0)  # 1 where z > 0
        sign = 1.0 - 2.0 * positive  # -1 where z > 0, +1 elsewhere: sign * z = -|z|
        softplus = positive * z + ((sign * z).exp() + 1.0).log()
        terms.append(softplus - y * z)
    return _reduce(terms, count, "mean")


def hinge(predictions: Any, targets: Targets) -> Value:
    """Max-margin (SVM) loss with labels y in {-1, +1}: L = (1/N) sum_k relu(1 - y_k s_k).

    dL/ds_k = -y_k / N where the margin y_k s_k < 1, else 0. Labels other than -1 and +1 are
    refused (a training loop's constant targets, a Value, are checked once by `nn.fit`).
    """
    if not isinstance(targets, Value):
        targets = signed_labels(targets)
    if _layer_grain(predictions):
        return batch_loss("hinge", predictions, targets)
    matched, count = pairs(predictions, targets)
    return _reduce([(1.0 - y * s).relu() for s, y in matched], count, "mean")


def l2(parameters: Iterable[Value] | Any, alpha: float, biases: bool = True) -> Value:
    """L2 penalty (weight decay): alpha * sum_p p**2; d/dp = 2 alpha p.

    The sum of squares is one node, `autograd.sum_of_squares(params)`, with one edge per
    parameter carrying 2p; of a layer's W (a Value holding a matrix), every entry squared.
    `parameters` may be a model (an `nn` module): its parameters, or with `biases=False` its
    weights alone (as most courses do).
    """
    if type(parameters) is list and biases:
        params = parameters  # (a training loop's list, made once)
    elif hasattr(parameters, "named_parameters"):
        named = parameters.named_parameters()
        params = [p for name, p in named if biases or not _is_bias(name)]
    elif not biases:
        raise ValueError("l2(..., biases=False) needs a model, to tell weights from biases")
    else:
        params = list(parameters)
    if not params:
        raise ValueError("l2() needs at least one parameter")
    return alpha * autograd.sum_of_squares(params)


def signed_labels(targets: Targets) -> np.ndarray:
    """The hinge loss's labels as floats, each -1 or +1, or a clear error: with 0/1 labels the
    class 0 gets no gradient at all (relu(1 - 0 s) is the constant 1)."""
    y = numbers(targets)
    bad = y[(y != 1.0) & (y != -1.0)]
    if bad.size:
        hint = "; for 0/1 labels use nn.data.to_signed(y)" if bad[0] == 0.0 else ""
        raise ValueError(f"hinge's labels are -1 or +1, got {float(bad[0])!r}{hint}")
    return y


def _is_bias(name: str) -> bool:
    return name == "b" or name.endswith(".b")


def _targets(targets: Targets) -> Any:
    """Targets as an array of floats (for a layer-grain loss), or the constant Value of them
    a training loop made once."""
    return targets if isinstance(targets, Value) else numbers(targets)


def numbers(targets: Targets) -> np.ndarray:
    """Targets as an array of floats; a target given as a Value is read as its number (a target
    is a constant: no gradient flows to it)."""
    return numbers_in(targets.data if isinstance(targets, Value) else targets)


def cross_entropy(logits: Any, targets: Targets) -> Value:
    """Multi-class cross-entropy of logits against class indices 0..k-1:

        L = (1/N) sum_n -log_softmax(z_n)[t_n] = (1/N) sum_n (logsumexp(z_n) - z_n[t_n])
        dL/dz_n,i = (softmax(z_n)_i - [i == t_n]) / N          (the textbook's dZ = P - Y)

    `logits`: a layer's output, one Value holding (samples x k), as `mlp(X)` gives it; or k
    batched Values (one per class, as `mlp(X, grain="neuron")` gives them); or per sample, a list
    of N lists of k scalar Values (`[mlp(x) for x in X]`). `targets`: N integers (a list or an
    int array).
    """
    if _layer_grain(logits):
        y = np.asarray(targets)
        k = logits.data.shape[1]
        if y.dtype.kind not in "iu" or y.ndim != 1:
            raise ValueError(
                "cross_entropy's targets are class indices, integers 0..k-1, one per sample; "
                f"got {'floats' if y.dtype.kind == 'f' else y.dtype} of shape {y.shape}"
            )
        if k < 2:
            raise ValueError(f"cross_entropy needs at least 2 logits per sample, got {k}")
        if len(y) != len(logits.data):
            raise ValueError(
                f"cross_entropy: {len(logits.data)} samples of logits but {len(y)} targets"
            )
        bad = y[(y < 0) | (y >= k)]
        if len(bad):
            raise ValueError(f"cross_entropy: target {int(bad[0])} is out of range for {k} classes")
        return batch_loss("cross_entropy", logits, y.astype(float))
    if isinstance(logits, Sequence) and logits and isinstance(logits[0], Value):
        rows, batched = [list(logits)], logits[0].is_batched
    elif isinstance(logits, Sequence) and logits and isinstance(logits[0], Sequence):
        rows, batched = [list(row) for row in logits], False
    else:
        raise TypeError(
            "cross_entropy takes logits as a list of k batched Values, or one list of k "
            f"Values per sample; got {type(logits).__name__}"
        )
    k = len(rows[0])
    if k < 2 or any(len(row) != k for row in rows):
        raise ValueError(
            f"cross_entropy needs the same number (>= 2) of logits per sample, got {k}"
        )
    y = np.asarray(targets)
    if y.dtype.kind not in "iu" or y.ndim != 1:
        raise ValueError(
            "cross_entropy's targets are class indices, integers 0..k-1, one per sample; got "
            f"{'floats' if y.dtype.kind == 'f' else y.dtype} of shape {y.shape} (y.astype(int)?)"
        )
    samples = len(rows[0][0].data) if batched else len(rows)
    if len(y) != samples:
        raise ValueError(f"cross_entropy: {samples} samples of logits but {len(y)} targets")
    bad = y[(y < 0) | (y >= k)]
    if len(bad):
        raise ValueError(f"cross_entropy: target {int(bad[0])} is out of range for {k} classes")
    if batched:  # each sample's logits less its largest (a constant): no huge differences
        shifted = shifted_logits(rows[0])
        one_hot = np.eye(k)[y]  # (N, k): the target's logit picked per sample
        picked = autograd.sum(
            [s * np.ascontiguousarray(one_hot[:, i]) for i, s in enumerate(shifted)]
        )
        return (autograd.logsumexp(shifted) - picked).mean()
    terms = [cross_entropy_term(row, t) for row, t in zip(rows, y.tolist())]
    return autograd.sum(terms) / len(terms)


LossFunction = Callable[[Any, Targets], Value]

#: Losses by name: (function, decision threshold on the output for accuracy).
#: A threshold of None means "half-way between the two label values" (0.5 for 0/1 labels).
LOSSES: dict[str, tuple[LossFunction, float | None]] = {
    "mse": (mse, None),
    "sse": (sse, None),
    "bce": (binary_cross_entropy, 0.5),
    "binary_cross_entropy": (binary_cross_entropy, 0.5),
    "bce_with_logits": (bce_with_logits, 0.0),
    "hinge": (hinge, 0.0),
    "cross_entropy": (cross_entropy, None),
}


# The losses whose layer-grain row reads the targets as a constant Value a loop may make once.
READS_CONSTANT_TARGETS = frozenset({mse, sse, binary_cross_entropy, bce_with_logits, hinge})


def get_loss(loss: str | LossFunction) -> tuple[LossFunction, float | None]:
    """The function (and accuracy threshold) for a loss name, or a callable as it is."""
    if callable(loss):
        threshold = {fn: t for fn, t in LOSSES.values()}.get(loss)
        return loss, threshold
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[loss]
