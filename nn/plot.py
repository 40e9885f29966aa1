"""Pictures of training: a loss curve and a 2-D decision boundary, as PNG files.

matplotlib is an optional extra (`pip install 'backprop-lab[plots]'`); it is imported only when a
picture is drawn, with a clear message if it is missing. Files are written atomically.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autograd.files import atomic_write

from .module import Module
from .train import History, predict

#: One colour per class, for points (and a lighter one for its region), in every picture of a
#: decision boundary: `decision_boundary` here and the demos'.
CLASS_COLOURS = ["#c0392b", "#2e6fba", "#27ae60", "#8e44ad", "#d68910", "#17a589"]
REGION_COLOURS = ["#f4c2c2", "#bcd4f0", "#c8ecd3", "#e2cdef", "#f8e0b8", "#c3ece5"]


def class_legend(ax: Any, X: np.ndarray, classes: np.ndarray, names: Sequence[str]) -> None:
    """The points coloured by class, a legend naming the classes, and the axes `x1`, `x2`."""
    for k, name in enumerate(names):
        chosen = classes == k
        colour = CLASS_COLOURS[k % len(CLASS_COLOURS)]
        ax.scatter(*X[chosen].T, c=colour, s=22, edgecolors="k", linewidths=0.4, label=name)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(title="class", loc="best", fontsize="small")


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "nn.plot needs matplotlib, an optional extra: pip install 'backprop-lab[plots]' "
            "(or pip install matplotlib)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike) -> Path:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return atomic_write(Path(path), buffer.getvalue())


def loss_curve(
    history: History | Sequence[float],
    path: str | os.PathLike,
    title: str = "training loss",
    log: bool = False,
) -> Path:
    """Plot loss per epoch (and accuracy on a second axis, when known) to a PNG at `path`."""
    plt = _pyplot()
    losses = history.loss if isinstance(history, History) else list(history)
    if not losses:
        raise ValueError("loss_curve: the history is empty")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    epochs = np.arange(1, len(losses) + 1)
    ax.plot(epochs, losses, color="tab:blue", label="loss")
    if isinstance(history, History) and history.val_loss:
        ax.plot(
            epochs[: len(history.val_loss)],
            history.val_loss,
            "--",
            color="tab:blue",
            label="validation loss",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if isinstance(history, History) and any(a is not None for a in history.accuracy):
        right = ax.twinx()
        acc = [np.nan if a is None else a for a in history.accuracy]
        right.plot(epochs, acc, color="tab:orange", label="accuracy")
        right.set_ylabel("accuracy")
        right.set_ylim(0, 1.05)
        lines = ax.get_lines() + right.get_lines()
        ax.legend(lines, [line.get_label() for line in lines], loc="center right")
    ax.set_title(title)
    return _save(fig, path)


def decision_boundary(
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    path: str | os.PathLike,
    threshold: float | None = None,
    resolution: int = 200,
    title: str = "decision boundary",
) -> Path:
    """Colour the plane by the model's output on a grid around the 2-D points X, draw the
    boundary (output == threshold; None: half-way between the two label values) and the points
    coloured by label y. Writes a PNG at `path`."""
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary needs 2-D points (samples, 2), got shape {X.shape}")
    plt = _pyplot()
    pad = 0.25 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
    low, high = X.min(axis=0) - pad, X.max(axis=0) + pad
    xs = np.linspace(low[0], high[0], resolution)
    ys = np.linspace(low[1], high[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    scores = predict(model, np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    if scores.ndim == 2:
        surface = np.argmax(scores, axis=1).reshape(grid_x.shape).astype(float)
        level = None
    else:
        surface = scores.reshape(grid_x.shape)
        labels = np.unique(y)
        if threshold is None:
            level = float((labels.min() + labels.max()) / 2) if len(labels) else 0.0
        else:
            level = threshold
    fig, ax = plt.subplots(figsize=(5, 5))
    if level is None:  # k classes: the region of each, by argmax
        k = max(int(surface.max()), int(y.max())) + 1
        ax.contourf(
            grid_x, grid_y, surface, levels=np.arange(k + 1) - 0.5, colors=REGION_COLOURS[:k]
        )
        classes, names = y.astype(int), [str(c) for c in range(k)]
    else:  # two classes, split at `level`
        ax.contourf(
            grid_x, grid_y, surface > level, levels=[-0.5, 0.5, 1.5], colors=REGION_COLOURS[:2]
        )
        if surface.min() < level < surface.max():
            ax.contour(grid_x, grid_y, surface, levels=[level], colors="k", linewidths=1.0)
        low_label, high_label = (labels.min(), labels.max()) if len(labels) else (0, 1)
        classes = (y > level).astype(int)
        names = [f"{low_label:g}", f"{high_label:g}"]
    class_legend(ax, X, classes, names)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_title(title)
    return _save(fig, path)
