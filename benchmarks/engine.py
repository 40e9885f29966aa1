"""Engine benchmark: our `autograd.Value` against the classic closure engine, side by side.

    python benchmarks/engine.py            # about 30-50 s
    python benchmarks/engine.py --quick    # fewer repeats, smaller graphs (a smoke run)

Measures, for both engines in the same run (medians over repeats; the cyclic garbage collector
is left on, as a learner's script would have it, and `gc.collect()` runs between repeats):

- a deep chain, v = tanh(v * w) repeated: forward and backward ns per node, bytes per node;
- a wide sum of n leaves: ours as one n-ary `autograd.sum` node and as binary `+`, the classic
  engine with the builtin `sum`: ns and bytes per term;
- one sample's graph through an MLP(2, [16, 16, 1]) (relu, relu, linear) and its hinge loss,
  the graph a learner steps through: forward and backward in nodes per second, the classic
  engine's neurons of `*` and `+` against ours built from the same code, and ours as
  `nn.MLP` builds it at neuron grain (one `autograd.linear` node per neuron, and the taught
  neurons of `*`, `+` and relu, `fused=False`);
- one full-batch training step of an MLP(2, [16, 16, 1]) (relu, relu, linear) on 100 points:
  forward, hinge loss + 1e-4 * L2, backward, SGD update, one graph per sample. Built from Value
  ops directly, the same code for both engines, plus ours with one fused `autograd.linear` node
  per neuron, and both of ours with each step inside `autograd.gc_paused()`; timed as
  consecutive steps of a loop. (`nn.fit`'s layer-grain step, a few nodes a step, is in
  `benchmarks/speed.py`.)

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
]


def training_ns(V, layers, xs, ys, fused: bool, mode: str, repeats: int) -> float:
    """Median ns of one step over `repeats` consecutive steps, as in a training loop.

    No gc.collect() between the steps: each step pays for the garbage the last one left, as
    it would in a real loop (the classic engine's closures make reference cycles, which only
    the cyclic collector frees; our graphs are freed by reference counting). `mode` "paused":
    each step inside `autograd.gc_paused()`, as a training loop on our engine can.
    """
    training_step(V, layers, xs, ys, fused)  # warm up
    gc.collect()
    times = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        if mode == "paused":
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


def one_sample_graph(kind: str, xs: list[list[float]], ys: list[float]) -> Callable[[], object]:
    """A builder of one sample's hinge loss through MLP(2, [16, 16, 1]), at the initial weights
    (the same each time): "classic" and "ours" from the same code (neurons of `*` and `+`),
    "nn fused" and "nn taught" as `nn.MLP` builds a sample at neuron grain."""
    import numpy as np

    import nn

    x, y = xs[0], ys[0]
    if kind in ("classic", "ours"):
        V = ENGINES[kind]
        layers = mlp_parameters(V, [2, 16, 16, 1])

        def build():
            h = x
            for index, layer in enumerate(layers):
                h = [sum((w * xi for w, xi in zip(ws, h)), b) for ws, b in layer]
                h = h if index == len(layers) - 1 else [z.relu() for z in h]
            return (1 + -y * h[0]).relu()

        return build
    rng = np.random.default_rng(0)
    weights = [
        rng.uniform(-1, 1, (16, 2)),
        rng.uniform(-1, 1, (16, 16)),
        rng.uniform(-1, 1, (1, 16)),
    ]
    model = nn.MLP.from_weights(
        weights,
        [np.zeros(16), np.zeros(16), np.zeros(1)],
        ["relu", "relu", "linear"],
        kind == "nn fused",
    )
    return lambda: (1 + -y * model(x)).relu()


def measure_one_sample(xs, ys, repeats: int) -> dict[str, dict[str, float]]:
    """{kind: {"nodes", "forward", "backward" (nodes per second)}} for `one_sample_graph`:
    the median of building the graph, and of building it and running backward (the
    difference is backward's)."""
    from benchmarks.speed import interleaved_ms  # (the same timing loop)

    results = {}
    for kind in ("classic", "ours", "nn fused", "nn taught"):
        build = one_sample_graph(kind, xs, ys)
        nodes = graph_nodes(build())

        def both(build=build) -> None:
            build().backward()

        pause = kind != "classic"  # (the classic engine's closures are cycles: it needs the GC)
        if pause:
            gc.disable()
        try:
            ms = interleaved_ms({"forward": build, "both": both}, 0.0, rounds=repeats)
        finally:
            gc.enable()
        gc.collect()
        backward_ms = max(ms["both"] - ms["forward"], 1e-9)
        results[kind] = {
            "nodes": nodes,
            "forward": nodes / (ms["forward"] / 1e3),
            "backward": nodes / (backward_ms / 1e3),
        }
    return results


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
    rows.append((title, "per node", ours, theirs))

    rows.extend(measure_wide_sums(width, repeats))
    gc.collect()

    xs, ys = moons(100)
    one_sample = measure_one_sample(xs, ys, 50 if args.quick else 2000)
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
        "one sample's graph, MLP(2, [16, 16, 1]) and its hinge loss: nodes per second "
        "(medians; the collector paused for ours)"
    )
    classic_rates = one_sample["classic"]
    for kind, result in one_sample.items():
        print(
            f"  {kind:<10} {result['nodes']:>5} nodes   forward {result['forward']:>11,.0f}/s "
            f"({result['forward'] / classic_rates['forward']:>4.1f}x classic)   backward "
            f"{result['backward']:>11,.0f}/s "
            f"({result['backward'] / classic_rates['backward']:>4.1f}x)"
        )
    print()
    print(
        "training step, MLP(2, [16, 16, 1]) on 100 points, one graph per sample, hinge + 1e-4 "
        f"L2, SGD (median of {step_repeats}):"
    )
    for name, *_ in STEP_VARIANTS:
        ratio = step["classic"] / step[name]
        print(f"  {name:<42} {step[name] / 1e6:>8.1f} ms   classic/this = {ratio:>5.1f}x")
    chain_ours, chain_classic = rows[0][2], rows[0][3]
    targets = [
        ("backward >= 5x faster per node (deep chain)", chain_classic, chain_ours, "backward", 5),
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
