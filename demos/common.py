"""What every demo shares: a network of fused neurons, pictures, the NumPy check, the report.

A demo trains its network twice from the same initial weights: once on the engine (a graph of
`Value`s whose data are batches, one entry per sample; `backward()` gives every gradient) and
once in the vectorized NumPy form its tutorial writes by hand. `max_abs_difference` then says
how far apart the two ended; `report` prints every demo's closing summary in one format.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import autograd
from autograd import Value
from autograd.files import atomic_write

AGREEMENT_TOLERANCE = 1e-9  # engine vs NumPy: final loss and every weight


# ---------------------------------------------------------------------------------------------
# A network of fused neurons, built from weight matrices


class Network:
    """Dense layers of fused neurons: a_l = act_l(W_l a_(l-1) + b_l), one node per neuron.

    `weights[l]` has shape (outputs, inputs): row j holds neuron j's weights (the
    `W @ X` convention; a tutorial that writes `X @ W` passes `W.T`). `biases[l]` is a vector,
    or None for a layer without biases. Every parameter is a labelled leaf `Value`:
    `L1.N3.w2` is layer 1, neuron 3, weight 2 (all counted from 1), `L1.N3.b` its bias; each
    neuron's output node is labelled `L1.N3`.
    """

    def __init__(
        self,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray | None],
        activations: Sequence[str],
    ) -> None:
        if not len(weights) == len(biases) == len(activations):
            raise ValueError(
                f"Network needs one bias vector (or None) and one activation per weight matrix, "
                f"got {len(weights)} matrices, {len(biases)} biases, {len(activations)} activations"
            )
        self.activations = list(activations)
        self.weights: list[list[list[Value]]] = []
        self.biases: list[list[Value] | None] = []
        for layer, (w, b) in enumerate(zip(weights, biases), start=1):
            w = np.asarray(w, dtype=float)
            if w.ndim != 2:
                raise ValueError(f"layer {layer}: weights must be a 2-D matrix, got {w.shape}")
            if b is not None and np.shape(b) != (w.shape[0],):
                raise ValueError(
                    f"layer {layer}: {w.shape[0]} neurons need {w.shape[0]} biases, "
                    f"got shape {np.shape(b)}"
                )
            self.weights.append(
                [
                    [Value(float(x), f"L{layer}.N{j}.w{i}") for i, x in enumerate(row, start=1)]
                    for j, row in enumerate(w, start=1)
                ]
            )
            self.biases.append(
                None
                if b is None
                else [Value(float(x), f"L{layer}.N{j}.b") for j, x in enumerate(b, start=1)]
            )

    def __call__(self, inputs: Sequence[Value | float]) -> list[Value]:
        """The outputs of the last layer for `inputs` (Values, scalar or batched)."""
        xs: list[Any] = list(inputs)
        for layer, (ws, bs, act) in enumerate(
            zip(self.weights, self.biases, self.activations), start=1
        ):
            outs = []
            for j, w in enumerate(ws):
                out = autograd.linear(w, xs, bs[j] if bs is not None else 0.0, act)
                out.label = f"L{layer}.N{j + 1}"
                outs.append(out)
            xs = outs
        return xs

    def parameters(self) -> list[Value]:
        """Layer by layer, neuron by neuron, weights then bias."""
        params = []
        for ws, bs in zip(self.weights, self.biases):
            for j, w in enumerate(ws):
                params.extend(w)
                if bs is not None:
                    params.append(bs[j])
        return params

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0

    def sgd_step(self, lr: float) -> None:
        """Plain gradient descent: p <- p - lr * dL/dp for every parameter."""
        for p in self.parameters():
            p.data -= lr * p.grad

    def arrays(self) -> list[np.ndarray]:
        """[W1, b1, W2, b2, ...] as NumPy arrays (W of shape (outputs, inputs); no None)."""
        arrays: list[np.ndarray] = []
        for ws, bs in zip(self.weights, self.biases):
            arrays.append(np.array([[v.data for v in row] for row in ws]))
            if bs is not None:
                arrays.append(np.array([v.data for v in bs]))
        return arrays

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The first output for every row of X, computed by the engine on one batch."""
        with autograd.no_grad():
            out = self(columns(X))[0]
        return np.broadcast_to(np.asarray(out.data, dtype=float), (len(X),)).copy()


def columns(X: np.ndarray, names: str = "x") -> list[Value]:
    """One batched input Value per feature: `Value(X[:, j], "x<j+1>")`."""
    X = np.asarray(X, dtype=float)
    return [Value(X[:, j].copy(), f"{names}{j + 1}") for j in range(X.shape[1])]


def sample(X: np.ndarray, row: int = 0, names: str = "x") -> list[Value]:
    """Scalar input Values for one sample (for the picture of one sample's graph)."""
    return [Value(float(x), f"{names}{j + 1}") for j, x in enumerate(np.asarray(X)[row])]


def train(
    loss_of: Callable[[], Value],
    parameters: Sequence[Value],
    iterations: int,
    update: Callable[[int], None],
    every: int = 0,
    name: str = "loss",
) -> list[float]:
    """Gradient descent on the engine: build the loss, zero grads, backward, `update(k)`.

    Returns the loss of each iteration (before its update). Prints it every `every` steps.
    """
    losses = []
    with autograd.gc_paused():
        for k in range(iterations):
            loss = loss_of()
            for p in parameters:
                p.grad = 0.0
            loss.backward()
            update(k)
            losses.append(loss.data)
            if every and (k % every == 0 or k == iterations - 1):
                print(f"  iteration {k:>6}  {name} {loss.data:.6f}")
    return losses


def binary_cross_entropy(p: Value, y: np.ndarray | float) -> Value:
    """L = -mean(y log p + (1 - y) log(1 - p)), p a probability (batched: mean over samples)."""
    per_sample = -(y * p.log() + (1.0 - y) * (1.0 - p).log())
    return per_sample.mean() if per_sample.is_batched else per_sample


def max_abs_difference(a: Sequence[Any], b: Sequence[Any]) -> float:
    """max |a_i - b_i| over every entry of matching lists of numbers or arrays."""
    if len(a) != len(b):
        raise ValueError(f"cannot compare {len(a)} arrays with {len(b)}")
    worst = 0.0
    for x, y in zip(a, b):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.shape != y.shape:
            raise ValueError(f"cannot compare shapes {x.shape} and {y.shape}")
        if x.size:
            difference = float(np.max(np.abs(x - y)))
            if difference != difference:  # nan anywhere: not an agreement
                return float("nan")
            worst = max(worst, difference)
    return worst


# ---------------------------------------------------------------------------------------------
# Writing files


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def plots_available() -> bool:
    return _pyplot() is not None


def _save_figure(fig, path: Path) -> Path:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return atomic_write(path, buffer.getvalue())


def plot_losses(
    path: Path,
    curves: dict[str, Sequence[float]],
    title: str,
    log: bool = False,
    faint: Sequence[str] = (),
):
    """A loss curve per entry of `curves` (name -> losses by iteration) as a PNG, or None.

    Curves named in `faint` (noisy ones, such as mini-batch losses) are drawn light, beneath.
    """
    plt = _pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
    styles = ["-", "--", ":", "-."]
    for k, (label, losses) in enumerate(curves.items()):
        light = {"alpha": 0.35, "linewidth": 0.8, "zorder": 0} if label in faint else {}
        ax.plot(
            np.arange(len(losses)),
            losses,
            styles[k % 4],
            label=label,
            **{"linewidth": 1.5, **light},
        )
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(curves) > 1:
        ax.legend()
    return _save_figure(fig, path)


def plot_boundary(
    path: Path,
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    title: str,
    threshold: float = 0.5,
    resolution: int = 150,
):
    """The 2-D decision boundary (predict(points) > threshold on a grid) and the data, as PNG."""
    plt = _pyplot()
    if plt is None:
        return None
    X = np.asarray(X, dtype=float)
    pad = 0.5 * max(np.ptp(X[:, 0]), np.ptp(X[:, 1]), 1.0) * 0.5
    xs = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, resolution)
    ys = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, resolution)
    gx, gy = np.meshgrid(xs, ys)
    scores = predict(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(5, 4.4))
    ax.contourf(gx, gy, scores > threshold, levels=[-0.5, 0.5, 1.5], colors=["#f4c2c2", "#bcd4f0"])
    ax.contour(gx, gy, scores - threshold, levels=[0.0], colors="k", linewidths=1)
    positive = np.asarray(y) > (threshold if threshold != 0.0 else 0.0)
    ax.scatter(*X[~positive].T, c="#c0392b", s=22, edgecolors="k", linewidths=0.4, label="0")
    ax.scatter(*X[positive].T, c="#2e6fba", s=22, edgecolors="k", linewidths=0.4, label="1")
    ax.set_title(title)
    return _save_figure(fig, path)


# ---------------------------------------------------------------------------------------------
# The computation graph of one sample


def dot_renderer() -> str | None:
    """A Graphviz `dot` program: the system one, else graphviz-pure's (beside this Python)."""
    found = shutil.which("dot") or shutil.which("graphviz-pure")
    if found:
        return found
    beside = Path(sys.executable).parent / "graphviz-pure"
    return str(beside) if beside.exists() else None


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _number(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"[{x.size} samples]" if x.size != 1 else f"{float(x.ravel()[0]):.4g}"
    return f"{float(x):.4g}"


def graph_dot(root: Value, title: str = "") -> str:
    """DOT source for `root`'s graph, one box per neuron: parameter leaves are folded away.

    Each non-leaf node shows its label (or op), data and grad; input leaves (no `.w`/`.b`
    label) are drawn too; a neuron's weights and bias are summarised in its box.
    """
    order = autograd.topological_order(root)
    ids = {id(node): f"n{k}" for k, node in enumerate(order)}

    def is_parameter(node: Value) -> bool:
        return not node.parents and (".w" in node.label or node.label.endswith(".b"))

    lines = [
        "digraph G {",
        '  rankdir=LR; fontname="Helvetica";',
        '  node [shape=record, fontname="Helvetica", fontsize=10];',
    ]
    if title:
        lines.append(f'  label="{_escape(title)}"; labelloc=t;')
    for node in order:
        if is_parameter(node):
            continue
        name = node.label
        kind = node.op if node.parents else ("input" if node.label else "constant")
        params = [p for p in node.parents if is_parameter(p)]
        extra = f" | {len(params)} parameters" if params else ""
        head = f"{name} | {kind}" if name else kind
        text = f"{head}{extra} | data {_number(node.data)} | grad {_number(node.grad)}"
        lines.append(f'  {ids[id(node)]} [label="{{{_escape(text)}}}"];')
        for parent in dict.fromkeys(node.parents):
            if not is_parameter(parent):
                lines.append(f"  {ids[id(parent)]} -> {ids[id(node)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(
    root: Value, path: Path, title: str = "", full: bool = False
) -> list[tuple[Path, str]]:
    """Picture `root`'s graph: `path` (.svg) one box per neuron; returns [(file, note), ...].

    With `full`, also `<path>_full.svg` drawn by `autograd.draw`: every value (parameters
    too), each edge labelled with its local derivative. With no Graphviz renderer, the DOT
    source is written instead (`.dot`) and the note says so.
    """
    path = Path(path)
    source = graph_dot(root, title)
    renderer = dot_renderer()
    written: list[tuple[Path, str]] = []
    if renderer is not None:
        done = subprocess.run(
            [renderer, "-Tsvg"], input=source.encode(), capture_output=True, timeout=60
        )
        if done.returncode == 0 and done.stdout:
            written.append((atomic_write(path, done.stdout), ""))
        else:
            problem = done.stderr.decode(errors="replace").strip()[:200]
            note = f"rendering failed ({problem}); wrote the DOT source instead"
            written.append((atomic_write(path.with_suffix(".dot"), source), note))
    else:
        note = "no Graphviz renderer found (pip install graphviz-pure); wrote the DOT source"
        written.append((atomic_write(path.with_suffix(".dot"), source), note))
    if full:
        full_path = path.with_name(f"{path.stem}_full{path.suffix}")
        try:
            written.append((autograd.render(root, full_path, title=title or None), ""))
        except (ImportError, AttributeError) as error:  # no autograd.render / graphviz package
            written.append((full_path, f"not drawn: {error}"))
        except RuntimeError as error:  # no renderer (the .dot was written) or it failed
            written.append((full_path.with_suffix(".dot"), str(error).split("\n")[0][:200]))
    return written


# ---------------------------------------------------------------------------------------------
# Flags and the closing report


def parser(name: str, description: str | None, every: int = 0) -> argparse.ArgumentParser:
    """An argument parser with the flags every demo has: --out --quick --no-pictures --every."""
    p = argparse.ArgumentParser(
        prog=f"python -m demos {name}",
        description=(description or "").strip().splitlines()[0] if description else None,
    )
    p.add_argument("--out", type=Path, default=Path("out") / name, help="where pictures go")
    p.add_argument("--quick", action="store_true", help="reduced settings (for tests and CI)")
    p.add_argument("--no-pictures", action="store_true", help="write no files")
    p.add_argument(
        "--every",
        type=int,
        default=every,
        help=f"print the loss every N steps (0: never; default {every})",
    )
    return p


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


@dataclass
class Result:
    """What a demo found: figures to print, the NumPy agreement, files written, notes, and
    the raw results (`values`: predictions, accuracies, ...)."""

    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    agreement: dict[str, float] = field(default_factory=dict)  # what -> max |engine - NumPy|
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # raw results, for tests and callers

    @property
    def agrees(self) -> bool:
        return all(d <= AGREEMENT_TOLERANCE for d in self.agreement.values())


def write_pictures(
    result: Result, out: Path | None, pictures: dict[str, Callable[[Path], Any]]
) -> None:
    """Call each picture maker with its path under `out`; record what was written or why not."""
    if out is None:
        return
    for filename, make in pictures.items():
        path = Path(out) / filename
        made = make(path)
        if made is None:
            result.notes.append(f"{filename}: matplotlib is not installed (pip install matplotlib)")
        elif isinstance(made, list):
            for written, note in made:
                if written.exists():
                    result.files.append(written)
                if note:
                    result.notes.append(f"{written.name}: {note}")
        else:
            result.files.append(made)


def report(result: Result) -> int:
    """Print the closing summary; 0 if the engine and NumPy agree to 1e-9, else 1."""
    print(f"\n== {result.name}: summary ==")
    width = max([len(k) for k in result.figures] + [len("NumPy agreement")])
    for key, value in result.figures.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        print(f"  {key:<{width}}  {shown}")
    for what, difference in result.agreement.items():
        verdict = "ok" if difference <= AGREEMENT_TOLERANCE else "DIFFERENT"
        print(
            f"  {'NumPy agreement':<{width}}  {what}: max |engine - NumPy| = {difference:.2e}"
            f"  ({verdict}, tolerance {AGREEMENT_TOLERANCE:g})"
        )
    for path in result.files:
        print(f"  {'wrote':<{width}}  {path}")
    for note in result.notes:
        print(f"  {'note':<{width}}  {note}")
    return 0 if result.agrees else 1
