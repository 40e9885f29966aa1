"""Speed, side by side in one run: `nn.fit`'s step at layer grain against a lean hand-written
NumPy step, the textbook NumPy network (`nn.reference`) and PyTorch eager.

    python benchmarks/speed.py --torch-python /tmp/torchvenv/bin/python   # a few minutes
    python benchmarks/speed.py --quick                                     # a smoke run
    python benchmarks/speed.py --grid-only      # only the grid;  --no-grid: only the first table

A step is one full-batch training step of MLP(2, [w, w, 1]) (relu, relu, linear) on two-moons
points: forward, hinge loss + 1e-4 * (every W and b squared), backward, SGD (learning rate
0.05), from the same initial weights everywhere. `nn.fit`'s step is built as `nn.fit` builds it
(`nn.train.build_loss`, layer grain: each layer one node act(X W^T + b), the hinge one node,
the L2 penalty one node, `backward()`, `nn.optim.SGD`), with the cyclic collector paused as
`nn.fit` pauses it.

First table, 100 points, width 16 (ms per step): the classic closure engine
(`benchmarks/classic.py`, one graph per sample), this engine at neuron grain one graph per
sample (fused neurons, and the taught neurons of `*`, `+` and relu), `nn.fit`'s layer-grain
step, the lean NumPy step, the bare design (`benchmarks/bare.py`), `nn.reference` and PyTorch
(the four in-process steps of a fraction of a millisecond interleaved, as in the grid); then
each one's first-step gradient against the lean step's.

The grid (issue 21): widths 16, 64, 256 by batches of 100 to 100,000 samples. In each cell the
in-process steps (ours, lean NumPy, the bare design, `nn.reference`) are interleaved, one step
of each in turn, so a busy machine slows them alike; PyTorch (float64, one thread, its own
Python via `--torch-python`: it is never a dependency of the project) runs the same cells in a
subprocess. Medians per cell; ratios ours / PyTorch, ours / lean NumPy, and the split of the
latter: bare design / lean NumPy (what a node per layer costs at all) and ours / bare design
(what the engine adds around each node). The lean step is `lean_numpy_step` below: the samples
x features layout of the layer nodes, the NumPy calls a careful hand-written step makes,
gradients accumulated and SGD applied in place.

Also printed: the BLAS library and kernel NumPy runs (`OPENBLAS_CORETYPE` and threadpoolctl's
report when it is installed, else `np.show_config()`'s). NumPy's BLAS runs one thread, as
PyTorch's does, unless OPENBLAS_NUM_THREADS says otherwise.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

# NumPy's BLAS runs one thread, as PyTorch does here (set OPENBLAS_NUM_THREADS to choose): on a
# machine of few cores a second BLAS thread competes with everything else and its waits, not
# the arithmetic, set the time.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

L2 = 1e-4
LEARNING_RATE = 0.05
SEED = 0
WIDTHS = (16, 64, 256)
BATCHES = (100, 1_000, 10_000, 100_000)
QUICK_BATCHES = (100, 1_000)

Step = Callable[[], float]


# -- data and initial weights (shared by every engine) ----------------------------------------


def moons(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles with N(0, 0.1^2) noise; labels -1 / +1 (hinge loss)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, math.pi, n // 2)
    u = np.linspace(0.0, math.pi, n - n // 2)
    X = np.concatenate([np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(u), 0.5 - np.sin(u)]])
    X = X + rng.normal(0.0, 0.1, X.shape)
    y = np.concatenate([-np.ones(n // 2), np.ones(n - n // 2)])
    order = rng.permutation(n)
    return X[order], y[order]


def sizes_of(width: int) -> list[int]:
    return [2, width, width, 1]


def initial_weights(width: int, seed: int = SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer (W (n_out, n_in), b (n_out,)) of MLP(2, [w, w, 1]): W ~ U(-1, 1) / sqrt(n_in)
    (so that wide networks start with outputs of order 1), b = 0."""
    rng = np.random.default_rng(seed)
    sizes = sizes_of(width)
    return [
        (rng.uniform(-1.0, 1.0, (n_out, n_in)) / math.sqrt(n_in), np.zeros(n_out))
        for n_in, n_out in zip(sizes[:-1], sizes[1:])
    ]


# -- the steps: each returns (step, first-step gradient in parameter_vector order) -------------


def nn_model(width: int, fused: bool = True):
    from nn import MLP

    weights = initial_weights(width)
    activations = ["relu", "relu", "linear"]
    return MLP.from_weights([W for W, _ in weights], [b for _, b in weights], activations, fused)


def nn_step(width: int, X: np.ndarray, y: np.ndarray, batched: bool = True, fused: bool = True):
    """`nn.fit`'s step, `nn.train.step` as `fit` calls it: `build_loss` (layer grain when
    `batched`, the data and targets made constants once as `fit` makes them; else one
    neuron-grain graph per sample, with fused or taught neurons), zero_grad, backward, SGD."""
    from autograd import Value
    from nn import losses, optim, train

    Xc = Value(X, "X", requires_grad=False) if batched else X
    yc = train.constant_targets(y) if batched else y

    def make():
        model = nn_model(width, fused)
        optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)
        penalized = model.parameters()

        def step() -> float:
            loss = train.step(
                model, Xc, yc, losses.hinge, optimizer, L2, batched, parameters=penalized
            )[0]
            return loss.data

        return model, step

    model, _ = make()
    loss = train.build_loss(model, X, y, losses.hinge, L2, batched)[0]
    loss.backward()
    return make()[1], model.gradient_vector()


def lean_numpy_step(width: int, X: np.ndarray, y: np.ndarray):
    """The lean hand-written step, samples as rows: Z = A W^T + b, relu; the hinge's gradient
    by np.where; G's products S^T A, 1^T S, S W; L2's 2 alpha p; SGD in place."""
    params = [a.copy() for W, b in initial_weights(width) for a in (W, b)]
    Y = y.reshape(-1, 1)
    n = len(y)
    ones = np.ones(n)

    def loss_and_grads(params: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
        W1, b1, W2, b2, W3, b3 = params
        Z1 = X @ W1.T
        Z1 += b1
        A1 = np.maximum(Z1, 0.0)
        Z2 = A1 @ W2.T
        Z2 += b2
        A2 = np.maximum(Z2, 0.0)
        S = A2 @ W3.T
        S += b3
        margin = 1.0 - Y * S
        loss = float(np.maximum(margin, 0.0).sum()) / n
        loss += L2 * sum(float(p.ravel() @ p.ravel()) for p in params)
        G3 = np.where(margin > 0.0, -Y / n, 0.0)
        G2 = (G3 * W3) * (Z2 > 0.0)  # one output neuron: a broadcast, not a product
        G1 = (G2 @ W2) * (Z1 > 0.0)
        grads = [G1.T @ X, ones @ G1, G2.T @ A1, ones @ G2, G3.T @ A2, ones @ G3]
        for g, p in zip(grads, params):
            g += (2.0 * L2) * p
        return loss, grads

    def step() -> float:
        loss, grads = loss_and_grads(params)
        for p, g in zip(params, grads):
            g *= LEARNING_RATE
            p -= g
        return loss

    fresh = [a.copy() for W, b in initial_weights(width) for a in (W, b)]
    _, grads = loss_and_grads(fresh)
    return step, np.concatenate([g.ravel() for g in grads])


def bare_design_step(width: int, X: np.ndarray, y: np.ndarray):
    """The same step by `bare.py`: issue 21's design (a node per layer, the core's loop) with
    none of what the engine adds around its nodes (checks, records, modes, modules)."""
    import bare

    activations = ["relu", "relu", "linear"]
    step = bare.bare_step(initial_weights(width), X, y, activations, L2, LEARNING_RATE)[0]
    _, params, loss_of = bare.bare_step(initial_weights(width), X, y, activations, L2, 0.0)
    with np.errstate(all="ignore"):
        bare.backward(loss_of())
    return step, np.concatenate([p.grad.ravel() for p in params])


def reference_step(width: int, X: np.ndarray, y: np.ndarray):
    """The same step by `nn.reference.ReferenceMLP` (the textbook's (features, samples) form)."""
    from nn.reference import ReferenceMLP

    def make():
        parameters = {}
        for index, (W, b) in enumerate(initial_weights(width), start=1):
            parameters[f"W{index}"], parameters[f"b{index}"] = W.copy(), b.reshape(-1, 1).copy()
        return ReferenceMLP(parameters, ["relu", "relu", "linear"])

    model = make()

    def step() -> float:
        cost, grads = model.loss_and_grads(X, y, "hinge", L2)
        model.update_parameters_with_gd(grads, LEARNING_RATE)
        return cost

    return step, make().loss_and_gradients(X, y, "hinge", L2)[1]


def classic_step(width: int, X: np.ndarray, y: np.ndarray):
    """The classic closure engine (`benchmarks/classic.py`): one graph per sample, neurons of
    `*` and `+`, micrograd's L2 (a node per number)."""
    from benchmarks import classic

    def make():
        return [
            [
                ([classic.Value(float(w)) for w in W[j]], classic.Value(float(b[j])))
                for j in range(len(b))
            ]
            for W, b in initial_weights(width)
        ]

    rows, labels = X.tolist(), y.tolist()

    def loss_of(layers):
        scores = []
        for row in rows:
            h = row
            for index, layer in enumerate(layers):
                h = [sum((w * x for w, x in zip(ws, h)), b) for ws, b in layer]
                h = h if index == len(layers) - 1 else [z.relu() for z in h]
            scores.append(h[0])
        margins = [(1 + -label * s).relu() for label, s in zip(labels, scores)]
        params = [p for layer in layers for ws, b in layer for p in (*ws, b)]
        return sum(margins) * (1.0 / len(margins)) + L2 * sum(p * p for p in params), params

    layers = make()

    def step() -> float:
        loss, params = loss_of(layers)
        for p in params:
            p.grad = 0.0
        loss.backward()
        for p in params:
            p.data -= LEARNING_RATE * p.grad
        return loss.data

    fresh = make()
    loss, _ = loss_of(fresh)
    loss.backward()
    flat = []  # W row by row then b, layer by layer
    for layer in fresh:
        flat += [w.grad for ws, _ in layer for w in ws] + [b.grad for _, b in layer]
    return step, np.array(flat)


def torch_step(width: int, X: np.ndarray, y: np.ndarray):
    """The same step in PyTorch eager (float64; the caller sets one thread)."""
    import torch

    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)

    def make():
        return [
            torch.tensor(a, dtype=torch.float64, requires_grad=True)
            for W, b in initial_weights(width)
            for a in (W, b)
        ]

    def loss_of(params):
        h = Xt
        for index in range(3):
            h = h @ params[2 * index].T + params[2 * index + 1]
            if index < 2:
                h = torch.relu(h)
        return torch.relu(1.0 - yt * h[:, 0]).mean() + L2 * sum((p * p).sum() for p in params)

    params = make()

    def step() -> float:
        loss = loss_of(params)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LEARNING_RATE * p.grad
        return float(loss)

    fresh = make()
    loss_of(fresh).backward()
    return step, np.concatenate([p.grad.numpy().ravel() for p in fresh])


# -- measuring --------------------------------------------------------------------------------


def even_out_the_allocator() -> None:
    """Free one 24 MB array, so that glibc's malloc serves later arrays of up to 24 MB from its
    heap in every process measured (ours, NumPy, PyTorch alike): without it a cell's time
    depended on the cells run before it (glibc raises its mmap threshold to the largest block
    freed; blocks above it are fresh pages, paid in page faults each time)."""
    block = np.ones(3_000_000)
    del block


def interleaved_ms(
    steps: dict[str, Step], budget: float, cap: int = 1000, rounds: int = 3, warmup: bool = True
) -> dict[str, float]:
    """Median ms per step of each step function, run in turn (one step of each per round):
    one warm-up round, then at least `rounds` rounds and about `budget` seconds in all."""
    for step in steps.values() if warmup else ():
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    began = time.perf_counter()
    done = 0
    while done < rounds or (time.perf_counter() - began < budget and done < cap):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
        done += 1
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def paused(step: Step) -> Step:
    """The step with the cyclic collector paused (as nn.fit runs its loop), then restored."""
    import autograd

    def run() -> float:
        with autograd.gc_paused():
            return step()

    return run


def measure_grid(batches: tuple[int, ...], budget: float) -> dict[str, dict[str, float]]:
    """{cell: {"ours", "lean", "bare", "reference": ms}}, the four interleaved in each cell."""
    even_out_the_allocator()
    cells = {}
    for width in WIDTHS:
        for batch in batches:
            X, y = moons(batch)
            steps = {
                "ours": paused(nn_step(width, X, y)[0]),
                "lean": lean_numpy_step(width, X, y)[0],
                "bare": bare_design_step(width, X, y)[0],
                "reference": reference_step(width, X, y)[0],
            }
            cells[f"{width}x{batch}"] = interleaved_ms(steps, budget)
            del steps
            gc.collect()
    return cells


def measure_torch_grid(batches: tuple[int, ...], budget: float) -> dict:
    import torch

    torch.set_num_threads(1)
    even_out_the_allocator()
    cells = {}
    for width in WIDTHS:
        for batch in batches:
            X, y = moons(batch)
            cells[f"{width}x{batch}"] = interleaved_ms(
                {"torch": torch_step(width, X, y)[0]}, budget
            )["torch"]
    X, y = moons(100)
    grads = torch_step(16, X, y)[1].tolist()
    return {"version": torch.__version__, "blas": torch_blas(), "cells": cells, "grads": grads}


def torch_blas() -> str:
    import torch

    shown = torch.__config__.show().replace(",", "\n").splitlines()
    found = [part.strip(" -") for part in shown if "BLAS_INFO" in part or "CPU capability" in part]
    return ", ".join(found) or "unknown"


def torch_grid(python: str | None, batches: tuple[int, ...], budget: float) -> dict | None:
    """PyTorch's cells: here if torch imports, else in `python` (a subprocess); None if neither."""
    try:
        import torch  # noqa: F401

        return measure_torch_grid(batches, budget)
    except ImportError:
        pass
    if not python:
        return None
    command = [python, os.path.abspath(__file__), "--torch-grid", "--budget", str(budget)]
    command += ["--batches", ",".join(map(str, batches))]
    command += ["--widths", ",".join(map(str, WIDTHS))]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as error:
        print(f"(PyTorch skipped: {python} failed: {error})", file=sys.stderr)
        return None


# -- reporting --------------------------------------------------------------------------------


def blas_report() -> list[str]:
    """What BLAS NumPy runs here, and which kernel (OPENBLAS_CORETYPE, threadpoolctl)."""
    lines = [f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(not set)')}"]
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                lines.append(
                    f"threadpoolctl: {pool.get('internal_api')} {pool.get('version')}, kernel "
                    f"{pool.get('architecture')}, {pool.get('num_threads')} threads "
                    f"({os.path.basename(pool.get('filepath', ''))})"
                )
    except ImportError:
        config = (
            np.show_config(mode="dicts") if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else {}
        )
        blas = config.get("Build Dependencies", {}).get("blas", {})
        lines.append(f"np.show_config(): blas {blas.get('name')} {blas.get('version')}")
    return lines


def first_table(torch: dict | None, steps: int, budget: float, quick: bool) -> None:
    """100 points, width 16: every engine's step and its first-step gradient."""
    X, y = moons(100)
    width = 16
    made = {
        "classic closure engine, one graph per sample": classic_step(width, X, y),
        "nn, neuron grain, one graph per sample (fused)": nn_step(width, X, y, batched=False),
        "nn, neuron grain, per sample, taught neurons": nn_step(
            width, X, y, batched=False, fused=False
        ),
        "nn.fit's step, layer grain (the default)": nn_step(width, X, y),
        "lean NumPy step": lean_numpy_step(width, X, y),
        "issue 21's design, bare (benchmarks/bare.py)": bare_design_step(width, X, y),
        "NumPy reference (nn.reference, textbook)": reference_step(width, X, y),
    }
    ms: dict[str, float] = {}
    fast = {}  # the steps of a fraction of a millisecond: interleaved, as in the grid's cells
    for label, (step, _) in made.items():
        run = paused(step) if label.startswith("nn") else step
        if not label.startswith(("classic", "nn, neuron")):
            fast[label] = run
            continue
        rounds, warmup = (1, False) if quick else (3, True)  # (a second or so a step)
        ms[label] = interleaved_ms({label: run}, 0.0, steps, rounds, warmup)[label]
    ms.update(interleaved_ms(fast, budget, steps))
    ms = {label: ms[label] for label in made}
    grads = {label: g for label, (_, g) in made.items()}
    if torch is not None and f"{width}x100" in torch["cells"]:
        label = f"PyTorch {torch['version']} eager, float64, 1 thread"
        ms[label] = torch["cells"][f"{width}x100"]
        grads[label] = np.array(torch["grads"])
    lean = ms["lean NumPy step"]
    ours = ms["nn.fit's step, layer grain (the default)"]
    oracle = grads["lean NumPy step"]
    print(
        f"One step of MLP(2, [16, 16, 1]) on 100 moons points, hinge + {L2:g} L2, SGD: median ms "
        "per step;\nthe last column: the first step's gradient, max |difference| from the lean "
        "NumPy step's."
    )
    header = f"{'':<50} {'ms':>9} {'/ lean NumPy':>13} {'ours / this':>12} {'gradient':>9}"
    print(header)
    print("-" * len(header))
    for label, t in ms.items():
        difference = float(np.max(np.abs(grads[label] - oracle)))
        print(f"{label:<50} {t:>9.3f} {t / lean:>12.3g}x {ours / t:>11.3g}x {difference:>9.1e}")


def print_grid(batches: tuple[int, ...], budget: float, torch: dict | None, began: float) -> None:
    cells = measure_grid(batches, budget)
    header = f"  {'width':<7}" + "".join(f"{b:>11,}" for b in batches)

    def table(title: str, value: Callable[[str], str]) -> None:
        print(f"\n  {title}")
        print(header)
        for width in WIDTHS:
            print(f"  {width:<7}" + "".join(f"{value(f'{width}x{b}'):>11}" for b in batches))

    print(
        "\nThe grid: nn.fit's step (MLP(2, [w, w, 1]), layer grain, hinge + 1e-4 L2, SGD) by "
        "width and batch;\nours, the lean NumPy step, the bare design (bare.py) and nn.reference "
        "interleaved in each cell"
        + (
            f"; PyTorch {torch['version']} eager (float64, 1 thread) in its own process"
            if torch
            else ""
        )
        + "."
    )
    table("ours, ms per step", lambda key: f"{cells[key]['ours']:.3f}")
    table("lean NumPy, ms per step", lambda key: f"{cells[key]['lean']:.3f}")
    table("bare design, ms per step", lambda key: f"{cells[key]['bare']:.3f}")
    table("nn.reference, ms per step", lambda key: f"{cells[key]['reference']:.3f}")
    if torch:
        table("PyTorch, ms per step", lambda key: f"{torch['cells'][key]:.3f}")
        table("ours / PyTorch", lambda key: f"{cells[key]['ours'] / torch['cells'][key]:.2f}x")
        table("lean NumPy / PyTorch", lambda k: f"{cells[k]['lean'] / torch['cells'][k]:.2f}x")
    table("ours / lean NumPy", lambda key: f"{cells[key]['ours'] / cells[key]['lean']:.2f}x")
    table("bare design / lean NumPy", lambda k: f"{cells[k]['bare'] / cells[k]['lean']:.2f}x")
    table("ours / bare design", lambda key: f"{cells[key]['ours'] / cells[key]['bare']:.2f}x")
    table("ours / nn.reference", lambda key: f"{cells[key]['ours'] / cells[key]['reference']:.2f}x")
    if torch is None:
        print("\n(PyTorch not importable here; pass --torch-python PATH to add its cells.)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batches 100 and 1,000, short cells")
    parser.add_argument("--torch-python", default=os.environ.get("TORCH_PYTHON"))
    parser.add_argument("--grid-only", action="store_true", help="only the grid")
    parser.add_argument("--no-grid", action="store_true", help="only the first table")
    parser.add_argument("--budget", type=float, default=None, help="seconds per cell (default 1)")
    parser.add_argument("--batches", default=None, help="batch sizes, e.g. 100,1000")
    parser.add_argument("--widths", default=None, help="the grid's widths, e.g. 2,4 (16,64,256)")
    parser.add_argument("--torch-grid", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    batches = QUICK_BATCHES if args.quick else BATCHES
    if args.batches:
        batches = tuple(int(b) for b in args.batches.split(","))
    if args.widths:  # (a demo's size, e.g. XOR's [2, 2] on 4 samples: --widths 2 --batches 4)
        global WIDTHS
        WIDTHS = tuple(int(w) for w in args.widths.split(","))
    budget = args.budget if args.budget is not None else (0.05 if args.quick else 1.0)
    if args.torch_grid:
        print(json.dumps(measure_torch_grid(batches, budget)))
        return 0
    began = time.perf_counter()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}; BLAS:")
    for line in blas_report():
        print(f"  {line}")
    torch = torch_grid(args.torch_python, (100,) if args.no_grid else batches, budget)
    if torch is not None:
        print(f"  PyTorch {torch['version']}: {torch['blas']}")
    print()
    if not args.grid_only:
        first_table(torch, 20 if args.quick else 300, budget, args.quick)
    if not args.no_grid:
        print_grid(batches, budget, torch, began)
    print(f"\n(total {time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
