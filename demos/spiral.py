"""The CS231n spiral: three arms of 100 points, an MLP(2, [32, 32, 3]) with cross-entropy.

`nn.data.spiral(100, classes=3, noise=0.2)`; relu hidden layers and three linear logits;
AdamW (lr 0.02, weight decay 1e-4), 500 full-batch steps; training accuracy 99% and more,
with the decision regions in `out/spiral/boundary.png`. See `demos/multiclass.py` for the
NumPy form it is checked against.
"""

from __future__ import annotations

import sys

import nn

from . import multiclass

NAME = "spiral"
DEFAULTS = {"steps": 500, "lr": 0.02, "seed": 0}
QUICK = {"steps": 150}


def run(steps=DEFAULTS["steps"], lr=DEFAULTS["lr"], seed=DEFAULTS["seed"], out=None, every=0):
    X, y = nn.data.spiral(100, classes=3, noise=0.2, seed=0)
    settings = multiclass.Settings([32, 32], steps, lr, 1e-4, seed)
    data = {"data": "300 spiral points (CS231n), 3 classes, noise 0.2, data seed 0"}
    return multiclass.train(NAME, X, y, settings, out, every, data)


def main(argv: list[str] | None = None) -> int:
    return multiclass.main(NAME, __doc__, run, DEFAULTS, QUICK, argv)


if __name__ == "__main__":
    sys.exit(main())
