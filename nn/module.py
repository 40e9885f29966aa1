"""Neurons, layers and MLPs built only from `Value`s, at two grains of one engine.

A neuron computes  out = act(b + w_1 x_1 + ... + w_n x_n).  A layer is `nout` neurons reading
the same `nin` inputs, and it owns their numbers: one weight matrix `W` (nout x nin, row j is
neuron j's weights) and one bias vector `b`, each a `Value` holding an array.

- **Neuron grain** (one sample: `mlp([2.0, -1.0])`): every number is a Value. Each `Neuron`
  reads its weights as leaf Values labelled `L1.N3.w2`, views of its layer's W (`w.data` and
  `w.grad` are entry (2, 1) of `W.data` and `W.grad`), and makes one node (`autograd.linear`),
  or with `fused=False` the `*` and `+` nodes of the formula, as micrograd does.
- **Layer grain** (a batch: `mlp(X)`, X a (samples x nin) array): a whole layer is one node,
  `autograd.layer(X, W, b, act)`, whose data is act(X W^T + b), (samples x nout).

`grain="neuron"` or `"layer"` chooses for you (a batch at neuron grain: one batched Value per
neuron). Both grains give the same gradients, into the same W.grad and b.grad, and the same
backward loop runs both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

import autograd
from autograd import Value
from autograd.layers import ACTIVATIONS, Entry, Row, check_activation

from .initial import INITS, Seed, initial_weights, make_rng
from .inputs import as_batch, as_inputs, columns, grain_of


class Module:
    """Anything with parameters (leaf Values) and a forward computation, `module(x)`."""

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, parameter) pairs, names from the module's structure (`L1.W`, `L1.b`)."""
        return []

    def parameters(self) -> list[Value]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Every parameter's grad back to 0 (leaf gradients accumulate across backward())."""
        for p in self.parameters():
            p.grad = 0.0

    def parameter_vector(self) -> np.ndarray:
        """Every parameter's numbers as one vector, in `parameters()` order (arrays row by row)."""
        return np.concatenate([np.ravel(p.data) for p in self.parameters()])

    def gradient_vector(self) -> np.ndarray:
        """Every parameter's gradient as one vector, in the order of `parameter_vector()`."""
        return np.concatenate(
            [np.broadcast_to(p.grad, np.shape(p.data)).ravel() for p in self.parameters()]
        )

    def num_parameters(self) -> int:
        """How many numbers the parameters hold."""
        return sum(1 if type(p.data) is float else p.data.size for p in self.parameters())

    def state_dict(self) -> dict[str, Any]:
        """{name: number or array} for every parameter (copies)."""
        return {
            n: p.data if type(p.data) is float else p.data.copy()
            for n, p in self.named_parameters()
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Set every parameter from {name: value} (grads to 0). The names and shapes must match,
        and every value is checked before any parameter changes."""
        named = self.named_parameters()
        missing = [n for n, _ in named if n not in state]
        extra = [n for n in state if n not in dict(named)]
        if missing or extra:
            parts = [f"missing {_few(missing)}"] if missing else []
            parts += [f"unexpected {_few(extra)}"] if extra else []
            raise ValueError("state does not match the model's parameters: " + "; ".join(parts))
        new = []
        for name, p in named:
            value = state[name]
            if isinstance(value, bool) or not isinstance(value, int | float | np.ndarray):
                raise ValueError(
                    f"parameter {name} must be a number or an array, got {value!r:.40}"
                )
            shape = np.shape(p.data)
            if np.shape(value) != shape:
                raise ValueError(f"parameter {name} has shape {shape}, got {np.shape(value)}")
            new.append(float(value) if shape == () else np.array(value, dtype=float))
        for (_, p), value in zip(named, new):
            p.data, p.grad = value, 0.0

    def __call__(self, x: Any, grain: str | None = None) -> Any:
        raise NotImplementedError


def _few(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _activate(z: Value, activation: str) -> Value:
    return z if activation == "linear" else getattr(z, activation)()


class Neuron(Module):
    """out = act(b + w_1 x_1 + ... + w_n x_n) of one sample, every number a Value.

    `w` is a tuple of `nin` leaf Values and `b` one (None with `bias=False`): row j of a layer's
    `W` and `b`, seen one number at a time (a neuron made alone has a one-row W of its own).
    `fused=True` makes the neuron one node (`autograd.linear`); `fused=False` builds it from
    `*`, `+` and the activation's node, as it is taught: the same value and gradients.
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
        prefix = f"{label}." if label else ""
        W = Value(initial_weights(make_rng(seed), nin, fan_out, init)[None, :], f"{prefix}W")
        b = Value(np.zeros(1), f"{prefix}b") if _flag(bias, "bias") else None
        self._view(W, b, 0, check_activation(activation), fused, label)

    def _view(self, W: Value, b: Value | None, row: int, activation: str, fused: bool, label: str):
        """Make this neuron row `row` of W and b."""
        self.activation, self.fused, self.label = activation, bool(fused), label
        prefix, n = (f"{label}." if label else ""), W.data.shape[1]
        self._w = Row(W, row, [f"{prefix}w{i + 1}" for i in range(n)])
        self._b = Entry(b, row, f"{prefix}b") if b is not None else None

    # `w` and `b` are views of the layer's arrays: both grains read those, so a neuron's
    # numbers are set (`neuron.w[0].data = 0.5`), never swapped for other Values
    w = property(lambda self: self._w, lambda self, _: _swap_refused(self, "w"))
    b = property(lambda self: self._b, lambda self, _: _swap_refused(self, "b"))

    def __call__(self, x: Any, grain: str | None = None) -> Value:
        xs = as_inputs(x, len(self.w))
        b = self.b if self.b is not None else 0.0  # (no bias: the constant 0)
        if self.fused:
            out = autograd.linear(self.w, xs, b, self.activation)  # one node for the neuron
        else:
            out = _activate(sum((wi * xi for wi, xi in zip(self.w, xs)), b), self.activation)
        out.label = self.label
        return out

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Weights then bias, one number each (`L1.N3.w1`, ..., `L1.N3.b`)."""
        return [(p.label, p) for p in self.parameters()]

    def parameters(self) -> list[Value]:
        return [*self.w] if self.b is None else [*self.w, self.b]

    @property
    def nin(self) -> int:
        return len(self.w)

    def __repr__(self) -> str:
        extra = "" if self.b is not None else ", bias=False"
        return f"Neuron({self.nin}, activation={self.activation!r}{extra})"


class Layer(Module):
    """`nout` neurons that all read the same `nin` inputs; they live in `W` (nout x nin) and `b`.

    `layer(X)` with a matrix X is one layer-grain node; `layer(x)` with one sample is the list
    of its neurons' outputs, each made by the neuron's own code."""

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
        rng = make_rng(seed)
        self.activation, self.label = check_activation(activation), label
        prefix = f"{label}." if label else ""
        weights = np.array([initial_weights(rng, nin, nout, init) for _ in range(nout)])
        #: The weights, one Value holding the matrix (row j: neuron j's), and the biases.
        self.W = Value(weights, f"{prefix}W")
        self.b = Value(np.zeros(nout), f"{prefix}b") if _flag(bias, "bias") else None
        self.neurons = [Neuron.__new__(Neuron) for _ in range(nout)]
        for j, neuron in enumerate(self.neurons):
            neuron._view(self.W, self.b, j, activation, fused, f"{prefix}N{j + 1}")

    def __call__(self, x: Any, grain: str | None = None) -> Any:
        if grain_of(x, grain) == "layer":
            X = x if type(x) is Value else as_batch(x, self.nin)
            out = autograd.layer(X, self.W, self.b, self.activation)
            out.label = self.label
            return out
        xs = as_inputs(x, self.nin)
        return [neuron(xs) for neuron in self.neurons]

    def named_parameters(self) -> list[tuple[str, Value]]:
        prefix = f"{self.label}." if self.label else ""
        named = [(f"{prefix}W", self.W)]
        return named if self.b is None else [*named, (f"{prefix}b", self.b)]

    @property
    def nin(self) -> int:
        return self.W.data.shape[1]

    @property
    def nout(self) -> int:
        return self.W.data.shape[0]

    @property
    def bias(self) -> bool:
        return self.b is not None

    def weight_array(self) -> np.ndarray:
        """W (nout, nin), a copy."""
        return np.array(self.W.data)

    def bias_array(self) -> np.ndarray | None:
        """b (nout,), a copy, or None for a layer without biases."""
        return None if self.b is None else np.array(self.b.data)

    def __repr__(self) -> str:
        extra = "" if self.bias else ", bias=False"
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r}{extra})"


class MLP(Module):
    """A multi-layer perceptron: `MLP(2, [16, 16, 1])` is 2 inputs -> 16 -> 16 -> 1 output.

    Hidden layers use `activation`, the last `output_activation` ("linear" by default), or give
    `activation` as a list, one per layer. `mlp(x)`: one sample at neuron grain gives a Value
    (one output) or a list; a batch X (samples x nin) at layer grain gives one Value holding
    (samples x outputs). The same `seed` (and `init`) always gives the same network.
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
            output_activation = "linear" if output_activation is None else output_activation
            per_layer = [check_activation(activation)] * (last - 1)
            per_layer.append(check_activation(output_activation))
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
            self.activation, output_activation = list(per_layer), per_layer[-1]
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
        rng = make_rng(seed)
        self.output_activation, self.init, self.bias = output_activation, init, _flag(bias, "bias")
        self.fused = bool(fused)
        self.layers = [
            Layer(sizes[k], sizes[k + 1], per_layer[k], rng, init, fused, f"L{k + 1}", self.bias)
            for k in range(last)
        ]

    def __call__(self, x: Any, grain: str | None = None) -> Any:
        grain = grain_of(x, grain)
        for layer in self.layers:
            x = layer(x, grain)
        return x[0] if type(x) is list and len(x) == 1 else x

    def named_parameters(self) -> list[tuple[str, Value]]:
        """`L1.W`, `L1.b`, `L2.W`, ...: one Value per array, layer by layer."""
        return [pair for layer in self.layers for pair in layer.named_parameters()]

    @classmethod
    def from_weights(
        cls,
        weights: Sequence[Any],
        biases: Sequence[Any] | None = None,
        activations: str | Sequence[str] = "linear",
        fused: bool = True,
    ) -> MLP:
        """The network a_l = act_l(W_l a_(l-1) + b_l) with the given parameters (copied):
        `weights[l]` (outputs, inputs), `biases[l]` (outputs,) or None for no biases."""
        if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence) or not weights:
            raise ValueError("from_weights needs a non-empty list of weight matrices")
        matrices = [np.array(w, dtype=float) for w in weights]
        for k, w in enumerate(matrices, start=1):
            if w.ndim != 2 or 0 in w.shape:
                why = f"must be a non-empty 2-D (outputs, inputs) matrix, got shape {w.shape}"
            elif k > 1 and w.shape[1] != matrices[k - 2].shape[0]:
                why = f"of shape {w.shape} read {w.shape[1]} inputs, but layer {k - 1} has "
                why += f"{matrices[k - 2].shape[0]} outputs"
            else:
                continue
            raise ValueError(f"layer {k}: weights {why}")
        vectors = None
        if biases is not None and any(b is not None for b in biases):
            if any(b is None for b in biases) or len(biases) != len(matrices):
                raise ValueError(
                    f"from_weights got {len(matrices)} weight matrices: give a bias vector for "
                    "every layer or for none (None: a network without biases)"
                )
            vectors = [np.array(b, dtype=float).reshape(-1) for b in biases]
            for k, (w, b) in enumerate(zip(matrices, vectors), start=1):
                if b.shape != (w.shape[0],):
                    raise ValueError(
                        f"layer {k}: {len(w)} neurons need {len(w)} biases, got {b.size}"
                    )
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
        for k, layer in enumerate(model.layers):
            layer.W.data = matrices[k]
            if vectors is not None:
                layer.b.data = vectors[k]  # type: ignore[union-attr]
        return model

    @property
    def nin(self) -> int:
        return self.layers[0].nin

    @property
    def nouts(self) -> list[int]:
        return [layer.nout for layer in self.layers]

    @property
    def activations(self) -> list[str]:
        return [layer.activation for layer in self.layers]

    def weight_arrays(self) -> list[np.ndarray]:
        """[W_1, W_2, ...] (copies), W_l of shape (outputs, inputs): what from_weights takes."""
        return [layer.weight_array() for layer in self.layers]

    def bias_arrays(self) -> list[np.ndarray | None]:
        return [layer.bias_array() for layer in self.layers]

    def config(self) -> dict[str, Any]:
        """The architecture: what `MLP(**config)` needs to rebuild this network's shape."""
        config: dict[str, Any] = {"nin": self.nin, "nouts": self.nouts}
        if isinstance(self.activation, str):
            config["activation"] = self.activation
            config["output_activation"] = self.output_activation
        else:
            config["activation"] = list(self.activation)
        if not self.bias:
            config["bias"] = False
        if not self.fused:
            config["fused"] = False
        return config

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


def _swap_refused(neuron: Neuron, name: str) -> None:
    raise AttributeError(
        f"{neuron.label or 'a neuron'}.{name} is a view of its layer's arrays, which both grains "
        f"read: set its numbers instead ({name}{'[0]' if name == 'w' else ''}.data = 0.5), or "
        "build the network from matrices (nn.MLP.from_weights)"
    )


def _positive_int(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{what} must be True or False, got {value!r}")
    return bool(value)


__all__ = ["ACTIVATIONS", "INITS", "MLP", "Layer", "Module", "Neuron", "columns"]
