"""What every demo shares: inputs, the training loop, pictures, the NumPy check, the report.

A demo trains its network twice from the same initial weights: once on the engine (an `nn.MLP`
built with `nn.MLP.from_weights`, run at layer grain: `net(X)` with X a (samples x features)
matrix makes each layer one node, act(X W^T + b), and the loss over the batch is one more node
(`autograd.layers.batch_loss`); `backward()` runs the core's loop over those few nodes and
`nn.optim` updates each layer's W and b) and once in the vectorized NumPy form its tutorial
writes by hand. `max_abs_difference` then says
how far apart the two ended; `report` prints every demo's closing summary in one format.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import autograd
import nn
from autograd import Value
from autograd.draw import RendererNotFoundError
from autograd.files import atomic_write
from autograd.ieee import quiet
from autograd.layers import EPS, batch_loss
from nn.plot import REGION_COLOURS, class_legend

AGREEMENT_TOLERANCE = 1e-9  # engine vs NumPy: final loss and every weight


# ---------------------------------------------------------------------------------------------
# The network is an `nn.MLP` (built with `nn.MLP.from_weights`); helpers for the demos


def parameter_arrays(net: nn.MLP) -> list[np.ndarray]:
    """[W1, b1, W2, b2, ...] as NumPy arrays, W of shape (outputs, inputs); a layer without
    biases has no b entry: the list a tutorial's NumPy form keeps."""
    arrays: list[np.ndarray] = []
    for W, b in zip(net.weight_arrays(), net.bias_arrays()):
        arrays.append(W)
        if b is not None:
            arrays.append(b)
    return arrays


def batch(X: np.ndarray, label: str = "X") -> Value:
    """A data matrix (samples x features) as a constant Value: a layer-grain network's input
    (`net(batch(X))`), made once and read by every step; no gradient is computed for it."""
    return Value(np.asarray(X, dtype=float), label, requires_grad=False)


def column(y: np.ndarray, label: str = "y") -> Value:
    """Targets, one per sample, as a constant (samples x 1) Value: what a layer-grain loss of
    a one-output network compares its (samples x 1) outputs with."""
    return batch(np.asarray(y, dtype=float).reshape(-1, 1), label)


def sample(X: np.ndarray, row: int = 0, names: str = "x") -> list[Value]:
    """Scalar input Values for one sample (for the picture of one sample's graph)."""
    return [Value(float(x), f"{names}{j + 1}") for j, x in enumerate(np.asarray(X)[row])]


#: Seconds spent training, on the engine and in each demo's own NumPy version of the same
#: training, wall clock and this process's CPU time ("engine cpu", "NumPy cpu": less moved by
#: other programs on a busy machine); `benchmarks/demos.py` reads them (the demos print them
#: when DEMOS_TIMES is set).
TIMES: dict[str, float] = {"engine": 0.0, "NumPy": 0.0, "engine cpu": 0.0, "NumPy cpu": 0.0}


@contextmanager
def timed(kind: str) -> Iterator[None]:
    """Add the seconds the block takes to TIMES[kind] ("engine" or "NumPy"), and its CPU
    seconds to TIMES[kind + " cpu"]. NumPy is quiet inside: overflow gives inf and nan without
    warnings, as on the engine."""
    start, cpu = time.perf_counter(), time.process_time()
    try:
        with quiet():
            yield
    finally:
        TIMES[kind] += time.perf_counter() - start
        TIMES[kind + " cpu"] += time.process_time() - cpu


def train(
    loss_of: Callable[[], Value],
    optimizer: nn.optim.Optimizer,
    iterations: int,
    every: int = 0,
    name: str = "loss",
) -> list[float]:
    """Train on the engine: build the loss, `optimizer.zero_grad()`, `backward()`,
    `optimizer.step()`, `iterations` times.

    Returns the loss of each iteration (before its update). Prints it every `every` steps.
    """
    losses = []
    with autograd.gc_paused(), quiet(), timed("engine"):  # (NumPy quiet once, not per node)
        for k in range(iterations):
            loss = loss_of()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.data)
            if every and (k % every == 0 or k == iterations - 1):
                print(f"  iteration {k:>6}  {name} {loss.data:.6f}")
    return losses


def binary_cross_entropy(p: Value, y: np.ndarray | float) -> Value:
    """L = -mean(y log p + (1 - y) log(1 - p)), p a probability (batched: mean over samples)."""
    per_sample = -(y * p.log() + (1.0 - y) * (1.0 - p).log())
    return per_sample.mean() if per_sample.is_batched else per_sample


class Clamp:
    """The engine's binary cross-entropy, noting the first step whose output reached its clamp.

    `batch_loss("bce", P, Y)` takes the log of q = clip(P, 1e-12, 1 - 1e-12) (`EPS`), as its loss
    is written, with gradient 0 where P is beyond; a tutorial's NumPy form (dZ = A - Y) has no
    clamp. Once an output saturates into the clamp the two trainings honestly part there.
    """

    def __init__(self) -> None:
        self.steps = 0  # calls so far: training steps, then the final evaluation
        self.first: int | None = None  # the first step at which a probability reached the clamp

    def bce(self, P: Value, Y: Value) -> Value:
        if self.first is None and (P.data.min() <= EPS or P.data.max() > 1.0 - EPS):
            self.first = self.steps
        self.steps += 1
        return batch_loss("bce", P, Y)

    def explain(
        self,
        result: Result,
        losses: Sequence[float],
        numpy_losses: Sequence[float],
        entries: Sequence[str] | None = None,
    ) -> None:
        """Mark `entries` of `result.agreement` (all, if None) as parted at the clamp when an
        output reached it at a training step k and the two loss curves agree (to 1e-9) at every
        step before it. Only from k = 2: the losses before k must have seen at least one update
        (the loss at step 1 is the first made with updated weights) for their agreement to say
        that the two trainings were the same until the clamp; and saturation first met after the
        last update (at the final evaluation) explains no difference in the weights."""
        k = self.first
        if k is None or not 2 <= k < len(losses):
            return
        if not max_abs_difference([losses[:k]], [numpy_losses[:k]]) <= AGREEMENT_TOLERANCE:
            return  # (a nan difference is no agreement either)
        for what in result.agreement if entries is None else entries:
            result.saturated[what] = k


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
    ax.contourf(gx, gy, scores > threshold, levels=[-0.5, 0.5, 1.5], colors=REGION_COLOURS[:2])
    ax.contour(gx, gy, scores - threshold, levels=[0.0], colors="k", linewidths=1)
    labels = np.unique(np.asarray(y))
    names = [f"{labels.min():g}", f"{labels.max():g}"] if len(labels) else ["0", "1"]
    class_legend(ax, X, (np.asarray(y) > threshold).astype(int), names)
    ax.set_title(title)
    return _save_figure(fig, path)


# ---------------------------------------------------------------------------------------------
# The computation graph of one sample


def sample_graph(
    result: Result,
    path: Path,
    loss_of: Callable[[int], Value],
    count: int,
    title: str,
    first: int = 0,
    **options: Any,
) -> list[tuple[Path, str]]:
    """Picture the graph of one sample's loss at the initial weights: the first sample, from
    `first` on, whose loss is not 0 (one the network already gets right, with hinge loss 0,
    would show grad 0 in every box). `loss_of(k)` builds sample k's loss with its target as a
    Value labelled `y`; `title` may name `{k}`. The summary says which sample was drawn."""
    for k in [*range(first, count), *range(first)]:
        loss = loss_of(k)
        if loss.data != 0.0:
            break
    loss.label = loss.label or "loss"
    loss.backward()
    result.figures["graph.svg shows"] = f"sample {k} (loss {loss.data:.4g} at the initial weights)"
    return render_graph(loss, path, title.format(k=k), **options)


def drawn_sample(result: Result) -> int:
    """The sample `sample_graph` drew (0 if it drew none)."""
    shown = result.figures.get("graph.svg shows", "sample 0")
    return int(shown.split()[1])


def backprop_page(
    path: Path,
    model: nn.MLP,
    X: Any,
    y: Any,
    loss: str,
    lr: float,
    sample: int = 0,
    *,
    run: int = 5,
    optimizer: Callable[[list[Value]], nn.optim.Optimizer] | None = None,
    loss_of: Callable[[nn.MLP, np.ndarray, np.ndarray], Value] | None = None,
    batches: Sequence[np.ndarray] | None = None,
    settings: str = "",
) -> Path:
    """`backprop.html`: the demo's own training, from its initial weights (`model`), recorded
    at five of its `run` steps (`nn.training_page`): `optimizer(params)` (plain SGD at `lr` if
    None: give the demo's own, with its schedule), `loss_of(net, X, y)` the batch loss each
    step minimizes (default: `loss` over the batch, layer grain, no penalty), `batches` each
    step's rows (default: every row); `settings` says how it trains, for the page."""
    params = model.parameters()
    opt = optimizer(params) if optimizer is not None else nn.optim.SGD(params, lr=lr)
    if loss_of is None:
        from autograd.layers import batch_loss

        def loss_of(net: nn.MLP, Xb: np.ndarray, yb: np.ndarray) -> Value:
            targets = batch(yb, "y") if loss == "cross_entropy" else column(yb)
            return batch_loss(loss, net(batch(Xb)), targets)

        settings = settings or f"loss: {loss} of the batch (no penalty term)"
    title = f"{path.parent.name}: its training, {run} steps"
    page = nn.training_page(
        model,
        X,
        y,
        loss,
        opt,
        5,
        sample,
        title=title,
        run=run,
        loss_of=loss_of,
        batches=batches,
        settings=settings,
    )
    return page.save(path)


def render_graph(
    root: Value, path: Path, title: str = "", full: bool = False, local_grads: bool = True
) -> list[tuple[Path, str]]:
    """Picture `root`'s graph with `autograd.render`; returns [(file, note), ...].

    `path` (.svg) has one box per neuron: `parameters=False` folds each neuron's weights and
    bias into its box, clustered by layer and neuron; `local_grads=False` leaves the local
    derivatives off its edges (for dense layers, where they would crowd). With `full`, also
    `<path>_full.svg`: every value (parameters too), each edge labelled with its local
    derivative. With no Graphviz renderer `autograd.render` writes the DOT source (`.dot`)
    instead, and the note says so.
    """
    path = Path(path)
    pictures = [(path, {"parameters": False, "local_grads": local_grads})]
    if full:
        pictures.append((path.with_name(f"{path.stem}_full{path.suffix}"), {}))
    written: list[tuple[Path, str]] = []
    for target, options in pictures:
        try:
            written.append((autograd.render(root, target, title=title or None, **options), ""))
        except RendererNotFoundError:  # the .dot source was written instead
            note = "no Graphviz renderer found (pip install graphviz-pure); wrote the DOT source"
            written.append((target.with_suffix(".dot"), note))
        except RuntimeError as error:  # the renderer failed or took too long
            written.append((target, f"not drawn: {str(error).splitlines()[0][:200]}"))
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


def add_descent_flags(p: argparse.ArgumentParser, defaults: dict[str, Any]) -> None:
    """--iterations, --lr and --seed (initial weights), defaulting to the tutorial's settings."""
    p.add_argument(
        "--iterations", type=positive_int, default=defaults["iterations"], help="training steps"
    )
    p.add_argument("--lr", type=positive_float, default=defaults["lr"], help="learning rate")
    p.add_argument("--seed", type=int, default=defaults["seed"], help="initial weights")


def parse(
    p: argparse.ArgumentParser, argv: list[str] | None, quick: dict[str, int]
) -> argparse.Namespace:
    """Parse argv; with --quick, cap each setting named in `quick` at its reduced value."""
    args = p.parse_args(argv)
    if args.quick:
        for name, limit in quick.items():
            setattr(args, name, min(getattr(args, name), limit))
    return args


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
    saturated: dict[str, int] = field(default_factory=dict)  # agreement -> step it hit the clamp

    def parted_at_clamp(self, what: str) -> bool:
        """Does agreement `what` differ only because an output saturated (see `Clamp`)?"""
        return not self.agreement[what] <= AGREEMENT_TOLERANCE and what in self.saturated

    @property
    def agrees(self) -> bool:
        """The engine and NumPy agree to 1e-9, or parted only where an output saturated."""
        return all(
            d <= AGREEMENT_TOLERANCE or what in self.saturated for what, d in self.agreement.items()
        )


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
    """Print the closing summary; 0 if the engine and NumPy agree to 1e-9 (or parted only
    where an output saturated into the cross-entropy's clamp), else 1."""
    print(f"\n== {result.name}: summary ==")
    width = max([len(k) for k in result.figures] + [len("NumPy agreement")])
    for key, value in result.figures.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        print(f"  {key:<{width}}  {shown}")
    for what, difference in result.agreement.items():
        if result.parted_at_clamp(what):
            verdict = f"the output saturated at step {result.saturated[what]}: see the note"
        else:
            verdict = "ok" if difference <= AGREEMENT_TOLERANCE else "DIFFERENT"
            verdict = f"{verdict}, tolerance {AGREEMENT_TOLERANCE:g}"
        print(
            f"  {'NumPy agreement':<{width}}  {what}: max |engine - NumPy| = {difference:.2e}"
            f"  ({verdict})"
        )
    notes = list(result.notes)
    if any(result.parted_at_clamp(what) for what in result.agreement):
        notes[:0] = [
            "the engine's cross-entropy clamps each probability to [1e-12, 1 - 1e-12], as its "
            "loss is written, and the tutorial's formula does not",
            "at this learning rate the output saturated (a probability reached the clamp; the two "
            "agree until that step), so they part there: the engine is not wrong",
        ]
    for path in result.files:
        print(f"  {'wrote':<{width}}  {path}")
    for note in notes:
        print(f"  {'note':<{width}}  {note}")
    if os.environ.get("DEMOS_TIMES"):  # (for benchmarks/demos.py)
        print(
            f"demo-times engine={TIMES['engine']!r} numpy={TIMES['NumPy']!r} "
            f"engine_cpu={TIMES['engine cpu']!r} numpy_cpu={TIMES['NumPy cpu']!r}",
            file=sys.stderr,
        )
    return 0 if result.agrees else 1
