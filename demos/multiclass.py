"""What the multi-class demos share: an `nn.MLP` with k outputs trained with cross-entropy and
AdamW on the engine, the same training in the NumPy reference (softmax output, hand-written
backprop dZ = P - Y, AdamW), and the usual pictures and summary.

The NumPy form (X of shape (features, m), Y one-hot of shape (k, m)):

    A1 = relu(W1 @ X + b1); ...; Z = W_L @ A + b_L;  P = softmax(Z)
    loss = -mean over samples of sum(Y log P);  dZ = (P - Y) / m;  dW_L = dZ @ A.T; ...
    W <- W (1 - lr wd), then Adam's step (AdamW)

On the engine each layer is one node on the whole batch (samples as rows), act(X W^T + b),
and the cross-entropy of the logits one more (`autograd.layers.batch_loss`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import nn
from autograd import Value
from autograd.layers import batch_loss
from nn.reference import ReferenceMLP

from . import common


@dataclass
class Settings:
    hidden: list[int]
    steps: int
    lr: float
    weight_decay: float = 0.0
    seed: int = 0


def train(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    settings: Settings,
    out: Path | None,
    every: int = 0,
    description: dict | None = None,
    test: tuple[np.ndarray, np.ndarray] | None = None,
) -> common.Result:
    """Train on (X, y) (class indices 0..k-1) on the engine and in NumPy; report and draw."""
    k = int(y.max()) + 1
    net = nn.MLP(X.shape[1], [*settings.hidden, k], activation="relu", seed=settings.seed)
    reference = ReferenceMLP.from_mlp(net)
    params = net.parameters()
    inputs = common.batch(X)  # (samples x features), a constant
    classes = common.batch(np.asarray(y, dtype=float), "y")  # class indices, one per sample
    optimizer = nn.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    losses = common.train(
        lambda: batch_loss("cross_entropy", net(inputs), classes),  # layer grain: L + 1 nodes
        optimizer,
        settings.steps,
        every,
    )
    numpy_losses = []
    with common.timed("NumPy"):
        for _ in range(settings.steps):
            cost, grads = reference.loss_and_grads(X, y, "cross_entropy")
            numpy_losses.append(cost)
            reference.update_parameters_with_adamw(
                grads, settings.lr, weight_decay=settings.weight_decay
            )
    final = nn.losses.cross_entropy(net(X), y).data
    numpy_final = reference.loss_and_grads(X, y, "cross_entropy")[0]
    accuracy = nn.accuracy(net, X, y)

    result = common.Result(name)
    result.figures.update(description or {})
    sizes = " -> ".join(map(str, [X.shape[1], *settings.hidden, k]))
    result.figures.update(
        {
            "network": f"nn.MLP {sizes}, relu, linear logits, {net.num_parameters()} parameters",
            "loss": "cross-entropy (mean of logsumexp(z) - z[target])",
            "optimizer": f"AdamW, lr {settings.lr:g}, weight decay {settings.weight_decay:g}, "
            f"{settings.steps} full-batch steps, seed {settings.seed}",
            "final loss": final,
            "training accuracy": f"{accuracy:.1%}",
        }
    )
    result.values["accuracy"] = accuracy
    if test is not None:
        result.values["test accuracy"] = test_accuracy = nn.accuracy(net, *test)
        result.figures["test accuracy"] = f"{test_accuracy:.1%} ({len(test[0])} held out)"
    result.agreement["final loss"] = abs(final - numpy_final)
    result.agreement["weights"] = float(
        np.max(np.abs(net.parameter_vector() - reference.flatten()))
    )
    result.agreement["loss curve"] = common.max_abs_difference([losses], [numpy_losses])

    def graph(path: Path):
        one = nn.MLP(X.shape[1], [*settings.hidden, k], activation="relu", seed=settings.seed)

        def loss_of(j: int) -> Value:
            logits = one(common.sample(X, j))
            for i, z in enumerate(logits):
                z.label = f"z{i}"
            return nn.losses.cross_entropy([logits], [int(y[j])])

        return common.sample_graph(
            result,
            path,
            loss_of,
            len(X),
            f"{name}: cross-entropy of sample {{k}}",
            local_grads=False,
        )

    pictures = {
        "loss.png": lambda path: common.plot_losses(
            path, {"engine": losses, "NumPy": numpy_losses}, f"{name}: cross-entropy"
        ),
        "graph.svg": graph,
        "backprop.html": lambda path: common.backprop_page(
            path,
            nn.MLP(X.shape[1], [*settings.hidden, k], activation="relu", seed=settings.seed),
            X,
            y,
            "cross_entropy",
            settings.lr,
            common.drawn_sample(result),
            run=settings.steps,
            optimizer=lambda ps: nn.optim.AdamW(
                ps, lr=settings.lr, weight_decay=settings.weight_decay
            ),
            settings="loss: cross-entropy, the mean over the batch (no L2 term: AdamW's "
            f"weight decay {settings.weight_decay:g} shrinks the weights instead)",
        ),
    }
    if X.shape[1] == 2:
        pictures["boundary.png"] = lambda path: (
            nn.plot.decision_boundary(net, X, y, path, title=f"{name}: {accuracy:.1%} accuracy")
            if common.plots_available()
            else None
        )
    common.write_pictures(result, out, pictures)
    return result


def main(name: str, doc: str, run, defaults: dict, quick: dict, argv: list[str] | None) -> int:
    """The command line of a multi-class demo: --steps --lr --seed, and the usual flags."""
    p = common.parser(name, doc, every=0)
    p.add_argument(
        "--steps", type=common.positive_int, default=defaults["steps"], help="training steps"
    )
    p.add_argument(
        "--lr", type=common.positive_float, default=defaults["lr"], help="AdamW's learning rate"
    )
    p.add_argument("--seed", type=int, default=defaults["seed"], help="initial weights")
    args = common.parse(p, argv, quick)
    out = None if args.no_pictures else args.out
    return common.report(run(args.steps, args.lr, args.seed, out, args.every))
