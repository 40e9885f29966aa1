"""What one `nn.fit` step costs beside its NumPy calls, counted rather than timed.

    python benchmarks/step_cost.py                   # Python bytecodes, by part of the step
    python benchmarks/step_cost.py --instructions    # and machine instructions (valgrind)
    python benchmarks/step_cost.py --width 64 --batch 1000
    python benchmarks/step_cost.py --gpt             # also the plain-written GPT (issue 25)
    python benchmarks/step_cost.py --by-phase        # instructions of ours and the bare design
                                                     # by phase: forward, backward, optimizer

The step is `benchmarks/speed.py`'s (MLP(2, [w, w, 1]), relu, hinge + 1e-4 L2, SGD, layer
grain, built as `nn.fit` builds it) beside the lean hand-written NumPy step of the same file
and the bare design (`bare.py`: the same nodes and loop, nothing around them).
Both make about the same NumPy calls; what a timer cannot separate on a busy machine is the
Python around them. Two counts that do not depend on the machine's load:

- **bytecodes**: the Python instructions each part of the step executes (`sys.settrace` with
  opcode events), by part (forward, loss, L2 penalty, zero_grad, backward, optimizer) and by
  function, against the lean step's total and the bare design's;
- **machine instructions** (`--instructions`, needs `valgrind`): the whole step's, NumPy and
  BLAS included, under callgrind: a run of 2N steps minus a run of N, divided by N, for the
  three steps, and their ratios to the lean step's. Expect two or three minutes.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import speed  # noqa: E402  (this folder's: the step, the lean step, the data)

PARTS = ("forward", "loss", "L2 penalty", "zero_grad", "backward", "optimizer")


def engine_parts(width: int, batch: int) -> list[tuple[str, Callable[[], Any]]]:
    """`nn.train.step`'s work for one step, part by part, as `nn.fit` runs it (its quiet
    NumPy state entered once around the whole step by the caller)."""
    from autograd import Value
    from nn import losses, optim, train

    X, y = speed.moons(batch)
    Xc, yc = Value(X, "X", requires_grad=False), train.constant_targets(y)
    model = speed.nn_model(width)
    optimizer = optim.SGD(model.parameters(), lr=speed.LEARNING_RATE)
    penalized = model.parameters()
    graph: dict[str, Any] = {}

    def forward() -> None:
        graph["out"] = train.forward(model, Xc)

    def loss() -> None:
        graph["loss"] = losses.hinge(graph["out"], yc)

    def penalty() -> None:
        graph["loss"] = graph["loss"] + losses.l2(penalized, speed.L2)

    def backward() -> None:
        graph["loss"].backward()

    steps = (forward, loss, penalty, optimizer.zero_grad, backward, optimizer.step)
    return list(zip(PARTS, steps))


def count_bytecodes(parts: list[tuple[str, Callable[[], Any]]]) -> tuple[dict, dict]:
    """Bytecodes executed by each part, and by each function (file:name), in one step."""
    by_part: dict[str, int] = collections.Counter()
    by_function: dict[str, int] = collections.Counter()
    part = [""]

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            by_part[part[0]] += 1
            by_function[f"{os.path.basename(code.co_filename)}:{code.co_name}"] += 1
        return tracer

    for name, work in parts:
        part[0] = name
        sys.settrace(tracer)
        try:
            work()
        finally:
            sys.settrace(None)
    return by_part, by_function


def gpt_counts() -> None:
    """The plain-written GPT of `benchmarks/gpt.py` on the classic Value and on this one:
    bytecodes of one step's forward and backward, and of one product and one `x + 1`."""
    import gpt
    import plain_value

    import autograd

    print("\nThe plain-written GPT, one step (benchmarks/gpt.py's model, weights and name):")
    for value_class in (plain_value.Value, autograd.Value):
        print(f"  {value_class.__module__:<15} {gpt_row(gpt, value_class)}")


def gpt_row(gpt: Any, value_class: type) -> str:
    state, name = gpt.state_of(value_class, gpt.weights()), gpt.tokens()
    loss: list[Any] = []
    forward = count_bytecodes([("", lambda: loss.append(gpt.plain_loss(name, state)))])[0][""]
    backward = count_bytecodes([("", lambda: loss[0].backward())])[0][""]
    a, b, x, y = value_class(2.0), value_class(3.0), 2.0, 3.0
    own = count_bytecodes([("", lambda: x * y)])[0][""]  # the lambda's own, on floats
    product = count_bytecodes([("", lambda: a * b)])[0][""] - own
    plus_one = count_bytecodes([("", lambda: a + 1)])[0][""] - own
    return (
        f"forward {forward:>10,}  backward {backward:>10,}  nodes {gpt.nodes(loss[0]):>7,}  "
        f"a * b {product:>4}  a + 1 {plus_one:>4}"
    )


PHASES = ("forward", "backward", "optimizer")


def run_steps(which: str, width: int, batch: int, steps: int, upto: str = "") -> None:
    """`steps` steps of one kind, for the instruction count (run under callgrind): `speed.py`'s
    own steps (the engine's is `nn.train.step`, as `nn.fit` calls it); with `upto`, the
    engine's or the bare design's step up to the end of that phase only."""
    X, y = speed.moons(batch)
    makers = {
        "engine": speed.nn_step,
        "lean": speed.lean_numpy_step,
        "bare": speed.bare_design_step,
    }
    step = phase_step(which, width, X, y, upto) if upto else makers[which](width, X, y)[0]
    for _ in range(10 + steps):
        step()


def phase_step(which: str, width: int, X: Any, y: Any, upto: str) -> Callable[[], None]:
    """One step up to the end of phase `upto` (forward: the loss graph with the penalty;
    backward: and zero_grad and backward(); optimizer: and SGD), in NumPy's quiet state."""
    import bare
    import numpy as np

    from autograd import Value
    from autograd.ieee import quiet
    from nn import losses, optim, train

    if which not in ("engine", "bare"):
        raise ValueError(f"phases are counted for the engine and the bare design, not {which!r}")
    last = PHASES.index(upto)
    if which == "bare":
        params, loss_of = bare.bare_step(
            speed.initial_weights(width), X, y, ["relu", "relu", "linear"], speed.L2, 0.0
        )[1:]

        def step() -> None:
            with np.errstate(all="ignore"):
                loss = loss_of()
                if last >= 1:
                    for p in params:
                        p.grad = 0.0
                    bare.backward(loss)
                if last >= 2:
                    for p in params:
                        p.data = p.data - speed.LEARNING_RATE * p.grad

        return step
    model = speed.nn_model(width)
    optimizer = optim.SGD(model.parameters(), lr=speed.LEARNING_RATE)
    penalized = model.parameters()
    Xc, yc = Value(X, "X", requires_grad=False), train.constant_targets(y)

    def ours() -> None:
        with quiet():
            loss = train.build_loss(model, Xc, yc, losses.hinge, speed.L2, True, penalized)[0]
            if last >= 1:
                optimizer.zero_grad()
                loss.backward()
            if last >= 2:
                optimizer.step()

    return ours


def instructions_per_step(which: str, width: int, batch: int, steps: int, upto: str = "") -> float:
    """Machine instructions of one step (up to phase `upto`, if given): callgrind's total for
    2N steps minus N, over N."""
    totals = []
    for n in (steps, 2 * steps):
        command = [
            "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
            sys.executable, os.path.abspath(__file__), "--run", which,
            "--width", str(width), "--batch", str(batch), "--steps", str(n),
        ] + (["--upto", upto] if upto else [])  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise RuntimeError(f"callgrind printed no total:\n{done.stderr[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--instructions", action="store_true", help="count them (valgrind)")
    parser.add_argument("--steps", type=int, default=200, help="N for the instruction count")
    parser.add_argument("--top", type=int, default=15, help="functions listed")
    parser.add_argument("--gpt", action="store_true", help="the plain-written GPT's counts")
    parser.add_argument("--by-phase", action="store_true", help="instructions by phase")
    parser.add_argument("--run", choices=("engine", "lean", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--upto", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        run_steps(args.run, args.width, args.batch, args.steps, args.upto or "")
        return 0

    from autograd.ieee import quiet

    parts = engine_parts(args.width, args.batch)
    with quiet():
        for _, work in parts:  # a first step: what is made once is made
            work()
        by_part, by_function = count_bytecodes(parts)
    X, y = speed.moons(args.batch)
    lean = speed.lean_numpy_step(args.width, X, y)[0]
    lean()
    lean_part, _ = count_bytecodes([("lean", lean)])
    bare = speed.bare_design_step(args.width, X, y)[0]
    bare()
    bare_part, _ = count_bytecodes([("bare", bare)])
    total = sum(by_part.values())
    print(f"One step of MLP(2, [{args.width}, {args.width}, 1]) on {args.batch} samples.")
    print("\nPython bytecodes executed (sys.settrace opcode events):")
    for name in PARTS:
        print(f"  {name:<12} {by_part[name]:>6}")
    print(
        f"  {'the step':<12} {total:>6}   (the lean NumPy step: {lean_part['lean']}, the bare "
        f"design: {bare_part['bare']})"
    )
    print(f"\nThe {args.top} functions that execute the most:")
    for function, count in sorted(by_function.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {count:>6}  {function}")
    if args.gpt:
        gpt_counts()
    if args.instructions:
        if shutil.which("valgrind") is None:
            print("\n--instructions needs valgrind (apt-get install valgrind)")
            return 1
        ours = instructions_per_step("engine", args.width, args.batch, args.steps)
        bare = instructions_per_step("bare", args.width, args.batch, args.steps)
        base = instructions_per_step("lean", args.width, args.batch, args.steps)
        print(f"\nMachine instructions per step (callgrind, {args.steps} vs {2 * args.steps}):")
        for name, count in (("nn.fit's step", ours), ("bare design", bare), ("lean NumPy", base)):
            print(
                f"  {name:<14} {count:>12,.0f}   {count / base:.2f}x lean, "
                f"extra {count - base:>9,.0f}"
            )
    if args.by_phase:
        if shutil.which("valgrind") is None:
            print("\n--by-phase needs valgrind (apt-get install valgrind)")
            return 1
        print(f"\nMachine instructions by phase (callgrind, {args.steps} vs {2 * args.steps}):")
        print(f"  {'phase':<12} {'nn.fit':>10} {'bare':>10} {'ours - bare':>12}")
        done = {"engine": 0.0, "bare": 0.0}
        for phase in PHASES:
            counts = {}
            for which in done:
                upto = instructions_per_step(which, args.width, args.batch, args.steps, phase)
                counts[which], done[which] = upto - done[which], upto
            ours, bare = counts["engine"], counts["bare"]
            print(f"  {phase:<12} {ours:>10,.0f} {bare:>10,.0f} {ours - bare:>12,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
