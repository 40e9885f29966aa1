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
measured really computes the gradient.

Then the one alternative that would pass 5x: the before-the-tape test done when each node is
recorded (in `_make`) instead of in backward. Backward would run loop 4 without test 3; forward
would pay the test. Both sides are timed here: that loop, and the chain's forward on a tape with
`autograd.value._make` as it is and with the test added (swapped in for the measurement only).

Backward passes as in `engine.py`: the collector left on and `gc.collect()` run before each
timed pass (so no pass pays for garbage it did not make). Forward passes with the collector
paused, as `nn.fit` runs a step, so that its walks of the growing graph do not drown a
difference of a few ns per node.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import os
import statistics
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import autograd  # noqa: E402
from autograd import Value  # noqa: E402
from autograd.value import (  # noqa: E402 (the names make_noting_old_parents reads)
    _UNREACHED,
    LEAF,
    _anomaly,
    _check_forward,
    _new_value,
    _next_serial,
    _recording,
    _tape,
)
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


def reset_and_seed(nodes) -> None:
    """What backward does before its loop on a tape: every recorded node to `_UNREACHED`, then
    d root/d root = 1 (the root is the last node recorded)."""
    unreached = _UNREACHED
    for node in nodes:
        node.grad = unreached
    nodes[-1].grad = 1.0


def with_reset(nodes, start: int) -> None:
    reset_and_seed(nodes)
    with_both_tests(reversed(nodes), start)


def with_reset_not_test_3(nodes, start: int) -> None:
    """Loop 4 without the before-the-tape test: backward's loop if `_make` did that test."""
    reset_and_seed(nodes)
    with_unreached_test(reversed(nodes), start)


VARIANTS = [  # name, loop (None: backward() itself), whether the loop is given the reversed tape
    ("1. the chain rule alone", chain_rule_only, True),
    ("2. + the unreached test", with_unreached_test, True),
    ("3. + the before-the-tape test", with_both_tests, True),
    ("4. + the reset (all of backward's loop)", with_reset, False),
    ("backward() on a tape", None, False),
    ("4 without 3 (the alternative's backward)", with_reset_not_test_3, False),
]
ALTERNATIVE = VARIANTS[-1][0]


def make_noting_old_parents(data, parents, local_grads, op, readers=None):
    """`autograd.value._make` plus the alternative: at record time, note a node that reads a
    parent made before the tape (so that backward would not need to test for it).

    Run with the engine module's own globals (see `alternative_make`), so every name below is
    looked up exactly as in `_make`; the imports at the top only name them for the reader.
    """
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _recording:
        out.op, out.parents, out.local_grads = op, parents, local_grads
        out._serial = _next_serial()
        if _tape is not None:
            _tape.nodes.append(out)
            if type(data) is not float:
                _tape.batched = True
            start = _tape.start
            if len(parents) <= 2:  # one or two parents (most nodes): no loop, no iterator
                if parents[0]._serial < start or parents[-1]._serial < start:
                    readers.append(out)
            else:
                for parent in parents:
                    if parent._serial < start:
                        readers.append(out)
                        break
    else:
        out.op, out.parents, out.local_grads = "", (), ()
        out._serial = LEAF
    if _anomaly:
        _check_forward(op, parents, data, local_grads)
    return out


def alternative_make(readers: list):
    """`make_noting_old_parents` bound to autograd.value's globals, appending to `readers`."""
    code = make_noting_old_parents.__code__
    return types.FunctionType(code, vars(autograd.value), code.co_name, (readers,))


def check_alternative(make, readers: list) -> None:
    """Make sure the swapped-in `_make` is `_make` as it is plus the test (every line of
    `_make`'s body is in it), that operations call it, and that it notes what it should."""

    def code_lines(function) -> set[str]:
        lines = inspect.getsource(function).splitlines()[1:]  # the body (after the `def`)
        return {line.split("#")[0].strip() for line in lines} - {""}

    missing = code_lines(autograd.value._make) - code_lines(make_noting_old_parents)
    if missing:
        raise AssertionError(f"make_noting_old_parents lacks lines of _make: {sorted(missing)}")
    before_tape = Value(2.0) * 3.0
    original = autograd.value._make
    try:
        autograd.value._make = make
        with autograd.tape():
            reader = before_tape + 1.0
    finally:
        autograd.value._make = original
    if readers != [reader]:
        raise AssertionError("the alternative _make was not used")
    readers.clear()


def time_forward(depth: int, make=None) -> float:
    """ns per node of building the chain on a tape, with `make` as autograd.value._make; the
    collector paused (as `nn.fit` runs a step), so its walks do not drown a few ns."""
    original = autograd.value._make
    gc.collect()
    try:
        if make is not None:
            autograd.value._make = make
        with autograd.gc_paused(), autograd.tape():
            start = time.perf_counter_ns()
            root = chain(Value, depth)
            elapsed = time.perf_counter_ns() - start
    finally:
        autograd.value._make = original
    del root
    return elapsed / (2 * depth)


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

    readers: list[Value] = []
    noting = alternative_make(readers)
    check_alternative(noting, readers)

    times: dict[str, list[float]] = {name: [] for name, _, _ in VARIANTS}
    times.update({"classic": [], "forward": [], "forward, noting": []})
    oracle = [v for v in VARIANTS if v[1] is None]
    for repeat in range(repeats):  # interleaved, so a slow moment of the machine hits every row
        times["classic"].append(time_classic(depth))
        expected = None
        for name, loop, reversed_tape in oracle + [v for v in VARIANTS if v[1] is not None]:
            ns, grads = time_variant(loop, reversed_tape, depth)
            if loop is None:
                expected = grads
            elif grads != expected:
                raise AssertionError(f"{name}: gradients {grads}, backward() gives {expected}")
            times[name].append(ns)
        forwards = [("forward", None), ("forward, noting", noting)]
        for name, make in forwards if repeat % 2 else forwards[::-1]:  # each goes first in turn
            times[name].append(time_forward(depth, make))
    if readers:
        raise AssertionError("the chain has no parent made before its tape")

    median = {name: statistics.median(values) for name, values in times.items()}
    classic_ns = median["classic"]
    print(
        f"Backward on the deep chain tanh(v*w) x {depth:,} ({2 * depth:,} nodes), built on a "
        f"tape; median ns per node of {repeats} passes (python {sys.version.split()[0]})\n"
    )
    print(f"{'loop':<42} {'ns/node':>8} {'classic/this':>13}")
    print(f"{'classic engine: recursive sort + closures':<42} {classic_ns:>8.1f} {1.0:>12.2f}x")
    for name, _, _ in VARIANTS:
        print(f"{name:<42} {median[name]:>8.1f} {classic_ns / median[name]:>12.2f}x")
    budget = classic_ns / 5
    floor = median[VARIANTS[0][0]]
    print(
        f"\n5x the classic engine leaves {budget:.0f} ns per node; the chain rule alone takes "
        f"{floor:.0f}, so the reset and the two tests that keep backward correct\n"
        f"(see autograd.value._backward_on_tape) would have to fit in {budget - floor:.0f} ns."
    )
    saved = median[VARIANTS[3][0]] - median[ALTERNATIVE]  # loop 4, with and without test 3
    paid = median["forward, noting"] - median["forward"]
    print(
        "\nThe before-the-tape test at record time instead (in _make), forward on a tape:\n"
        f"  _make as it is: {median['forward']:.1f} ns per node; with the test: "
        f"{median['forward, noting']:.1f} ({paid:+.1f})\n"
        f"  backward would save {saved:.1f} ns per node and forward pay {paid:.1f}."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
