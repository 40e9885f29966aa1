"""Saving and loading a model file: seconds against parameters, which should be linear.

    python benchmarks/files.py            # about 10 s
    python benchmarks/files.py --quick    # a smoke run

For networks of about 3,000 to 200,000 parameters, `nn.save` and `nn.load` (the checksum
verified) each timed once after a warm-up; the last column is the time per parameter as a ratio
to the smallest network's, measured in the same run: about 1 everywhere when loading is
linear (a quadratic loader doubles it with every doubling of the size).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nn  # noqa: E402


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller networks: a smoke run")
    args = parser.parse_args(argv)
    widths = [16, 32, 64] if args.quick else [50, 100, 200, 400]
    print(
        f"{'parameters':>11} {'save s':>8} {'load s':>8} {'load us/param':>14} {'vs smallest':>12}"
    )
    first = None
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.json")
        for width in widths:
            model = nn.MLP(8, [width, width, 1], seed=0)
            count = model.num_parameters()
            nn.save(model, path)  # warm-up
            save = timed(lambda model=model: nn.save(model, path))
            load = timed(lambda: nn.load(path))
            per = load / count * 1e6
            first = first or per
            print(f"{count:>11,} {save:>8.3f} {load:>8.3f} {per:>14.2f} {per / first:>11.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
