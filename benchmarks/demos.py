"""Time every demo with its original settings, each in a fresh Python process.

    python benchmarks/demos.py                 # the demos that train against a NumPy twin
    python benchmarks/demos.py moons xor       # just these
    python benchmarks/demos.py --runs 3        # each demo three times, and the median ratio
    python benchmarks/demos.py --pictures      # let the demos write their pictures too
    python benchmarks/demos.py --quick         # each demo with --quick (a smoke run)

Each demo runs as `python -m demos NAME` (no --quick: the tutorials' own sizes, iterations and
learning rates) in a subprocess, so the times include starting Python and importing NumPy, as a
learner running it would see. Prints seconds and the exit status of each, and the total.

Inside each process the demo also times its two trainings of the same network from the same
weights (`demos.common.TIMES`, printed when DEMOS_TIMES is set): on the engine (`nn.MLP` at
layer grain, each layer one node, the loss over the batch one more, `nn.optim`) and in the
demo's own NumPy version. The ratio engine / NumPy is the issue's measure (target: at most
1.25x); with --runs N each demo runs N times and the table shows every run's ratio and the
median.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def takes_flag(name: str, flag: str) -> bool:
    """Whether `python -m demos NAME --help` lists `flag`."""
    done = subprocess.run(
        [sys.executable, "-m", "demos", name, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return flag in done.stdout


#: One BLAS thread in every demo process: the CPU seconds are then the training's own, and a
#: busy machine's other programs move them less than wall seconds.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

TIMES = re.compile(
    r"^demo-times engine=(\S+) numpy=(\S+)(?: engine_cpu=(\S+) numpy_cpu=(\S+))?$", re.M
)


def time_demo(name: str, flags: list[str], timeout: float) -> tuple[float, str, tuple | None]:
    """(seconds, "ok" / "exit N" / "timeout", (engine s, NumPy s, engine CPU s, NumPy CPU s)
    or None) for one run of `python -m demos NAME flags` (one BLAS thread, so that CPU
    seconds are the training's own)."""
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "demos", name, *flags],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "DEMOS_TIMES": "1", **ONE_THREAD},
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, "timeout", None
    seconds = time.perf_counter() - start
    found = TIMES.search(done.stderr)
    trained = tuple(float(t) for t in found.groups() if t is not None) if found else None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1][:60]
        return seconds, f"exit {done.returncode} {last}".rstrip(), trained
    return seconds, "ok", trained


#: The demos whose training has a NumPy twin (the default set).
CLASSIC = (
    "xor",
    "two_layer",
    "perceptron",
    "deep",
    "blobs",
    "moons",
    "spiral",
    "yinyang",
    "digits",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="demos to time (default: the classic ones)")
    parser.add_argument("--pictures", action="store_true", help="let demos write pictures")
    parser.add_argument("--quick", action="store_true", help="pass --quick to each demo")
    parser.add_argument("--runs", type=int, default=1, help="runs of each demo (default 1)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per demo")
    args = parser.parse_args(argv)
    try:
        from demos import DEMOS
    except ImportError:
        print("no demos package here", file=sys.stderr)
        return 2
    names = args.names or [name for name in CLASSIC if name in DEMOS]
    unknown = [n for n in names if n not in DEMOS]
    if unknown:
        print(f"unknown demo(s) {', '.join(unknown)}; choose from {', '.join(DEMOS)}")
        return 2
    runs = max(1, args.runs)
    print(
        f"Each demo with its {'--quick' if args.quick else 'original'} settings: "
        f"python -m demos NAME (python {sys.version.split()[0]}); training seconds on the engine "
        "and in the demo's own NumPy version, measured in the same process"
    )
    header = f"{'demo':<11} {'seconds':>8}  {'engine s':>9} {'NumPy s':>8}"
    header += "".join(f" {'run ' + str(k + 1):>7}" for k in range(runs))
    header += f" {'median':>7}" if runs > 1 else ""
    header += f" {'CPU ratio':>9}  result"
    print(header)
    total, worst = 0.0, 0
    for name in names:
        flags = ["--quick"] if args.quick else []
        if not args.pictures and takes_flag(name, "--no-pictures"):
            flags.append("--no-pictures")
        seconds, engine, numpy_s, ratios, cpu, results = 0.0, [], [], [], [], []
        for _ in range(runs):
            spent, result, trained = time_demo(name, flags, args.timeout)
            seconds += spent / runs
            results.append(result)
            if trained and trained[1] > 0:
                engine.append(trained[0])
                numpy_s.append(trained[1])
                ratios.append(trained[0] / trained[1])
                if len(trained) == 4 and trained[3] > 0:
                    cpu.append(trained[2] / trained[3])
        total += seconds * runs
        worst = worst if all(r == "ok" for r in results) else 1
        shown = " ".join(flags)
        verdict = results[0] if len(set(results)) == 1 else ", ".join(results)
        if ratios:
            line = f"{statistics.median(engine):>9.3f} {statistics.median(numpy_s):>8.3f}"
            line += "".join(f" {r:>6.2f}x" for r in ratios)
            line += f" {statistics.median(ratios):>6.2f}x" if runs > 1 else ""
            line += f" {statistics.median(cpu):>8.2f}x" if cpu else f" {'':>9}"
        else:
            line = f"{'':>9} {'(no training timed)':>{18 + 8 * runs + (8 if runs > 1 else 0)}}"
        print(
            f"{name:<11} {seconds:>8.2f}  {line}  {verdict}{'  (' + shown + ')' if shown else ''}"
        )
        sys.stdout.flush()
    print(f"{'total':<11} {total:>8.2f}")
    print(
        "(engine s, NumPy s: wall seconds, medians over the runs; run k: engine / NumPy of that "
        "run;\n CPU ratio: the same from this process's CPU seconds, median over the runs)"
    )
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
