"""Engine benchmark: our `autograd.Value` against the classic closure engine, side by side.

    python benchmarks/engine.py            # about 30-50 s
    python benchmarks/engine.py --quick    # fewer repeats, smaller graphs (a smoke run)

Measures, for both engines in the same run (medians over repeats; the cyclic garbage collector
is left on, as a learner's script would have it, and `gc.collect()` runs between repeats):

- a deep chain, v = tanh(v * w) repeated: forward and backward ns per node, bytes per node;
  ours also with the chain built inside `autograd.tape()` (backward reads the recorded nodes
  instead of searching the graph);
- a wide sum of n leaves: ours as one n-ary `autograd.sum` node and as binary `+`, the classic
  engine with the builtin `sum`: ns and bytes per term;
- one full-batch training step of an MLP(2, [16, 16, 1]) (relu, relu, linear) on 100 points:
  forward, hinge loss + 1e-4 * L2, backward, SGD update. Built from Value ops directly, the same
  code for both engines, plus ours with one fused `autograd.linear` node per neuron, and both of
  ours with each step inside `autograd.gc_paused()`, and inside gc_paused() and
  `autograd.tape()` (as nn.fit runs a step); timed as consecutive steps of a loop.

At the end it checks the targets of issue 2 (backward >= 5x faster per node, memory per node
<= half, training step >= 10x faster) and says which are met.

Bytes per node come from `tracemalloc` (the graph alive, minus before it was built), in a separate
pass from the timings. Ratios are classic / ours: above 1 means ours is better.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import autograd  # noqa: E402
from autograd import Value  # noqa: E402
from benchmarks import classic  # noqa: E402

ENGINES = {"ours": Value, "classic": classic.Value}


def median_ns(run: Callable[[], object], repeats: int, setup: Callable[[], object] | None = None):
    """Median wall time (ns) of `run(setup())` over `repeats`, with a gc.collect() before each."""
    times = []
    for _ in range(repeats):
        state = setup() if setup else None
        gc.collect()
        start = time.perf_counter_ns()
        run(state) if setup else run()
        times.append(time.perf_counter_ns() - start)
        del state
    gc.collect()
    return statistics.median(times)


def allocated_bytes(build: Callable[[], object]) -> int:
    """Bytes still allocated (tracemalloc) after `build()`, with its result kept alive."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    gc.collect()
    return after - before


# -- workloads --------------------------------------------------------------------------------


def chain(V, depth: int):
    """v = tanh(v * w), `depth` times: 2 * depth nodes, each with the one before as a parent."""
    w = V(0.999)
    v = V(0.5)
    for _ in range(depth):
        v = (v * w).tanh()
    return v


def wide_leaves(V, n: int) -> list:
    rng = random.Random(1)
    return [V(rng.uniform(-1, 1)) for _ in range(n)]


def moons(n: int, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    """Two interleaved half circles with a little noise; labels -1 / +1 (for hinge loss)."""
    import math

    rng = random.Random(seed)
    xs, ys = [], []
    for i in range(n):
        t = math.pi * rng.random()
        if i % 2 == 0:
            x, y, label = math.cos(t), math.sin(t), -1.0
        else:
            x, y, label = 1.0 - math.cos(t), 0.5 - math.sin(t), 1.0
        xs.append([x + rng.gauss(0, 0.1), y + rng.gauss(0, 0.1)])
        ys.append(label)
    return xs, ys


def mlp_parameters(V, sizes: list[int], seed: int = 0) -> list[list[tuple[list, object]]]:
    """Layers of neurons, each (weights, bias), weights uniform in [-1, 1], bias 0."""
    rng = random.Random(seed)
    return [
        [([V(rng.uniform(-1, 1)) for _ in range(n_in)], V(0.0)) for _ in range(n_out)]
        for n_in, n_out in zip(sizes, sizes[1:])
    ]


def training_step(V, layers, xs, ys, fused: bool = False, learning_rate: float = 0.05):
    """Forward (relu hidden layers, linear output), hinge loss + 1e-4 L2, backward, SGD."""
    scores = []
    for x in xs:
        h = x
        for index, layer in enumerate(layers):
            last = index == len(layers) - 1
            if fused:
                act = "linear" if last else "relu"
                h = [autograd.linear(ws, h, b, act) for ws, b in layer]
            else:
                h = [sum((w * xi for w, xi in zip(ws, h)), b) for ws, b in layer]
                h = h if last else [z.relu() for z in h]
        scores.append(h[0])
    losses = [(1 + -y * s).relu() for y, s in zip(ys, scores)]
    parameters = [p for layer in layers for ws, b in layer for p in (*ws, b)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in parameters)
    loss = data_loss + reg_loss
    for p in parameters:
        p.grad = 0.0
    loss.backward()
    for p in parameters:
        p.data -= learning_rate * p.grad
    return loss


# -- measurements ---------------------------------------------------------------------------


STEP_VARIANTS = [  # name, engine, one fused linear node per neuron?, how each step runs
    ("classic", classic.Value, False, ""),
    ("ours, same code", Value, False, ""),
    ("ours, fused linear", Value, True, ""),
    ("ours, same code, steps inside gc_paused()", Value, False, "paused"),
    ("ours, fused linear, steps inside gc_paused()", Value, True, "paused"),
    ("ours, same code, gc_paused() + tape()", Value, False, "tape"),
    ("ours, fused linear, gc_paused() + tape()", Value, True, "tape"),
]


def training_ns(V, layers, xs, ys, fused: bool, mode: str, repeats: int) -> float:
    """Median ns of one step over `repeats` consecutive steps, as in a training loop.

    No gc.collect() between the steps: each step pays for the garbage the last one left, as
    it would in a real loop (the classic engine's closures make reference cycles, which only
    the cyclic collector frees; our graphs are freed by reference counting). `mode` "paused":
    each step inside `autograd.gc_paused()`, as a training loop on our engine can; "tape":
    also inside `autograd.tape()` (backward reads the recorded nodes), as `nn.fit` runs it.
    """
    training_step(V, layers, xs, ys, fused)  # warm up
    gc.collect()
    times = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        if mode == "tape":
            with autograd.gc_paused(), autograd.tape():
                training_step(V, layers, xs, ys, fused)
        elif mode == "paused":
            with autograd.gc_paused():
                training_step(V, layers, xs, ys, fused)
        else:
            training_step(V, layers, xs, ys, fused)
        times.append(time.perf_counter_ns() - start)
    gc.collect()
    return statistics.median(times)


def measure_graph(V, build: Callable[[], object], nodes: int, repeats: int) -> dict[str, float]:
    forward = median_ns(build, repeats)
    backward = median_ns(lambda root: root.backward(), repeats, setup=build)
    memory = allocated_bytes(build)
    return {"forward": forward / nodes, "backward": backward / nodes, "bytes": memory / nodes}


def measure_on_tape(build: Callable[[], object], nodes: int, repeats: int) -> dict[str, float]:
    """Ours with the graph built inside `autograd.tape()`: forward (recording) and backward
    (reading the tape) ns per node; bytes as without a tape (the tape itself is a list)."""
    forward, backward = [], []
    for _ in range(repeats):
        gc.collect()
        with autograd.tape():
            start = time.perf_counter_ns()
            root = build()
            middle = time.perf_counter_ns()
            root.backward()
            end = time.perf_counter_ns()
        del root
        forward.append(middle - start)
        backward.append(end - middle)
    gc.collect()
    return {
        "forward": statistics.median(forward) / nodes,
        "backward": statistics.median(backward) / nodes,
        "bytes": allocated_bytes(build) / nodes,
    }


def measure_wide_sums(width: int, repeats: int) -> list:
    """Rows for a sum of `width` leaves (the leaves are made first and not counted)."""
    leaves_ours, leaves_classic = wide_leaves(Value, width), wide_leaves(classic.Value, width)
    title = f"wide sum of {width:,} leaves"
    theirs = measure_graph(classic.Value, lambda: sum(leaves_classic), width, repeats)
    n_ary = measure_graph(Value, lambda: autograd.sum(leaves_ours), width, repeats)
    binary = measure_graph(Value, lambda: sum(leaves_ours), width, repeats)
    return [
        (title + ", n-ary autograd.sum", "per term", n_ary, theirs),
        (title + ", builtin sum (binary +)", "per term", binary, theirs),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small graphs, few repeats")
    args = parser.parse_args(argv)
    depth = 5_000 if args.quick else 30_000
    width = 20_000 if args.quick else 100_000
    repeats = 3 if args.quick else 5
    step_repeats = 3 if args.quick else 7
    # The classic recursive sort needs one Python frame per node along the chain.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * depth + 1000))

    rows: list[tuple[str, str, dict[str, float], dict[str, float]]] = []
    began = time.perf_counter()

    nodes = 2 * depth
    title = f"deep chain, tanh(v*w) x {depth:,} ({nodes:,} nodes)"
    ours = measure_graph(Value, lambda: chain(Value, depth), nodes, repeats)
    theirs = measure_graph(classic.Value, lambda: chain(classic.Value, depth), nodes, repeats)
    taped = measure_on_tape(lambda: chain(Value, depth), nodes, repeats)
    rows.append((title, "per node", ours, theirs))
    rows.append((title.split(",")[0] + ", ours on a tape()", "per node", taped, theirs))

    rows.extend(measure_wide_sums(width, repeats))
    gc.collect()

    xs, ys = moons(100)
    sizes = [2, 16, 16, 1]
    step: dict[str, float] = {}
    for name, V, fused, mode in STEP_VARIANTS:
        layers = mlp_parameters(V, sizes)
        step[name] = training_ns(V, layers, xs, ys, fused, mode, step_repeats)
    elapsed = time.perf_counter() - began

    print(f"Engine benchmark (python {sys.version.split()[0]}), medians of {repeats} repeats")
    print(
        "The chain depth is one the classic recursive topological sort can do with "
        f"sys.setrecursionlimit({sys.getrecursionlimit():,}); ours needs no raised limit.\n"
    )
    header = f"{'graph':<58} {'measure':<18} {'ours':>10} {'classic':>10} {'classic/ours':>13}"
    print(header)
    print("-" * len(header))
    for title, unit, ours, theirs in rows:
        for key, label in [
            ("forward", f"forward ns {unit}"),
            ("backward", f"backward ns {unit}"),
            ("bytes", f"bytes {unit}"),
        ]:
            ratio = theirs[key] / ours[key] if ours[key] else float("inf")
            print(
                f"{title:<58} {label:<18} {ours[key]:>10.0f} {theirs[key]:>10.0f} {ratio:>12.1f}x"
            )
            title = ""
    print()
    print(
        "training step, MLP(2, [16, 16, 1]) on 100 points, hinge + 1e-4 L2, SGD "
        f"(median of {step_repeats}):"
    )
    for name, *_ in STEP_VARIANTS:
        ratio = step["classic"] / step[name]
        print(f"  {name:<42} {step[name] / 1e6:>8.1f} ms   classic/this = {ratio:>5.1f}x")
    chain_ours, chain_classic, chain_taped = rows[0][2], rows[0][3], rows[1][2]
    targets = [
        ("backward >= 5x faster per node (deep chain)", chain_classic, chain_ours, "backward", 5),
        (
            "backward >= 5x faster per node (deep chain, ours on a tape)",
            chain_classic,
            chain_taped,
            "backward",
            5,
        ),
        ("memory per node <= half (deep chain)", chain_classic, chain_ours, "bytes", 2),
    ]
    print("\ntargets (issue 2):")
    for text, theirs, ours, key, factor in targets:
        ratio = theirs[key] / ours[key]
        print(f"  {text:<76} {ratio:>5.1f}x  {'met' if ratio >= factor else 'NOT met'}")
    for name, *_ in STEP_VARIANTS[1:]:
        ratio = step["classic"] / step[name]
        text = f"training step >= 10x faster ({name})"
        print(f"  {text:<76} {ratio:>5.1f}x  {'met' if ratio >= 10 else 'NOT met'}")
    print(f"\n(total {elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
