"""A deep network of any depth: will it rain? (temperature, humidity, pressure -> rain / no rain)

The tutorial's L-layer binary classifier: layers given as a list of (inputs, outputs,
activation), ReLU hidden layers and a sigmoid output (its example has four weight layers,
sizes [n_x, 20, 7, 5, 1]), small random initial weights (N(0, 1) / sqrt(inputs)), biases zero,
cross-entropy cost, gradient descent (learning rate 0.0075, 2,500 iterations), predictions
thresholded at 0.5. The data is a synthetic weather set made with a seed, split into train and
test, standardised with the train set's mean and std. Then the tutorial's next steps, each an
option whose effect on the test accuracy is reported: L2 regularisation (cost + lambda/(2m)
sum W**2), mini-batches, momentum (v = beta v + (1 - beta) dW; W -= lr v) and Adam (with bias
correction). Every run is repeated in the tutorial's NumPy form, with the same initial weights
and the same mini-batches, and the two must end with the same loss and weights.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

import autograd
import nn
from autograd import Value
from autograd.layers import batch_loss

from . import common

NAME = "deep"
Layers = list[tuple[int, int, str]]  # (inputs, outputs, activation) of each layer
LAYERS: Layers = [(3, 20, "relu"), (20, 7, "relu"), (7, 5, "relu"), (5, 1, "sigmoid")]
FEATURES = ["temperature", "humidity", "pressure"]
DEFAULTS = {"samples": 1000, "test_fraction": 0.2, "data_seed": 7, "seed": 1}


@dataclass(frozen=True)
class Options:
    """One training configuration (the tutorial's plain gradient descent by default)."""

    iterations: int = 2500  # parameter updates
    lr: float = 0.0075
    l2: float = 0.0  # lambda: cost + lambda / (2 m) * sum of every W squared (biases not)
    batch_size: int = 0  # 0: full batch
    momentum: float = 0.0  # beta of momentum (0: none)
    adam: bool = False  # Adam(beta1 0.9, beta2 0.999, eps 1e-8); overrides momentum
    seed: int = 1  # initial weights and mini-batch order

    def describe(self) -> str:
        parts = [f"lr {self.lr:g}", f"{self.iterations} updates"]
        if self.l2:
            parts.append(f"L2 lambda {self.l2:g}")
        if self.batch_size:
            parts.append(f"batches of {self.batch_size}")
        if self.adam:
            parts.append("Adam")
        elif self.momentum:
            parts.append(f"momentum {self.momentum:g}")
        return ", ".join(parts)


def presets(base: Options) -> dict[str, Options]:
    """The tutorial's plain run and each of its next steps, one change at a time."""
    return {
        "gradient descent": base,
        "+ L2 (lambda 0.7)": replace(base, l2=0.7),
        "+ mini-batches of 64": replace(base, batch_size=64),
        "+ momentum 0.9": replace(base, momentum=0.9),
        "+ Adam (lr 0.001)": replace(base, adam=True, lr=0.001),
    }


# ---------------------------------------------------------------------------------------------
# Data


def make_weather(n: int = 1000, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic daily weather: temperature (C), relative humidity (%), pressure (hPa) -> rain.

    Rain is likelier when it is humid, when the pressure is low, and most when both (a
    product term the network must learn), a little likelier when it is cool:
    logit = 4 h - 3.5 p - 3 h p - t - 1.5, with h, p, t the readings' standard scores,
    and rain ~ Bernoulli(sigmoid(logit)). Returns X of shape (n, 3) and y (0/1) of shape (n,).
    """
    if n < 10:
        raise ValueError(f"the weather data needs at least 10 days, got {n}")
    rng = np.random.default_rng(seed)
    temperature = rng.normal(16.0, 7.0, n)
    humidity = np.clip(rng.normal(68.0, 15.0, n), 5.0, 100.0)
    pressure = rng.normal(1013.0, 8.0, n)
    t, h, p = (temperature - 16.0) / 7.0, (humidity - 68.0) / 15.0, (pressure - 1013.0) / 8.0
    logit = 4.0 * h - 3.5 * p - 3.0 * h * p - 1.0 * t - 1.5
    rain = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    return np.column_stack([temperature, humidity, pressure]), rain.astype(float)


def split(
    X: np.ndarray, y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle with `seed`, keep the last `test_fraction` as the test set."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test fraction must be between 0 and 1, got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = max(1, int(round(test_fraction * len(X))))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def standardise(
    train: np.ndarray, *others: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """(x - mean) / std with the train set's statistics, for train and every other set."""
    mean, std = train.mean(axis=0), train.std(axis=0)
    if np.any(std == 0):
        raise ValueError("a feature is constant in the train set: cannot divide by its std 0")
    return [(a - mean) / std for a in (train, *others)], mean, std


def batches(n: int, options: Options) -> list[np.ndarray]:
    """The index set of every update: all samples, or shuffled mini-batches epoch after epoch."""
    if not options.batch_size or options.batch_size >= n:
        return [np.arange(n)] * options.iterations
    rng = np.random.default_rng(options.seed + 1)
    out: list[np.ndarray] = []
    while len(out) < options.iterations:
        order = rng.permutation(n)
        out += [order[k : k + options.batch_size] for k in range(0, n, options.batch_size)]
    return out[: options.iterations]


def initial_weights(layers: Layers, seed: int) -> list[np.ndarray]:
    """[W1, b1, ..., WL, bL]: W_l ~ N(0, 1) / sqrt(inputs) of shape (outputs, inputs), b_l = 0."""
    rng = np.random.default_rng(seed)
    arrays = []
    for nin, nout, _ in layers:
        arrays += [rng.standard_normal((nout, nin)) / np.sqrt(nin), np.zeros(nout)]
    return arrays


def check_layers(layers: Layers) -> None:
    for k, (nin, _, act) in enumerate(layers):
        if k and nin != layers[k - 1][1]:
            raise ValueError(
                f"layer {k + 1} takes {nin} inputs but layer {k} gives {layers[k - 1][1]}"
            )
        if act not in ("relu", "tanh", "sigmoid", "linear"):
            raise ValueError(f"layer {k + 1}: unknown activation {act!r}")
    if layers[-1][1] != 1 or layers[-1][2] != "sigmoid":
        raise ValueError("the last layer must be (n, 1, 'sigmoid'): a probability of rain")


# ---------------------------------------------------------------------------------------------
# The NumPy form, as the tutorial writes it (X of shape (features, m))


def numpy_forward(
    params: list[np.ndarray], layers: Layers, X: np.ndarray
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """L_model_forward: returns AL and the caches (A_prev, Z) of every layer."""
    A, caches = X, []
    for (W, b), (_, _, act) in zip(zip(params[0::2], params[1::2]), layers):
        Z = W @ A + b[:, None]
        caches.append((A, Z))
        if act == "relu":
            A = np.maximum(Z, 0.0)
        elif act == "sigmoid":
            A = 1.0 / (1.0 + np.exp(-Z))
        elif act == "tanh":
            A = np.tanh(Z)
        else:
            A = Z
    return A, caches


def numpy_cost(AL: np.ndarray, Y: np.ndarray, params: list[np.ndarray], l2: float) -> float:
    m = Y.shape[1]
    cost = -np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / m
    if l2:
        cost += l2 / (2 * m) * sum(np.sum(W * W) for W in params[0::2])
    return float(cost)


def numpy_backward(
    params: list[np.ndarray],
    layers: Layers,
    AL: np.ndarray,
    Y: np.ndarray,
    caches: list[tuple[np.ndarray, np.ndarray]],
    l2: float,
) -> list[np.ndarray]:
    """L_model_backward: dA of the sigmoid output, then dZ = dA * g'(Z) layer by layer."""
    m = Y.shape[1]
    grads: list[np.ndarray] = [np.empty(0)] * len(params)
    dA = -(Y / AL - (1 - Y) / (1 - AL))
    for layer in reversed(range(len(layers))):
        W = params[2 * layer]
        A_prev, Z = caches[layer]
        act = layers[layer][2]
        if act == "relu":
            dZ = dA * (Z > 0)
        elif act == "sigmoid":
            s = 1.0 / (1.0 + np.exp(-Z))
            dZ = dA * s * (1 - s)
        elif act == "tanh":
            dZ = dA * (1 - np.tanh(Z) ** 2)
        else:
            dZ = dA
        grads[2 * layer] = dZ @ A_prev.T / m + (l2 / m) * W
        grads[2 * layer + 1] = np.sum(dZ, axis=1) / m
        dA = W.T @ dZ
    return grads


def numpy_train(
    start: list[np.ndarray], layers: Layers, X: np.ndarray, y: np.ndarray, options: Options
) -> tuple[list[np.ndarray], list[float]]:
    """The tutorial's loop with its update_parameters(_with_momentum/_with_adam)."""
    params = [a.copy() for a in start]
    v = [np.zeros_like(a) for a in params]
    s = [np.zeros_like(a) for a in params]
    costs = []
    for t, idx in enumerate(batches(len(X), options), start=1):
        Xb, Yb = X[idx].T, y[idx][None, :]
        AL, caches = numpy_forward(params, layers, Xb)
        costs.append(numpy_cost(AL, Yb, params, options.l2))
        grads = numpy_backward(params, layers, AL, Yb, caches, options.l2)
        for k, g in enumerate(grads):
            if options.adam:
                v[k] = 0.9 * v[k] + 0.1 * g
                s[k] = 0.999 * s[k] + 0.001 * g * g
                v_hat, s_hat = v[k] / (1 - 0.9**t), s[k] / (1 - 0.999**t)
                params[k] -= options.lr * v_hat / (np.sqrt(s_hat) + 1e-8)
            elif options.momentum:
                v[k] = options.momentum * v[k] + (1 - options.momentum) * g
                params[k] -= options.lr * v[k]
            else:
                params[k] -= options.lr * g
    return params, costs


# ---------------------------------------------------------------------------------------------
# The engine


def build(start: list[np.ndarray], layers: Layers) -> nn.MLP:
    """The network on the engine from [W1, b1, W2, b2, ...], one activation per layer."""
    return nn.MLP.from_weights(start[0::2], start[1::2], [act for _, _, act in layers])


def optimizer_for(params: list[Value], options: Options) -> nn.optim.Optimizer:
    """The tutorial's update as an `nn.optim` optimizer.

    Plain gradient descent is SGD; Adam is Adam (beta1 0.9, beta2 0.999, eps 1e-8). The
    tutorial's momentum v = beta v + (1 - beta) g is PyTorch's u = beta u + g scaled by
    (1 - beta) (v = (1 - beta) u at every step), so SGD(lr (1 - beta), momentum beta) takes
    the same steps.
    """
    if options.adam:
        return nn.optim.Adam(params, lr=options.lr, betas=(0.9, 0.999), eps=1e-8)
    if options.momentum:
        beta = options.momentum
        return nn.optim.SGD(params, lr=options.lr * (1 - beta), momentum=beta)
    return nn.optim.SGD(params, lr=options.lr)


def engine_cost(
    net: nn.MLP, inputs: Value, y: Value, l2: float, m: int, clamp: common.Clamp | None = None
) -> Value:
    """Mean cross-entropy over the batch (`inputs` samples x 3, `y` samples x 1, constants;
    each layer one node), plus lambda / (2 m) times every weight squared (the biases are not
    penalized): one sum-of-squares node over the layers' W. `clamp`, if given, notes when an
    output saturates."""
    P = net(inputs)
    cost = batch_loss("bce", P, y) if clamp is None else clamp.bce(P, y)
    if l2:
        cost = cost + nn.losses.l2(net, l2 / (2 * m), biases=False)
    return cost


def engine_train(
    start: list[np.ndarray],
    layers: Layers,
    X: np.ndarray,
    y: np.ndarray,
    options: Options,
    every: int = 0,
    clamp: common.Clamp | None = None,
) -> tuple[nn.MLP, list[float]]:
    """Train on the engine with `nn.optim` (see `optimizer_for`); `clamp` as `engine_cost`."""
    net = build(start, layers)
    params = net.parameters()
    optimizer = optimizer_for(params, options)
    plan = batches(len(X), options)
    whole = common.batch(X), common.column(y)  # the full batch, made once
    costs = []
    with autograd.gc_paused():
        for t, idx in enumerate(plan, start=1):
            inputs, targets = (
                whole if len(idx) == len(X) else (common.batch(X[idx]), common.column(y[idx]))
            )
            cost = engine_cost(net, inputs, targets, options.l2, len(idx), clamp)
            optimizer.zero_grad()
            cost.backward()
            costs.append(cost.data)
            optimizer.step()
            if every and (t % every == 0 or t == 1):
                print(f"  update {t:>6}  cost {cost.data:.6f}")
    return net, costs


def accuracy(probabilities: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((probabilities > 0.5) == (y > 0.5)))


# ---------------------------------------------------------------------------------------------


def run(
    options: Options | None = None,
    layers=LAYERS,
    compare: bool = True,
    samples: int = DEFAULTS["samples"],
    test_fraction: float = DEFAULTS["test_fraction"],
    data_seed: int = DEFAULTS["data_seed"],
    out: Path | None = None,
    every: int = 0,
) -> common.Result:
    """Train the chosen configuration (and, with `compare`, the tutorial's next steps)."""
    options = options or Options()
    check_layers(layers)
    X, y = make_weather(samples, data_seed)
    X_train, y_train, X_test, y_test = split(X, y, test_fraction, data_seed)
    (X_train, X_test), mean, std = standardise(X_train, X_test)
    start = initial_weights(layers, options.seed)
    rainy = int(np.sum(y_test > 0.5))
    chance = max(rainy, len(y_test) - rainy) / len(y_test)  # always guess the commoner class

    plain = Options(iterations=options.iterations, lr=options.lr, seed=options.seed)
    runs = presets(plain) if compare else {"this run": options}
    if compare and options not in runs.values():
        runs["this run"] = options
    result = common.Result(NAME)
    result.figures.update(
        {
            "data": f"{samples} days (seed {data_seed}), {np.mean(y):.0%} rain; "
            f"train {len(X_train)}, test {len(X_test)}",
            "standardised with": "train mean "
            + ", ".join(f"{f} {m:.1f}" for f, m in zip(FEATURES, mean))
            + "; std "
            + ", ".join(f"{s:.1f}" for s in std),
            "network": " -> ".join([str(layers[0][0])] + [f"{o} {a}" for _, o, a in layers]),
            "chance (majority class)": f"{chance:.1%} of the test set",
        }
    )
    curves, accuracies = {}, {}
    for name, opts in runs.items():
        if every:
            print(f"{name}:")
        clamp = common.Clamp()
        with common.timed("engine"):
            net, costs = engine_train(start, layers, X_train, y_train, opts, every, clamp)
        with common.timed("NumPy"):
            reference, numpy_costs = numpy_train(start, layers, X_train, y_train, opts)
        train_acc = accuracy(nn.predict(net, X_train), y_train)
        test_acc = accuracy(nn.predict(net, X_test), y_test)
        accuracies[name] = test_acc
        result.figures[f"{name:<22}"] = (
            f"train {train_acc:.1%}  test {test_acc:.1%}  ({opts.describe()})"
        )
        final = engine_cost(
            net, common.batch(X_train), common.column(y_train), opts.l2, len(X_train), clamp
        ).data
        AL, _ = numpy_forward(reference, layers, X_train.T)
        result.agreement[f"{name}: final loss"] = abs(
            final - numpy_cost(AL, y_train[None, :], reference, opts.l2)
        )
        result.agreement[f"{name}: weights"] = common.max_abs_difference(
            common.parameter_arrays(net), reference
        )
        clamp.explain(result, costs, numpy_costs, [f"{name}: final loss", f"{name}: weights"])
        curves[name] = costs
    result.values["test_accuracy"] = accuracies
    result.values["chance"] = chance
    baseline = accuracies.get("gradient descent", accuracies.get("this run"))
    result.figures["beats chance"] = "yes" if baseline > chance else "no"
    if compare:
        result.notes.append(
            "every run makes the same number of updates; a mini-batch update sees "
            "only its batch, so that run sees fewer samples in all"
        )

    def graph(path: Path):
        one = build(start, layers)
        return common.sample_graph(
            result,
            path,
            lambda k: common.binary_cross_entropy(
                one(common.sample(X_train, k)), Value(float(y_train[k]), "y")
            ),
            len(X_train),
            "deep net: one day's reading (sample {k}), initial weights",
            local_grads=False,
        )

    common.write_pictures(
        result,
        out,
        {
            "loss.png": lambda path: common.plot_losses(
                path,
                curves,
                "deep net on the weather: training cost per update",
                log=True,
                faint=[name for name, o in runs.items() if o.batch_size],
            ),
            "graph.svg": graph,
            "backprop.html": lambda path: common.backprop_page(
                path,
                build(start, layers),
                X_train,
                y_train,
                "bce",
                options.lr,
                common.drawn_sample(result),
                run=options.iterations,
                optimizer=lambda ps: optimizer_for(ps, options),
                loss_of=lambda m, Xb, yb: engine_cost(
                    m, common.batch(Xb), common.column(yb), options.l2, len(yb)
                ),
                batches=batches(len(X_train), options),
                settings=f"the run {options.describe()}: mean cross-entropy of the batch"
                + (f" + {options.l2:g}/(2 m) x every weight squared" if options.l2 else ""),
            ),
        },
    )
    return result


def main(argv: list[str] | None = None) -> int:
    base = Options()
    p = common.parser(NAME, __doc__, every=0)
    p.add_argument(
        "--iterations", type=common.positive_int, default=base.iterations, help="parameter updates"
    )
    p.add_argument(
        "--lr", type=common.positive_float, default=None, help="default 0.0075; 0.001 with --adam"
    )
    p.add_argument("--l2", type=float, default=0.0, help="L2 lambda (cost + lambda/2m sum W^2)")
    p.add_argument("--batch-size", type=int, default=0, help="mini-batch size (0: full batch)")
    p.add_argument("--momentum", type=float, default=0.0, help="momentum beta, e.g. 0.9")
    p.add_argument("--adam", action="store_true", help="Adam instead of gradient descent")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="weights and batches")
    p.add_argument("--hidden", type=str, default="20,7,5", help="hidden layer sizes, e.g. 20,7,5")
    p.add_argument(
        "--samples", type=common.positive_int, default=DEFAULTS["samples"], help="days of weather"
    )
    p.add_argument("--data-seed", type=int, default=DEFAULTS["data_seed"], help="the data's seed")
    p.add_argument(
        "--no-compare",
        action="store_true",
        help="train only this configuration, not the presets (--quick implies it)",
    )
    args = p.parse_args(argv)
    if args.l2 < 0 or args.batch_size < 0 or not 0 <= args.momentum < 1:
        p.error("--l2 and --batch-size must be >= 0 and --momentum in [0, 1)")
    try:
        sizes = [int(x) for x in args.hidden.split(",") if x.strip()]
    except ValueError:
        p.error(f"--hidden takes sizes separated by commas, got {args.hidden!r}")
    if any(s <= 0 for s in sizes):
        p.error(f"--hidden sizes must be positive, got {args.hidden!r}")
    dims = [len(FEATURES), *sizes, 1]
    layers = [
        (a, b, "sigmoid" if k == len(dims) - 2 else "relu")
        for k, (a, b) in enumerate(zip(dims[:-1], dims[1:]))
    ]
    options = Options(
        args.iterations,
        args.lr if args.lr is not None else (0.001 if args.adam else base.lr),
        args.l2,
        args.batch_size,
        args.momentum,
        args.adam,
        args.seed,
    )
    result = run(
        options,
        layers,
        not (args.no_compare or args.quick),
        args.samples,
        DEFAULTS["test_fraction"],
        args.data_seed,
        None if args.no_pictures else args.out,
        args.every,
    )
    return common.report(result)


if __name__ == "__main__":
    sys.exit(main())
