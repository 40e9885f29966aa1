"""The live lab: a local web server whose page talks to the engine running in this process.

`python -m autograd.lab` (or `autograd.lab.main(argv)`) starts it on 127.0.0.1, prints its
address with a random token in it (as Jupyter does) and opens it in the default browser.

- **Training lab**: a data set, an `nn.MLP`, a loss and an optimizer, trained by a background
  thread per lab with the engine (`nn.build_loss`, `backward()`, `opt.step()`). The page gets
  frames by server-sent events, at most `FRAMES_PER_SECOND` a second, each built from the
  newest state when the page can take it (frames are dropped, never queued): the step, the
  loss curve, the decision boundary with the points, the weights and their gradients. Click to
  add, remove or trace a point; pause and step through the traced sample's backward pass
  (`backward_steps()` run here, the numbers sent) on its one-sample graph at either grain:
  layer grain (a node per layer: its rule with the shapes that multiply, its matrices, and its
  neurons as a view of the same numbers, `autograd.layers.neurons`) or neuron grain (a node
  per neuron). The static page of that pass (`autograd.page`: its step-through, path sums and
  quiz) is made here from the numbers traced, served at `/api/trace/page` (tokened, like every
  request) and shown in the lab's page in a sandboxed frame.
- **Expression lab**: an expression read by the CLI's safe parser (`autograd.expression`),
  a box per variable, forward and backward on every change, the graph drawn by
  `autograd.draw` as SVG, and its backward steps.
- **Leave with what you made**: the traced sample's graph as the static page
  (`autograd.page`), the model (`nn.save`), the data as CSV.

Why the standard library's `ThreadingHTTPServer`: the lab serves one person's browser tabs on
one machine; a thread per request and server-sent events (plain HTTP) are enough, and it adds
no dependency. Every request must carry the token (compared with `hmac.compare_digest`); each
request's cost is bounded (the `MAX_...` limits below), and a bad one (a value out of bounds, a
key the request does not take, a path not served) gets a JSON message the page shows. `nn`
(and NumPy) are imported when a lab starts, not by `import autograd`.
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import json
import math
import secrets
import signal
import socket
import sys
import tempfile
import threading
import time
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .ieee import quiet
from .value import Value

ASSETS = Path(__file__).with_name("lab_assets")
ASSET_FILES = ("lab.html", "lab.js", "lab.css")

# ---------------------------------------------------------------------------------------------
# Limits: what one request (and one lab) may cost

MAX_BODY = 16 * 1024  # bytes of a request's JSON body
MAX_HIDDEN_LAYERS = 4
MAX_WIDTH = 32  # neurons in one hidden layer
MAX_POINTS = 1000  # points in a lab's data
MAX_STEPS_PER_REQUEST = 500  # "step" with a count
SPEEDS = {"slow": 10, "normal": 100, "fast": None}  # training steps a second (None: no cap)
MAX_TOTAL_STEPS = 1_000_000  # a lab's training pauses there
MAX_SESSIONS = 32  # labs (tabs) open on one server
MAX_TRAINING = 8  # labs training at once (each is a thread)
MAX_CONNECTIONS = 64  # requests served at once; more are refused with 503
MAX_STREAMS_PER_SESSION = 2
REQUESTS_PER_SECOND = 40  # per lab, with bursts of up to BURST
BURST = 80
MAX_VARIABLES = 12  # of an expression
MAX_DRAWN_NODES = 60  # a picture of a larger graph is collapsed (boxes, then the nearest)
MAX_SENT_STEPS = 300  # backward steps sent to the page at most (all of them are run)
MAX_PATHS = 6  # paths written out in an explanation
MAX_PAGE_NODES = 200  # values in an expression saved as the static page
MAX_RENDERS = 2  # Graphviz renders at once
MAX_PAGE_BUILDS = 2  # static pages of a traced sample made at once
MAX_EXPANDED_PARAMETERS = 400  # a neuron-grain page shows every parameter up to this many
BUILD_WAIT = 5.0  # seconds a page waits for a turn to be made, else 503
FRAMES_PER_SECOND = 20
GRID = 40  # the decision boundary: GRID x GRID cells
HISTORY_SHOWN = 400  # loss curve points sent at most
MAX_HISTORY = 20_000  # losses kept per lab (a longer run keeps every 2nd, 4th, ... step's)
IDLE_SECONDS = 60  # a lab with no page connected for this long may be closed for a new one
LOOPBACK = ("127.0.0.1", "localhost", "::1")

DATASETS = ("xor", "moons", "circles", "blobs", "spiral", "yin_yang")
LAB_LOSSES = ("hinge", "bce_with_logits", "mse", "cross_entropy")
OPTIMIZERS = ("sgd", "adam", "adamw")
LAB_ACTIVATIONS = ("relu", "tanh", "sigmoid")
GRAINS = ("layer", "neuron")  # the traced sample's graph: a node per layer, or per neuron
CONFIG_KEYS = ("data", "hidden", "activation", "loss", "optimizer", "lr", "l2", "seed")

#: The lab's starting points, one per classic demo (`--demo NAME`): data set, network, loss,
#: optimizer and learning rate, as close to the demo's as a live page allows.
DEMOS: dict[str, dict[str, Any]] = {
    "xor": {
        "data": "xor",
        "hidden": [4],
        "activation": "tanh",
        "loss": "bce_with_logits",
        "optimizer": "sgd",
        "lr": 0.5,
        "l2": 0.0,
        "seed": 2,
    },
    "moons": {
        "data": "moons",
        "hidden": [16, 16],
        "activation": "relu",
        "loss": "hinge",
        "optimizer": "sgd",
        "lr": 0.5,
        "l2": 1e-4,
        "seed": 1337,
    },
    "circles": {
        "data": "circles",
        "hidden": [8, 8],
        "activation": "tanh",
        "loss": "bce_with_logits",
        "optimizer": "adam",
        "lr": 0.05,
        "l2": 0.0,
        "seed": 0,
    },
    "blobs": {
        "data": "blobs",
        "hidden": [4],
        "activation": "relu",
        "loss": "bce_with_logits",
        "optimizer": "sgd",
        "lr": 0.1,
        "l2": 0.0,
        "seed": 0,
    },
    "spiral": {
        "data": "spiral",
        "hidden": [32, 32],
        "activation": "relu",
        "loss": "cross_entropy",
        "optimizer": "adamw",
        "lr": 0.02,
        "l2": 0.0,
        "seed": 0,
    },
    "yinyang": {
        "data": "yin_yang",
        "hidden": [32, 32],
        "activation": "relu",
        "loss": "cross_entropy",
        "optimizer": "adamw",
        "lr": 0.02,
        "l2": 0.0,
        "seed": 0,
    },
}
DEFAULT_DEMO = "moons"


class LabError(ValueError):
    """A request the lab refuses; the message (one line: what was wrong, what to do) is shown
    in the page. `status` is the HTTP status sent with it."""

    def __init__(self, message: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = int(status)


# ---------------------------------------------------------------------------------------------
# Reading a request's values


def _number(body: dict, key: str, low: float, high: float, default: Any = None) -> float:
    value = body.get(key, default)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise LabError(f"{key} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LabError(f"{key} must be a finite number, got {value!r}")
    if not low <= value <= high:
        raise LabError(f"{key} must be between {low:g} and {high:g}, got {value:g}")
    return float(value)


def _integer(body: dict, key: str, low: int, high: int, default: Any = None) -> int:
    value = _number(body, key, low, high, default)
    if value != int(value):
        raise LabError(f"{key} must be a whole number, got {value:g}")
    return int(value)


def _choice(body: dict, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = body.get(key, default)
    if value not in choices:
        raise LabError(f"{key} must be one of {', '.join(choices)}; got {str(value)[:40]!r}")
    return str(value)


def _only(body: dict, keys: tuple[str, ...], what: str) -> None:
    """LabError if `body` has a key not in `keys`: a misspelt key is refused, never ignored."""
    unknown = [key for key in body if key not in keys]
    if unknown:
        names = ", ".join(repr(key[:40]) for key in unknown[:5]) + (", ..." if unknown[5:] else "")
        raise LabError(
            f"unknown key{'s' if len(unknown) > 1 else ''} {names}: {what} takes {', '.join(keys)}"
        )


def _finite(x: Any) -> Any:
    """A float for JSON: inf and nan as the strings "inf", "-inf", "nan"."""
    if not isinstance(x, int | float):  # (an array: a layer-grain node's number, not sent)
        size = getattr(x, "size", None)
        if size != 1:
            return f"array of shape {getattr(x, 'shape', '?')}"
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _rounded(array: Any, digits: int = 5) -> list:
    """A NumPy array as nested lists of floats to `digits` significant digits (for frames;
    inf and nan as strings)."""
    import numpy as np

    a = np.asarray(array, dtype=float)
    finite = np.isfinite(a)
    safe = np.where(finite & (a != 0), np.abs(a), 1.0)
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(safe)))
    rounded = np.where(finite, np.round(a * scale) / scale, a)
    if finite.all():
        return rounded.tolist()
    flat = [_finite(v) for v in rounded.ravel().tolist()]
    return np.array(flat, dtype=object).reshape(a.shape).tolist()


# ---------------------------------------------------------------------------------------------
# The network's gradients: the one place that knows where they live


def parameter_grads(model: Any) -> list[tuple[Any, Any]]:
    """[(dL/dW, dL/db), ...] of each layer as NumPy arrays, W's of shape (outputs, inputs), b's
    (outputs,) or None: where a layer's parameters keep their gradients (a layer's `W`/`b`
    Values holding arrays, or each neuron's weight and bias Values)."""
    import numpy as np

    grads = []
    for layer in model.layers:
        W = getattr(layer, "W", None)
        if W is not None and hasattr(W, "grad"):
            b = getattr(layer, "b", None)
            shape = (layer.nout, layer.nin)  # (a grad not yet set may be the number 0.0)
            gW = np.broadcast_to(np.asarray(W.grad, dtype=float), shape).copy()
            gb = None if b is None else np.broadcast_to(np.asarray(b.grad, dtype=float), shape[:1])
            grads.append((gW, None if gb is None else gb.copy()))
            continue
        gW = np.array([[w.grad for w in n.w] for n in layer.neurons], dtype=float)
        biases = [n.b for n in layer.neurons]
        gb = None if biases[0] is None else np.array([b.grad for b in biases], dtype=float)
        grads.append((gW.reshape(layer.nout, layer.nin), gb))
    return grads


def parameter_names(model: Any) -> list[tuple[list[list[str]], list[str] | None]]:
    """The shown names of each layer's weights and biases: `L1.N3.w2`, `L1.N3.b`."""
    names = []
    for k, layer in enumerate(model.layers, start=1):
        W = [[f"L{k}.N{j}.w{i}" for i in range(1, layer.nin + 1)] for j in range(1, layer.nout + 1)]
        b = [f"L{k}.N{j}.b" for j in range(1, layer.nout + 1)]
        names.append((W, b if model.bias_arrays()[k - 1] is not None else None))
    return names


# ---------------------------------------------------------------------------------------------
# The training lab


def make_data(name: str) -> tuple[Any, Any]:
    """The points and integer labels (0..k-1) of a data set by name."""
    import numpy as np

    import nn

    if name == "xor":
        X, y = nn.data.xor()
    elif name == "moons":
        X, y = nn.data.moons(100, noise=0.1, seed=1337)
    elif name == "circles":
        X, y = nn.data.circles(100, noise=0.05, seed=0)
    elif name == "blobs":
        X, y = nn.data.blobs(200, centers=2, std=1.5, seed=42)
    elif name == "spiral":
        X, y = nn.data.spiral(100, classes=3, noise=0.2, seed=0)
    elif name == "yin_yang":
        X, y = nn.data.yin_yang(500, seed=0)
    else:
        raise LabError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    y = np.asarray(y, dtype=float)
    if set(np.unique(y).tolist()) <= {-1.0, 1.0}:
        y = (y > 0).astype(float)
    return np.asarray(X, dtype=float).copy(), y.astype(int)


def read_config(body: Any, classes: int | None = None) -> dict[str, Any]:
    """A lab's settings from a request, each checked against its limit (LabError if not)."""
    if not isinstance(body, dict):
        raise LabError("the settings must be a JSON object")
    _only(body, CONFIG_KEYS, "config")
    config: dict[str, Any] = {}
    config["data"] = _choice(body, "data", DATASETS, "moons")
    hidden = body.get("hidden", [16, 16])
    if isinstance(hidden, str):
        try:
            hidden = [int(part) for part in hidden.replace(" ", "").split(",") if part]
        except ValueError:
            raise LabError(
                f"hidden layers must be whole numbers separated by commas, like 16,16; got "
                f"{hidden[:40]!r}"
            ) from None
    if not isinstance(hidden, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in hidden
    ):
        raise LabError("hidden must be a list of layer widths, like [16, 16]")
    if len(hidden) > MAX_HIDDEN_LAYERS:
        raise LabError(
            f"at most {MAX_HIDDEN_LAYERS} hidden layers here, got {len(hidden)}: use fewer"
        )
    if any(not 1 <= n <= MAX_WIDTH for n in hidden):
        raise LabError(
            f"each hidden layer has 1 to {MAX_WIDTH} neurons here, got {hidden}: use fewer"
        )
    config["hidden"] = hidden
    config["activation"] = _choice(body, "activation", LAB_ACTIVATIONS, "relu")
    config["loss"] = _choice(body, "loss", LAB_LOSSES, "hinge")
    config["optimizer"] = _choice(body, "optimizer", OPTIMIZERS, "sgd")
    config["lr"] = _number(body, "lr", 0.0, 100.0, 0.1)
    config["l2"] = _number(body, "l2", 0.0, 1.0, 0.0)
    config["seed"] = _integer(body, "seed", 0, 2**31 - 1, 0)
    return config


def _check_loss(config: dict[str, Any], classes: int) -> None:
    if classes > 2 and config["loss"] != "cross_entropy":
        raise LabError(
            f"this data has {classes} classes: choose the loss cross_entropy (the others "
            "compare one output with two classes)"
        )


def loss_targets(loss: str, labels: Any) -> Any:
    """The targets a loss compares with: class indices (cross_entropy), 0/1 (bce_with_logits)
    or -1/+1 (hinge, mse: the sign of the one output is the class)."""
    import numpy as np

    if loss == "cross_entropy":
        return np.asarray(labels, dtype=int)
    if loss == "bce_with_logits":
        return np.asarray(labels, dtype=float)
    return np.where(np.asarray(labels) > 0, 1.0, -1.0)


class Session:
    """One lab (one browser tab): its data, network, optimizer, training thread and history.

    Every change to the state happens under `lock`; `version` counts changes, and `changed`
    (a Condition on the lock) wakes the tab's event stream."""

    def __init__(self, server: LabServer, config: dict[str, Any]) -> None:
        self.server = server
        self.id = secrets.token_urlsafe(12)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.version = 0
        self.data_version = 0
        self.running = False
        self.thread: threading.Thread | None = None
        self.streams = 0
        self.last_seen = time.monotonic()
        self.tokens = float(BURST)  # the rate limit's bucket, and when it was last refilled
        self.refilled = time.monotonic()
        self.message = ""
        self.trace: dict[str, Any] | None = None
        self.speed = "normal"  # training steps a second: SPEEDS
        self._batch_key: tuple | None = None  # what `_batch()` made its constants of
        self.configure(config)

    # -- state

    def configure(self, config: dict[str, Any]) -> None:
        """New data and a new network from `config` (training paused)."""
        X, labels = make_data(config["data"])
        classes = int(labels.max()) + 1
        _check_loss(config, classes)
        self.pause()
        with self.lock:
            self.running = False
            self.config = config
            self.X, self.labels, self.classes = X, labels, max(classes, 2)
            span = X.max(axis=0) - X.min(axis=0)
            pad = 0.15 * span + 0.1
            self.bounds = [
                float(X[:, 0].min() - pad[0]),
                float(X[:, 0].max() + pad[0]),
                float(X[:, 1].min() - pad[1]),
                float(X[:, 1].max() + pad[1]),
            ]
            self.traced: int | None = 0
            self.data_version += 1
            self.reset()
        with self.lock:  # the traced point: the one nearest the first network's boundary
            self.traced = self._nearest_the_boundary()

    def _nearest_the_boundary(self) -> int:
        """The point the new network is least sure of (the smallest margin between its top two
        scores, or its score's distance from 0): it has a loss to trace at the first steps."""
        import nn

        scores = nn.predict(self.model, self.X)
        if scores.ndim == 1:
            return int(abs(scores).argmin())
        top = scores.argsort(axis=1)[:, -2:]
        rows = range(len(scores))
        return int((scores[rows, top[:, 1]] - scores[rows, top[:, 0]]).argmin())

    def reset(self) -> None:
        """The network and optimizer made again from the settings: the same seed, the same run."""
        import nn

        self.pause()  # (waits for the training thread: never while holding the lock)
        with self.lock:
            self.running = False
            config = self.config
            outputs = self.classes if config["loss"] == "cross_entropy" else 1
            self.model = nn.MLP(
                2,
                [*config["hidden"], outputs],
                activation=config["activation"],
                seed=config["seed"],
            )
            optimizer = {"sgd": nn.optim.SGD, "adam": nn.optim.Adam, "adamw": nn.optim.AdamW}
            self.optimizer = optimizer[config["optimizer"]](
                self.model.parameters(), lr=config["lr"]
            )
            self.loss_fn, _ = nn.losses.get_loss(config["loss"])
            self.steps = 0
            self.losses: list[float] = []  # every `loss_every`-th step's loss (thinned when long)
            self.loss_every = 1
            self.last_loss: float | None = None
            self.message = ""
            self.trace = None
            self._bump()

    def _bump(self) -> None:
        with self.lock:
            self.version += 1
            self.changed.notify_all()

    # -- training

    def train_step(self) -> float:
        """One full-batch step on the engine: build the loss graph, zero the grads, backward,
        let the optimizer move the parameters. Returns the loss."""
        import nn

        with self.lock, quiet():  # (NumPy's quiet state entered once for the step, as fit)
            X, targets = self._batch()
            loss, _ = nn.build_loss(
                self.model, X, targets, self.loss_fn, self.config["l2"], True,
                self.model.parameters(),
            )  # fmt: skip
            self.optimizer.zero_grad()
            loss.backward()
            value = float(loss.data)
            if not math.isfinite(value):
                self.running = False
                self.message = (
                    f"the loss became {value} at step {self.steps + 1}: lower the learning "
                    "rate and reset"
                )
                self._bump()
                return value
            self.optimizer.step()
            self.steps += 1
            self.last_loss = value
            if self.steps % self.loss_every == 0:
                self.losses.append(value)
                if len(self.losses) >= MAX_HISTORY:  # a long run: keep every other one
                    self.losses = self.losses[1::2]
                    self.loss_every *= 2
            if self.steps >= MAX_TOTAL_STEPS:
                self.running = False
                self.message = f"paused after {MAX_TOTAL_STEPS:,} steps (the lab's limit)"
            self._bump()
            return value

    def _batch(self) -> tuple[Any, Any]:
        """The data and its targets as the constants every step reads, made once per data set
        and loss (as `nn.fit` makes them)."""
        import nn

        key = (self.data_version, self.config["loss"])
        if self._batch_key != key:
            targets = loss_targets(self.config["loss"], self.labels)
            if self.loss_fn in nn.losses.READS_CONSTANT_TARGETS:
                targets = nn.train.constant_targets(targets)
            self._batch_made = (Value(self.X, "X", requires_grad=False), targets)
            self._batch_key = key
        return self._batch_made

    def play(self) -> None:
        with self.lock:
            if self.running:
                return
            self.server.reserve_training(self)
            self.running = True
            self.message = ""
            self.thread = threading.Thread(
                target=self._train, name=f"lab-train-{self.id[:6]}", daemon=True
            )
            self.thread.start()
            self._bump()

    def pause(self, wait: bool = True) -> None:
        with self.lock:
            self.running = False
            thread = self.thread
            self.thread = None
            self._bump()
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _train(self) -> None:
        """The training thread: steps until paused, at most `speed` steps a second (to watch
        it). Whether to step is decided under the lock, so no step follows a pause (or a
        reset), and a thread replaced by a newer play ends."""
        import autograd

        me = threading.current_thread()
        due = time.monotonic()
        try:
            with autograd.gc_paused():
                while not self.server.stopping.is_set():
                    with self.lock:
                        if not self.running or self.thread is not me:
                            break
                        self.train_step()
                        rate = SPEEDS[self.speed]
                    if rate is None:
                        time.sleep(0)  # let the page's requests in between steps
                        continue
                    due = max(due + 1.0 / rate, time.monotonic() - 1.0)
                    time.sleep(max(0.0, due - time.monotonic()))
        except Exception as error:  # noqa: BLE001 (shown in the page, training stopped)
            with self.lock:
                self.running = False
                self.message = f"training stopped: {type(error).__name__}: {error}"
                self._bump()
        finally:
            with self.lock:
                replaced = self.thread is not None and self.thread is not me
            if not replaced:
                self.server.release_training(self)

    # -- the page's edits

    def set_speed(self, speed: str) -> None:
        if speed not in SPEEDS:
            raise LabError(f"speed must be one of {', '.join(SPEEDS)}, got {speed!r:.20}")
        with self.lock:
            self.speed = speed
            self._bump()

    def set_lr(self, lr: float) -> None:
        with self.lock:
            self.config["lr"] = lr
            self.optimizer.lr = lr
            self.optimizer.base_lr = lr
            self._bump()

    def add_point(self, x: float, y: float, cls: int) -> None:
        import numpy as np

        with self.lock:
            if len(self.X) >= MAX_POINTS:
                raise LabError(f"at most {MAX_POINTS} points in a lab: remove some first")
            if not 0 <= cls < self.classes:
                raise LabError(f"class must be 0 to {self.classes - 1} for this data, got {cls}")
            self.X = np.vstack([self.X, [x, y]])
            self.labels = np.append(self.labels, cls)
            self.data_version += 1
            self._bump()

    def nearest(self, x: float, y: float, radius: float) -> int | None:
        import numpy as np

        with self.lock:
            if not len(self.X):
                return None
            distance = np.hypot(self.X[:, 0] - x, self.X[:, 1] - y)
            k = int(np.argmin(distance))
            return k if distance[k] <= radius else None

    def remove_point(self, k: int) -> None:
        import numpy as np

        with self.lock:
            if len(self.X) <= 1:
                raise LabError("the lab needs at least one point: add one before removing this")
            self.X = np.delete(self.X, k, axis=0)
            self.labels = np.delete(self.labels, k)
            if self.traced is not None:
                self.traced = None if self.traced == k else self.traced - (self.traced > k)
            self.trace = None
            self.data_version += 1
            self._bump()

    def set_traced(self, k: int) -> None:
        with self.lock:
            self.traced = k
            self.trace = None
            self._bump()

    # -- the traced sample

    def freeze(self) -> dict[str, Any]:
        """The traced sample as it is now: its point, the step, its inputs and target, and the
        network's numbers (copies: training may go on, this stays what was traced)."""
        with self.lock:
            if self.traced is None:
                raise LabError("no traced point: click a point in trace mode first")
            k = self.traced
            return {
                "point": k,
                "step": self.steps,
                "weights": [W.copy() for W in self.model.weight_arrays()],
                "biases": [None if b is None else b.copy() for b in self.model.bias_arrays()],
                "activations": list(self.model.activations),
                "inputs": [float(v) for v in self.X[k]],
                "label": int(self.labels[k]),
                "target": loss_targets(self.config["loss"], self.labels[k : k + 1]),
                "data": self.config["data"],
                "pages": {},
            }

    def sample_graph(
        self, grain: str = "neuron", frozen: dict[str, Any] | None = None
    ) -> tuple[Any, Any]:
        """(loss Value, the copy of the network) of the traced sample alone: the network
        copied (its parameters fresh leaves with zero grads, so training's grads are
        untouched), at neuron grain (the inputs x1, x2 as Values, one node per neuron) or at
        layer grain (the input a 1 x 2 matrix X, one node per layer). The sample's loss only:
        the L2 penalty (which does not depend on the sample) is left out. `frozen`: the numbers
        of `freeze()` (by default, the network now)."""
        import numpy as np

        import nn

        if grain not in GRAINS:
            raise LabError(f"grain must be one of {', '.join(GRAINS)}; got {str(grain)[:40]!r}")
        frozen = frozen or self.freeze()
        copy = nn.MLP.from_weights(frozen["weights"], frozen["biases"], frozen["activations"])
        if grain == "layer":
            outputs = copy(np.array([frozen["inputs"]]), grain="layer")
            loss = self.loss_fn(outputs, frozen["target"])
        else:
            inputs = [Value(v, f"x{j + 1}") for j, v in enumerate(frozen["inputs"])]
            loss = self.loss_fn([copy(inputs)], frozen["target"])
        loss.label = "loss"
        return loss, copy

    def step_through(self, grain: str = "neuron", live: bool = False) -> dict[str, Any]:
        """The traced sample's backward pass at `grain`, every step with its numbers (run here
        with `backward_steps()`), each parameter's grad when it is done (by its neuron-grain
        name, `L1.N3.w2`, at either grain: the same numbers), and the graph's picture (neuron
        grain: a box per neuron, its parameters folded in; layer grain: a box per layer). At
        layer grain also `layers`: each layer node's matrices and its neurons' view of them.
        The numbers traced are kept: the static page of the same pass (`/api/trace/page`) and
        the explanations are of them, whatever training does next.

        `live=True`: the pass at the newest step as training runs (the page asks a few times a
        second), with no picture and nothing kept (the pass a student steps through stays)."""
        frozen = self.freeze()
        loss, copy = self.sample_graph(grain, frozen)
        steps, total = _run_steps(loss)
        if live:
            svg, svg_note = None, "live: pause and step through for the picture"
        else:
            svg, svg_note = picture(loss, self.server.renders, parameters=grain == "layer")
        names = parameter_names(copy)
        grads = {}
        for (W_names, b_names), (gW, gb) in zip(names, parameter_grads(copy)):
            for row_names, row in zip(W_names, gW):
                grads.update({n: _finite(g) for n, g in zip(row_names, row)})
            if b_names is not None:
                grads.update({n: _finite(g) for n, g in zip(b_names, gb)})
        with self.lock:
            if self.traced == frozen["point"] and not live:
                self.trace = {**frozen, "grain": grain}
                self._bump()  # (frames say which pass is kept)
        return {
            "point": frozen["point"],
            "at_step": frozen["step"],
            "grain": grain,
            "live": live,
            "loss": _finite(loss.data),
            "total": total,
            "steps": steps,
            "cut": total > len(steps),
            "grads": grads,
            "layers": _layer_boxes(loss, copy, steps) if grain == "layer" else None,
            "svg": svg,
            "svg_note": svg_note,
            "inputs": frozen["inputs"],
            "label": frozen["label"],
            "weights": [W.tolist() for W in frozen["weights"]],
            "biases": [None if b is None else b.tolist() for b in frozen["biases"]],
        }

    def last_trace(self) -> dict[str, Any]:
        """The numbers of the last step-through (`freeze()`'s), or LabError if there is none."""
        with self.lock:
            if self.trace is None:
                raise LabError(
                    "no step-through to show: pause, trace a point and step through its "
                    "backward pass first"
                )
            return self.trace

    # -- frames
    # -- frames

    def frame(self, with_points: bool = True) -> dict[str, Any]:
        """The page's picture of this lab now (numbers from the engine's network)."""
        import numpy as np

        import nn

        with self.lock:
            model, X, labels = self.model, self.X.copy(), self.labels.copy()
            bounds, losses = list(self.bounds), self.losses
            stride = max(1, math.ceil(len(losses) / HISTORY_SHOWN))
            shown = losses[::stride]
            if losses and (len(losses) - 1) % stride:
                shown = [*shown, losses[-1]]
            frame: dict[str, Any] = {
                "version": self.version,
                "data_version": self.data_version,
                "step": self.steps,
                "running": self.running,
                "loss": None if self.last_loss is None else _finite(self.last_loss),
                "losses": _rounded(shown, 6),
                "loss_stride": stride * self.loss_every,
                "lr": self.optimizer.lr,
                "speed": self.speed,
                "classes": self.classes,
                "traced": self.traced,
                "trace": None
                if self.trace is None
                else {k: self.trace[k] for k in ("point", "step", "grain")},
                "message": self.message,
                "config": dict(self.config),
                "bounds": bounds,
            }
            xs = np.linspace(bounds[0], bounds[1], GRID)
            ys = np.linspace(bounds[2], bounds[3], GRID)
            gx, gy = np.meshgrid(xs, ys)
            grid = np.column_stack([gx.ravel(), gy.ravel()])
            scores = nn.predict(model, np.vstack([grid, X]))
            arrays = list(zip(model.weight_arrays(), model.bias_arrays(), parameter_grads(model)))
        layers = [
            {
                "W": _rounded(W),
                "b": None if b is None else _rounded(b),
                "gW": _rounded(gW),
                "gb": None if gb is None else _rounded(gb),
            }
            for W, b, (gW, gb) in arrays
        ]
        if scores.ndim == 1:
            classes = (scores > 0).astype(int)
            confidence = np.tanh(np.abs(scores))
        else:
            classes = np.argmax(scores, axis=1)
            shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
            confidence = shifted.max(axis=1) / shifted.sum(axis=1)
        cells = len(grid)
        frame["grid"] = {
            "n": GRID,
            "cls": classes[:cells].tolist(),
            "conf": np.round(confidence[:cells], 2).tolist(),
        }
        frame["accuracy"] = float(np.mean(classes[cells:] == labels)) if len(labels) else None
        frame["layers"] = layers
        if with_points:
            frame["points"] = {"X": _rounded(X, 6), "y": labels.tolist()}
        return frame

    def csv(self) -> str:
        with self.lock:
            rows = ["x1,x2,label"] + [
                f"{x1!r},{x2!r},{int(c)}"
                for (x1, x2), c in zip(self.X.tolist(), self.labels.tolist())
            ]
        return "\n".join(rows) + "\n"

    def model_file(self) -> bytes:
        import nn

        with self.lock:
            model = nn.MLP.from_weights(
                self.model.weight_arrays(), self.model.bias_arrays(), self.model.activations
            )
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.json"
            nn.save(model, path)
            return path.read_bytes()

    def explain(self, name: Any, grain: Any = None) -> str:
        """d loss / d `name` in the traced sample's graph as a sum over paths (`explain`): the
        graph of the last step-through (its numbers and grain) if there is one, else the
        network's now at neuron grain."""
        from .steps import explain

        if not isinstance(name, str) or not 0 < len(name) <= 80:
            raise LabError("name the value to explain, like L1.N1.w1")
        with self.lock:
            frozen = self.trace
        if grain is None:
            grain = frozen["grain"] if frozen else "neuron"
        loss, _ = self.sample_graph(grain, frozen)
        try:
            return str(explain(loss, name, max_paths=MAX_PATHS))
        except ValueError as error:
            raise LabError(f"explain: {str(error).splitlines()[0][:300]}") from None

    def page_file(self, grain: str = "neuron", frozen: dict[str, Any] | None = None) -> bytes:
        """The static page (`autograd.page`) of the traced sample's graph at `grain`: its
        step-through, path sums and quiz. At neuron grain each neuron's parameters are folded
        into its box, and a checkbox shows every parameter (for a network of at most
        MAX_EXPANDED_PARAMETERS). `frozen`: the numbers of a step-through (kept, the page
        made once per grain), else the network's now."""
        from .page import frames_page, page, record

        frozen = frozen or self.freeze()
        if grain in frozen["pages"]:
            return frozen["pages"][grain]
        loss, copy = self.sample_graph(grain, frozen)
        title = (
            f"point {frozen['point']} at step {frozen['step']} of the lab's {frozen['data']}, "
            f"at {grain} grain"
        )
        if not self.server.builds.acquire(timeout=BUILD_WAIT):
            raise LabError(
                "the server is making other pages: try again in a moment",
                HTTPStatus.SERVICE_UNAVAILABLE,
            )
        try:
            if grain == "layer":
                text = page(loss, title=title).html
            else:
                folded, _ = record(loss, 2, parameters=False)
                folded["title"] = title
                count = sum(
                    W.size + (0 if b is None else b.size)
                    for W, b in zip(copy.weight_arrays(), copy.bias_arrays())
                )
                full = record(loss, 2) if count <= MAX_EXPANDED_PARAMETERS else None
                frame = (folded, "", "", full) if full else (folded, "", "")
                text = frames_page([frame], title).html
        finally:
            self.server.builds.release()
        body = frozen["pages"][grain] = text.encode()
        return body


def _run_steps(root: Any) -> tuple[list[dict[str, Any]], int]:
    """Run `root.backward_steps()` to the end; (the first MAX_SENT_STEPS steps' numbers, how
    many steps there were)."""
    sent, total = [], 0
    for step in root.backward_steps():
        total += 1
        if len(sent) < MAX_SENT_STEPS:
            sent.append(_step_json(step))
    return sent, total


def _step_json(step: Any) -> dict[str, Any]:
    """One backward step's numbers (and its text, as `print(step)` shows it). At layer grain
    a number is a matrix (nested lists) and a local derivative a rule (its text)."""
    return {
        "number": step.number,
        "name": step.name,
        "expression": step.expression,
        "grad": _exact(step.grad),
        "edges": [
            {
                "parent": edge.parent_name,
                "local": _exact(edge.local),
                "formula": edge.formula,
                "contribution": _exact(edge.contribution),
                "grad_after": _exact(edge.grad_after),
                "constant": edge.constant,
            }
            for edge in step.edges
        ],
        "text": str(step),
    }


def _exact(x: Any) -> Any:
    """A number for JSON as it is: a float (inf and nan as strings), an array as nested lists
    of them, anything else (a layer's rule, `S W`) as its text."""
    if isinstance(x, int | float):
        return _finite(x)
    if hasattr(x, "dtype") and hasattr(x, "tolist"):
        import numpy as np

        a = np.asarray(x, dtype=float)
        if a.ndim == 0:
            return _finite(float(a))
        if np.isfinite(a).all():
            return a.tolist()
        return (
            np.array([_finite(v) for v in a.ravel().tolist()], dtype=object)
            .reshape(a.shape)
            .tolist()
        )
    return str(x)[:200]


def _layer_boxes(loss: Any, copy: Any, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each layer node of a one-sample layer-grain graph: its rule, its output and grad (1 x
    neurons), its W and b with their grads, and the same numbers seen neuron by neuron
    (`autograd.layers.neurons` for the outputs, the neurons' own views of W and b)."""
    from .graph import topological_order
    from .layers import neurons

    nodes = {node.label: node for node in topological_order(loss) if node.label}
    heads = {step["name"]: f"{step['name']} = {step['expression']}" for step in steps}
    boxes = []
    for k, layer in enumerate(copy.layers, start=1):
        node = nodes.get(f"L{k}")
        if node is None:
            continue
        views = neurons(node, 0)
        shape = tuple(node.data.shape)
        boxes.append(
            {
                "name": node.label,
                "head": heads.get(node.label, node.label),
                "activation": layer.activation,
                "shape": list(shape),
                "out": _exact(node.data),
                "grad": _exact(_full(node.grad, shape)),
                "W": _exact(layer.W.data),
                "gW": _exact(_full(layer.W.grad, layer.W.data.shape)),
                "b": None if layer.b is None else _exact(layer.b.data),
                "gb": None if layer.b is None else _exact(_full(layer.b.grad, layer.b.data.shape)),
                "neurons": [
                    {
                        "name": view.label,
                        "out": _finite(view.data),
                        "grad": _finite(view.grad),
                        "w": [_finite(w.data) for w in neuron.w],
                        "gw": [_finite(w.grad) for w in neuron.w],
                        "b": None if neuron.b is None else _finite(neuron.b.data),
                        "gb": None if neuron.b is None else _finite(neuron.b.grad),
                    }
                    for view, neuron in zip(views, layer.neurons)
                ],
            }
        )
    return boxes


def _full(grad: Any, shape: tuple) -> Any:
    """A grad as an array of `shape` (a grad the pass never reached is the number 0.0)."""
    import numpy as np

    return np.broadcast_to(np.asarray(grad, dtype=float), shape)


# ---------------------------------------------------------------------------------------------
# The expression lab


def expression_graph(body: dict) -> tuple[Any, dict[str, float]]:
    """(the graph's root, the variables' values) of the expression `body["text"]` at
    `body["values"]` (1.0 for a variable not given), read by the CLI's safe parser."""
    from .expression import ExpressionError, parse

    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise LabError("type an expression, like tanh(x*w + b)")
    try:
        expression = parse(text)
    except ExpressionError as error:
        raise LabError(f"expression: {error}") from None
    if len(expression.variables) > MAX_VARIABLES:
        raise LabError(
            f"at most {MAX_VARIABLES} variables in the lab, this has "
            f"{len(expression.variables)}: use fewer"
        )
    given = body.get("values", {})
    if not isinstance(given, dict):
        raise LabError("values must be an object: a number for each variable")
    values = {
        name: _number(given, name, -1e6, 1e6, 1.0) if name in given else 1.0
        for name in expression.variables
    }
    return expression.evaluate(values), values


def expression_result(body: dict, renders: threading.Semaphore) -> dict[str, Any]:
    """Forward and backward of an expression at the given values; its steps, each variable's
    gradient explained as a sum over paths (`explain`), and its picture."""
    from .graph import topological_order
    from .steps import explain

    root, values = expression_graph(body)
    leaves = {}

    order = topological_order(root)
    for node in order:
        if not node.parents and node.label in values:
            leaves[node.label] = node
    steps, total = _run_steps(root)
    result: dict[str, Any] = {
        "variables": list(values),
        "values": values,
        "value": _finite(root.data),
        "grads": {name: _finite(node.grad) for name, node in leaves.items()},
        "nodes": len(order),
        "total": total,
        "steps": steps,
        "cut": total > len(steps),
    }
    result["explanations"] = {
        name: str(explain(root, node, max_paths=MAX_PATHS)) for name, node in leaves.items()
    }
    result["svg"], result["svg_note"] = picture(root, renders)
    return result


def expression_page(query: dict) -> bytes:
    """The static page (`autograd.page`) of the expression `text` at `values` (JSON) given in
    a link's query: the step-through, the path sums and the quiz of the current graph."""
    from .graph import topological_order
    from .page import page

    text = query.get("text", [""])[0]
    try:
        values = json.loads(query.get("values", ["{}"])[0] or "{}")
    except json.JSONDecodeError:
        raise LabError("values must be JSON: a number for each variable") from None
    root, _ = expression_graph({"text": text, "values": values})
    size = len(topological_order(root))
    if size > MAX_PAGE_NODES:
        raise LabError(
            f"the static page takes graphs of up to {MAX_PAGE_NODES} values; this one has "
            f"{size}: save a smaller expression"
        )
    return page(root, title=text).html.encode()


def picture(root: Any, renders: threading.Semaphore, **options: Any) -> tuple[str | None, str]:
    """(the SVG of `autograd.draw(root, **options)`, "") or (None, why there is none). At
    most MAX_RENDERS at once; a graph of more than MAX_DRAWN_NODES values is collapsed."""
    from .draw import draw, render

    if not renders.acquire(timeout=2):
        return None, "the picture was skipped: the server is drawing others; try again"
    try:
        graph = draw(root, max_nodes=MAX_DRAWN_NODES, **options)
        with tempfile.TemporaryDirectory() as folder:
            path = render(graph, Path(folder) / "graph.svg")
            return path.read_text(encoding="utf-8", errors="replace"), ""
    except (RuntimeError, ValueError) as error:  # no renderer, or it failed: numbers still shown
        return None, f"no picture: {str(error).splitlines()[0][:200]}"
    finally:
        renders.release()


# ---------------------------------------------------------------------------------------------
# The server


class LabServer(ThreadingHTTPServer):
    """The lab's HTTP server: its token, its labs, its limits. Start it with `serve(...)`;
    `start()` runs it in a thread, `stop()` ends every thread it made within about a second."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # connections waiting to be accepted (a burst of tabs, a flood)

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        demo: str | None = None,
        max_training: int = MAX_TRAINING,
        max_sessions: int = MAX_SESSIONS,
        token: str | None = None,
    ) -> None:
        if demo is not None and demo not in DEMOS:
            raise ValueError(f"unknown demo {demo!r}; choose one of {', '.join(DEMOS)}")
        missing = [name for name in ASSET_FILES if not (ASSETS / name).is_file()]
        if missing:
            raise FileNotFoundError(
                f"the lab's page files are missing from {ASSETS} ({', '.join(missing)}): "
                "reinstall backprop-lab (pip install -e .)"
            )
        family = socket.AF_INET6 if _is_ipv6(host) else socket.AF_INET
        self.address_family = family
        super().__init__((host, port), LabHandler)
        self.token = token or secrets.token_urlsafe(24)
        self.demo = demo or DEFAULT_DEMO
        self.max_training = max_training
        self.max_sessions = max_sessions
        self.sessions: dict[str, Session] = {}
        self.sessions_lock = threading.Lock()
        self.training: set[str] = set()
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.renders = threading.Semaphore(MAX_RENDERS)
        self.builds = threading.Semaphore(MAX_PAGE_BUILDS)
        self.thread: threading.Thread | None = None

    # -- address

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        host = self.server_address[0]
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/?token={self.token}"

    # -- connections: bounded, and all closable at stop

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            full = len(self.connections) >= MAX_CONNECTIONS
            if not full:
                self.connections.add(request)
        if full or self.stopping.is_set():
            try:
                request.sendall(
                    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                    b"Connection: close\r\n\r\n"
                    b'{"error": "the lab is busy with too many requests; try again"}'
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def close_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().close_request(request)

    # -- labs

    def new_session(self, config: dict[str, Any]) -> Session:
        """A new lab; at the limit, the lab longest without a page (for IDLE_SECONDS) is
        closed for it, or if every lab has a page, LabError (503)."""
        session = Session(self, config)  # (made first: its data and network take a moment)
        closed = None
        with self.sessions_lock:
            if len(self.sessions) >= self.max_sessions:
                now = time.monotonic()
                idle = [
                    s
                    for s in self.sessions.values()
                    if s.streams == 0 and now - s.last_seen > IDLE_SECONDS
                ]
                if not idle:
                    raise LabError(
                        f"{self.max_sessions} labs are open on this server (its limit): close "
                        "a tab and reload",
                        HTTPStatus.SERVICE_UNAVAILABLE,
                    )
                closed = min(idle, key=lambda s: s.last_seen)
                del self.sessions[closed.id]
            self.sessions[session.id] = session
        if closed is not None:
            closed.pause(wait=False)  # (outside the server's lock: a lab's lock is taken first)
        return session

    def session(self, session_id: Any) -> Session:
        with self.sessions_lock:
            session = self.sessions.get(session_id) if isinstance(session_id, str) else None
        if session is None:
            raise LabError(
                "this lab is not open on the server (it was restarted or closed the lab): "
                "reload the page",
                HTTPStatus.NOT_FOUND,
            )
        session.last_seen = time.monotonic()
        return session

    def reserve_training(self, session: Session) -> None:
        with self.sessions_lock:
            if session.id not in self.training and len(self.training) >= self.max_training:
                raise LabError(
                    f"{self.max_training} labs are training at once (the server's limit): pause "
                    "one in another tab, then press play",
                    HTTPStatus.SERVICE_UNAVAILABLE,
                )
            self.training.add(session.id)

    def release_training(self, session: Session) -> None:
        with self.sessions_lock:
            self.training.discard(session.id)

    # -- running

    def start(self) -> LabServer:
        """Serve in a background thread; returns the server."""
        self.thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name="lab-server"
        )
        self.thread.daemon = True
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: training threads, event streams and open connections end, the port
        is closed. Safe to call twice."""
        if self.stopping.is_set() and self.thread is None:
            return
        self.stopping.set()
        with self.sessions_lock:
            sessions = list(self.sessions.values())
        for session in sessions:
            with session.lock:
                session.running = False
                session.changed.notify_all()
        if self.thread is not None:
            self.shutdown()
            self.thread.join(timeout=2)
            self.thread = None
        with self.connections_lock:
            open_ones = list(self.connections)
        for request in open_ones:
            try:
                request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for session in sessions:
            session.pause()
        self.server_close()


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


DOWNLOADS = ("page", "model", "csv", "expression")  # GET /api/download/<one of these>

#: What the server serves, by method; any other request is a 404 that lists these.
ROUTES = {
    "GET": (
        "/",
        "/index.html",
        "/lab.js",
        "/lab.css",
        "/api/events",
        "/api/frame",
        "/api/trace/page",
        "/api/expression/page",
        *(f"/api/download/{what}" for what in DOWNLOADS),
    ),
    "POST": (
        "/api/session",
        "/api/config",
        "/api/control",
        "/api/speed",
        "/api/lr",
        "/api/points",
        "/api/explain",
        "/api/trace",
        "/api/expression",
    ),
}


def _unknown_path(method: str, path: str) -> LabError:
    shown = path if len(path) <= 80 else path[:80] + "..."
    served = "; ".join(f"{way} {', '.join(paths)}" for way, paths in ROUTES.items())
    return LabError(
        f"no such thing here: {method} {shown!r}; this lab serves {served}", HTTPStatus.NOT_FOUND
    )


class LabHandler(BaseHTTPRequestHandler):
    """Every request: the token first, then the route; errors as JSON {"error": message}."""

    server: LabServer
    server_version = "backprop-lab"
    timeout = 30  # seconds a connection may take to send its request

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass  # quiet: the terminal shows the address, not every request

    # -- replies

    def _send(self, status: int, body: bytes, kind: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, content: Any) -> None:
        body = json.dumps(content, allow_nan=False, separators=(",", ":")).encode()
        self._send(status, body, "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    # -- routing

    def do_GET(self) -> None:  # noqa: N802 (the base class's name)
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def _handle(self, method: str) -> None:
        try:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            given = query.get("token", [""])[0] or self.headers.get("X-Lab-Token", "")
            if not hmac.compare_digest(given.encode(), self.server.token.encode()):
                self._error(
                    HTTPStatus.FORBIDDEN,
                    "403: this lab needs its token: open the address the server printed "
                    "(with ?token=...)",
                )
                return
            body = self._body() if method == "POST" else {}
            self._route(method, parts.path, query, body)
        except LabError as error:
            self._error(error.status, str(error))
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the page went away
        except Exception as error:  # noqa: BLE001 (never a traceback in the page)
            try:
                self._error(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    f"the lab could not do that: {type(error).__name__}: {str(error)[:300]}",
                )
            except OSError:
                pass

    def _body(self) -> dict:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise LabError("Content-Length must be a number") from None
        if length > MAX_BODY:
            raise LabError(
                f"the request is {length:,} bytes, more than the lab takes ({MAX_BODY:,})",
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        raw = self.rfile.read(length) if length > 0 else b"{}"
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise LabError("the request's body must be JSON") from None
        if not isinstance(body, dict):
            raise LabError("the request's body must be a JSON object")
        return body

    def _limit(self, session: Session) -> None:
        """The rate limit of one lab: a bucket of BURST requests refilled REQUESTS_PER_SECOND."""
        now = time.monotonic()
        with session.lock:
            elapsed = now - session.refilled
            session.refilled = now
            session.tokens = min(BURST, session.tokens + elapsed * REQUESTS_PER_SECOND)
            if session.tokens < 1:
                raise LabError(
                    f"too many requests from this lab (more than {REQUESTS_PER_SECOND} a "
                    "second): slow down",
                    HTTPStatus.TOO_MANY_REQUESTS,
                )
            session.tokens -= 1

    def _route(self, method: str, path: str, query: dict, body: dict) -> None:
        server = self.server
        if path not in ROUTES.get(method, ()):  # (before looking up the lab: a typo is no lab gone)
            raise _unknown_path(method, path)
        if method == "GET" and path in ("/", "/index.html"):
            self._asset("lab.html")
            return
        if method == "GET" and path in ("/lab.js", "/lab.css"):
            self._asset(path[1:])
            return
        if method == "POST" and path == "/api/session":
            _only(body, ("demo", "config"), "a new lab")
            demo = body.get("demo") or server.demo
            if demo not in DEMOS:
                raise LabError(f"unknown demo {str(demo)[:40]!r}; choose one of {', '.join(DEMOS)}")
            config = read_config(body["config"]) if "config" in body else dict(DEMOS[demo])
            session = server.new_session(config)
            self._json(
                HTTPStatus.OK, {"session": session.id, "limits": LIMITS, "frame": session.frame()}
            )
            return
        session_id = body.get("session") if method == "POST" else query.get("session", [""])[0]
        session = server.session(session_id)
        if path == "/api/events" and method == "GET":
            self._events(session)
            return
        self._limit(session)
        if method == "GET" and path == "/api/frame":
            self._json(HTTPStatus.OK, session.frame())
        elif method == "GET" and path.startswith("/api/download/"):
            self._download(session, path.rsplit("/", 1)[1], query)
        elif method == "POST" and path == "/api/config":
            _only(body, ("session", "config"), path)
            config = read_config(body.get("config"))
            session.configure(config)
            self._json(HTTPStatus.OK, {"frame": session.frame()})
        elif method == "POST" and path == "/api/control":
            self._control(session, body)
        elif method == "POST" and path == "/api/speed":
            _only(body, ("session", "speed"), path)
            session.set_speed(str(body.get("speed")))
            self._json(HTTPStatus.OK, {"speed": session.speed})
        elif method == "POST" and path == "/api/lr":
            _only(body, ("session", "lr"), path)
            session.set_lr(_number(body, "lr", 0.0, 100.0))
            self._json(HTTPStatus.OK, {"lr": session.optimizer.lr})
        elif method == "POST" and path == "/api/points":
            self._points(session, body)
        elif method == "POST" and path == "/api/explain":
            _only(body, ("session", "name", "grain"), path)
            grain = _choice(body, "grain", GRAINS) if "grain" in body else None
            self._json(HTTPStatus.OK, {"text": session.explain(body.get("name"), grain)})
        elif method == "POST" and path == "/api/trace":
            _only(body, ("session", "grain", "live"), path)
            grain = _choice(body, "grain", GRAINS, "neuron")
            live = body.get("live") is True
            if live and grain != "layer":
                raise LabError("the live pass is at layer grain: pause to step through neurons")
            self._json(HTTPStatus.OK, session.step_through(grain, live=live))
        elif method == "GET" and path == "/api/trace/page":
            grain = _choice({"grain": query.get("grain", ["layer"])[0]}, "grain", GRAINS)
            self._page(session.page_file(grain, session.last_trace()))
        elif method == "GET" and path == "/api/expression/page":
            self._page(expression_page(query))
        elif method == "POST" and path == "/api/expression":
            _only(body, ("session", "text", "values"), path)
            self._json(HTTPStatus.OK, expression_result(body, server.renders))
        else:
            raise _unknown_path(method, path)

    def _asset(self, name: str) -> None:
        kinds = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
        text = (ASSETS / name).read_text(encoding="utf-8")
        if name == "lab.html":
            text = text.replace("__TOKEN__", self.server.token)
        policy = (
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; connect-src 'self'; frame-src 'self'; base-uri 'none'; "
            "form-action 'none'"
        )
        self._send(
            HTTPStatus.OK,
            text.encode(),
            kinds[Path(name).suffix] + "; charset=utf-8",
            {"Content-Security-Policy": policy},
        )

    def _control(self, session: Session, body: dict) -> None:
        action = _choice(body, "action", ("play", "pause", "step", "reset"))
        steps = ("steps",) if action == "step" else ()
        _only(body, ("session", "action", *steps), f"the action {action}")
        if action == "play":
            session.play()
        elif action == "pause":
            session.pause()
        elif action == "reset":
            session.reset()
        else:
            count = _integer(body, "steps", 1, MAX_STEPS_PER_REQUEST, 1)
            session.pause()
            import autograd

            with autograd.gc_paused():
                for _ in range(count):
                    if not math.isfinite(session.train_step()):
                        break
        self._json(HTTPStatus.OK, {"frame": session.frame()})

    def _points(self, session: Session, body: dict) -> None:
        op = _choice(body, "op", ("add", "remove", "trace"))
        _only(body, ("session", "op", "x", "y", "cls" if op == "add" else "radius"), f"the op {op}")
        low, high = -1e3, 1e3
        x, y = _number(body, "x", low, high), _number(body, "y", low, high)
        if op == "add":
            session.add_point(x, y, _integer(body, "cls", 0, 9))
        else:
            radius = _number(body, "radius", 0.0, 1e3, 0.1)
            k = session.nearest(x, y, radius)
            if k is None:
                raise LabError(f"no point there to {op}: click on a point")
            if op == "remove":
                session.remove_point(k)
            else:
                session.set_traced(k)
        self._json(HTTPStatus.OK, {"frame": session.frame()})

    def _page(self, body: bytes) -> None:
        """A static page (`autograd.page`: the last step-through's graph, or an expression's),
        to be shown in the lab's page in a sandboxed frame: its own script runs there, it
        loads nothing, and only the lab may frame it."""
        policy = (
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
        )
        self._send(
            HTTPStatus.OK, body, "text/html; charset=utf-8", {"Content-Security-Policy": policy}
        )

    def _download(self, session: Session, what: str, query: dict) -> None:
        data = session.config["data"]
        if what == "csv":
            body, kind, name = session.csv().encode(), "text/csv", f"{data}.csv"
        elif what == "model":
            body, kind, name = session.model_file(), "application/json", f"{data}_model.json"
        elif what == "page":
            grain = _choice({"grain": query.get("grain", ["neuron"])[0]}, "grain", GRAINS)
            body, kind, name = session.page_file(grain), "text/html", f"{data}_backprop.html"
        elif what == "expression":
            body, kind, name = expression_page(query), "text/html", "expression_backprop.html"
        else:
            raise LabError(f"download one of: {', '.join(DOWNLOADS)}", HTTPStatus.NOT_FOUND)
        self._send(
            HTTPStatus.OK,
            body,
            kind + "; charset=utf-8",
            {"Content-Disposition": f'attachment; filename="{name}"'},
        )

    def _events(self, session: Session) -> None:
        """Server-sent events: a frame when the lab has changed, at most FRAMES_PER_SECOND a
        second, always built from the newest state (frames the page has not taken are never
        queued); a comment line every second otherwise, which also finds a closed tab."""
        server = self.server
        with session.lock:
            if session.streams >= MAX_STREAMS_PER_SESSION:
                raise LabError(
                    "this lab already has an open page: open a new lab in a new tab",
                    HTTPStatus.CONFLICT,
                )
            session.streams += 1
        interval = 1.0 / FRAMES_PER_SECOND
        sent_version, sent_data, last = -1, -1, 0.0
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(b"retry: 1000\n\n")
            self.wfile.flush()
            while not server.stopping.is_set():
                with session.lock:
                    if session.version == sent_version:
                        session.changed.wait(timeout=0.25)
                    changed = session.version != sent_version
                now = time.monotonic()
                if not changed:
                    if now - last >= 1.0:
                        self.wfile.write(b": waiting\n\n")
                        self.wfile.flush()
                        last = now
                    continue
                wait = interval - (now - last)
                if wait > 0:
                    server.stopping.wait(wait)
                    continue
                frame = session.frame(with_points=session.data_version != sent_data)
                sent_version, sent_data = frame["version"], frame["data_version"]
                text = json.dumps(frame, allow_nan=False, separators=(",", ":"))
                self.wfile.write(b"data: " + text.encode() + b"\n\n")
                self.wfile.flush()
                last = time.monotonic()
        except OSError:
            pass  # the tab was closed (or the server stopped)
        finally:
            with session.lock:
                session.streams -= 1
                alone = session.streams == 0
            if alone:
                session.pause(wait=False)  # a closed tab stops its training


LIMITS = {
    "max_body": MAX_BODY,
    "max_hidden_layers": MAX_HIDDEN_LAYERS,
    "max_width": MAX_WIDTH,
    "max_points": MAX_POINTS,
    "max_steps_per_request": MAX_STEPS_PER_REQUEST,
    "max_variables": MAX_VARIABLES,
    "frames_per_second": FRAMES_PER_SECOND,
    "datasets": list(DATASETS),
    "losses": list(LAB_LOSSES),
    "optimizers": list(OPTIMIZERS),
    "activations": list(LAB_ACTIVATIONS),
    "demos": list(DEMOS),
    "grains": list(GRAINS),
    "max_expanded_parameters": MAX_EXPANDED_PARAMETERS,
}


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    demo: str | None = None,
    max_training: int = MAX_TRAINING,
    max_sessions: int = MAX_SESSIONS,
    start: bool = True,
) -> LabServer:
    """A lab server bound to (host, port) (port 0: a free one; see `.url`, `.port`, `.token`).
    `start=True` serves in a background thread at once; `.stop()` ends it."""
    server = LabServer(host, port, demo, max_training, max_sessions)
    return server.start() if start else server


# ---------------------------------------------------------------------------------------------
# The command


def main(argv: list[str] | None = None, prog: str = "autograd lab") -> int:
    """`python -m autograd lab [--host H] [--port P] [--no-browser] [--demo NAME]`: serve the
    lab until Ctrl-C or SIGTERM. `prog`: the command as the user typed it, for usage lines."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="The live lab: train a network and step through backprop in your browser. "
        "It prints its address, with a fresh token in it that every request must carry, and "
        "opens it; it serves until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)"
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument(
        "--demo", default=DEFAULT_DEMO, choices=sorted(DEMOS), help="the training lab's start"
    )
    parser.add_argument(
        "--max-training", type=int, default=MAX_TRAINING, help="labs training at once"
    )
    parser.add_argument(
        "--max-sessions", type=int, default=MAX_SESSIONS, help="labs (tabs) open at once"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0 to 65535, got {args.port}")
    if args.max_training < 1 or args.max_sessions < 1:
        parser.error("--max-training and --max-sessions must be at least 1")
    if not _loopback(args.host):
        print(
            f"warning: --host {args.host} lets other machines on the network reach the lab "
            "(anyone with the token can run training on this machine); use it only on a "
            "network you trust",
            file=sys.stderr,
        )
    try:
        server = LabServer(args.host, args.port, args.demo, args.max_training, args.max_sessions)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(
            f"error: cannot serve on {args.host}:{args.port}: {error.strerror or error}; "
            "try --port 0 for a free port",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[signum] = signal.signal(signum, on_signal)
        except ValueError:  # not the main thread: Ctrl-C stays with the caller
            pass
    server.start()
    print(f"The backprop lab is running at:\n    {server.url}", flush=True)
    print("Press Ctrl-C to stop it.", flush=True)
    if not args.no_browser:
        try:
            webbrowser.open(server.url)
        except webbrowser.Error:
            pass
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("The lab stopped.", flush=True)
    return 0


def live(name: str, argv: list[str] | None = None) -> int:
    """`python -m demos NAME --live [lab flags]`: the lab opened on that demo's data, network,
    loss and optimizer (see DEMOS)."""
    if name not in DEMOS:
        print(
            f"error: the demo {name!r} has no live lab; these do: {', '.join(DEMOS)}",
            file=sys.stderr,
        )
        return 2
    return main(["--demo", name, *(argv or [])])


if __name__ == "__main__":
    sys.exit(main(prog="python -m autograd.lab"))
