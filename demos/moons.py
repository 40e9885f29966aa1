"""Moons, the classic scalar-autograd demo: MLP(2, [16, 16, 1]), max-margin loss, 100 steps.

The demo's settings: 100 points of two interleaving half circles (`nn.data.moons`), noise
0.1, labels -1/+1; `nn.MLP(2, [16, 16, 1])`: two hidden layers of 16 ReLU neurons and a linear
output, weights uniform in [-1, 1), biases zero; loss = mean(relu(1 - y * score)) plus 1e-4 times
the sum of every parameter squared; gradient descent with learning rate 1.0 - 0.9 k / 100 at
step k, for 100 steps; it reaches 100% accuracy. The NumPy form (X of shape (2, m)):

    A1 = relu(W1 @ X + b1);  A2 = relu(W2 @ A1 + b2);  S = W3 @ A2 + b3
    loss = mean(max(0, 1 - y S)) + alpha sum(W**2 + b**2)
    dS = -y (1 - y S > 0) / m;  dW3 = dS @ A2.T + 2 alpha W3;  dZ2 = (W3.T @ dS) (Z2 > 0); ...

On the engine a step is seven nodes: the three layers, act(X W^T + b) on the whole batch (X
of shape (100, 2)), the hinge loss over the batch, the L2 penalty of every W and b, its scaling
by alpha, and the sum of the loss and the penalty.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import nn
from autograd import Value
from autograd.layers import batch_loss

from . import common

NAME = "moons"
SIZES = [2, 16, 16, 1]
DEFAULTS = {"samples": 100, "noise": 0.1, "data_seed": 1337, "steps": 100, "seed": 1337}
ALPHA = 1e-4
QUICK = {"steps": 100}  # the original run takes about a second


def make_model(seed: int) -> nn.MLP:
    """nn.MLP(2, [16, 16, 1]): ReLU hidden layers, a linear output, weights U(-1, 1), biases 0."""
    return nn.MLP(SIZES[0], SIZES[1:], activation="relu", output_activation="linear", seed=seed)


def learning_rate(k: int, steps: int) -> float:
    """1.0 - 0.9 k / steps: from 1.0 down towards 0.1."""
    return 1.0 - 0.9 * k / steps


def engine_loss(net: nn.MLP, inputs: Value, y: Value, alpha: float = ALPHA) -> tuple[Value, Value]:
    """(loss, scores): mean hinge over the batch + alpha * sum of every parameter squared.

    `inputs` is the batch (samples x 2) and `y` the labels (samples x 1), constants. micrograd
    writes the penalty as `sum(p*p for p in model.parameters())`, a node per number;
    `nn.losses.l2(net, alpha)` is one node whose parents are the layers' W and b, with the
    same local derivatives, d/dp = 2 alpha p, entry by entry."""
    score = net(inputs)  # layer grain: (samples x 1)
    return batch_loss("hinge", score, y) + nn.losses.l2(net, alpha), score


def numpy_train(
    arrays: list[np.ndarray], X: np.ndarray, y: np.ndarray, steps: int
) -> tuple[list[np.ndarray], list[float]]:
    """The same training, vectorized, with the hand-written backward pass."""
    W1, b1, W2, b2, W3, b3 = (a.copy() for a in arrays)
    Xt, m = X.T, X.shape[0]
    losses = []
    for k in range(steps):
        Z1 = W1 @ Xt + b1[:, None]
        A1 = np.maximum(Z1, 0.0)
        Z2 = W2 @ A1 + b2[:, None]
        A2 = np.maximum(Z2, 0.0)
        S = (W3 @ A2 + b3[:, None])[0]
        margins = 1.0 - y * S
        params = (W1, b1, W2, b2, W3, b3)
        losses.append(
            float(np.mean(np.maximum(margins, 0.0)) + ALPHA * sum(np.sum(p * p) for p in params))
        )
        dS = (-y * (margins > 0) / m)[None, :]
        dW3 = dS @ A2.T
        db3 = dS.sum(axis=1)
        dZ2 = (W3.T @ dS) * (Z2 > 0)
        dW2 = dZ2 @ A1.T
        db2 = dZ2.sum(axis=1)
        dZ1 = (W2.T @ dZ2) * (Z1 > 0)
        dW1 = dZ1 @ Xt.T
        db1 = dZ1.sum(axis=1)
        lr = learning_rate(k, steps)
        for p, g in zip(params, (dW1, db1, dW2, db2, dW3, db3)):
            p -= lr * (g + 2 * ALPHA * p)
    return [W1, b1, W2, b2, W3, b3], losses


def run(
    steps: int = DEFAULTS["steps"],
    seed: int = DEFAULTS["seed"],
    samples: int = DEFAULTS["samples"],
    noise: float = DEFAULTS["noise"],
    data_seed: int = DEFAULTS["data_seed"],
    out: Path | None = None,
    every: int = 0,
) -> common.Result:
    X, labels = nn.data.moons(samples, noise, seed=data_seed)
    y = labels * 2.0 - 1.0
    net = make_model(seed)
    start = common.parameter_arrays(net)  # [W1, b1, W2, b2, W3, b3]
    inputs, targets = common.batch(X), common.column(y)
    params = net.parameters()
    scores: list[np.ndarray] = []  # each step's scores (read-only arrays the graph made)

    def loss_of():
        loss, score = engine_loss(net, inputs, targets)
        scores.append(score.data)
        return loss

    optimizer = nn.optim.SGD(params, lr=1.0, lr_schedule=lambda k: learning_rate(k, steps))
    losses = common.train(loss_of, optimizer, steps, every)
    accuracies = [float(np.mean((s[:, 0] > 0) == (y > 0))) for s in scores]  # (after: untimed)
    final_loss, score = engine_loss(net, inputs, targets)
    accuracy = float(np.mean((score.data[:, 0] > 0) == (y > 0)))
    with common.timed("NumPy"):
        reference, numpy_losses = numpy_train(start, X, y, steps)
    S = X.T
    for W, b, act in zip(reference[0::2], reference[1::2], ["relu", "relu", "linear"]):
        S = W @ S + b[:, None]
        S = np.maximum(S, 0.0) if act == "relu" else S
    numpy_final = float(np.mean(np.maximum(1.0 - y * S[0], 0.0))) + ALPHA * sum(
        float(np.sum(p * p)) for p in reference
    )

    result = common.Result(NAME)
    result.figures.update(
        {
            "data": f"{samples} moons points, noise {noise}, labels -1/+1, data seed {data_seed}",
            "network": f"nn.MLP(2, [16, 16, 1]) relu, {net.num_parameters()} parameters, U(-1, 1)",
            "loss": f"mean max-margin hinge + {ALPHA:g} L2",
            "settings": f"{steps} steps, lr 1.0 - 0.9 k/{steps}, seed {seed}",
            "final loss": final_loss.data,
            "accuracy": f"{accuracy:.0%}",
            "first step at 100%": next(
                (str(k) for k, a in enumerate(accuracies) if a == 1.0), "never"
            ),
        }
    )
    result.values["accuracy"] = accuracy
    result.agreement["final loss"] = abs(final_loss.data - numpy_final)
    result.agreement["weights"] = common.max_abs_difference(common.parameter_arrays(net), reference)
    result.agreement["loss curve"] = common.max_abs_difference([losses], [numpy_losses])

    def graph(path: Path):
        one = make_model(seed)

        def hinge_of(k: int) -> Value:
            out = one(common.sample(X, k))
            out.label = "score"
            margin = (1.0 - Value(float(y[k]), "y") * out).relu()
            margin.label = "hinge"
            return margin

        return common.sample_graph(
            result,
            path,
            hinge_of,
            len(X),
            "moons: hinge loss of sample {k} (L2 term left out), initial weights",
            local_grads=False,  # 2 x 16 + 16 x 16 + 16 edges: numbers on them would crowd
        )

    common.write_pictures(
        result,
        out,
        {
            "loss.png": lambda path: common.plot_losses(
                path, {"engine": losses, "NumPy": numpy_losses}, "moons: hinge + L2"
            ),
            "boundary.png": lambda path: common.plot_boundary(
                path,
                lambda points: nn.predict(net, points),
                X,
                y,
                f"moons: MLP(2,[16,16,1]), accuracy {accuracy:.0%}",
                0.0,
            ),
            "graph.svg": graph,
            "backprop.html": lambda path: common.backprop_page(
                path,
                make_model(seed),
                X,
                y,
                "hinge",
                1.0,
                common.drawn_sample(result),
                run=steps,
                optimizer=lambda ps: nn.optim.SGD(
                    ps, lr=1.0, lr_schedule=lambda k: learning_rate(k, steps)
                ),
                loss_of=lambda m, Xb, yb: engine_loss(m, common.batch(Xb), common.column(yb))[0],
                settings=f"loss: mean hinge of the batch + {ALPHA:g} x every parameter squared "
                f"(L2); lr 1.0 - 0.9 k/{steps} at step k + 1",
            ),
        },
    )
    return result


def main(argv: list[str] | None = None) -> int:
    p = common.parser(NAME, __doc__, every=10)
    p.add_argument(
        "--steps", type=common.positive_int, default=DEFAULTS["steps"], help="training steps"
    )
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="initial weights")
    p.add_argument(
        "--samples", type=common.positive_int, default=DEFAULTS["samples"], help="data points"
    )
    p.add_argument(
        "--noise", type=float, default=DEFAULTS["noise"], help="std of the noise on each point"
    )
    p.add_argument("--data-seed", type=int, default=DEFAULTS["data_seed"], help="the data's seed")
    args = common.parse(p, argv, QUICK)
    out = None if args.no_pictures else args.out
    result = run(args.steps, args.seed, args.samples, args.noise, args.data_seed, out, args.every)
    return common.report(result)


if __name__ == "__main__":
    sys.exit(main())
