"""Speed, side by side in one run: the table of issue 5 for this project.

    python benchmarks/speed.py                                   # about a minute
    python benchmarks/speed.py --quick                           # a smoke run, a few seconds
    python benchmarks/speed.py --torch-python /tmp/torchvenv/bin/python   # add PyTorch

One full-batch training step (forward, backward, SGD update) of an MLP(2, [16, 16, 1]) (relu,
relu, linear) on 100 two-moons points, hinge loss + 1e-4 * (sum of every parameter squared),
learning rate 0.05, the same initial weights everywhere; the median over consecutive steps, as
in a training loop (the cyclic garbage collector left on, as a learner's script has it).

Rows:
- classic: the closure engine of `benchmarks/classic.py`, one graph per sample;
- primitive nodes: this engine, the very same code (one graph per sample, `*` and `+` nodes);
- fused neurons: one `autograd.linear` node per neuron, n-ary sums, one graph per sample;
- batched: the graph of ONE sample with arrays as data (`Value(X[:, j])`), fused neurons,
  `.mean()`; L2 as one node, `autograd.sum_of_squares(params)`; made with one
  `autograd.linear` call per neuron, or one `autograd.linear_layer` call per layer (the same
  nodes, computed with one matrix product per layer);
- nn: what `nn.fit` does for the same step (nn.MLP, nn.losses.hinge + l2, nn.optim.SGD),
  batched, with one graph per sample (`nn.fit(..., batched=False)`), and per sample with
  the taught neurons of `*`, `+` and relu nodes (`fused=False`);
- each row of this engine three ways: the collector on, paused (`autograd.gc_paused()`), and
  paused with the step on a tape (`autograd.tape()`: backward reads the recorded nodes
  instead of searching the graph), which is how `nn.fit` runs a step;
- NumPy reference: `nn.reference.ReferenceMLP` (the textbook forward/backward), and a minimal
  vectorized NumPy step written below (the fastest NumPy can be here);
- PyTorch eager (CPU, one thread) if `torch` imports here or `--torch-python` names a Python
  that has it (run as a subprocess; PyTorch is never a dependency of the project).

Then: the gradient of every parameter on each path against the NumPy reference (max abs
difference), ns per node forward and backward and bytes per node (tracemalloc) for the
per-sample graphs, and the cost of the cyclic garbage collector (steps with it on vs paused).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

SIZES = [2, 16, 16, 1]
POINTS = 100
L2 = 1e-4
LEARNING_RATE = 0.05
SEED = 0


# -- data and initial weights (shared by every row) ---------------------------------------------


def moons(n: int = POINTS, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles with N(0, 0.1^2) noise; labels -1 / +1 (hinge loss)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, math.pi, n // 2)
    u = np.linspace(0.0, math.pi, n - n // 2)
    X = np.concatenate([np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(u), 0.5 - np.sin(u)]])
    X = X + rng.normal(0.0, 0.1, X.shape)
    y = np.concatenate([-np.ones(n // 2), np.ones(n - n // 2)])
    order = rng.permutation(n)
    return X[order], y[order]


def initial_weights(seed: int = SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer (W of shape (n_out, n_in), b of shape (n_out,)): W ~ U(-1, 1), b = 0."""
    rng = np.random.default_rng(seed)
    return [
        (rng.uniform(-1.0, 1.0, (n_out, n_in)), np.zeros(n_out))
        for n_in, n_out in zip(SIZES[:-1], SIZES[1:])
    ]


def as_layers(V, weights) -> list[list[tuple[list, object]]]:
    """The weights as Values of engine V: layers of neurons (weights, bias)."""
    return [
        [([V(float(w)) for w in W[j]], V(float(b[j]))) for j in range(len(b))] for W, b in weights
    ]


def flat_parameters(layers) -> list:
    """Layer by layer, neuron by neuron, weights then bias (the order of nn.MLP.parameters())."""
    return [p for layer in layers for ws, b in layer for p in (*ws, b)]


# -- the steps --------------------------------------------------------------------------------


def per_sample_forward(layers, X, y, fused: bool):
    """The loss as one graph per sample (summed), with primitive nodes or fused neurons."""
    import autograd

    last = len(layers) - 1
    rows = X.tolist()
    scores = []
    for row in rows:
        h = row
        for index, layer in enumerate(layers):
            if fused:
                activation = "linear" if index == last else "relu"
                h = [autograd.linear(ws, h, b, activation) for ws, b in layer]
            else:
                h = [sum((w * x for w, x in zip(ws, h)), b) for ws, b in layer]
                h = h if index == last else [z.relu() for z in h]
        scores.append(h[0])
    margins = [(1 + -label * s).relu() for label, s in zip(y.tolist(), scores)]
    params = flat_parameters(layers)
    if fused:
        penalty = autograd.sum_of_squares(params)
        return autograd.sum(margins) * (1.0 / len(margins)) + L2 * penalty
    return sum(margins) * (1.0 / len(margins)) + L2 * sum(p * p for p in params)


def batched_forward(layers, X, y, whole_layers: bool = True):
    """The graph of one sample, each input a column of X: fused neurons, `.mean()`.

    `whole_layers`: make each layer's nodes with one `autograd.linear_layer` call (one matrix
    product); else one `autograd.linear` call per neuron. The same graph either way.
    """
    import autograd
    from autograd import Value

    last = len(layers) - 1
    h = [Value(X[:, j]) for j in range(X.shape[1])]
    for index, layer in enumerate(layers):
        activation = "linear" if index == last else "relu"
        if whole_layers:
            h = autograd.linear_layer([ws for ws, _ in layer], h, [b for _, b in layer], activation)
        else:
            h = [autograd.linear(ws, h, b, activation) for ws, b in layer]
    params = flat_parameters(layers)
    data_loss = (1.0 - Value(y) * h[0]).relu().mean()
    return data_loss + L2 * autograd.sum_of_squares(params)


def sgd_step(forward: Callable[[], object], params: list) -> float:
    loss = forward()
    for p in params:
        p.grad = 0.0
    loss.backward()
    for p in params:
        p.data -= LEARNING_RATE * p.grad
    return loss.data


def engine_step(kind: str, X, y):
    """(step function, parameters, forward function) for one row of this engine or classic."""
    if kind == "classic":
        from benchmarks import classic

        layers = as_layers(classic.Value, initial_weights())
    else:
        from autograd import Value

        layers = as_layers(Value, initial_weights())
    params = flat_parameters(layers)
    if kind in ("batched", "batched per neuron"):
        whole_layers = kind == "batched"

        def forward():
            return batched_forward(layers, X, y, whole_layers)

    else:
        fused = kind == "fused"

        def forward():
            return per_sample_forward(layers, X, y, fused)

    return (lambda: sgd_step(forward, params)), params, forward


def nn_step(X, y, batched: bool = True, fused: bool = True):
    """What nn.fit does for one full-batch step (None if nn is not importable); `batched`
    False: one graph per sample, as `nn.fit(..., batched=False)`; `fused` False: neurons made
    of `*`, `+` and relu nodes, as they are taught."""
    try:
        from nn import losses, optim, train
        from nn.module import MLP
    except ImportError:
        return None
    model = MLP(2, [16, 16, 1], activation="relu", output_activation="linear", seed=SEED)
    model.fused = fused
    for layer in model.layers:
        for neuron in layer.neurons:
            neuron.fused = fused
    for layer, (W, b) in zip(model.layers, initial_weights()):
        for neuron, w_row, bias in zip(layer.neurons, W, b):
            for p, v in zip(neuron.w, w_row):
                p.data = float(v)
            neuron.b.data = float(bias)
    params = model.parameters()
    optimizer = optim.SGD(params, lr=LEARNING_RATE)

    def forward():
        return train.build_loss(model, X, y, losses.hinge, L2, batched)[0]

    def step():
        loss = forward()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.data

    return step, model.parameters(), forward


def reference_step(X, y):
    """nn.reference.ReferenceMLP: (step, gradient function) or None if it is not importable."""
    try:
        from nn.reference import ReferenceMLP
    except ImportError:
        return None

    def make():
        parameters = {}
        for index, (W, b) in enumerate(initial_weights(), start=1):
            parameters[f"W{index}"] = W.copy()
            parameters[f"b{index}"] = b.reshape(-1, 1).copy()
        return ReferenceMLP(parameters, ["relu", "relu", "linear"])

    model = make()

    def step():
        cost, grads = model.loss_and_grads(X, y, "hinge", L2)
        model.update_parameters_with_gd(grads, LEARNING_RATE)
        return cost

    def gradients():
        return make().loss_and_gradients(X, y, "hinge", L2)[1]

    return step, gradients


def numpy_minimal(X, y):
    """The leanest vectorized step: samples as rows, backprop by hand, SGD in place."""
    params = [a.copy() for W, b in initial_weights() for a in (W.T, b)]  # W as (n_in, n_out)

    def loss_and_grads(params):
        W1, b1, W2, b2, W3, b3 = params
        Z1 = X @ W1 + b1
        A1 = np.maximum(Z1, 0.0)
        Z2 = A1 @ W2 + b2
        A2 = np.maximum(Z2, 0.0)
        s = (A2 @ W3 + b3)[:, 0]
        margin = 1.0 - y * s
        loss = np.maximum(margin, 0.0).mean() + L2 * sum(float((p * p).sum()) for p in params)
        ds = np.where(margin > 0.0, -y, 0.0)[:, None] / len(y)
        dZ2 = (ds @ W3.T) * (Z2 > 0.0)
        dZ1 = (dZ2 @ W2.T) * (Z1 > 0.0)
        grads = [X.T @ dZ1, dZ1.sum(0), A1.T @ dZ2, dZ2.sum(0), A2.T @ ds, ds.sum(0)]
        return loss, [g + 2.0 * L2 * p for g, p in zip(grads, params)]

    def step():
        loss, grads = loss_and_grads(params)
        for p, g in zip(params, grads):
            p -= LEARNING_RATE * g
        return loss

    def gradients():
        fresh = [a.copy() for W, b in initial_weights() for a in (W.T, b)]
        _, grads = loss_and_grads(fresh)
        flat = []
        for gW, gb in zip(grads[0::2], grads[1::2]):
            for j in range(len(gb)):
                flat.extend(gW[:, j])
                flat.append(gb[j])
        return np.array(flat)

    return step, gradients


# -- PyTorch (optional; also runs alone in another Python via --torch-only) --------------------


def torch_sgd_step(loss, params: list) -> float:
    """The rest of a PyTorch step, as ours: gradients cleared, backward, SGD in place."""
    import torch

    for p in params:
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= LEARNING_RATE * p.grad
    return float(loss)


def torch_measure(steps: int) -> dict:
    """{"ms": median ms per step, "grads": first-step gradients} with PyTorch eager, 1 thread."""
    import torch

    torch.set_num_threads(1)
    X, y = moons()
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)

    def make():
        return [
            torch.tensor(a, dtype=torch.float64, requires_grad=True)
            for W, b in initial_weights()
            for a in (W, b)
        ]

    def loss_of(params):
        W1, b1, W2, b2, W3, b3 = params
        h = torch.relu(Xt @ W1.T + b1)
        h = torch.relu(h @ W2.T + b2)
        s = (h @ W3.T + b3)[:, 0]
        return torch.relu(1.0 - yt * s).mean() + L2 * sum((p * p).sum() for p in params)

    fresh = make()
    loss_of(fresh).backward()
    grads = []
    for W, b in zip(fresh[0::2], fresh[1::2]):
        for j in range(b.shape[0]):
            grads.extend(W.grad[j].tolist())
            grads.append(float(b.grad[j]))

    params = make()

    def step():
        return torch_sgd_step(loss_of(params), params)

    ms = median_ms(step, steps, warmup=5)
    return {"ms": ms, "grads": grads, "version": torch.__version__}


def torch_row(python: str | None, steps: int) -> dict | None:
    try:
        import torch  # noqa: F401

        return torch_measure(steps)
    except ImportError:
        pass
    if not python:
        return None
    try:
        done = subprocess.run(
            [python, os.path.abspath(__file__), "--torch-only", "--steps", str(steps)],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as error:
        print(f"(PyTorch skipped: {python} failed: {error})", file=sys.stderr)
        return None


# -- measuring --------------------------------------------------------------------------------


def median_ms(step: Callable[[], object], steps: int, warmup: int = 1) -> float:
    """Median wall time (ms) of `steps` consecutive calls, after `warmup` calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def first_gradients(forward: Callable[[], object], params: list) -> np.ndarray:
    loss = forward()
    for p in params:
        p.grad = 0.0
    loss.backward()
    return np.array([p.grad for p in params], dtype=float)


def graph_nodes(root) -> int:
    """Every node of a graph of either engine (leaves included), found without recursion."""
    seen, stack = {id(root)}, [root]
    while stack:
        node = stack.pop()
        for parent in getattr(node, "parents", None) or getattr(node, "_prev", ()):
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return len(seen)


def per_node(forward: Callable[[], object], repeats: int, taped: bool) -> dict[str, float]:
    """ns per node forward and backward (collector paused), bytes per node (tracemalloc);
    with `taped`, also forward and backward inside autograd.tape()."""
    import contextlib

    import autograd

    root = forward()
    nodes = graph_nodes(root)
    del root
    times: dict[str, list[float]] = {}
    for mode in ("", " on tape") if taped else ("",):
        times["forward" + mode], times["backward" + mode] = [], []
        for _ in range(repeats):
            gc.collect()
            gc.disable()
            try:
                with autograd.tape() if mode else contextlib.nullcontext():
                    start = time.perf_counter()
                    root = forward()
                    middle = time.perf_counter()
                    root.backward()
                    end = time.perf_counter()
                    del root
            finally:
                gc.enable()
            times["forward" + mode].append(middle - start)
            times["backward" + mode].append(end - middle)
    from benchmarks.engine import allocated_bytes

    result = {key: statistics.median(t) * 1e9 / nodes for key, t in times.items()}
    return {"nodes": nodes, **result, "bytes": allocated_bytes(forward) / nodes}


def gc_cost(step: Callable[[], object], steps: int) -> tuple[float, float, float]:
    """ms per step: with the cyclic GC on; inside autograd.gc_paused(); inside gc_paused()
    and autograd.tape() (as nn.fit runs each step)."""
    import autograd

    on = median_ms(step, steps)

    def paused():
        with autograd.gc_paused():
            step()

    def taped():
        with autograd.gc_paused(), autograd.tape():
            step()

    return on, median_ms(paused, steps), median_ms(taped, steps)


# -- the grid: every network size (issue 17) --------------------------------------------------

GRID_WIDTHS = ([16, 16], [64, 64], [256, 256])
GRID_BATCHES = (100, 1_000, 10_000, 100_000)
QUICK_BATCHES = (100, 1_000)


def grid_initial_weights(sizes: list[int], seed: int = SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer (W (n_out, n_in), b (n_out,)) for MLP(2, [*width, 1]): W ~ U(-1, 1) / sqrt(n_in)
    (so that wide networks start with outputs of order 1), b = 0. The same for every engine."""
    rng = np.random.default_rng(seed)
    return [
        (rng.uniform(-1.0, 1.0, (n_out, n_in)) / math.sqrt(n_in), np.zeros(n_out))
        for n_in, n_out in zip(sizes[:-1], sizes[1:])
    ]


def grid_nn_step(sizes: list[int], X: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    """One step as `nn.fit` takes it: nn.MLP, losses.hinge + l2, optim.SGD, on a tape."""
    import autograd
    from nn import MLP, losses, optim, train

    weights = grid_initial_weights(sizes)
    model = MLP.from_weights(
        [W for W, _ in weights], [b for _, b in weights], ["relu"] * (len(sizes) - 2) + ["linear"]
    )
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def step() -> float:
        with autograd.tape():  # (the collector is paused around the whole cell, as in nn.fit)
            loss = train.build_loss(model, X, y, losses.hinge, L2)[0]
            optimizer.zero_grad()
            loss.backward()
        optimizer.step()
        return loss.data

    return step


def grid_reference_step(sizes: list[int], X: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    """The same step by `nn.reference.ReferenceMLP` (vectorized NumPy, backprop by hand)."""
    from nn.reference import ReferenceMLP

    parameters = {}
    for index, (W, b) in enumerate(grid_initial_weights(sizes), start=1):
        parameters[f"W{index}"], parameters[f"b{index}"] = W.copy(), b.reshape(-1, 1).copy()
    model = ReferenceMLP(parameters, ["relu"] * (len(sizes) - 2) + ["linear"])

    def step() -> float:
        cost, grads = model.loss_and_grads(X, y, "hinge", L2)
        model.update_parameters_with_gd(grads, LEARNING_RATE)
        return cost

    return step


def grid_torch_step(sizes: list[int], X: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    """The same step in PyTorch eager (float64, the caller sets one thread)."""
    import torch

    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    params = [
        torch.tensor(a, dtype=torch.float64, requires_grad=True)
        for W, b in grid_initial_weights(sizes)
        for a in (W, b)
    ]
    last = len(params) // 2 - 1

    def step() -> float:
        h = Xt
        for index in range(last + 1):
            W, b = params[2 * index], params[2 * index + 1]
            h = h @ W.T + b
            if index < last:
                h = torch.relu(h)
        loss = torch.relu(1.0 - yt * h[:, 0]).mean() + L2 * sum((p * p).sum() for p in params)
        return torch_sgd_step(loss, params)

    return step


def cell_ms(step: Callable[[], object], budget: float) -> float:
    """Median ms per step: one warm-up step, then at least 3 steps and about `budget` seconds."""
    step()
    times: list[float] = []
    began = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - began < budget and len(times) < 1000):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def even_out_the_allocator() -> None:
    """Free one 24 MB array, so that glibc's malloc serves later arrays of up to 24 MB from its
    heap in every process measured (ours, NumPy, PyTorch alike).

    glibc hands out each block above its mmap threshold (128 KiB at start) as fresh pages from
    the kernel, paid in page faults every time, and raises the threshold to the size of the
    largest such block freed. Without this, a cell's time depended on the cells run before it:
    the NumPy reference took 4.0 ms a step at [16, 16] x 10,000 in a fresh process and 1.9 ms
    once a larger array had been freed. (Elsewhere than glibc this changes nothing.)"""
    block = np.ones(3_000_000)
    del block


def grid_measure(engine: str, batches: tuple[int, ...], budget: float) -> dict[str, float]:
    """{"width x batch": ms per step} for one engine: "ours", "numpy" or "torch"."""
    even_out_the_allocator()
    if engine == "torch":
        import torch

        torch.set_num_threads(1)
    make = {"ours": grid_nn_step, "numpy": grid_reference_step, "torch": grid_torch_step}[engine]
    cells = {}
    for width in GRID_WIDTHS:
        for batch in batches:
            X, y = moons(batch)
            step = make([2, *width, 1], X, y)
            if engine == "ours":  # nn.fit pauses the cyclic collector for the whole loop
                import autograd

                with autograd.gc_paused():
                    cells[f"{width}x{batch}"] = cell_ms(step, budget)
                gc.collect()
            else:
                cells[f"{width}x{batch}"] = cell_ms(step, budget)
    return cells


def grid_torch(python: str | None, batches: tuple[int, ...], budget: float) -> dict | None:
    """PyTorch's cells, here if torch imports, else in `python` (a subprocess); None if neither."""
    try:
        import torch

        return {"version": torch.__version__, "cells": grid_measure("torch", batches, budget)}
    except ImportError:
        pass
    if not python:
        return None
    command = [python, os.path.abspath(__file__), "--torch-grid", "--budget", str(budget)]
    if batches == QUICK_BATCHES:
        command.append("--quick")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as error:
        print(f"(PyTorch skipped: {python} failed: {error})", file=sys.stderr)
        return None


def print_grid(batches: tuple[int, ...], budget: float, torch_python: str | None) -> None:
    """The grid of issue 17: ms per step of nn.fit's step, / NumPy reference, / PyTorch."""
    ours = grid_measure("ours", batches, budget)
    numpy_cells = grid_measure("numpy", batches, budget)
    torch = grid_torch(torch_python, batches, budget)
    print(
        "\nThe grid: one nn.fit step (nn.MLP(2, [*width, 1]), hinge + 1e-4 L2, SGD, on a tape) "
        "per width and batch;\nms per step, then ours / NumPy reference"
        + (f" and ours / PyTorch {torch['version']} eager (float64, 1 thread)" if torch else "")
        + "."
    )
    header = f"  {'width':<11}" + "".join(f"{b:>12,}" for b in batches)
    for title, value in [
        ("ours, ms per step", lambda key: f"{ours[key]:.3f}"),
        ("NumPy reference, ms per step", lambda key: f"{numpy_cells[key]:.3f}"),
        ("ours / NumPy reference", lambda key: f"{ours[key] / numpy_cells[key]:.2f}x"),
    ] + (
        [
            ("PyTorch, ms per step", lambda key: f"{torch['cells'][key]:.3f}"),
            ("ours / PyTorch", lambda key: f"{ours[key] / torch['cells'][key]:.2f}x"),
        ]
        if torch
        else []
    ):
        print(f"\n  {title}")
        print(header)
        for width in GRID_WIDTHS:
            print(f"  {str(width):<11}" + "".join(f"{value(f'{width}x{b}'):>12}" for b in batches))
    if torch is None:
        print("\n(PyTorch not importable here; pass --torch-python PATH to add its cells.)")


# -- the report -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps: a smoke run")
    parser.add_argument("--steps", type=int, default=None, help="steps per fast row")
    parser.add_argument("--torch-python", default=os.environ.get("TORCH_PYTHON"))
    parser.add_argument("--grid-only", action="store_true", help="only the grid of sizes")
    parser.add_argument("--no-grid", action="store_true", help="leave the grid of sizes out")
    parser.add_argument(
        "--budget", type=float, default=None, help="seconds per cell of the grid (default 1)"
    )
    parser.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--torch-grid", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    fast_steps = args.steps or (5 if args.quick else 300)
    batches = QUICK_BATCHES if args.quick else GRID_BATCHES
    budget = args.budget if args.budget is not None else (0.05 if args.quick else 1.0)
    if args.torch_only:
        print(json.dumps(torch_measure(fast_steps)))
        return 0
    if args.torch_grid:
        import torch

        cells = grid_measure("torch", batches, budget)
        print(json.dumps({"version": torch.__version__, "cells": cells}))
        return 0
    if args.grid_only:
        began = time.perf_counter()
        print_grid(batches, budget, args.torch_python)
        print(f"\n(total {time.perf_counter() - began:.0f} s)")
        return 0
    slow_steps = 1 if args.quick else 5  # the classic engine: about a second per step
    mid_steps = 3 if args.quick else 21
    random.seed(SEED)
    began = time.perf_counter()
    X, y = moons()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))  # classic's recursive sort

    # (label, ms with the cyclic GC on, ms inside autograd.gc_paused(), ms inside gc_paused()
    # and autograd.tape()); None where the row has no such mode
    rows: list[tuple[str, float, float | None, float | None]] = []
    grads: dict[str, np.ndarray] = {}
    forwards: dict[str, Callable[[], object]] = {}
    for kind, label, count in [
        ("classic", "classic closure engine (one graph per sample)", slow_steps),
        ("primitive", "this engine, primitive nodes (same code)", mid_steps),
        ("fused", "this engine, fused neurons, n-ary sums", mid_steps),
        ("batched per neuron", "batched, one linear() call per neuron", fast_steps),
        ("batched", "batched, one linear_layer() call per layer", fast_steps),
    ]:
        _, params, forward = engine_step(kind, X, y)
        grads[kind] = first_gradients(forward, params)
        forwards[kind] = forward
        step = engine_step(kind, X, y)[0]
        if kind == "classic":  # its closures are reference cycles: it needs the collector
            rows.append((label, median_ms(step, count), None, None))
        else:
            rows.append((label, *gc_cost(step, count)))
    made = nn_step(X, y)
    if made is not None:
        step, params, forward = made
        grads["nn"] = first_gradients(forward, params)
        label = "nn: MLP + losses.hinge + l2 + SGD (batched)"
        rows.append((label, *gc_cost(nn_step(X, y)[0], fast_steps)))
        step, params, forward = nn_step(X, y, batched=False)
        grads["nn per sample"] = first_gradients(forward, params)
        label = "nn, one graph per sample (batched=False)"
        rows.append((label, *gc_cost(step, mid_steps)))
        step, params, forward = nn_step(X, y, batched=False, fused=False)
        grads["nn taught"] = first_gradients(forward, params)
        label = "nn, taught neurons (fused=False), per sample"
        rows.append((label, *gc_cost(step, mid_steps)))
    reference = reference_step(X, y)
    numpy_label = "NumPy reference (nn.reference, textbook)"
    if reference is not None:
        step, gradients = reference
        grads["NumPy reference"] = gradients()
        rows.append((numpy_label, median_ms(step, fast_steps * 5), None, None))
    step, gradients = numpy_minimal(X, y)
    grads["NumPy minimal"] = gradients()
    minimal_label = "NumPy, minimal vectorized step"
    rows.append((minimal_label, median_ms(step, fast_steps * 5), None, None))
    torch = torch_row(args.torch_python, fast_steps * 2)
    if torch is not None:
        grads["PyTorch"] = np.array(torch["grads"])
        rows.append((f"PyTorch {torch['version']} eager, CPU, 1 thread", torch["ms"], None, None))

    ms = {label: on for label, on, *_ in rows}
    classic_ms = rows[0][1]
    numpy_ms = ms.get(numpy_label, ms[minimal_label])
    minimal_ms = ms[minimal_label]
    print(
        f"One training step of MLP(2, [16, 16, 1]) on {POINTS} moons points, hinge + {L2:g} L2, "
        f"SGD; median ms per step (python {sys.version.split()[0]}, numpy {np.__version__})."
    )
    print(
        "'GC on': the cyclic garbage collector left on; 'paused': each step inside "
        "autograd.gc_paused();\n'+ tape': inside gc_paused() and autograd.tape(), as nn.fit "
        "runs each step. Ratios use the last column a row has.\n"
    )
    header = (
        f"{'engine design':<46} {'GC on':>9} {'paused':>9} {'+ tape':>9} {'vs classic':>11}"
        f" {'/ NumPy ref':>12} {'/ NumPy min':>12}"
    )
    print(header)
    print("-" * len(header))
    for label, on, paused, taped in rows:
        best = next(t for t in (taped, paused, on) if t is not None)
        shown = ["" if t is None else f"{t:.3f}" for t in (paused, taped)]
        print(
            f"{label:<46} {on:>9.3f} {shown[0]:>9} {shown[1]:>9} {classic_ms / best:>10.1f}x"
            f" {best / numpy_ms:>11.2f}x {best / minimal_ms:>11.2f}x"
        )
    print(
        "\n'vs classic': times faster than the classic engine; '/ NumPy': times the NumPy step "
        "(ms per step)."
    )

    oracle = grads.get("NumPy reference", grads["NumPy minimal"])
    print("\nGradients of the first step, max |difference| from the NumPy reference:")
    for name, g in grads.items():
        print(f"  {name:<18} {float(np.max(np.abs(g - oracle))):.1e}  ({len(g)} parameters)")

    print(
        "\nPer node, the graph of one step (classic, primitive, fused: one graph per sample "
        "for 100 points;\nbatched: the one-sample graph); times with the collector paused:"
    )
    header = f"  {'graph':<12} {'nodes':>8} {'forward ns/node':>16} {'backward ns/node':>17}"
    header += f" {'on a tape: fw':>14} {'bw':>6} {'bytes/node':>11}"
    print(header)
    repeats = 1 if args.quick else 5
    nodes = {}
    for kind in ("classic", "primitive", "fused", "batched"):
        nodes[kind] = n = per_node(forwards[kind], repeats, taped=kind != "classic")
        taped = [f"{n[k]:.0f}" if k in n else "" for k in ("forward on tape", "backward on tape")]
        print(
            f"  {kind:<12} {n['nodes']:>8} {n['forward']:>16.0f} {n['backward']:>17.0f}"
            f" {taped[0]:>14} {taped[1]:>6} {n['bytes']:>11.0f}"
        )
    ratio = nodes["primitive"]["bytes"] / nodes["classic"]["bytes"]
    print(f"  bytes per node, primitive / classic: {ratio:.2f}")
    if torch is None:
        print("\n(PyTorch not importable here; pass --torch-python PATH to add its row.)")
    if not args.no_grid:
        print_grid(batches, budget, args.torch_python)
    print(f"\n(total {time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
