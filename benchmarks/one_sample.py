"""One sample's graph through MLP(2, [16, 16, 1]), `mlp(x)` and `mlp(x).backward()`, in this
checkout and, side by side, in another one (an older commit checked out with `git worktree`):
microseconds, best of 15 repeats of 300 (this process's CPU time), alternating the two.

    python benchmarks/one_sample.py                      # this checkout only
    python benchmarks/one_sample.py --against /tmp/old   # and another checkout, in turn

Each measurement runs in a fresh Python whose `sys.path` starts with the checkout measured."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MEASURE = """
import sys, time, gc
sys.path.insert(0, sys.argv[1])
import nn
model = nn.MLP(2, [16, 16, 1], seed=0, fused=sys.argv[2] == "fused")
x = [0.5, -1.2]
gc.disable()
def best(f, k=300):
    times = []
    for _ in range(15):
        t0 = time.process_time()
        for _ in range(k):
            f()
        times.append((time.process_time() - t0) / k * 1e6)
    return min(times)
def both():
    model(x).backward()
print(f"{best(lambda: model(x)):.1f} {best(both):.1f}")
"""


def measure(root: str, neurons: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, root, neurons], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="another checkout of the project")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    roots = [("this", HERE)] + ([("other", args.against)] if args.against else [])
    print("us per call, MLP(2, [16, 16, 1]), one sample: forward | forward + backward")
    for neurons in ("fused", "taught"):
        for k in range(args.rounds):
            for name, root in roots:
                forward, both = measure(root, neurons)
                print(f"  {neurons:6} round {k + 1}  {name:5}  {forward:8.1f} | {both:8.1f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(main())
