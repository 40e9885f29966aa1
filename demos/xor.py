"""XOR with one hidden layer: 2 inputs, 2 tanh units, 1 sigmoid output, cross-entropy, plain GD.

The tutorial's settings: weights from a normal distribution, biases zero, learning rate 0.3,
1,000 iterations; `predict` thresholds the output at 0.5, and (1, 1) gives 0. The same training
runs in the tutorial's vectorized NumPy form (X of shape (2, 4), W1 of shape (2, 2)):

    Z1 = W1 @ X + b1;  A1 = tanh(Z1);  Z2 = W2 @ A1 + b2;  A2 = sigmoid(Z2)
    cost = -mean(Y log A2 + (1 - Y) log(1 - A2))
    dZ2 = A2 - Y;  dW2 = dZ2 @ A1.T / m;  db2 = mean(dZ2)
    dZ1 = W2.T @ dZ2 * (1 - A1**2);  dW1 = dZ1 @ X.T / m;  db1 = mean(dZ1, axis=1)

On the engine each layer is one node, act(X W^T + b) with X of shape (4, 2) (samples as rows),
and the cross-entropy over the batch one more: three nodes a step, whose rules are the lines
above (`S W`, `S^T X`, the column sums of S), run by backward's one loop.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import nn
from autograd import Value

from . import common

NAME = "xor"
X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # rows are samples (A, B)
Y = np.array([0.0, 1.0, 1.0, 0.0])  # A XOR B
HIDDEN = 2
DEFAULTS = {"iterations": 1000, "lr": 0.3, "seed": 2}
QUICK = {"iterations": 1000}  # already fast: 4 samples


def initial_weights(seed: int) -> dict[str, np.ndarray]:
    """W1 (2x2), W2 (1x2) ~ N(0, 1); b1, b2 zero, as the tutorial does."""
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.standard_normal((HIDDEN, 2)),
        "b1": np.zeros(HIDDEN),
        "W2": rng.standard_normal((1, HIDDEN)),
        "b2": np.zeros(1),
    }


def numpy_sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def numpy_forward(p: dict[str, np.ndarray], Xt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's forward pass on X of shape (features, samples); returns (A1, A2)."""
    A1 = np.tanh(p["W1"] @ Xt + p["b1"][:, None])
    A2 = numpy_sigmoid(p["W2"] @ A1 + p["b2"][:, None])
    return A1, A2


def numpy_cost(A2: np.ndarray, Y: np.ndarray) -> float:
    return float(-np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)))


def numpy_train(
    p: dict[str, np.ndarray], iterations: int, lr: float
) -> tuple[dict[str, np.ndarray], list[float]]:
    """The tutorial's loop: forward, cost, hand-written backward, update. Returns (p, costs)."""
    p = {k: v.copy() for k, v in p.items()}
    Xt, Yt, m = X.T, Y[None, :], X.shape[0]
    costs = []
    for _ in range(iterations):
        A1, A2 = numpy_forward(p, Xt)
        costs.append(numpy_cost(A2, Yt))
        dZ2 = A2 - Yt
        dW2 = dZ2 @ A1.T / m
        db2 = np.sum(dZ2, axis=1) / m
        dZ1 = (p["W2"].T @ dZ2) * (1 - A1**2)
        dW1 = dZ1 @ Xt.T / m
        db1 = np.sum(dZ1, axis=1) / m
        p["W1"] -= lr * dW1
        p["b1"] -= lr * db1
        p["W2"] -= lr * dW2
        p["b2"] -= lr * db2
    return p, costs


def build(p: dict[str, np.ndarray]) -> nn.MLP:
    """The tutorial's network on the engine: 2 -> 2 tanh -> 1 sigmoid, from its matrices."""
    return nn.MLP.from_weights([p["W1"], p["W2"]], [p["b1"], p["b2"]], ["tanh", "sigmoid"])


def run(
    iterations: int = DEFAULTS["iterations"],
    lr: float = DEFAULTS["lr"],
    seed: int = DEFAULTS["seed"],
    out: Path | None = None,
    every: int = 0,
) -> common.Result:
    """Train on the engine and in NumPy from the same weights; pictures under `out`."""
    start = initial_weights(seed)
    net = build(start)
    inputs, targets = common.batch(X), common.column(Y)  # (4 x 2) and (4 x 1), constants
    optimizer = nn.optim.SGD(net.parameters(), lr=lr)  # plain gradient descent
    clamp = common.Clamp()  # batch_loss("bce", ...), noting when an output saturates
    losses = common.train(
        lambda: clamp.bce(net(inputs), targets),  # layer grain: three nodes
        optimizer,
        iterations,
        every,
    )
    probabilities = nn.predict(net, X)
    predictions = (probabilities > 0.5).astype(int)
    final_loss = clamp.bce(net(inputs), targets).data

    with common.timed("NumPy"):
        reference, costs = numpy_train(start, iterations, lr)
        numpy_loss = numpy_cost(numpy_forward(reference, X.T)[1], Y[None, :])
    result = common.Result(NAME)
    result.figures.update(
        {
            "network": "2 -> 2 tanh -> 1 sigmoid, cross-entropy, gradient descent",
            "settings": f"{iterations} iterations, lr {lr}, seed {seed}",
            "final loss": final_loss,
            "predictions": " ".join(
                f"{a:.0f}{b:.0f}->{q}({s:.3f})"
                for (a, b), q, s in zip(X, predictions, probabilities)
            ),
            "predict(1, 1)": int(predictions[3]),
            "accuracy": f"{np.mean(predictions == Y):.0%}",
        }
    )
    result.agreement["final loss"] = abs(final_loss - numpy_loss)
    result.agreement["weights"] = common.max_abs_difference(
        common.parameter_arrays(net), [reference[k] for k in ("W1", "b1", "W2", "b2")]
    )
    result.agreement["loss curve"] = common.max_abs_difference([losses], [costs])
    clamp.explain(result, losses, costs)
    result.values["predictions"] = predictions

    def graph(path: Path):
        one = build(start)
        return common.sample_graph(
            result,
            path,
            lambda k: common.binary_cross_entropy(
                one(common.sample(X, k)), Value(float(Y[k]), "y")
            ),
            len(X),
            "XOR: sample {k} (1, 1), initial weights",
            first=3,
            full=True,
        )

    common.write_pictures(
        result,
        out,
        {
            "loss.png": lambda path: common.plot_losses(
                path, {"engine": losses, "NumPy": costs}, "XOR: cross-entropy"
            ),
            "boundary.png": lambda path: common.plot_boundary(
                path, lambda P: nn.predict(net, P), X, Y, "XOR: decision boundary (p > 0.5)"
            ),
            "graph.svg": graph,
            "backprop.html": lambda path: common.backprop_page(
                path, build(start), X, Y, "bce", lr, common.drawn_sample(result), run=iterations
            ),
        },
    )
    return result


def main(argv: list[str] | None = None) -> int:
    p = common.parser(NAME, __doc__, every=100)
    common.add_descent_flags(p, DEFAULTS)
    args = common.parse(p, argv, QUICK)
    result = run(
        args.iterations, args.lr, args.seed, None if args.no_pictures else args.out, args.every
    )
    return common.report(result)


if __name__ == "__main__":
    sys.exit(main())
