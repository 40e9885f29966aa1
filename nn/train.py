"""Training: `fit` (the loop), `predict` and `accuracy`.

One training step is: build the loss graph (`build_loss`), zero the gradients, `backward()`,
and let the optimizer change the parameters. By default the whole mini-batch goes through the
network at layer grain: each layer is one node (`autograd.layer`), the loss one more, and
backward's one loop runs them. `grain="neuron"` builds the same step with a node per neuron
(each holding one number per sample), `batched=False` one graph per sample: the same numbers.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

import autograd
from autograd import Value
from autograd.ieee import quiet

from . import losses as losses_module
from .data import minibatches
from .initial import Seed, make_rng
from .module import Module
from .optim import SGD, Adam, AdamW, Optimizer


@dataclass
class History:
    """Per epoch: the training loss (data loss + penalty, averaged over the epoch's batches),
    the training accuracy (of the predictions made during the epoch; None for regression), the
    learning rate of the epoch's last step and, with validation data, the same on it."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float | None] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.loss)

    def __repr__(self) -> str:
        """A summary, not every epoch's numbers: epochs, the final loss and accuracy."""
        if not self.loss:
            return "History(no epochs)"
        parts = [f"{len(self)} epochs", f"final loss {self.loss[-1]:.6g}"]
        if self.accuracy[-1] is not None:
            parts.append(f"accuracy {self.accuracy[-1]:.1%}")
        if self.val_loss:
            parts.append(f"validation loss {self.val_loss[-1]:.6g}")
            if self.val_accuracy[-1] is not None:
                parts.append(f"validation accuracy {self.val_accuracy[-1]:.1%}")
        return f"History({', '.join(parts)}; .loss, .accuracy, .lr: one entry per epoch)"

    def as_dict(self) -> dict[str, list]:
        return {
            "loss": self.loss,
            "accuracy": self.accuracy,
            "lr": self.lr,
            "val_loss": self.val_loss,
            "val_accuracy": self.val_accuracy,
        }


def forward(model: Module, X: np.ndarray, batched: bool = True, grain: str = "layer") -> Any:
    """The model's outputs for every row of X: batched (one graph for the batch, at `grain`)
    or one graph per sample at neuron grain (a list with one output per row)."""
    if batched:
        return model(X if isinstance(X, Value) else np.asarray(X, dtype=float), grain=grain)
    return [model([float(v) for v in row]) for row in np.asarray(X, dtype=float)]


def step(
    model: Module,
    X: Any,
    y: Any,
    loss: Callable[[Any, Any], Value],
    optimizer: Optimizer,
    l2: float = 0.0,
    batched: bool = True,
    grain: str = "layer",
    parameters: list[Value] | None = None,
) -> tuple[Value, Any]:
    """One training step, as `fit` takes it: the loss graph, zero_grad, backward(), the
    optimizer's update. Returns (loss, outputs). NumPy is quiet inside (inf and nan as IEEE
    gives them), entered once for the whole step."""
    with quiet():
        loss_value, outputs = build_loss(model, X, y, loss, l2, batched, parameters, grain)
        optimizer.zero_grad()
        loss_value.backward()
        optimizer.step()
    return loss_value, outputs


def build_loss(
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    loss: Callable[[Any, Any], Value],
    l2: float = 0.0,
    batched: bool = True,
    parameters: list[Value] | None = None,
    grain: str = "layer",
) -> tuple[Value, Any]:
    """The graph of one training step: (loss(outputs, y) + l2 * sum p**2, outputs).

    The loss functions take every form of outputs (a layer's matrix, batched Values, one per
    sample), so this is the one place that decides how the graph is built. `parameters`: the
    Values the penalty covers (None: the model's)."""
    outputs = forward(model, X, batched, grain)
    total = loss(outputs, y)
    if l2:
        total = total + losses_module.l2(model if parameters is None else parameters, l2)
    return total, outputs


def scores_of(outputs: Any) -> np.ndarray:
    """The numbers in outputs (either form): shape (samples,) for one output, else
    (samples, outputs)."""
    if isinstance(outputs, Value):
        data = np.asarray(outputs.data, dtype=float)
        if data.ndim == 2:  # a layer's matrix: (samples, outputs)
            return data[:, 0] if data.shape[1] == 1 else data
        return np.atleast_1d(data)
    if outputs and isinstance(outputs[0], Value) and outputs[0].is_batched:
        return np.column_stack([o.data for o in outputs])  # one batched Value per output
    rows = [[o.data] if isinstance(o, Value) else [v.data for v in o] for o in outputs]
    array = np.array(rows, dtype=float)
    return array[:, 0] if array.shape[1] == 1 else array


def predict(model: Module, X: np.ndarray, classes: bool = False) -> np.ndarray:
    """The model's outputs for every row of X (no graph is recorded): (samples,) for one
    output, else (samples, outputs). `classes=True`: the predicted class of each row instead,
    the arg max of k outputs (for a model trained with cross-entropy)."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[None, :]
    with autograd.no_grad():
        outputs = forward(model, X, batched=True, grain="layer")
    scores = scores_of(outputs)
    if scores.ndim == 1 and len(scores) != len(X):  # constant output of a network: broadcast
        scores = np.broadcast_to(scores, (len(X),)).copy()
    if classes:
        if scores.ndim != 2:
            raise ValueError("predict(classes=True) needs a model with k >= 2 outputs")
        return np.argmax(scores, axis=1)
    return scores


def classify(scores: np.ndarray, y: np.ndarray, threshold: float | None = None) -> Any:
    """Predicted labels for scores, in the label set of y; None when y is not class labels.

    One output: labels {0, 1} or {-1, +1}; predict the larger label where the score is above
    `threshold` (None: half-way between the labels, e.g. 0.5 for 0/1 and 0 for -1/+1).
    Several outputs: the class is the arg max (y as class indices or one-hot rows).
    """
    scores, y = np.asarray(scores, dtype=float), np.asarray(y, dtype=float)
    if scores.ndim == 2:
        return np.argmax(scores, axis=1)
    values = set(np.unique(y).tolist())
    if values <= {0.0, 1.0}:
        low, high = 0.0, 1.0
    elif values <= {-1.0, 1.0}:
        low, high = -1.0, 1.0
    else:
        return None
    cut = (low + high) / 2 if threshold is None else threshold
    return np.where(scores > cut, high, low)


def accuracy_of(scores: np.ndarray, y: np.ndarray, threshold: float | None = None) -> float | None:
    """The fraction of samples whose predicted label (see `classify`) equals y."""
    y = np.asarray(y, dtype=float)
    predicted = classify(scores, y, threshold)
    if predicted is None:
        return None
    truth = np.argmax(y, axis=1) if y.ndim == 2 else y
    return float(np.mean(predicted == truth))


def accuracy(
    model: Module, X: np.ndarray, y: np.ndarray, threshold: float | None = None
) -> float | None:
    """Classification accuracy of `model` on (X, y); see `classify` for the threshold."""
    return accuracy_of(predict(model, X), y, threshold)


class Progress:
    """The training bar, drawn by tqdm (in Jupyter its notebook bar), only where asked: an epoch
    counter with the loss and accuracy so far."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, file=stream, unit="epoch", leave=True)

    def update(self, epoch: int, loss: float, acc: float | None) -> None:
        if self.bar is not None:
            shown = {"loss": f"{loss:.6f}"} | ({"acc": f"{acc:.1%}"} if acc is not None else {})
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(epoch - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def make_optimizer(optimizer: Optimizer | str, model: Module, lr: float) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        return optimizer
    if optimizer == "sgd":
        return SGD(model.parameters(), lr=lr)
    if optimizer == "adam":
        return Adam(model.parameters(), lr=lr)
    if optimizer == "adamw":
        return AdamW(model.parameters(), lr=lr)
    raise ValueError(
        f"optimizer must be an nn.optim optimizer, 'sgd', 'adam' or 'adamw'; got {optimizer!r}"
    )


def fit(
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    loss: str | Callable[[Any, Any], Value] = "mse",
    optimizer: Optimizer | str = "sgd",
    epochs: int = 100,
    batch_size: int | None = None,
    lr: float = 0.1,
    l2: float = 0.0,
    shuffle: bool = True,
    seed: Seed = None,
    batched: bool = True,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    threshold: float | None = None,
    progress: bool | None = None,
    callback: Callable[[int, History], Any] | None = None,
    grain: str = "layer",
) -> History:
    """Train `model` on (X, y) and return the History (loss and accuracy per epoch).

    - `loss`: a name from `nn.losses.LOSSES` ("mse", "sse", "bce" or "binary_cross_entropy",
      "bce_with_logits", "hinge", "cross_entropy") or a function (outputs, targets) -> Value;
      `l2` adds l2 * sum p**2.
    - `optimizer`: an `nn.optim` optimizer (its lr schedule counts steps), or "sgd"/"adam"
      with learning rate `lr`.
    - `batch_size` None: one full batch per epoch (one step); else shuffled mini-batches
      (order fixed by `seed`).
    - `grain`: "layer" (the default: each layer one node on the whole batch) or "neuron" (a
      node per neuron, each holding one number per sample); `batched=False` builds one graph
      per sample instead (the same numbers, for stepping through).
    - `progress`: None shows a bar only when stderr is a terminal; True/False force it.
    - `callback(epoch, history)` runs after each epoch; returning True stops training.
    """
    if not autograd.is_recording():
        raise RuntimeError(
            "nn.fit() inside no_grad(): no graph is recorded there, so nothing would train; "
            "call it outside the no_grad() block"
        )
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if loss not in ("cross_entropy", losses_module.cross_entropy):  # (class indices stay ints)
        y = y.astype(float)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"X must be 2-D (samples, features) with a sample, got shape {X.shape}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int | np.integer)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    if isinstance(l2, bool) or not isinstance(l2, int | float) or not 0.0 <= l2 < math.inf:
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
    if grain not in ("layer", "neuron"):
        raise ValueError(f"grain must be 'layer' or 'neuron', got {grain!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a function (epoch, history), got {callback!r:.40}")
    if validation_data is not None:
        validation_data = _validation(validation_data, X.shape[1])
    if loss in ("hinge", losses_module.hinge):  # (checked once here: each step's are a Value)
        losses_module.signed_labels(y)
        if validation_data is not None:
            losses_module.signed_labels(validation_data[1])
    loss_fn, loss_threshold = losses_module.get_loss(loss)
    if threshold is None:
        threshold = loss_threshold
    opt = make_optimizer(optimizer, model, lr)
    rng = make_rng(seed)
    history = History()
    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = Progress(epochs, sys.stderr, show)
    try:
        # one full batch: its data made a constant once, read by every step (layer grain)
        whole = batched and grain == "layer" and batch_size is None
        batches = [(Value(X, "X", requires_grad=False), y)] if whole else None
        constant = whole and loss_fn in losses_module.READS_CONSTANT_TARGETS
        targets = constant_targets(y) if constant else y  # (the full batch's, made once)
        penalized = model.parameters() if l2 else None
        with autograd.gc_paused():
            for epoch in range(1, epochs + 1):
                total, count, seen_scores, seen_y = 0.0, 0, [], []
                for Xb, yb in batches or minibatches(X, y, batch_size, shuffle, rng):
                    loss_value, outputs = step(
                        model, Xb, targets if batches else yb, loss_fn, opt, l2, batched, grain,
                        penalized,
                    )  # fmt: skip
                    total += loss_value.data * len(yb)
                    count += len(yb)
                    seen_scores.append(scores_of(outputs))
                    seen_y.append(yb)
                history.loss.append(total / count)
                history.accuracy.append(
                    accuracy_of(np.concatenate(seen_scores), np.concatenate(seen_y), threshold)
                )
                history.lr.append(opt.lr)
                if validation_data is not None:
                    Xv, yv = validation_data
                    with autograd.no_grad():
                        val_loss, val_outputs = build_loss(model, Xv, yv, loss_fn, l2, True)
                    history.val_loss.append(val_loss.data)
                    history.val_accuracy.append(accuracy_of(scores_of(val_outputs), yv, threshold))
                bar.update(epoch, history.loss[-1], history.accuracy[-1])
                if callback is not None and callback(epoch, history) is True:
                    break
    finally:
        bar.close()
    return history


def constant_targets(y: Any) -> Any:
    """A full batch's targets made a constant once (its numbers as floats), read by every
    step; targets that are not numbers stay as they are (the loss says what is wrong)."""
    try:
        return Value(np.asarray(y, dtype=float), "y", requires_grad=False)
    except (TypeError, ValueError):
        return y


def _validation(data: Any, features: int) -> tuple[np.ndarray, np.ndarray]:
    """validation_data checked before the first step: (X, y) with `features` columns."""
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise ValueError("validation_data must be a pair (X, y)")
    Xv, yv = np.asarray(data[0], dtype=float), np.asarray(data[1])
    if Xv.ndim != 2 or Xv.shape[1] != features or len(Xv) == 0:
        raise ValueError(
            f"validation_data's X must be (samples, {features}) with a sample, got {Xv.shape}"
        )
    if len(yv) != len(Xv):
        raise ValueError(f"validation_data: X has {len(Xv)} samples but y has {len(yv)}")
    return Xv, yv
