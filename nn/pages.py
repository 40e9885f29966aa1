"""A page of a training run: several optimizer steps of a real network, recorded for the
browser (`autograd.page`'s player, one frame per step).

Per optimizer step: the graph of one chosen sample (its loss at that step's parameters, neurons
collapsed into boxes as the pictures draw them, expandable to every parameter for networks of at
most `EXPANDABLE` parameters) with its own backward pass to step through; the
loss curve so far and, for 2-D data, the decision boundary with the sample marked (as pictures
embedded in the page: it still loads nothing); and the parameter table: each parameter's value,
its gradient on the whole batch and the update the optimizer made.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

from autograd import Value
from autograd.page import Page, frames_page, record

from . import losses as losses_module
from .module import Module
from .optim import SGD, Optimizer
from .train import build_loss

EXPANDABLE = 200  # parameters at most for a page to carry every step drawn in full too


def training_page(
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    loss: str = "mse",
    optimizer: Optimizer | None = None,
    steps: int = 5,
    sample: int = 0,
    l2: float = 0.0,
    title: str = "",
) -> Page:
    """Train `model` for `steps` full-batch steps on (X, y) (it is trained: the page records
    what happened), recording each step for the page. `optimizer`: SGD(lr=0.1) if None."""
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ValueError(
            f"steps must be a positive integer (the optimizer steps the page records), got "
            f"{steps!r:.40}"
        )
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if loss != "cross_entropy":
        y = y.astype(float)
    if not 0 <= sample < len(X):
        raise ValueError(f"sample must be one of the {len(X)} rows of X, got {sample}")
    loss_fn, _ = losses_module.get_loss(loss)
    params = model.parameters()
    optimizer = optimizer or SGD(params, lr=0.1)
    numbers = _numbers(model)  # every parameter one number at a time, for the table
    frames, history = [], []
    for step in range(1, steps + 1):
        out = model([Value(float(v), f"x{j + 1}") for j, v in enumerate(X[sample])])
        target = [int(y[sample])] if loss == "cross_entropy" else Value(float(y[sample]), "y")
        one = loss_fn([out] if loss == "cross_entropy" else out, target)
        one.label = "loss"
        data, svg = record(one, 2, mistakes=False, parameters=False, local_grads=False)
        expanded = record(one, 2, mistakes=False) if len(numbers) <= EXPANDABLE else None
        total, _ = build_loss(model, X, y, loss_fn, l2, True, params)
        optimizer.zero_grad()
        total.backward()
        before = [p.data for p in numbers]
        grads = [p.grad for p in numbers]
        optimizer.step()
        history.append(total.data)
        extra = _table(numbers, before, grads) + _pictures(model, X, y, history, sample)
        data["title"] = (
            f"sample {sample}'s loss at optimizer step {step} (batch loss {total.data:.4g})"
        )
        frames.append((data, svg, extra, expanded) if expanded else (data, svg, extra))
    return frames_page(frames, title or f"training, {steps} steps, sample {sample}")


def _numbers(model: Module) -> list[Value]:
    """A network's parameters at neuron grain (`L1.N1.w1`, ...): views of its layers' arrays."""
    layers = getattr(model, "layers", None)
    if layers is None:
        return model.parameters()
    return [p for layer in layers for neuron in layer.neurons for p in neuron.parameters()]


def _table(params: list[Value], before: list[float], grads: list[float]) -> str:
    cells = (
        (html.escape(p.label), f"{b:.5g}", f"{g:.5g}", f"{p.data - b:+.3g}")
        for p, b, g in zip(params, before, grads)
    )
    rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells)
    head = "<tr><th>parameter</th><th>value</th><th>grad (batch)</th><th>update</th></tr>"
    return f"<h4>parameters</h4><table class='params'>{head}{rows}</table>"


def _pictures(model: Module, X: np.ndarray, y: np.ndarray, history: list, sample: int) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the plots extra: the page has its tables and graphs without it
        return "<p>(pictures need matplotlib, the plots extra)</p>"
    images = []
    fig, ax = plt.subplots(figsize=(3.2, 2.2))
    ax.plot(range(1, len(history) + 1), history, marker="o")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("batch loss")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # steps are whole
    images.append(_png(fig, plt, "the batch loss after each optimizer step so far"))
    if X.shape[1] == 2:
        from .plot import CLASS_COLOURS, REGION_COLOURS
        from .train import predict

        pad = 0.25 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
        low, high = X.min(axis=0) - pad, X.max(axis=0) + pad
        gx, gy = np.meshgrid(np.linspace(low[0], high[0], 80), np.linspace(low[1], high[1], 80))
        scores = predict(model, np.column_stack([gx.ravel(), gy.ravel()]))
        fig, ax = plt.subplots(figsize=(3.2, 3.0))
        if scores.ndim == 2:
            k = scores.shape[1]
            regions = np.argmax(scores, axis=1).reshape(gx.shape)
            ax.contourf(gx, gy, regions, levels=np.arange(k + 1) - 0.5, colors=REGION_COLOURS[:k])
            classes = y.astype(int)
        else:
            cut = float((y.min() + y.max()) / 2)
            ax.contourf(
                gx,
                gy,
                scores.reshape(gx.shape) > cut,
                levels=[-0.5, 0.5, 1.5],
                colors=REGION_COLOURS[:2],
            )
            classes = (y > cut).astype(int)
        ax.scatter(*X.T, c=[CLASS_COLOURS[c % len(CLASS_COLOURS)] for c in classes], s=10)
        ax.scatter(*X[sample], s=160, facecolors="none", edgecolors="k", linewidths=2)
        ax.set_title(f"sample {sample} circled", fontsize=9)
        images.append(_png(fig, plt, f"the decision boundary, sample {sample} circled"))
    return "".join(images)


def _png(fig: Any, plt: Any, alt: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'
