"""The oracle: a vectorized NumPy MLP with backpropagation written out by hand.

This is the network the textbooks write (parameters `W1, b1, W2, b2, ...`, a forward pass that
caches `Z` and `A` for every layer, a backward pass that walks the layers in reverse), with the
same activations, losses and optimizers as `nn`. It uses NumPy only and shares no code with the
engine, so when the two agree on the loss and on every gradient, both are very likely right.

Conventions, as in the textbooks: samples are *columns*. `A0 = X` has shape (n_x, m),
`W_l` has shape (n_l, n_{l-1}) (row j is neuron j's weights), `b_l` has shape (n_l, 1), and

    Z_l = W_l A_{l-1} + b_l,      A_l = g_l(Z_l)

Backward, for a loss L averaged as in `nn.losses` (the 1/N lives in dAL):

    dZ_l = dA_l * g_l'(Z_l)
    dW_l = dZ_l A_{l-1}^T,   db_l = sum over samples of dZ_l,   dA_{l-1} = W_l^T dZ_l

A layer without biases (`nn.MLP(..., bias=False)`) simply has no `b_l`: Z_l = W_l A_{l-1}
and no db_l.

`ReferenceMLP.from_mlp(mlp)` copies an `nn.MLP`'s weights; `loss_and_gradients(X, y, ...)`
takes X of shape (samples, features) like the engine and returns the loss and the gradient of
every parameter in `mlp.parameters()` order (layer by layer: W row by row, then b).
"""

from __future__ import annotations

from typing import Any

import numpy as np

EPS = 1e-12  # the probability clamp of binary cross-entropy, as in nn.losses


# ---------------------------------------------------------------------------------------------
# Activations and their derivatives


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-Z)), computed from exp(-|Z|) so that it never overflows."""
    E = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1.0 / (1.0 + E), E / (1.0 + E))


def activation_forward(Z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return np.maximum(Z, 0.0)
    if activation == "tanh":
        return np.tanh(Z)
    if activation == "sigmoid":
        return sigmoid(Z)
    if activation == "linear":
        return Z.copy()
    raise ValueError(f"unknown activation {activation!r}; choose relu, tanh, sigmoid or linear")


def activation_backward(dA: np.ndarray, Z: np.ndarray, A: np.ndarray, activation: str):
    """dZ = dA * g'(Z): relu' = [Z > 0], tanh' = 1 - A**2, sigmoid' = A (1 - A), linear' = 1."""
    if activation == "relu":
        return dA * (Z > 0)
    if activation == "tanh":
        return dA * (1.0 - A * A)
    if activation == "sigmoid":
        return dA * (A * (1.0 - A))
    if activation == "linear":
        return dA
    raise ValueError(f"unknown activation {activation!r}")


# ---------------------------------------------------------------------------------------------
# Losses: the value, and dL/dAL


def compute_loss(AL: np.ndarray, Y: np.ndarray, loss: str) -> float:
    """The loss of outputs AL (n_out, m) against targets Y (n_out, m); N = n_out * m.

    mse: mean (AL - Y)**2; sse: sum (AL - Y)**2; bce: -mean(Y log Q + (1 - Y) log(1 - Q)) with
    Q = clip(AL, EPS, 1 - EPS); bce_with_logits: mean(max(Z, 0) + log(1 + exp(-|Z|)) - Y Z);
    hinge: mean max(0, 1 - Y AL); cross_entropy (AL the logits, Y one-hot): -mean over the m
    samples of sum Y log softmax(AL).
    """
    N = AL.size
    if loss == "mse":
        return float(np.sum((AL - Y) ** 2) / N)
    if loss == "sse":
        return float(np.sum((AL - Y) ** 2))
    if loss in ("bce", "binary_cross_entropy"):
        Q = np.clip(AL, EPS, 1.0 - EPS)
        return float(-np.sum(Y * np.log(Q) + (1.0 - Y) * np.log(1.0 - Q)) / N)
    if loss == "bce_with_logits":
        return float(np.sum(np.maximum(AL, 0.0) + np.log(1.0 + np.exp(-np.abs(AL))) - Y * AL) / N)
    if loss == "hinge":
        return float(np.sum(np.maximum(0.0, 1.0 - Y * AL)) / N)
    if loss == "cross_entropy":  # AL: logits (k, m), Y: one-hot (k, m); mean over samples
        return float(-np.sum(Y * log_softmax(AL)) / AL.shape[1])
    raise ValueError(f"unknown loss {loss!r}")


def log_softmax(Z: np.ndarray) -> np.ndarray:
    """log P, column by column: Z - max - log(sum exp(Z - max)) (never overflows)."""
    shifted = Z - np.max(Z, axis=0, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True))


def softmax(Z: np.ndarray) -> np.ndarray:
    """P = exp(Z) / sum exp(Z), column by column, computed stably."""
    return np.exp(log_softmax(Z))


def loss_backward(AL: np.ndarray, Y: np.ndarray, loss: str) -> np.ndarray:
    """dL/dAL for `compute_loss`."""
    N = AL.size
    if loss == "mse":
        return 2.0 * (AL - Y) / N
    if loss == "sse":
        return 2.0 * (AL - Y)
    if loss in ("bce", "binary_cross_entropy"):
        Q = np.clip(AL, EPS, 1.0 - EPS)
        inside = (AL > EPS).astype(float) - (AL > 1.0 - EPS)  # d clip / d AL
        return -(Y / Q - (1.0 - Y) / (1.0 - Q)) * inside / N
    if loss == "bce_with_logits":
        return (sigmoid(AL) - Y) / N
    if loss == "hinge":
        return -Y * (1.0 - Y * AL > 0) / N
    if loss == "cross_entropy":  # the textbook's dZ = P - Y (a linear output: dAL is dZ)
        return (softmax(AL) - Y) / AL.shape[1]
    raise ValueError(f"unknown loss {loss!r}")


# ---------------------------------------------------------------------------------------------
# The network


class ReferenceMLP:
    """`parameters` = {"W1": (n_1, n_0), "b1": (n_1, 1), ...}; one activation per layer.

    A layer whose `b_l` is absent has no biases."""

    def __init__(self, parameters: dict[str, np.ndarray], activations: list[str]) -> None:
        self.parameters = {k: np.array(v, dtype=float) for k, v in parameters.items()}
        self.activations = list(activations)
        self.L = len(self.activations)
        for l in range(1, self.L + 1):  # noqa: E741 (l for layer, as the textbooks write)
            if f"W{l}" not in self.parameters:
                raise ValueError(f"missing W{l}")
        self.velocity: dict[str, np.ndarray] = {}  # SGD momentum
        self.v: dict[str, np.ndarray] = {}  # Adam first moment
        self.s: dict[str, np.ndarray] = {}  # Adam second moment
        self.t = 0  # Adam step count

    @classmethod
    def from_mlp(cls, mlp: Any) -> ReferenceMLP:
        """Copy the weights of an `nn.MLP` (reads each layer's `W.data` and `b.data` only)."""
        parameters = {}
        activations = []
        for l, layer in enumerate(mlp.layers, start=1):  # noqa: E741
            parameters[f"W{l}"] = np.array(layer.W.data, dtype=float)
            if layer.b is not None:
                parameters[f"b{l}"] = np.array(layer.b.data, dtype=float).reshape(-1, 1)
            activations.append(layer.activation)
        return cls(parameters, activations)

    # -- forward ---------------------------------------------------------------------------
    def forward_propagation(self, X: np.ndarray) -> tuple[np.ndarray, list[tuple]]:
        """AL for inputs X of shape (n_x, m); caches[l-1] = (A_prev, Z_l, A_l) for each layer."""
        caches = []
        A = X
        for l in range(1, self.L + 1):  # noqa: E741
            W, b = self.parameters[f"W{l}"], self.parameters.get(f"b{l}")
            A_prev = A
            Z = W @ A_prev if b is None else W @ A_prev + b
            A = activation_forward(Z, self.activations[l - 1])
            caches.append((A_prev, Z, A))
        return A, caches

    # -- backward --------------------------------------------------------------------------
    def backward_propagation(
        self, AL: np.ndarray, Y: np.ndarray, caches: list[tuple], loss: str, l2: float = 0.0
    ) -> dict[str, np.ndarray]:
        """grads = {"dW1": ..., "db1": ...}, the gradient of loss (+ l2 * sum of squares)."""
        grads = {}
        dA = loss_backward(AL, Y, loss)
        for l in reversed(range(1, self.L + 1)):  # noqa: E741
            A_prev, Z, A = caches[l - 1]
            W, b = self.parameters[f"W{l}"], self.parameters.get(f"b{l}")
            dZ = activation_backward(dA, Z, A, self.activations[l - 1])
            grads[f"dW{l}"] = dZ @ A_prev.T + 2.0 * l2 * W
            if b is not None:
                grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True) + 2.0 * l2 * b
            dA = W.T @ dZ
        return grads

    def l2_penalty(self, l2: float) -> float:
        """l2 * (sum of every W and b entry squared), as `nn.losses.l2` over all parameters."""
        total = 0.0
        for l in range(1, self.L + 1):  # noqa: E741
            total += np.sum(self.parameters[f"W{l}"] ** 2)
            if f"b{l}" in self.parameters:
                total += np.sum(self.parameters[f"b{l}"] ** 2)
        return float(l2 * total)

    def loss_and_grads(
        self, X: np.ndarray, y: np.ndarray, loss: str, l2: float = 0.0
    ) -> tuple[float, dict[str, np.ndarray]]:
        """(loss, grads dict) for X (samples, features) and y (samples,) or (samples, n_out)."""
        A0 = np.asarray(X, dtype=float).T
        AL, caches = self.forward_propagation(A0)
        if loss == "cross_entropy":  # class indices -> one-hot columns
            Y = np.eye(AL.shape[0])[np.asarray(y, dtype=int)].T
        else:
            Y = np.asarray(y, dtype=float).reshape(AL.shape[1], -1).T
        if Y.shape != AL.shape:
            raise ValueError(f"targets of shape {np.shape(y)} do not fit outputs {AL.shape}")
        cost = compute_loss(AL, Y, loss)
        if l2:
            cost += self.l2_penalty(l2)
        return cost, self.backward_propagation(AL, Y, caches, loss, l2)

    def loss_and_gradients(
        self, X: np.ndarray, y: np.ndarray, loss: str, l2: float = 0.0
    ) -> tuple[float, np.ndarray]:
        """(loss, gradient of every parameter in `mlp.parameters()` order, as one vector)."""
        cost, grads = self.loss_and_grads(X, y, loss, l2)
        return cost, self.flatten(grads, prefix="d")

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Outputs for X of shape (samples, features): (samples,) for one output, else 2-D."""
        AL, _ = self.forward_propagation(np.asarray(X, dtype=float).T)
        return AL[0] if AL.shape[0] == 1 else AL.T

    # -- parameters in engine order ---------------------------------------------------------
    def flatten(self, arrays: dict[str, np.ndarray] | None = None, prefix: str = "") -> np.ndarray:
        """W_l (row by row) then b_l (if the layer has biases), layer by layer: the order of
        `mlp.parameters()` ([L1.W, L1.b, L2.W, ...]), each array flattened."""
        arrays = self.parameters if arrays is None else arrays
        flat = []
        for l in range(1, self.L + 1):  # noqa: E741
            W, b = arrays[f"{prefix}W{l}"], arrays.get(f"{prefix}b{l}")
            flat.extend(W.ravel())
            if b is not None:
                flat.extend(b.ravel())
        return np.array(flat)

    # -- optimizers (the formulas of nn.optim) ----------------------------------------------
    def _names(self, l: int) -> list[str]:  # noqa: E741
        """The parameters of layer l: W_l, and b_l if the layer has biases."""
        return [f"W{l}", f"b{l}"] if f"b{l}" in self.parameters else [f"W{l}"]

    def update_parameters_with_gd(
        self, grads: dict[str, np.ndarray], learning_rate: float, momentum: float = 0.0
    ) -> None:
        """SGD: v = momentum v + dW (v = dW without momentum); W = W - learning_rate v."""
        for l in range(1, self.L + 1):  # noqa: E741
            for name in self._names(l):
                g = grads[f"d{name}"]
                if momentum:
                    g = momentum * self.velocity.get(name, np.zeros_like(g)) + g
                    self.velocity[name] = g
                self.parameters[name] = self.parameters[name] - learning_rate * g

    def update_parameters_with_adam(
        self,
        grads: dict[str, np.ndarray],
        learning_rate: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        """Adam with bias correction: v = b1 v + (1-b1) dW, s = b2 s + (1-b2) dW**2,
        W = W - lr (v / (1 - b1**t)) / (sqrt(s / (1 - b2**t)) + epsilon), t from 1."""
        self.t += 1
        t = self.t
        for l in range(1, self.L + 1):  # noqa: E741
            for name in self._names(l):
                g = grads[f"d{name}"]
                v = beta1 * self.v.get(name, np.zeros_like(g)) + (1.0 - beta1) * g
                s = beta2 * self.s.get(name, np.zeros_like(g)) + (1.0 - beta2) * (g * g)
                self.v[name], self.s[name] = v, s
                v_corrected = v / (1.0 - beta1**t)
                s_corrected = s / (1.0 - beta2**t)
                self.parameters[name] = self.parameters[name] - learning_rate * v_corrected / (
                    np.sqrt(s_corrected) + epsilon
                )

    def update_parameters_with_adamw(
        self,
        grads: dict[str, np.ndarray],
        learning_rate: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        """AdamW (decoupled weight decay): W = W - learning_rate weight_decay W, then Adam."""
        for l in range(1, self.L + 1):  # noqa: E741
            for name in self._names(l):
                self.parameters[name] = self.parameters[name] * (1.0 - learning_rate * weight_decay)
        self.update_parameters_with_adam(grads, learning_rate, beta1, beta2, epsilon)
