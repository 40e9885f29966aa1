"""Blobs: 300 points in two Gaussian blobs, a 2-4-1 network (ReLU, sigmoid), cross-entropy.

The tutorial's settings: 300 points in two blobs in 2-D (std 1.5, seed 42); 2 inputs, 4 ReLU
hidden units, 1 sigmoid output; weights normal * 0.01, biases zero; binary cross-entropy;
learning rate 0.1 for 10,000 iterations, the loss printed every 100; a loss curve and the
accuracy. The NumPy form (X of shape (2, m)):

    Z1 = W1 @ X + b1;  A1 = relu(Z1);  Z2 = W2 @ A1 + b2;  A2 = sigmoid(Z2)
    dZ2 = A2 - Y;  dW2 = dZ2 @ A1.T / m;  db2 = mean(dZ2)
    dZ1 = W2.T @ dZ2 * (Z1 > 0);  dW1 = dZ1 @ X.T / m;  db1 = mean(dZ1, axis=1)

On the engine each layer is one node on the whole batch (X of shape (300, 2), samples as
rows), act(X W^T + b), and the cross-entropy one more.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import nn
from autograd import Value

from . import common

NAME = "blobs"
HIDDEN = 4
DEFAULTS = {"samples": 300, "std": 1.5, "data_seed": 42, "iterations": 10_000, "lr": 0.1, "seed": 0}
QUICK = {"iterations": 2_000}


def make_blobs(n: int = 300, std: float = 1.5, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """n points in two blobs: centres uniform in [-10, 10]^2, each point N(centre, std^2 I).

    Drawn as the tutorials' data generator draws them, from NumPy's legacy
    `RandomState(seed)`: the two centres, then each blob's points, then one shuffle (so
    seed 42 gives the tutorials' well separated blobs). Blob 0 has n - n//2 points, label 0;
    blob 1 has n//2, label 1. Returns X of shape (n, 2) and y of shape (n,).
    """
    if n < 2:
        raise ValueError(f"blobs needs at least 2 points, got {n}")
    if not std > 0:
        raise ValueError(f"blobs needs a positive std, got {std}")
    rng = np.random.RandomState(seed)
    centres = rng.uniform(-10.0, 10.0, size=(2, 2))
    counts = [n - n // 2, n // 2]
    X = np.concatenate([rng.normal(c, std, size=(k, 2)) for c, k in zip(centres, counts)])
    y = np.concatenate([np.full(k, float(label)) for label, k in enumerate(counts)])
    order = rng.permutation(n)
    return X[order], y[order]


def initial_weights(seed: int) -> dict[str, np.ndarray]:
    """W ~ N(0, 1) * 0.01, b = 0."""
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.standard_normal((HIDDEN, 2)) * 0.01,
        "b1": np.zeros(HIDDEN),
        "W2": rng.standard_normal((1, HIDDEN)) * 0.01,
        "b2": np.zeros(1),
    }


def numpy_train(
    p: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, iterations: int, lr: float
) -> tuple[dict[str, np.ndarray], list[float]]:
    """The tutorial's loop in NumPy. Returns (final parameters, loss of each iteration)."""
    p = {k: v.copy() for k, v in p.items()}
    Xt, Y, m = X.T, y[None, :], X.shape[0]
    costs = []
    for _ in range(iterations):
        Z1 = p["W1"] @ Xt + p["b1"][:, None]
        A1 = np.maximum(Z1, 0.0)
        A2 = 1.0 / (1.0 + np.exp(-(p["W2"] @ A1 + p["b2"][:, None])))
        costs.append(float(-np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))))
        dZ2 = A2 - Y
        dW2 = dZ2 @ A1.T / m
        db2 = np.sum(dZ2, axis=1) / m
        dZ1 = (p["W2"].T @ dZ2) * (Z1 > 0)
        dW1 = dZ1 @ Xt.T / m
        db1 = np.sum(dZ1, axis=1) / m
        p["W1"] -= lr * dW1
        p["b1"] -= lr * db1
        p["W2"] -= lr * dW2
        p["b2"] -= lr * db2
    return p, costs


def numpy_loss(p: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    A1 = np.maximum(p["W1"] @ X.T + p["b1"][:, None], 0.0)
    A2 = 1.0 / (1.0 + np.exp(-(p["W2"] @ A1 + p["b2"][:, None])))
    return float(-np.mean(y * np.log(A2) + (1 - y) * np.log(1 - A2)))


def build(p: dict[str, np.ndarray]) -> nn.MLP:
    """The tutorial's network on the engine, from its matrices: relu hidden, sigmoid output."""
    return nn.MLP.from_weights([p["W1"], p["W2"]], [p["b1"], p["b2"]], ["relu", "sigmoid"])


def run(
    iterations: int = DEFAULTS["iterations"],
    lr: float = DEFAULTS["lr"],
    seed: int = DEFAULTS["seed"],
    samples: int = DEFAULTS["samples"],
    std: float = DEFAULTS["std"],
    data_seed: int = DEFAULTS["data_seed"],
    out: Path | None = None,
    every: int = 0,
) -> common.Result:
    X, y = make_blobs(samples, std, data_seed)
    start = initial_weights(seed)
    net = build(start)
    inputs, targets = common.batch(X), common.column(y)
    optimizer = nn.optim.SGD(net.parameters(), lr=lr)  # plain gradient descent
    clamp = common.Clamp()  # batch_loss("bce", ...), noting when an output saturates
    losses = common.train(
        lambda: clamp.bce(net(inputs), targets),  # layer grain: three nodes
        optimizer,
        iterations,
        every,
    )
    final_loss = clamp.bce(net(inputs), targets).data
    accuracy = float(np.mean((nn.predict(net, X) > 0.5) == (y > 0.5)))
    with common.timed("NumPy"):
        reference, costs = numpy_train(start, X, y, iterations, lr)
        final_numpy_loss = numpy_loss(reference, X, y)

    result = common.Result(NAME)
    result.figures.update(
        {
            "data": f"{samples} points, 2 blobs, std {std}, data seed {data_seed}",
            "network": "2 -> 4 relu -> 1 sigmoid, cross-entropy, gradient descent",
            "settings": f"{iterations} iterations, lr {lr}, seed {seed}, weights N(0,1)*0.01",
            "final loss": final_loss,
            "accuracy": f"{accuracy:.1%}",
        }
    )
    result.values["accuracy"] = accuracy
    result.agreement["final loss"] = abs(final_loss - final_numpy_loss)
    result.agreement["weights"] = common.max_abs_difference(
        common.parameter_arrays(net), [reference[k] for k in ("W1", "b1", "W2", "b2")]
    )
    result.agreement["loss curve"] = common.max_abs_difference([losses], [costs])
    clamp.explain(result, losses, costs)

    def graph(path: Path):
        one = build(start)
        return common.sample_graph(
            result,
            path,
            lambda k: common.binary_cross_entropy(
                one(common.sample(X, k)), Value(float(y[k]), "y")
            ),
            len(X),
            "blobs: sample {k}, initial weights",
            full=True,
        )

    common.write_pictures(
        result,
        out,
        {
            "loss.png": lambda path: common.plot_losses(
                path, {"engine": losses, "NumPy": costs}, "blobs: binary cross-entropy", log=True
            ),
            "boundary.png": lambda path: common.plot_boundary(
                path, lambda P: nn.predict(net, P), X, y, f"blobs: accuracy {accuracy:.0%}"
            ),
            "graph.svg": graph,
            "backprop.html": lambda path: common.backprop_page(
                path, build(start), X, y, "bce", lr, common.drawn_sample(result), run=iterations
            ),
        },
    )
    return result


def main(argv: list[str] | None = None) -> int:
    p = common.parser(NAME, __doc__, every=1000)
    common.add_descent_flags(p, DEFAULTS)
    p.add_argument(
        "--samples", type=common.positive_int, default=DEFAULTS["samples"], help="data points"
    )
    p.add_argument(
        "--std", type=common.positive_float, default=DEFAULTS["std"], help="each blob's std"
    )
    p.add_argument("--data-seed", type=int, default=DEFAULTS["data_seed"], help="the data's seed")
    args = common.parse(p, argv, QUICK)
    out = None if args.no_pictures else args.out
    result = run(
        args.iterations, args.lr, args.seed, args.samples, args.std, args.data_seed, out, args.every
    )
    return common.report(result)


if __name__ == "__main__":
    sys.exit(main())
