"""A page of a training run: the run as it happened, recorded for the browser (`autograd.page`'s
player, one frame per recorded optimizer step).

`training_page` trains the model with the optimizer it is given (the demo's own: its learning
rate and schedule, momentum, Adam's moments, weight decay), on the batches it is given (full
batch, or each step's mini-batch), with the loss it is given (`loss_of`, the demo's own batch
loss with its L2 term), and records a few of the run's steps (the first ones and a spread to the
end). Per recorded step the page keeps:

- the graph of a traced sample's loss at that step's parameters, at layer grain (one box per
  layer, the edges carrying the matrix rules `S W`, `S^T X`, `S^T 1` with their shapes), and the
  same sample at neuron grain (each neuron a box, its weights folded in; every parameter too
  for networks of at most `EXPANDABLE` parameters), each with its own backward pass to step
  through; a click on a layer opens the neuron view;
- a few traced samples to choose from (`CANDIDATES`, those nearest the decision boundary that
  still have a loss at every recorded step), chosen on the page by a click on the boundary
  picture;
- the batch loss at every step so far (the loss curve), the decision regions for 2-D inputs
  (a coarse grid of the predicted class), and every parameter's value, batch gradient and the
  update the optimizer made (a table folded by layer).

It leaves out: the steps between the recorded ones (their losses only), the classic mistakes'
replays (scalar graphs of one expression), and images (the page draws its pictures from the
numbers). The exact numbers of each recorded step are on the returned page object too
(`page.training`), for tests and notebooks.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd import Value
from autograd.page import Page, frames_page, recording

from . import losses as losses_module
from .module import Module
from .optim import SGD, Adam, AdamW, Optimizer
from .train import build_loss, predict

EXPANDABLE = 200  # parameters at most for a page to carry every parameter drawn too
FRAMES = 5  # recorded optimizer steps of a long run
CANDIDATES = 4  # traced samples to choose from
REPLAY_MAX = 2000  # a longer run is recorded up to this step (the page says so)
GRID = 48  # the decision regions' grid, per side
EXPLAIN_PATHS = 2
BUDGET = 1_000_000  # bytes of deflated recording at most: a page of about 1.4 MB in base64


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
    *,
    run: int | None = None,
    loss_of: Callable[[Module, np.ndarray, np.ndarray], Value] | None = None,
    batches: Sequence[np.ndarray] | None = None,
    settings: str = "",
    candidates: int = CANDIDATES,
) -> Page:
    """Train `model` (it is trained: the page records what happened) and record it for a page.

    Without `run`: `steps` optimizer steps, each recorded. With `run` (the length of the
    training being shown): the model trains up to the last recorded step, `steps` steps
    recorded from 1 to min(run, REPLAY_MAX), the first ones and a spread to the end.
    `optimizer`: the one that trains (SGD(lr=0.1) if None), its schedule counted from this
    model's first step. `loss_of(model, X_batch, y_batch)`: the batch loss each step minimizes
    (default: `loss` over the batch plus `l2` times every parameter squared). `batches`: the
    rows of each step (default: every row). `loss` also gives each traced sample's own loss
    (no penalty). `settings`: words for the page on how the run trains (loss, L2, batch).
    """
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
    if loss_of is None:

        def loss_of(net: Module, Xb: np.ndarray, yb: np.ndarray) -> Value:
            return build_loss(net, Xb, yb, loss_fn, l2, True, params)[0]

    length = int(run) if run is not None else int(steps)
    recorded = _frame_steps(int(steps), length) if run is not None else list(range(1, steps + 1))
    last = recorded[-1]
    if batches is not None and len(batches) < last:
        raise ValueError(f"batches gives {len(batches)} steps' rows, the page needs {last}")

    # the run: every step as the optimizer takes it; the recorded ones kept in full
    numbers = _numbers(model)  # every parameter one number at a time, for the table
    history: list[float] = []
    kept: dict[int, dict] = {}
    for step in range(1, last + 1):
        rows = np.arange(len(X)) if batches is None else np.asarray(batches[step - 1])
        whole = len(rows) == len(X)
        total = loss_of(model, X if whole else X[rows], y if whole else y[rows])
        optimizer.zero_grad()
        total.backward()
        history.append(float(total.data))
        if step in recorded:
            snapshot = [p.data for p in params]  # (each step gives a parameter a new array)
            before = np.array([p.data for p in numbers])
            grads = np.array([p.grad for p in numbers])
        optimizer.step()
        if step in recorded:
            kept[step] = {
                "snapshot": snapshot,
                "before": before,
                "grads": grads,
                "updates": np.array([p.data for p in numbers]) - before,
                "lr": optimizer.lr,
                "batch": len(rows),
                "loss": float(total.data),
            }
    final = [p.data for p in params]

    # the traced samples: near the boundary, with a loss at every recorded step
    try:
        per_step = []
        for step in recorded:
            _load(params, kept[step]["snapshot"])
            scores = predict(model, X)
            per_step.append((scores, _sample_losses(loss, scores, y)))
        chosen = _candidates(per_step, X, y, sample, candidates)
        default = sample if sample in chosen else chosen[0]
        lossy = all(float(step_losses[k]) > 1e-12 for _, step_losses in per_step for k in chosen)
        frames = []
        for step in recorded:
            _load(params, kept[step]["snapshot"])
            frames.append(_frame(model, X, y, loss, loss_fn, chosen, step, kept[step]))
            frames[-1]["grid"] = _regions(model, X, y) if X.shape[1] == 2 else ""

        def neuron_views(f: int, s: int) -> dict:
            _load(params, kept[recorded[f]]["snapshot"])
            one = _sample_loss(model, X, y, loss, loss_fn, s, "neuron")
            views = {
                "neuron": recording(
                    one, EXPLAIN_PATHS, mistakes=False, parameters=False, local_grads=False
                )
            }
            if len(numbers) <= EXPANDABLE:
                views["full"] = recording(one, EXPLAIN_PATHS, mistakes=False)
            for view in views.values():
                view["title"] = frames[f]["samples"][str(s)]["layer"]["title"]
                _round_questions(view)
            return views

        kept_note = _within_budget(frames, chosen, default, neuron_views)
    finally:
        _load(params, final)
    training = {
        "run": length,
        "recorded": recorded,
        "replayed": last,
        "samples": chosen,
        "default": default,
        "neuronsKept": kept_note,
        "samplesNote": "each has a loss at every recorded step; those nearest the decision boundary"
        if lossy
        else "none has a loss at every recorded step: these have one at the most steps, "
        "nearest the decision boundary",
        "about": _about(optimizer, settings, loss, l2, batches, len(X), length, recorded)
        + [
            f"this page keeps: at each recorded step the graphs of {len(chosen)} traced "
            f"samples at layer grain (their neuron views {kept_note.removeprefix('kept ')}), "
            + ("the decision regions, " if X.shape[1] == 2 else "")
            + "every parameter's value, batch gradient and update; the "
            "batch loss of every step; it leaves out the other steps' graphs and parameters"
        ],
        "history": [f"{v:.4g}" for v in history],
        "historyValues": [_num(v) for v in history],
        "layers": _groups(numbers),
        "points": _points(X, y) if X.shape[1] == 2 else None,
    }
    name = title or f"training, {len(recorded)} recorded steps"
    page = frames_page(frames, name, training=training)
    page.training = {  # the exact numbers, for tests and notebooks
        "steps": recorded,
        "samples": chosen,
        "names": [p.label for p in numbers],
        "before": [kept[s]["before"] for s in recorded],
        "grads": [kept[s]["grads"] for s in recorded],
        "updates": [kept[s]["updates"] for s in recorded],
        "lr": [kept[s]["lr"] for s in recorded],
        "loss": history,
    }
    return page


def _size(thing: Any) -> int:
    """Bytes of `thing` in the page's recording (JSON, deflated; about 3/4 of its base64)."""
    return len(zlib.compress(json.dumps(thing, separators=(",", ":")).encode("utf-8"), 6))


def _within_budget(frames: list[dict], chosen: list[int], default: int, make: Any) -> str:
    """Add the neuron views (and every-parameter views) that fit in BUDGET, each made by
    `make(frame, sample)`: the default sample's at every step first; then the other samples'
    step by step without their quiz and paths (a view to open at every step matters more);
    then, while there is room, those with their quiz. Returns what is kept, in words."""
    used = sum(
        _size({k: v for k, v in frame.items() if k != "samples"})
        + sum(_size(views["layer"]) for views in frame["samples"].values())
        for frame in frames
    )
    steps = [frame["step"] for frame in frames]
    kept: dict[int, list[int]] = {}
    for f in range(len(frames)):
        views = make(f, default)
        extra = sum(_size(view) for view in views.values())
        if used + extra > BUDGET:
            break
        used += extra
        frames[f]["samples"][str(default)].update(views)
        kept.setdefault(default, []).append(steps[f])
    waiting = []  # (frame, sample, its full views, the size of its light one)
    for f in range(len(frames)):
        for s in chosen:
            if s == default:
                continue
            views = make(f, s)
            light = _without_quiz(views["neuron"], default)
            extra = _size(light)
            if used + extra > BUDGET:
                break
            used += extra
            frames[f]["samples"][str(s)]["neuron"] = light
            kept.setdefault(s, []).append(steps[f])
            waiting.append((f, s, views, extra))
        else:
            continue
        break
    light_ones: dict[int, list[int]] = {}
    for f, s, views, extra in waiting:  # the quiz back, where it fits
        more = sum(_size(view) for view in views.values()) - extra
        if used + more <= BUDGET:
            used += more
            frames[f]["samples"][str(s)].update(views)
        else:
            light_ones.setdefault(s, []).append(steps[f])

    def at(got: list[int]) -> str:
        return "every step" if got == steps else "steps " + ", ".join(map(str, got))

    parts = [f"sample {s} at {at(got)}" for s, got in kept.items()]
    said = "kept for " + "; ".join(parts) if parts else "none kept: the network is too large"
    if light_ones:
        said += (
            " (without their quiz and paths: "
            + "; ".join(f"sample {s} at {at(got)}" for s, got in light_ones.items())
            + ")"
        )
    return said


def _without_quiz(view: dict, default: int) -> dict:
    """A neuron view for a page short of room: its steps without their questions, and no
    paths (the page says where the quiz is)."""
    light = dict(view, paths={}, steps=[dict(step, edges=[]) for step in view["steps"]])
    light["noQuiz"] = (
        "(this view keeps no quiz, to keep the page small: sample "
        f"{default}'s neuron view has it at every step)"
    )
    return light


def _round_questions(view: dict) -> None:
    """A neuron view's quiz, smaller: its numbers to 9 digits (the quiz checks to a thousandth),
    and each question's line left out where the page finds it in its step's text (the page's
    `lineOf`: the step's lines for that parent, in the order of its edges)."""
    for step in view["steps"]:
        lines = [" ".join(line.split()) for line in step["text"].split("\n")]
        for k, edge in enumerate(step["edges"]):
            for key in ("after", "local", "upstream", "before", "prior", "data"):
                if isinstance(edge.get(key), float):
                    edge[key] = float(f"{edge[key]:.9g}")
            mine = [line for line in lines if line.startswith(edge["name"] + ".grad ")]
            before = sum(1 for q in step["edges"][:k] if q["name"] == edge["name"])
            if before < len(mine) and mine[before] == edge["explain"]:
                del edge["explain"]


def _frame_steps(count: int, run: int) -> list[int]:
    """`count` steps of a run of `run` (at most REPLAY_MAX): 1 and 2, then spread evenly on a
    log scale to the last."""
    last = min(run, REPLAY_MAX)
    if last <= count:
        return list(range(1, last + 1))
    chosen = [1, 2]
    rest = np.geomspace(2, last, count - 1)[1:]
    for value in rest:
        step = max(int(round(value)), chosen[-1] + 1)
        chosen.append(step)
    chosen[-1] = last
    return sorted(set(chosen))


def _load(params: list[Value], arrays: list[Any]) -> None:
    for p, a in zip(params, arrays):
        p.data = a


def _num(x: float) -> float | str:
    return x if math.isfinite(x) else repr(x)


def _sample_losses(loss: Any, scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each sample's own loss (no penalty) from the network's outputs, vectorized."""
    with np.errstate(all="ignore"):
        if loss == "cross_entropy":
            z = scores.reshape(len(y), -1)
            m = z.max(axis=1, keepdims=True)
            log_sum = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
            return log_sum - z[np.arange(len(y)), y.astype(int)]
        s = scores.reshape(len(y), -1)[:, 0] if scores.ndim == 2 else scores
        t = y.reshape(len(y), -1)[:, 0]
        if loss == "hinge":
            return np.maximum(0.0, 1.0 - t * s)
        if loss == "bce":
            q = np.clip(s, 1e-12, 1 - 1e-12)
            return -(t * np.log(q) + (1 - t) * np.log(1 - q))
        return (s - t) ** 2  # mse, sse and any other: the squared error ranks alike


def _margins(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """How far each sample is from the decision boundary (small: near it)."""
    if scores.ndim == 2 and scores.shape[1] > 1:
        top = np.sort(scores, axis=1)
        return top[:, -1] - top[:, -2]
    s = scores.reshape(len(y), -1)[:, 0] if scores.ndim == 2 else scores
    return np.abs(s - (float(np.min(y)) + float(np.max(y))) / 2)


def _classes(y: np.ndarray) -> np.ndarray:
    if y.ndim == 1 and np.all(y == np.round(y)) and len(np.unique(y)) > 2:
        return y.astype(int)
    return (y.reshape(len(y), -1)[:, 0] > (np.min(y) + np.max(y)) / 2).astype(int)


def _candidates(per_step: list, X: np.ndarray, y: np.ndarray, sample: int, count: int) -> list[int]:
    """A few samples to trace: nearest the boundary at the last recorded step among those with
    a loss at every recorded step, taking the classes in turn, each apart from the others (a
    tenth of the data's extent, where there are enough); `sample` first if it has one."""
    losses = np.array([step_losses for _, step_losses in per_step])
    alive = np.all(losses > 1e-12, axis=0) & np.all(np.isfinite(losses), axis=0)
    if not alive.any():  # every sample reaches loss 0 somewhere: those with a loss at the most
        counts = (losses > 1e-12).sum(axis=0)
        alive = counts == counts.max()
    order = [int(k) for k in np.argsort(_margins(per_step[-1][0], y), kind="stable") if alive[k]]
    classes = _classes(y)
    queues: dict[int, list[int]] = {}
    for k in order:
        queues.setdefault(int(classes[k]), []).append(k)
    chosen = [sample] if alive[sample] else []
    apart = 0.1 * float(np.max(np.ptp(X, axis=0))) if len(X) > 4 * count else 0.0
    for gap in (apart, 0.0):  # apart first; if too few are, any
        waiting = {c: list(q) for c, q in queues.items()}
        while len(chosen) < min(count, len(order)) and any(waiting.values()):
            for queue in waiting.values():
                while queue and (
                    queue[0] in chosen
                    or any(np.linalg.norm(X[queue[0]] - X[c]) < gap for c in chosen)
                ):
                    queue.pop(0)
                if queue and len(chosen) < count:
                    chosen.append(queue.pop(0))
    return chosen or [sample]


def _frame(
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    loss: str,
    loss_fn: Any,
    chosen: list[int],
    step: int,
    kept: dict,
) -> dict:
    """One recorded step: each traced sample's graph at layer grain (the neuron views are
    added within the budget), the table's numbers, the step's facts."""
    samples = {}
    for s in chosen:
        layer_loss = _sample_loss(model, X, y, loss, loss_fn, s, "layer")
        view = recording(layer_loss, EXPLAIN_PATHS, mistakes=False)
        view["title"] = (
            f"sample {s}'s loss at optimizer step {step} (its loss {layer_loss.data:.4g}; "
            f"the batch's {kept['loss']:.4g})"
        )
        samples[str(s)] = {"layer": view}
    return {
        "step": step,
        "lr": f"{kept['lr']:.4g}",
        "batch": kept["batch"],
        "loss": f"{kept['loss']:.6g}",
        "samples": samples,
        "table": [
            [f"{v:.6g}" for v in kept["before"]],
            [f"{v:.6g}" for v in kept["grads"]],
            [f"{v:+.6g}" for v in kept["updates"]],
        ],
    }


def _sample_loss(
    model: Module, X: np.ndarray, y: np.ndarray, loss: str, loss_fn: Any, s: int, grain: str
) -> Value:
    """Sample s's own loss (no penalty), its network at `grain`."""
    if grain == "layer":
        out = model(Value(X[s : s + 1], "x", requires_grad=False), grain="layer")
        target: Any = [int(y[s])] if loss == "cross_entropy" else np.array([float(y[s])])
        one = loss_fn(out, target)
    else:
        # the inputs are constants, as X is at layer grain: the pass goes to the parameters
        out = model([Value(float(v), f"x{j + 1}", requires_grad=False) for j, v in enumerate(X[s])])
        if loss == "cross_entropy":
            one = loss_fn([out], [int(y[s])])
        else:
            one = loss_fn(out, Value(float(y[s]), "y"))
    one.label = "loss"
    return one


def _numbers(model: Module) -> list[Value]:
    """A network's parameters at neuron grain (`L1.N1.w1`, ...): views of its layers' arrays."""
    layers = getattr(model, "layers", None)
    if layers is None:
        return model.parameters()
    return [p for layer in layers for neuron in layer.neurons for p in neuron.parameters()]


def _groups(numbers: list[Value]) -> list[dict]:
    """The parameters' names by layer (`L1`: `L1.N1.w1`, ...), in the table's order."""
    groups: list[dict] = []
    for k, p in enumerate(numbers):
        layer = p.label.split(".", 1)[0] if "." in p.label else "parameters"
        if not groups or groups[-1]["layer"] != layer:
            groups.append({"layer": layer, "start": k, "names": []})
        groups[-1]["names"].append(p.label)
    return groups


def _points(X: np.ndarray, y: np.ndarray) -> dict:
    """The data for the boundary picture: the extent, each point and its class."""
    return {
        "box": _points_box(X),
        "xy": [[round(float(a), 4), round(float(b), 4)] for a, b in X],
        "class": [int(c) for c in _classes(y)],
    }


def _regions(model: Module, X: np.ndarray, y: np.ndarray) -> str:
    """The predicted class on a GRID x GRID grid over the picture, row by row from the top,
    one digit (0-9, then letters) per cell."""
    box = _points_box(X)
    xs = np.linspace(box[0], box[2], GRID)
    ys = np.linspace(box[3], box[1], GRID)
    gx, gy = np.meshgrid(xs, ys)
    scores = predict(model, np.column_stack([gx.ravel(), gy.ravel()]))
    if scores.ndim == 2 and scores.shape[1] > 1:
        classes = np.argmax(scores, axis=1)
    else:
        s = scores.reshape(-1)
        classes = (s > (float(np.min(y)) + float(np.max(y))) / 2).astype(int)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    return "".join(digits[int(c) % len(digits)] for c in classes)


def _points_box(X: np.ndarray) -> list[float]:
    low, high = X.min(axis=0), X.max(axis=0)
    pad = 0.15 * (high - low) + 1e-9
    return [float(low[0] - pad[0]), float(low[1] - pad[1]), float(high[0] + pad[0]),
            float(high[1] + pad[1])]  # fmt: skip


def describe_optimizer(optimizer: Optimizer) -> str:
    """The optimizer in words: its kind and every setting that changes a step."""
    kind = type(optimizer).__name__
    parts = [f"lr {optimizer.base_lr:g}"]
    if isinstance(optimizer, SGD) and optimizer.momentum:
        parts.append(f"momentum {optimizer.momentum:g}")
    if isinstance(optimizer, Adam):
        b1, b2 = optimizer.betas
        parts.append(f"betas ({b1:g}, {b2:g}), eps {optimizer.eps:g}")
    if isinstance(optimizer, AdamW):
        parts.append(f"weight decay {optimizer.weight_decay:g}")
    if optimizer.lr_schedule is not None:
        parts.append("a learning-rate schedule (lr at each step below)")
    return f"{kind}({', '.join(parts)})"


def _about(
    optimizer: Optimizer,
    settings: str,
    loss: Any,
    l2: float,
    batches: Any,
    rows: int,
    run: int,
    recorded: list[int],
) -> list[str]:
    """What the page says about the run, line by line."""
    lines = [f"optimizer: {describe_optimizer(optimizer)}"]
    if settings:
        lines.append(settings)
    else:
        lines.append(f"loss: {loss}" + (f" + {l2:g} x every parameter squared" if l2 else ""))
    lines.append(
        f"batch: every step sees all {rows} samples"
        if batches is None
        else "batch: each step's own mini-batch, as the run draws them"
    )
    shown = ", ".join(map(str, recorded))
    if recorded[-1] < run:
        lines.append(
            f"recorded: steps {shown} of the run's {run} (the page replays the first "
            f"{recorded[-1]}; the loss curve has every step up to there)"
        )
    else:
        lines.append(f"recorded: steps {shown} of the run's {run}")
    return lines
