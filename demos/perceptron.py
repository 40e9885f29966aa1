"""The perceptron and the bias: one sigmoid neuron learns OR; without a bias (0, 0) is stuck at 0.5.

The tutorial's settings: OR inputs [[0,0],[0,1],[1,0],[1,1]], targets [0,1,1,1], weights
[0.1, 0.2], bias 0.3, learning rate 0.05, 10,000 epochs, error = prediction - target. Its
hand-written update, in NumPy:

    p = sigmoid(X @ w + b);  delta = (p - y) * sigmoid_der(p)
    w -= lr * X.T @ delta;  b -= lr * sum(delta)

where sigmoid_der(x) = sigmoid(x) (1 - sigmoid(x)) is evaluated at the *output* p, not at the
pre-activation z = X @ w + b. The true gradient of its loss L = 1/2 sum (p - y)**2 has
sigmoid'(z) = p (1 - p) there instead. This demo trains with both: the tutorial's update as
written (NumPy) and the true gradient (the engine, checked against the same update in NumPy
with p (1 - p)), shows with a gradient check that the engine's gradient is the true one and the
tutorial's is not, and shows that both still learn OR. Then the same without a bias, and the
virus case study (8 people x 4 symptoms). On the engine the neuron runs at layer grain: one
node sigmoid(X W^T + b) for the whole batch (X of shape (samples, inputs)), and the loss one
more.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

import autograd
import nn
from autograd import Value
from autograd.ieee import quiet
from autograd.layers import batch_loss

from . import common

NAME = "perceptron"
OR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
OR_Y = np.array([0.0, 1.0, 1.0, 1.0])
OR_WEIGHTS = np.array([0.1, 0.2])
VIRUS_X = np.array(
    [
        [1, 0, 0, 1],
        [1, 0, 0, 0],
        [0, 0, 1, 1],
        [0, 1, 0, 0],
        [1, 1, 0, 0],
        [0, 0, 1, 1],
        [0, 0, 0, 1],
        [0, 0, 1, 0],
    ],
    dtype=float,
)
VIRUS_Y = np.array([1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
VIRUS_WEIGHTS = np.array([0.1, 0.2, 0.3, 0.4])
VIRUS_CASES = np.array([[1, 0, 0, 1], [0, 0, 1, 0], [1, 0, 1, 0]], dtype=float)
BIAS = 0.3
DEFAULTS = {"epochs": 10_000, "lr": 0.05}
QUICK = {"epochs": 10_000}  # four samples: the full run takes a second


def sigmoid(x: np.ndarray) -> np.ndarray:
    with quiet():  # exp(-x) overflows to inf for x < -709 (sigmoid 0), as on the engine
        return 1.0 / (1.0 + np.exp(-x))


def sigmoid_der(x: np.ndarray) -> np.ndarray:
    return sigmoid(x) * (1.0 - sigmoid(x))


def tutorial_delta(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float | None) -> np.ndarray:
    """The tutorial's z_delta: (p - y) * sigmoid_der(p), the derivative taken at the output."""
    p = sigmoid(X @ w + (b or 0.0))
    return (p - y) * sigmoid_der(p)


def true_delta(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float | None) -> np.ndarray:
    """d L/d z per sample for L = 1/2 sum (p - y)**2: (p - y) * p (1 - p)."""
    p = sigmoid(X @ w + (b or 0.0))
    return (p - y) * p * (1.0 - p)


def numpy_train(
    delta: Callable,
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    b: float | None,
    epochs: int,
    lr: float,
):
    """The tutorial's loop with the given delta; b None means no bias. Returns (w, b, losses)."""
    w = w.copy()
    losses = []
    for _ in range(epochs):
        p = sigmoid(X @ w + (b or 0.0))
        losses.append(float(0.5 * np.sum((p - y) ** 2)))
        z_delta = delta(X, y, w, b)
        w -= lr * (X.T @ z_delta)
        if b is not None:
            for num in z_delta:  # the tutorial moves the bias once per sample
                b -= lr * num
    return w, b, losses


def half_squared_error(p: Value, y: np.ndarray | float) -> Value:
    """L = 1/2 sum (p - y)**2."""
    squared = (p - y) ** 2
    return 0.5 * (squared.sum() if squared.is_batched else squared)


def batch_half_squared_error(p: Value, y: Value) -> Value:
    """L = 1/2 sum (p - y)**2 at layer grain: the batch's sum of squared errors, halved."""
    return 0.5 * batch_loss("sse", p, y)


def build(w: np.ndarray, b: float | None) -> nn.MLP:
    """One sigmoid neuron, p = sigmoid(w . x + b) (no bias when b is None), as an nn.MLP."""
    return nn.MLP.from_weights([w[None, :]], None if b is None else [[b]], "sigmoid")


def engine_train(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    b: float | None,
    epochs: int,
    lr: float,
    every: int = 0,
) -> tuple[nn.MLP, list[float]]:
    """The true gradient, from backward() on the engine. Returns (network, losses)."""
    net = build(w, b)
    inputs, targets = common.batch(X), common.column(y)
    optimizer = nn.optim.SGD(net.parameters(), lr=lr)  # w <- w - lr dL/dw
    losses = common.train(
        lambda: batch_half_squared_error(net(inputs), targets), optimizer, epochs, every
    )
    return net, losses


def gradient_check(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float
) -> tuple[list[str], dict[str, float]]:
    """At (w, b): the engine's gradient against central differences (`autograd.gradcheck`),
    then the tutorial's hand-written update against the engine's gradient
    (`autograd.check_gradient_function`), which points at every entry where they differ.
    """
    inputs = nn.columns(X)

    def loss(w, b):  # w: the entries as Values (an object array), b: a Value
        return half_squared_error(autograd.linear(list(w), inputs, b, "sigmoid"), y)

    def tutorial(w, b):
        delta = tutorial_delta(X, y, np.asarray(w, dtype=float), float(b))
        return {"dw": X.T @ delta, "db": delta.sum()}

    engine = autograd.gradcheck(loss, {"w": w, "b": b}, raise_exception=False)
    versus = autograd.check_gradient_function(
        tutorial, loss, {"w": w, "b": b}, raise_exception=False
    )
    lines = [
        "  1. the engine's gradient against central differences (autograd.gradcheck):",
        *("     " + line for line in str(engine).splitlines()),
        "  2. the tutorial's update against the engine's gradient "
        "(autograd.check_gradient_function):",
        *("     " + line for line in str(versus).splitlines()),
        "     the tutorial multiplies by sigmoid'(p) = sigmoid(p)(1 - sigmoid(p)) where the chain",
        "     rule has sigmoid'(z) = p (1 - p): the same direction, a different length.",
    ]
    errors = {
        "engine - central differences": engine.max_difference,
        "tutorial - engine": versus.max_difference,
    }
    return lines, errors


def run(
    epochs: int = DEFAULTS["epochs"],
    lr: float = DEFAULTS["lr"],
    out: Path | None = None,
    every: int = 0,
) -> common.Result:
    result = common.Result(NAME)
    fig = result.figures

    # 1. OR with a bias: the tutorial's update (NumPy) and the true gradient (engine and NumPy).
    tw, tb, tutorial_losses = numpy_train(tutorial_delta, OR_X, OR_Y, OR_WEIGHTS, BIAS, epochs, lr)
    net, engine_losses = engine_train(OR_X, OR_Y, OR_WEIGHTS, BIAS, epochs, lr, every)
    with common.timed("NumPy"):  # (the engine's twin: the true gradient, in NumPy)
        nw, nb, numpy_losses = numpy_train(true_delta, OR_X, OR_Y, OR_WEIGHTS, BIAS, epochs, lr)
    engine_p = nn.predict(net, OR_X)
    tutorial_p = sigmoid(OR_X @ tw + tb)
    fig["settings"] = f"{epochs} epochs, lr {lr}, weights {OR_WEIGHTS.tolist()}, bias {BIAS}"
    fig["OR, true gradient (engine)"] = _show(engine_p)
    fig["OR, tutorial's update (NumPy)"] = _show(tutorial_p)
    fig["OR learned by both"] = _yes(
        np.array_equal(engine_p > 0.5, OR_Y > 0.5) and np.array_equal(tutorial_p > 0.5, OR_Y > 0.5)
    )
    final_loss = batch_half_squared_error(net(common.batch(OR_X)), common.column(OR_Y)).data
    numpy_loss = 0.5 * float(np.sum((sigmoid(OR_X @ nw + nb) - OR_Y) ** 2))
    result.agreement["OR final loss"] = abs(final_loss - numpy_loss)
    result.agreement["OR weights"] = common.max_abs_difference(
        common.parameter_arrays(net), [nw[None, :], [nb]]
    )
    result.agreement["OR loss curve"] = common.max_abs_difference([engine_losses], [numpy_losses])

    # 2. Where the two differ: a gradient check at the initial weights.
    lines, errors = gradient_check(OR_X, OR_Y, OR_WEIGHTS, BIAS)
    print("gradient check at the initial weights (L = 1/2 sum (p - y)^2):")
    print("\n".join(lines))
    for what, error in errors.items():
        fig[f"max |{what}|"] = f"{error:.2e}"
    result.values["gradient_errors"] = errors

    # 3. Without a bias: sigmoid(w . (0, 0)) = sigmoid(0) = 0.5 whatever w becomes.
    free, free_losses = engine_train(OR_X, OR_Y, OR_WEIGHTS, None, epochs, lr)
    with common.timed("NumPy"):
        fw, _, free_numpy_losses = numpy_train(true_delta, OR_X, OR_Y, OR_WEIGHTS, None, epochs, lr)
    free_p = nn.predict(free, OR_X)
    fig["OR without a bias (engine)"] = _show(free_p) + "   <- (0, 0) stuck at 0.5"
    result.agreement["no-bias weights"] = common.max_abs_difference(
        free.weight_arrays(), [fw[None, :]]
    )
    result.agreement["no-bias loss curve"] = common.max_abs_difference(
        [free_losses], [free_numpy_losses]
    )

    # 4. The virus case study: 8 people x 4 symptoms.
    vnet, _ = engine_train(VIRUS_X, VIRUS_Y, VIRUS_WEIGHTS, BIAS, epochs, lr)
    with common.timed("NumPy"):
        vw, vb, _ = numpy_train(true_delta, VIRUS_X, VIRUS_Y, VIRUS_WEIGHTS, BIAS, epochs, lr)
    uw, ub, _ = numpy_train(tutorial_delta, VIRUS_X, VIRUS_Y, VIRUS_WEIGHTS, BIAS, epochs, lr)
    virus_p = nn.predict(vnet, VIRUS_CASES)
    tutorial_virus_p = sigmoid(VIRUS_CASES @ uw + ub)
    engine_weights = vnet.weight_arrays()[0][0]
    for case, p, q in zip(VIRUS_CASES.astype(int), virus_p, tutorial_virus_p):
        fig[f"virus {case.tolist()}"] = (
            f"{_sign(p)} ({p:.3f}; tutorial's update {_sign(q)} {q:.3f})"
        )
    fig["virus weights (engine)"] = " ".join(f"{x:.3f}" for x in engine_weights)
    fig["virus weights (tutorial)"] = " ".join(f"{x:.3f}" for x in uw)
    fig["largest weight: symptom"] = (
        f"{int(np.argmax(engine_weights)) + 1} (tutorial's update: {int(np.argmax(uw)) + 1})"
    )
    virus_loss = batch_half_squared_error(vnet(common.batch(VIRUS_X)), common.column(VIRUS_Y)).data
    numpy_virus_loss = 0.5 * float(np.sum((sigmoid(VIRUS_X @ vw + vb) - VIRUS_Y) ** 2))
    result.agreement["virus final loss"] = abs(virus_loss - numpy_virus_loss)
    result.agreement["virus weights"] = common.max_abs_difference(
        common.parameter_arrays(vnet), [vw[None, :], [vb]]
    )
    result.values["or_predictions"] = {
        "engine": engine_p,
        "tutorial": tutorial_p,
        "no bias": free_p,
    }
    result.values["virus"] = {
        "engine": virus_p,
        "tutorial": tutorial_virus_p,
        "engine weights": engine_weights,
        "tutorial weights": uw,
    }

    def graph(path: Path):
        one = build(OR_WEIGHTS, BIAS)
        return common.sample_graph(
            result,
            path,
            lambda k: half_squared_error(one(common.sample(OR_X, k)), Value(float(OR_Y[k]), "y")),
            len(OR_X),
            "perceptron: OR sample {k}, initial weights",
            full=True,
        )

    common.write_pictures(
        result,
        out,
        {
            "loss.png": lambda path: common.plot_losses(
                path,
                {
                    "true gradient (engine)": engine_losses,
                    "tutorial's update (NumPy)": tutorial_losses,
                    "no bias (engine)": free_losses,
                },
                "perceptron on OR: 1/2 sum (p - y)^2",
                log=True,
            ),
            "boundary.png": lambda path: common.plot_boundary(
                path, lambda P: nn.predict(net, P), OR_X, OR_Y, "OR with a bias (true gradient)"
            ),
            "boundary_no_bias.png": lambda path: common.plot_boundary(
                path, lambda P: nn.predict(free, P), OR_X, OR_Y, "OR without a bias: (0, 0) at 0.5"
            ),
            "graph.svg": graph,
            "backprop.html": lambda path: common.backprop_page(
                path,
                build(OR_WEIGHTS, BIAS),
                OR_X,
                OR_Y,
                "sse",
                lr,
                common.drawn_sample(result),
                run=epochs,
                loss_of=lambda m, Xb, yb: batch_half_squared_error(
                    m(common.batch(Xb)), common.column(yb)
                ),
                settings="loss: 1/2 x the sum of squared errors of the batch (the OR run); "
                "the traced sample's loss is its squared error",
            ),
        },
    )
    return result


def _show(p: np.ndarray) -> str:
    return " ".join(f"{x:.3f}" for x in p)


def _sign(p: float) -> str:
    return "positive" if p > 0.5 else "negative"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def main(argv: list[str] | None = None) -> int:
    p = common.parser(NAME, __doc__, every=0)
    p.add_argument(
        "--epochs", type=common.positive_int, default=DEFAULTS["epochs"], help="training epochs"
    )
    p.add_argument("--lr", type=common.positive_float, default=DEFAULTS["lr"], help="learning rate")
    args = common.parse(p, argv, QUICK)
    return common.report(
        run(args.epochs, args.lr, None if args.no_pictures else args.out, args.every)
    )


if __name__ == "__main__":
    sys.exit(main())
