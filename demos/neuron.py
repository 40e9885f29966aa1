"""One neuron, o = tanh(x1*w1 + x2*w2 + b): forward, backward, and every gradient printed."""

from __future__ import annotations

import argparse
import sys

from autograd import Value


def build(x1: float = 2.0, x2: float = 0.0, w1: float = -3.0, w2: float = 1.0, b: float = 6.8814):
    """The neuron of the classic walkthrough, every value labelled."""
    x1_, x2_ = Value(x1, "x1"), Value(x2, "x2")
    w1_, w2_ = Value(w1, "w1"), Value(w2, "w2")
    b_ = Value(b, "b")
    x1w1 = x1_ * w1_
    x1w1.label = "x1*w1"
    x2w2 = x2_ * w2_
    x2w2.label = "x2*w2"
    n = x1w1 + x2w2 + b_
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, {"x1": x1_, "x2": x2_, "w1": w1_, "w2": w2_, "b": b_}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demos neuron", description=__doc__)
    for name, default, what in [
        ("x1", 2.0, "input 1"),
        ("x2", 0.0, "input 2"),
        ("w1", -3.0, "weight of input 1"),
        ("w2", 1.0, "weight of input 2"),
        ("b", 6.8814, "bias"),
    ]:
        parser.add_argument(f"--{name}", type=float, default=default, help=what)
    args = parser.parse_args(argv)
    o, inputs = build(args.x1, args.x2, args.w1, args.w2, args.b)
    o.backward()
    print(f"o = tanh(x1*w1 + x2*w2 + b) = {o.data:.6f}")
    for name, value in inputs.items():
        print(f"  d o/d {name:<2} = {value.grad: .6f}   ({value!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
