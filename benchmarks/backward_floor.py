"""Where backward's time per node goes on the deep chain, against the classic engine's.

    python benchmarks/backward_floor.py            # about 10 s
    python benchmarks/backward_floor.py --quick    # a shorter chain, fewer repeats

Issue 2 asks for backward at least 5x faster per node than the classic closure engine on the
deep chain of `benchmarks/engine.py` (v = tanh(v * w), two nodes per link). On a tape,
`backward()` is one loop over the recorded nodes (`autograd.value.backward_scalar`). Here that
loop is timed with its parts added one at a time, on the same chain, side by side in one run:

1. the chain rule alone: parent.grad += local * node.grad for each node, newest first;
2. + the test that skips nodes the root does not depend on (grad still `_UNREACHED`);
3. + the test for parents made before the tape began (a creation number below the tape's);
4. + the reset of every recorded node to `_UNREACHED` before the pass: all that `backward()`
   does on a tape, written out here;

and then `backward()` itself. Variants 1 to 3 give the right gradients only because the chain
is freshly built, read in full and has no parent older than the tape: they are floors, not
alternatives. Every variant's gradients are checked against `backward()`'s, so each loop
measured really computes the gradient. As in `engine.py`, the collector is left on and
`gc.collect()` runs before each timed pass (so no pass pays for garbage it did not make).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import autograd  # noqa: E402
from autograd import Value  # noqa: E402
from autograd.value import _UNREACHED  # noqa: E402
from benchmarks import classic  # noqa: E402
from benchmarks.engine import chain  # noqa: E402


def chain_rule_only(nodes, start: int) -> None:
    for node in nodes:
        grad = node.grad
        parents = node.parents
        if len(parents) == 2:
            a, b = parents
            local_a, local_b = node.local_grads
            a.grad += local_a * grad
            b.grad += local_b * grad
        else:
            parents[0].grad += node.local_grads[0] * grad


def with_unreached_test(nodes, start: int) -> None:
    unreached = _UNREACHED
    for node in nodes:
        grad = node.grad
        if grad is unreached:
            continue
        parents = node.parents
        if len(parents) == 2:
            a, b = parents
            local_a, local_b = node.local_grads
            a.grad += local_a * grad
            b.grad += local_b * grad
        else:
            parents[0].grad += node.local_grads[0] * grad


def with_both_tests(nodes, start: int) -> None:
    unreached = _UNREACHED
    for node in nodes:
        grad = node.grad
        if grad is unreached:
            continue
        parents = node.parents
        if len(parents) == 2:
            a, b = parents
            local_a, local_b = node.local_grads
            a.grad += local_a * grad
            b.grad += local_b * grad
            if a._serial < start or b._serial < start:
                raise AssertionError("no parent of this chain was made before the tape")
        else:
            a = parents[0]
            a.grad += node.local_grads[0] * grad
            if a._serial < start:
                raise AssertionError("no parent of this chain was made before the tape")


def with_reset(nodes, start: int) -> None:
    unreached = _UNREACHED
    for node in nodes:
        node.grad = unreached
    nodes[-1].grad = 1.0
    with_both_tests(reversed(nodes), start)


VARIANTS = [  # name, loop (None: backward() itself), whether the loop is given the reversed tape
    ("1. the chain rule alone", chain_rule_only, True),
    ("2. + the unreached test", with_unreached_test, True),
    ("3. + the before-the-tape test", with_both_tests, True),
    ("4. + the reset (all of backward's loop)", with_reset, False),
    ("backward() on a tape", None, False),
]


def leaves_of(root: Value) -> list[Value]:
    """The chain's two leaves: the first v (down the first parents) and w (every `*` reads it)."""
    w = root.parents[0].parents[1]
    node = root
    while node.parents:
        node = node.parents[0]
    return [node, w]


def time_variant(loop, reversed_tape: bool, depth: int) -> tuple[float, list[float]]:
    """ns per node of one pass over a fresh chain built on a tape, and the leaves' gradients."""
    with autograd.tape() as recorded:
        root = chain(Value, depth)
        nodes = recorded.nodes
        gc.collect()
        start = time.perf_counter_ns()
        if loop is None:
            root.backward()
        elif reversed_tape:
            root.grad = 1.0
            loop(reversed(nodes), recorded.start)
        else:
            loop(nodes, recorded.start)
        elapsed = time.perf_counter_ns() - start
        grads = [leaf.grad for leaf in leaves_of(root)]
    return elapsed / len(nodes), grads


def time_classic(depth: int) -> float:
    root = chain(classic.Value, depth)
    gc.collect()
    start = time.perf_counter_ns()
    root.backward()
    return (time.perf_counter_ns() - start) / (2 * depth)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter chain, fewer repeats")
    args = parser.parse_args(argv)
    depth = 5_000 if args.quick else 30_000  # engine.py's depth
    repeats = 3 if args.quick else 11
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * depth + 1000))

    times: dict[str, list[float]] = {name: [] for name, _, _ in VARIANTS}
    times["classic"] = []
    expected = None
    for _ in range(repeats):  # interleaved, so a slow moment of the machine hits every row
        times["classic"].append(time_classic(depth))
        for name, loop, reversed_tape in reversed(VARIANTS):  # backward() first: the oracle
            ns, grads = time_variant(loop, reversed_tape, depth)
            if loop is None:
                expected = grads
            elif grads != expected:
                raise AssertionError(f"{name}: gradients {grads}, backward() gives {expected}")
            times[name].append(ns)

    classic_ns = statistics.median(times["classic"])
    print(
        f"Backward on the deep chain tanh(v*w) x {depth:,} ({2 * depth:,} nodes), built on a "
        f"tape; median ns per node of {repeats} passes (python {sys.version.split()[0]})\n"
    )
    print(f"{'loop':<42} {'ns/node':>8} {'classic/this':>13}")
    print(f"{'classic engine: recursive sort + closures':<42} {classic_ns:>8.1f} {1.0:>12.2f}x")
    for name, _, _ in VARIANTS:
        ns = statistics.median(times[name])
        print(f"{name:<42} {ns:>8.1f} {classic_ns / ns:>12.2f}x")
    budget = classic_ns / 5
    floor = statistics.median(times[VARIANTS[0][0]])
    print(
        f"\n5x the classic engine leaves {budget:.0f} ns per node; the chain rule alone takes "
        f"{floor:.0f}, so the reset and the two tests that keep backward correct\n"
        f"(see autograd.value._backward_on_tape) would have to fit in {budget - floor:.0f} ns."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
