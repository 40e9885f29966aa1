"""Modules built only from `Value`s: `Neuron`, `Layer` and `MLP` (PyTorch-like names).

A neuron computes  out = act(b + w_1 x_1 + ... + w_n x_n).  By default that is ONE fused node
(`autograd.linear`), whose local derivatives are d out/d w_i = act'(z) x_i, d out/d x_i =
act'(z) w_i and d out/d b = act'(z); with `fused=False` the same neuron is built from primitive
`*` and `+` nodes and the activation method, the way it is taught (same numbers, more nodes).

Inputs are numbers or Values. A Value may be *batched* (its data a 1-D NumPy array, one entry
per sample): every node then works elementwise and each scalar parameter gets the sum of its
per-sample gradients, so `mlp([Value(X[:, j]) for j in range(nin)])` runs a whole batch
through the graph of one sample (a 2-D NumPy array `X` of shape (samples, nin) is turned into
those columns for you).

Parameters are labelled `L1.N3.w2` (layer 1, neuron 3, weight 2, all counted from 1) and
`L1.N3.b`; `parameters()` lists them layer by layer, neuron by neuron, weights then bias.
`bias=False` (as in PyTorch's `nn.Linear`) makes neurons without a bias: out = act(sum_i w_i x_i).

`MLP.from_weights(weights, biases, activations)` builds a network from given matrices in the
textbook convention Z = W A + b (`weights[l]` of shape (outputs, inputs), row j is neuron j's
weights); `weight_arrays()` and `bias_arrays()` read them back as NumPy arrays.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Sequence
from itertools import repeat
from typing import Any

import numpy as np

import autograd
from autograd import Value
from autograd.fast import ParameterBlock

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
INITS = ("uniform", "xavier", "he")

#: The seed used when none is given, so that every run is repeatable by default.
DEFAULT_SEED = 0

Seed = int | np.random.Generator | None


def check_activation(activation: str) -> str:
    """Return `activation` if it is known, else raise a ValueError listing the known ones."""
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    return activation


def make_rng(seed: Seed) -> np.random.Generator:
    """A NumPy generator: `seed` None means DEFAULT_SEED; a Generator is used as it is."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        seed = DEFAULT_SEED
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int or a numpy Generator, got {type(seed).__name__}")
    return np.random.default_rng(int(seed))


def initial_weights(
    rng: np.random.Generator, fan_in: int, fan_out: int = 1, init: str = "uniform"
) -> np.ndarray:
    """`fan_in` initial weights for one neuron of a layer with `fan_out` neurons.

    - "uniform": w ~ U(-1, 1), as the classic from-scratch tutorials (micrograd) do;
    - "xavier" (Glorot): w ~ N(0, 2 / (fan_in + fan_out)), for tanh/sigmoid layers;
    - "he": w ~ N(0, 2 / fan_in), for relu layers.
    Biases always start at 0.
    """
    if init == "uniform":
        return rng.uniform(-1.0, 1.0, size=fan_in)
    if init == "xavier":
        return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=fan_in)
    if init == "he":
        return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=fan_in)
    raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")


def _positive_int(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


def columns(X: Any) -> list[Value]:
    """A batch as the inputs of one graph: one batched Value per feature, `x1, x2, ...`.

    `X` has shape (samples, features); column j becomes `Value(X[:, j], f"x{j + 1}")`, whose
    data is its own read-only copy.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (samples, features), got shape {X.shape}")
    return [Value(X[:, j], f"x{j + 1}") for j in range(X.shape[1])]


def as_inputs(x: Any, nin: int) -> list[Any]:
    """The inputs of a network as a list of `nin` Values.

    `x` is a sequence of numbers or Values (one sample, scalar or batched Values), a 1-D
    NumPy array (one sample), or a 2-D array of shape (samples, nin): a batch, turned into
    one batched Value per column. Numbers become leaf Values labelled `x1, x2, ...`, made once
    here, so every neuron of the first layer reads the same input node (one node per input
    in the pictures, and `x1.grad` is d out/d x1 summed over all of its uses).
    """
    if type(x) is list and len(x) == nin and _JUST_VALUES.issuperset(map(type, x)):
        return x  # (a layer's outputs, as the next layer reads them: nothing to make)
    if isinstance(x, np.ndarray):
        if x.ndim == 2:
            if x.shape[1] != nin:
                raise ValueError(
                    f"expected {nin} input features, got an array of shape {x.shape} "
                    f"(rows are samples, columns features)"
                )
            return columns(x)
        if x.ndim != 1:
            raise ValueError(f"inputs must be 1-D (one sample) or 2-D (a batch), got {x.shape}")
        x = [float(v) for v in x]
    elif isinstance(x, Value) or not isinstance(x, Sequence):
        raise TypeError(
            f"inputs must be a list of {nin} numbers or Values (or a NumPy array), "
            f"got {type(x).__name__}"
        )
    if len(x) != nin:
        raise ValueError(f"expected {nin} inputs, got {len(x)}")
    return [v if isinstance(v, Value) else Value(v, f"x{j}") for j, v in enumerate(x, start=1)]


class Module:
    """Base class: anything with parameters (leaf Values) and a forward computation."""

    def parameters(self) -> list[Value]:
        """Every trainable Value, in a fixed order."""
        return [p for _, p in self.named_parameters()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, parameter) pairs; the name is the parameter's label (e.g. `L1.N3.w2`)."""
        return []

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0 (leaf gradients accumulate across backward())."""
        for p in self.parameters():
            p.grad = 0.0

    def num_parameters(self) -> int:
        return len(self.parameters())

    def parameter_blocks(self) -> list[ParameterBlock] | None:
        """The `ParameterBlock`s that hold exactly `parameters()`, in order, or None."""
        return None

    def weights(self) -> list[Value]:
        """The weights alone (no biases), in `parameters()` order."""
        raise NotImplementedError(
            f"{type(self).__name__} does not say which of its parameters are weights: "
            "define weights() (nn.Neuron, nn.Layer and nn.MLP do)"
        )

    def state_dict(self) -> dict[str, float]:
        """{name: value} for every parameter, in `parameters()` order (a plain copy)."""
        return {name: float(p.data) for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, float]) -> None:
        """Set every parameter from {name: value} and its grad to 0; the names must match
        exactly, and a state with a bad value changes nothing."""
        named = self.named_parameters()
        names = [n for n, _ in named]
        missing = [n for n in names if n not in state]
        known = set(names)  # once: a set per key made loading quadratic
        extra = [n for n in state if n not in known]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {_few(missing)}")
            if extra:
                parts.append(f"unexpected {_few(extra)}")
            raise ValueError("state does not match the model's parameters: " + "; ".join(parts))
        numbers = []  # every value checked before any parameter changes
        for name, _ in named:
            value = state[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"parameter {name} must be a number, got {value!r:.40}")
            try:
                numbers.append(float(value))
            except OverflowError:
                raise ValueError(f"parameter {name} is beyond float64's range") from None
        blocks = self.parameter_blocks()
        if blocks is None:
            for (_, p), number in zip(named, numbers):
                p.data = number
                p.grad = 0.0
            return
        start = 0
        for block in blocks:  # (parameters() is the blocks' entries, row by row)
            end = start + block.values.size
            block.assign(np.array(numbers[start:end]).reshape(block.shape))
            block.zero_grad()
            start = end

    def forward(self, x: Any) -> Any:
        raise NotImplementedError

    def __call__(self, x: Any) -> Any:
        return self.forward(x)


def _few(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


class Neuron(Module):
    """out = act(b + sum_i w_i x_i), `w` a tuple of `nin` Values and `b` a Value (or, with
    `bias=False`, None: out = act(sum_i w_i x_i)). They live in one array, `block.values`
    (row `row`; a layer's neurons share the layer's block), and read and write it.

    `fused=True` (the default) makes the whole neuron one `autograd.linear` node; `fused=False`
    builds it from `*`, `+` and the activation's own node, giving the same value and gradients.
    """

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        seed: Seed = None,
        init: str = "uniform",
        fused: bool = True,
        label: str = "",
        fan_out: int = 1,
        bias: bool = True,
    ) -> None:
        nin = _positive_int(nin, "Neuron nin (number of inputs)")
        check_activation(activation)
        bias = _flag(bias, "bias")
        weights = initial_weights(make_rng(seed), nin, fan_out, init)
        values = np.append(weights, 0.0) if bias else weights
        block = ParameterBlock(values[None, :], bias, [label])
        self._attach(block, 0, activation, init, fused, label)

    def _attach(
        self, block: ParameterBlock, row: int, activation: str, init: str, fused: bool, label: str
    ) -> None:
        """Make this neuron row `row` of `block`: its parameters are that row's."""
        self.activation, self.init, self.fused, self.label = activation, init, bool(fused), label
        self.block, self.row = block, row
        #: The weights: a tuple of nin leaf Values, stored in the layer's arrays (`block`).
        self.w: tuple[Value, ...] = block.rows[row]
        #: The bias (a leaf Value), or None for a neuron without one (`bias=False`).
        self.b: Value | None = block.biases[row]

    @classmethod
    def _of(
        cls, block: ParameterBlock, row: int, activation: str, init: str, fused: bool, label: str
    ) -> Neuron:
        neuron = cls.__new__(cls)
        neuron._attach(block, row, activation, init, fused, label)
        return neuron

    @property
    def nin(self) -> int:
        return len(self.w)

    @property
    def bias(self) -> bool:
        """Whether this neuron has a bias parameter."""
        return self.b is not None

    def forward(self, x: Any) -> Value:
        xs = as_inputs(x, len(self.w))
        if self.fused:
            b = self.b if self.b is not None else 0.0  # no bias: the constant 0
            out = autograd.linear(self.w, xs, b, self.activation)
        else:
            # the same order of additions as the fused node: ((b + w1 x1) + w2 x2)...
            pairs = list(zip(self.w, xs))
            if self.b is not None:
                z: Any = self.b
            else:  # no bias: start from the first product
                w0, x0 = pairs.pop(0)
                z = w0 * x0
            for w, xi in pairs:
                z = z + w * xi
            out = z if self.activation == "linear" else getattr(z, self.activation)()
        if self.label:
            out.label = self.label
        return out

    def parameters(self) -> list[Value]:
        """Weights then bias (no bias: weights only)."""
        return [*self.w] if self.b is None else [*self.w, self.b]

    def weights(self) -> list[Value]:
        return [*self.w]

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [(p.label, p) for p in self.parameters()]

    def __repr__(self) -> str:
        extra = "" if self.bias else ", bias=False"
        return f"Neuron({self.nin}, activation={self.activation!r}{extra})"


class Layer(Module):
    """`nout` neurons that all see the same `nin` inputs; returns a list of `nout` Values.

    `bias=False` gives its neurons no bias. `weight_array()` / `bias_array()` read the layer's
    parameters as W (nout, nin) and b (nout,)."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        seed: Seed = None,
        init: str = "uniform",
        fused: bool = True,
        label: str = "L1",
        bias: bool = True,
    ) -> None:
        nin = _positive_int(nin, "Layer nin (number of inputs)")
        nout = _positive_int(nout, "Layer nout (number of neurons)")
        check_activation(activation)
        rng = make_rng(seed)
        self.activation = activation
        self.label = label
        self.bias = _flag(bias, "bias")
        prefix = f"{label}." if label else ""
        labels = [f"{prefix}N{j}" for j in range(1, nout + 1)]
        weights = np.array([initial_weights(rng, nin, nout, init) for _ in labels])
        if self.bias:
            weights = np.column_stack([weights, np.zeros(nout)])
        #: The layer's parameters as one array (`block.values`, row j: neuron j's weights, then
        #: its bias) and their gradients (`block.grads`); each neuron's Values read and write it.
        self.block = ParameterBlock(weights, self.bias, labels)
        self.neurons = [
            Neuron._of(self.block, j, activation, init, fused, name)
            for j, name in enumerate(labels)
        ]

    def _whole(self) -> bool:
        """Are this layer's parameters its block's, neuron by neuron (none swapped for another
        Value)? Then the block's arrays are the layer's parameters."""
        block, neurons = self.block, self.neurons
        return (
            len(neurons) == len(block.rows)
            and all(map(operator.is_, map(_WEIGHTS, neurons), block.rows))
            and all(map(operator.is_, map(_BIAS, neurons), block.biases))
        )

    def _fast(self) -> bool:
        """Can `linear_block` make this layer's nodes (whole, every neuron fused and of the
        layer's activation)?"""
        neurons = self.neurons
        return (
            self._whole()
            and all(map(_FUSED, neurons))
            and all(map(self.activation.__eq__, map(_ACTIVATION, neurons)))
        )

    @property
    def nin(self) -> int:
        return self.neurons[0].nin

    @property
    def nout(self) -> int:
        return len(self.neurons)

    def forward(self, x: Any) -> list[Value]:
        xs = as_inputs(x, self.nin)
        neurons = self.neurons
        activation = neurons[0].activation
        if self._fast():
            # The same fused node per neuron, made for the whole layer at once from its arrays
            # (on a batch, one matrix product instead of one per neuron).
            outs = autograd.fast.linear_block(self.block, xs, self.activation)
        elif all(n.fused and n.activation == activation for n in neurons):
            biases = [n.b if n.b is not None else 0.0 for n in neurons]  # 0: no bias
            outs = autograd.linear_layer([n.w for n in neurons], xs, biases, activation)
        else:
            return [n(xs) for n in neurons]  # (each neuron names its own output)
        for _ in map(setattr, outs, repeat("label"), map(_LABEL, neurons)):
            pass  # each output named after its neuron (the loop in C; a new node's is "")
        return outs

    def parameter_blocks(self) -> list[ParameterBlock] | None:
        return [self.block] if self._whole() else None

    def zero_grad(self) -> None:
        """Every parameter's grad to 0 (the block's `grads` at once while the layer is whole)."""
        if self._whole():
            self.block.zero_grad()
        else:
            super().zero_grad()

    def parameters(self) -> list[Value]:
        """Neuron by neuron, each one's weights then bias."""
        return [p for n in self.neurons for p in n.parameters()]

    def weights(self) -> list[Value]:
        return [w for n in self.neurons for w in n.w]

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [pair for n in self.neurons for pair in n.named_parameters()]

    def weight_array(self) -> np.ndarray:
        """W, shape (nout, nin): row j holds neuron j's weights (a copy of their data)."""
        if self._whole():
            return self.block.weights().copy()
        return np.array([[w.data for w in n.w] for n in self.neurons], dtype=float)

    def bias_array(self) -> np.ndarray | None:
        """b, shape (nout,) (a copy), or None for a layer without biases."""
        if not self.bias:
            return None
        if self._whole():
            return self.block.values[:, -1].copy()
        return np.array([n.b.data for n in self.neurons], dtype=float)  # type: ignore[union-attr]

    def __repr__(self) -> str:
        extra = "" if self.bias else ", bias=False"
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r}{extra})"


class MLP(Module):
    """A multi-layer perceptron: `MLP(2, [16, 16, 1])` is 2 inputs -> 16 -> 16 -> 1 output.

    Hidden layers use `activation`, the last layer `output_activation` (default "linear").
    `activation` may instead be a list with one activation per layer, first to last (then
    leave `output_activation` out: the list's last entry is the output layer's).
    `bias=False` gives every neuron no bias (out = act(sum_i w_i x_i)). `mlp(x)` returns a
    Value when there is one output, else a list of Values. The same `seed` (and `init`) always
    gives the same network; `MLP.from_weights` builds one from given matrices instead.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str | Sequence[str] = "relu",
        output_activation: str | None = None,
        seed: Seed = None,
        init: str = "uniform",
        fused: bool = True,
        bias: bool = True,
    ) -> None:
        nin = _positive_int(nin, "MLP nin (number of inputs)")
        if isinstance(nouts, int | np.integer) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"MLP nouts must be a non-empty list of layer sizes, got {nouts!r}")
        sizes = [nin] + [_positive_int(n, "every MLP layer size") for n in nouts]
        last = len(sizes) - 1
        if isinstance(activation, str):
            check_activation(activation)
            output_activation = "linear" if output_activation is None else output_activation
            check_activation(output_activation)
            per_layer = [activation] * (last - 1) + [output_activation]
            self.activation: str | list[str] = activation
        else:
            if not isinstance(activation, Sequence) or len(activation) != last:
                raise ValueError(
                    f"MLP activation must be one name or a list of {last} (one per layer), "
                    f"got {activation!r}"
                )
            if output_activation is not None:
                raise ValueError(
                    "give output_activation only with a single activation name; with a list "
                    "of activations, the last entry is the output layer's"
                )
            per_layer = [check_activation(a) for a in activation]
            self.activation = list(per_layer)
            output_activation = per_layer[-1]
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
        rng = make_rng(seed)
        self.output_activation = output_activation
        self.init = init
        self.fused = bool(fused)
        self.bias = _flag(bias, "bias")
        self.layers = [
            Layer(
                sizes[i],
                sizes[i + 1],
                per_layer[i],
                rng,
                init,
                fused,
                label=f"L{i + 1}",
                bias=self.bias,
            )
            for i in range(last)
        ]

    @classmethod
    def from_weights(
        cls,
        weights: Sequence[Any],
        biases: Sequence[Any] | None = None,
        activations: str | Sequence[str] = "linear",
        fused: bool = True,
    ) -> MLP:
        """The network a_l = act_l(W_l a_(l-1) + b_l) with the given parameters (copied).

        `weights[l]` has shape (outputs, inputs): row j is neuron j's weights (the `W @ X`
        convention; a tutorial that writes `X @ W` passes `W.T`), and each matrix's inputs are
        the previous one's outputs. `biases` is one vector of `outputs` entries per layer, or
        None (or a list of None) for a network without biases. `activations` is one name for
        every layer or a list, one per layer.
        """
        if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence) or not weights:
            raise ValueError("from_weights needs a non-empty list of weight matrices")
        matrices = []
        for layer, w in enumerate(weights, start=1):
            w = np.asarray(w, dtype=float)
            if w.ndim != 2 or 0 in w.shape:
                raise ValueError(
                    f"layer {layer}: weights must be a non-empty 2-D (outputs, inputs) matrix, "
                    f"got shape {w.shape}"
                )
            if matrices and w.shape[1] != matrices[-1].shape[0]:
                raise ValueError(
                    f"layer {layer}: weights of shape {w.shape} read {w.shape[1]} inputs, but "
                    f"layer {layer - 1} has {matrices[-1].shape[0]} outputs"
                )
            matrices.append(w)
        if biases is None or all(b is None for b in biases):
            vectors = None
        elif any(b is None for b in biases):
            raise ValueError(
                "from_weights: give a bias vector for every layer or for none "
                "(some layers with and some without biases is not supported)"
            )
        else:
            if len(biases) != len(matrices):
                raise ValueError(
                    f"from_weights got {len(matrices)} weight matrices but {len(biases)} "
                    "bias vectors"
                )
            vectors = []
            for layer, (w, b) in enumerate(zip(matrices, biases), start=1):
                b = np.asarray(b, dtype=float)
                if b.shape not in ((w.shape[0],), (w.shape[0], 1)):
                    raise ValueError(
                        f"layer {layer}: {w.shape[0]} neurons need {w.shape[0]} biases, "
                        f"got shape {b.shape}"
                    )
                vectors.append(b.reshape(-1))
        if isinstance(activations, str):
            activations = [activations] * len(matrices)
        elif len(activations) != len(matrices):
            raise ValueError(
                f"from_weights got {len(matrices)} weight matrices but {len(activations)} "
                "activations"
            )
        model = cls(
            matrices[0].shape[1],
            [w.shape[0] for w in matrices],
            activation=list(activations),
            fused=fused,
            bias=vectors is not None,
        )
        for k, layer in enumerate(model.layers):  # each layer's block at once
            if vectors is None:
                layer.block.assign(matrices[k])
            else:
                layer.block.assign(np.column_stack([matrices[k], vectors[k]]))
        return model

    @property
    def nin(self) -> int:
        return self.layers[0].nin

    @property
    def nouts(self) -> list[int]:
        return [layer.nout for layer in self.layers]

    @property
    def activations(self) -> list[str]:
        """The activation of each layer, first to last."""
        return [layer.activation for layer in self.layers]

    def weight_arrays(self) -> list[np.ndarray]:
        """[W_1, W_2, ...], W_l of shape (outputs, inputs) (copies): what `from_weights` takes."""
        return [layer.weight_array() for layer in self.layers]

    def bias_arrays(self) -> list[np.ndarray | None]:
        """[b_1, b_2, ...], b_l of shape (outputs,) (copies), or None for layers without."""
        return [layer.bias_array() for layer in self.layers]

    def forward(self, x: Any) -> Value | list[Value]:
        xs: list[Any] = as_inputs(x, self.nin)
        for layer in self.layers:
            xs = layer(xs)
        return xs[0] if len(xs) == 1 else xs

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def parameter_blocks(self) -> list[ParameterBlock] | None:
        """Each layer's `block`, first to last, if together they hold exactly `parameters()`
        (no parameter swapped for another Value); else None."""
        if all(layer._whole() for layer in self.layers):
            return [layer.block for layer in self.layers]
        return None

    def parameters(self) -> list[Value]:
        """Layer by layer, neuron by neuron, weights then bias (as `named_parameters`)."""
        return [p for layer in self.layers for p in layer.parameters()]

    def weights(self) -> list[Value]:
        return [w for layer in self.layers for w in layer.weights()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [pair for layer in self.layers for pair in layer.named_parameters()]

    def config(self) -> dict[str, Any]:
        """The architecture: what `MLP(**config)` needs to rebuild this network's shape.

        `activation` is a name (with `output_activation`) or a list, one per layer (then no
        `output_activation`); `bias` appears only when it is False.
        """
        config: dict[str, Any] = {"nin": self.nin, "nouts": self.nouts}
        if isinstance(self.activation, str):
            config["activation"] = self.activation
            config["output_activation"] = self.output_activation
        else:
            config["activation"] = list(self.activation)
        if not self.bias:
            config["bias"] = False
        return config

    # `model.save(path)` and `MLP.load(path)` are given by `nn.serialize` (which imports this
    # module; this one does not import it).

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        sizes = " -> ".join(str(n) for n in [self.nin, *self.nouts])
        if isinstance(self.activation, str):
            acts = f"activation={self.activation!r}, output_activation={self.output_activation!r}"
        else:
            acts = f"activation={self.activation!r}"
        extra = "" if self.bias else ", bias=False"
        return f"MLP({sizes}, {acts}{extra}, {self.num_parameters()} parameters)"


_JUST_VALUES = frozenset({Value})
_WEIGHTS, _BIAS = operator.attrgetter("w"), operator.attrgetter("b")
_FUSED, _ACTIVATION = operator.attrgetter("fused"), operator.attrgetter("activation")
_LABEL = operator.attrgetter("label")


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{what} must be True or False, got {value!r}")
    return bool(value)
