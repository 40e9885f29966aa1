"""The two-layer network as a class: 3 inputs, 4 sigmoid units, 1 sigmoid output, no biases.

The tutorial's settings: inputs [[0,0,1],[0,1,1],[1,0,1],[1,1,1]], targets [0,1,1,0], weights
uniform in [0, 1), loss = sum of squared errors, each weight moved by its full gradient
(learning rate 1) for 1,500 iterations; the loss falls monotonically and the predictions
converge to the targets. The NumPy form is the tutorial's class, with X @ W weights:

    layer1 = sigmoid(X @ W1);  output = sigmoid(layer1 @ W2);  loss = sum((y - output)**2)
    delta2 = 2 (y - output) * output (1 - output)        (minus d loss/d z2)
    W2 += layer1.T @ delta2;  W1 += X.T @ ((delta2 @ W2.T) * layer1 (1 - layer1))

On the engine each layer is one node, sigmoid(X W^T) (W = the class's matrix transposed), and
the sum of squared errors over the batch one more (`autograd.layers.batch_loss("sse", ...)`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import nn
from autograd import Value
from autograd.layers import batch_loss

from . import common

NAME = "two_layer"
X = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
Y = np.array([0.0, 1.0, 1.0, 0.0])
HIDDEN = 4
DEFAULTS = {"iterations": 1500, "lr": 1.0, "seed": 1}
QUICK = {"iterations": 1500}


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_derivative(out: np.ndarray) -> np.ndarray:
    """sigma'(z) written from the output: out (1 - out)."""
    return out * (1.0 - out)


class TwoLayerNetwork:
    """The tutorial's NumPy class: `feedforward()` then `backprop()` per iteration."""

    def __init__(self, x: np.ndarray, y: np.ndarray, weights1: np.ndarray, weights2: np.ndarray):
        self.input = x
        self.y = y[:, None]
        self.weights1 = weights1.copy()  # (3, 4)
        self.weights2 = weights2.copy()  # (4, 1)
        self.output = np.zeros(self.y.shape)

    def feedforward(self) -> None:
        self.layer1 = sigmoid(self.input @ self.weights1)
        self.output = sigmoid(self.layer1 @ self.weights2)

    def loss(self) -> float:
        return float(np.sum((self.y - self.output) ** 2))

    def backprop(self, lr: float = 1.0) -> None:
        delta2 = 2 * (self.y - self.output) * sigmoid_derivative(self.output)
        d_weights2 = self.layer1.T @ delta2
        d_weights1 = self.input.T @ ((delta2 @ self.weights2.T) * sigmoid_derivative(self.layer1))
        self.weights1 += lr * d_weights1
        self.weights2 += lr * d_weights2


def initial_weights(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """weights1 (3x4) and weights2 (4x1), uniform in [0, 1)."""
    rng = np.random.default_rng(seed)
    return rng.random((X.shape[1], HIDDEN)), rng.random((HIDDEN, 1))


def build(w1: np.ndarray, w2: np.ndarray) -> nn.MLP:
    """3 -> 4 sigmoid -> 1 sigmoid without biases; the tutorial's X @ W matrices, transposed."""
    return nn.MLP.from_weights([w1.T, w2.T], None, ["sigmoid", "sigmoid"])


def sum_squared_errors(out: Value, y: np.ndarray | float) -> Value:
    """L = sum over samples of (out - y)**2 (a scalar for one sample)."""
    squared = (out - y) ** 2
    return squared.sum() if squared.is_batched else squared


def run(
    iterations: int = DEFAULTS["iterations"],
    lr: float = DEFAULTS["lr"],
    seed: int = DEFAULTS["seed"],
    out: Path | None = None,
    every: int = 0,
) -> common.Result:
    """Train on the engine and with the tutorial's class from the same weights."""
    w1, w2 = initial_weights(seed)
    net = build(w1, w2)
    inputs, targets = common.batch(X), common.column(Y)
    optimizer = nn.optim.SGD(net.parameters(), lr=lr)  # each weight moved by its full gradient
    losses = common.train(
        lambda: batch_loss("sse", net(inputs), targets), optimizer, iterations, every
    )
    final_loss = batch_loss("sse", net(inputs), targets).data
    outputs = nn.predict(net, X)

    reference = TwoLayerNetwork(X, Y, w1, w2)
    costs = []
    with common.timed("NumPy"):
        for _ in range(iterations):
            reference.feedforward()
            costs.append(reference.loss())
            reference.backprop(lr)
        reference.feedforward()

    monotonic = bool(np.all(np.diff(losses) <= 0))
    result = common.Result(NAME)
    result.figures.update(
        {
            "network": "3 -> 4 sigmoid -> 1 sigmoid, no biases, sum of squared errors",
            "settings": f"{iterations} iterations, lr {lr}, seed {seed}",
            "first loss": losses[0] if losses else float("nan"),
            "final loss": final_loss,
            "loss falls monotonically": "yes" if monotonic else "no",
            "outputs": " ".join(f"{o:.3f}" for o in outputs) + f"   (targets {Y.astype(int)})",
            "max |output - target|": float(np.max(np.abs(outputs - Y))),
        }
    )
    result.agreement["final loss"] = abs(final_loss - reference.loss())
    result.agreement["weights"] = common.max_abs_difference(
        net.weight_arrays(), [reference.weights1.T, reference.weights2.T]
    )
    result.agreement["loss curve"] = common.max_abs_difference([losses], [costs])
    result.values["monotonic"] = monotonic
    result.values["outputs"] = outputs

    def graph(path: Path):
        one = build(w1, w2)
        return common.sample_graph(
            result,
            path,
            lambda k: sum_squared_errors(one(common.sample(X, k)), Value(float(Y[k]), "y")),
            len(X),
            "two-layer net: sample {k}, initial weights",
            first=1,
            full=True,
        )

    common.write_pictures(
        result,
        out,
        {
            "loss.png": lambda path: common.plot_losses(
                path, {"engine": losses, "NumPy class": costs}, "two-layer net: SSE", log=True
            ),
            "graph.svg": graph,
            "backprop.html": lambda path: common.backprop_page(
                path, build(w1, w2), X, Y, "sse", lr, common.drawn_sample(result), run=iterations
            ),
        },
    )
    return result


def main(argv: list[str] | None = None) -> int:
    p = common.parser(NAME, __doc__, every=250)
    common.add_descent_flags(p, DEFAULTS)
    args = common.parse(p, argv, QUICK)
    out = None if args.no_pictures else args.out
    return common.report(run(args.iterations, args.lr, args.seed, out, args.every))


if __name__ == "__main__":
    sys.exit(main())
