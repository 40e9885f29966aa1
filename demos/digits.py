"""Handwritten digits, 8x8: an MLP(64, [32, 10]) trained on a train split, tested on the rest.

The 1,797 images scikit-learn ships inside its wheel (`nn.data.digits()`, no download; needs
the `data` extra: pip install -e ".[data]"), pixels scaled to [0, 1], 1,437 to train and 360
held out (split seed 0); relu hidden layer, ten linear logits, cross-entropy, AdamW (lr 0.01,
weight decay 1e-4), 200 full-batch steps. See `demos/multiclass.py` for the NumPy form.
"""

from __future__ import annotations

import sys

import nn

from . import multiclass

NAME = "digits"
DEFAULTS = {"steps": 200, "lr": 0.01, "seed": 0}
QUICK = {"steps": 40}


def run(steps=DEFAULTS["steps"], lr=DEFAULTS["lr"], seed=DEFAULTS["seed"], out=None, every=0):
    X, y = nn.data.digits()  # an ImportError naming the `data` extra when scikit-learn is missing
    X_train, X_test, y_train, y_test = nn.data.train_test_split(X / 16.0, y, 0.2, seed=0)
    settings = multiclass.Settings([32], steps, lr, 1e-4, seed)
    data = {"data": f"8x8 digits (scikit-learn), {len(X_train)} to train, split seed 0"}
    return multiclass.train(
        NAME, X_train, y_train, settings, out, every, data, test=(X_test, y_test)
    )


def main(argv: list[str] | None = None) -> int:
    try:
        return multiclass.main(NAME, __doc__, run, DEFAULTS, QUICK, argv)
    except ImportError as error:
        print(f"python -m demos digits: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
