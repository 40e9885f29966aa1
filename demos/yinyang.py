"""Yin-yang, three classes (yin, yang and the dots): an MLP(2, [32, 32, 3]), cross-entropy.

`nn.data.yin_yang(500)` (the LLM101n micrograd's data set); relu hidden layers, three linear
logits, AdamW (lr 0.02, weight decay 1e-4), 600 full-batch steps; the decision regions are
in `out/yinyang/boundary.png`. See `demos/multiclass.py` for the NumPy form.
"""

from __future__ import annotations

import sys

import nn

from . import multiclass

NAME = "yinyang"
DEFAULTS = {"steps": 600, "lr": 0.02, "seed": 0}
QUICK = {"steps": 150}


def run(steps=DEFAULTS["steps"], lr=DEFAULTS["lr"], seed=DEFAULTS["seed"], out=None, every=0):
    X, y = nn.data.yin_yang(500, seed=0)
    settings = multiclass.Settings([32, 32], steps, lr, 1e-4, seed)
    data = {"data": "500 yin-yang points: yin, yang and the dots, data seed 0"}
    return multiclass.train(NAME, X, y, settings, out, every, data)


def main(argv: list[str] | None = None) -> int:
    return multiclass.main(NAME, __doc__, run, DEFAULTS, QUICK, argv)


if __name__ == "__main__":
    sys.exit(main())
