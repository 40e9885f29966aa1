"""Time every demo with its original settings, each in a fresh Python process.

    python benchmarks/demos.py                 # every demo, pictures off where a demo allows
    python benchmarks/demos.py moons xor       # just these
    python benchmarks/demos.py --pictures      # let the demos write their pictures too

Each demo runs as `python -m demos NAME` (no --quick: the tutorials' own sizes, iterations and
learning rates) in a subprocess, so the times include starting Python and importing NumPy, as a
learner running it would see. Prints seconds and the exit status of each, and the total.

Inside each process the demo also times its two trainings of the same network from the same
weights (`demos.common.TIMES`, printed when DEMOS_TIMES is set): on the engine (`nn`, batched,
on a tape) and in the demo's own NumPy version. The last column is their ratio, engine / NumPy.
"""

from __future__ import annotations

import argparse
import os
import re
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


TIMES = re.compile(r"^demo-times engine=(\S+) numpy=(\S+)$", re.M)


def time_demo(name: str, flags: list[str], timeout: float) -> tuple[float, str, tuple | None]:
    """(seconds, "ok" / "exit N" / "timeout", (engine s, NumPy s) or None) for one run of
    `python -m demos NAME flags`."""
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "demos", name, *flags],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "DEMOS_TIMES": "1"},
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, "timeout", None
    seconds = time.perf_counter() - start
    found = TIMES.search(done.stderr)
    trained = (float(found.group(1)), float(found.group(2))) if found else None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1][:60]
        return seconds, f"exit {done.returncode} {last}".rstrip(), trained
    return seconds, "ok", trained


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="demos to time (default: all)")
    parser.add_argument("--pictures", action="store_true", help="let demos write pictures")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per demo")
    args = parser.parse_args(argv)
    try:
        from demos import DEMOS
    except ImportError:
        print("no demos package here", file=sys.stderr)
        return 2
    names = args.names or list(DEMOS)
    unknown = [n for n in names if n not in DEMOS]
    if unknown:
        print(f"unknown demo(s) {', '.join(unknown)}; choose from {', '.join(DEMOS)}")
        return 2
    print(f"Each demo with its original settings: python -m demos NAME (python {sys.version[:6]})")
    print(
        f"{'demo':<12} {'seconds':>8}  {'training: engine':>16} {'NumPy':>8} {'engine/NumPy':>13}"
        "  result"
    )
    total, worst = 0.0, 0
    for name in names:
        flags = []
        if not args.pictures and takes_flag(name, "--no-pictures"):
            flags.append("--no-pictures")
        seconds, result, trained = time_demo(name, flags, args.timeout)
        total += seconds
        worst = worst if result == "ok" else 1
        shown = " ".join(flags)
        if trained and trained[1] > 0:
            times = f"{trained[0]:>16.3f} {trained[1]:>8.3f} {trained[0] / trained[1]:>12.2f}x"
        else:
            times = f"{'':>16} {'':>8} {'(no training)':>13}"
        print(
            f"{name:<12} {seconds:>8.2f}  {times}  {result}{'  (' + shown + ')' if shown else ''}"
        )
        sys.stdout.flush()
    print(f"{'total':<12} {total:>8.2f}")
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
