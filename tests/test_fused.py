"""The fused neuron node `autograd.linear` against the same neuron built from primitive nodes.

Identical gradients (to 1e-12) on scalars and on batches, for every activation, plus central
differences as an independent oracle for the fused node's local derivatives.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value

ACTIVATIONS = ["linear", "relu", "tanh", "sigmoid"]
numbers = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


def primitive_neuron(ws, xs, b, activation):
    """act(b + w_1 x_1 + ... + w_n x_n) from `*` and `+` nodes, in the fused node's order."""
    z = b
    for w, x in zip(ws, xs):
        z = z + w * x
    return z if activation == "linear" else getattr(z, activation)()


def network(make_neuron, params, inputs, sizes, activations):
    """An MLP from a flat list of parameter Values: layer by layer, neuron by neuron, w then b."""
    it = iter(params)
    xs = inputs
    for nin, nout, activation in zip(sizes[:-1], sizes[1:], activations):
        outs = []
        for _ in range(nout):
            ws = [next(it) for _ in range(nin)]
            outs.append(make_neuron(ws, xs, next(it), activation))
        xs = outs
    return xs


def count_parameters(sizes):
    return sum((nin + 1) * nout for nin, nout in zip(sizes[:-1], sizes[1:]))


def gradients(make_neuron, values, inputs_data, sizes, activations, batched):
    params = [Value(v) for v in values]
    inputs = [Value(x) for x in inputs_data]
    outs = network(make_neuron, params, inputs, sizes, activations)
    loss = autograd.sum([o * o for o in outs]) + outs[0].exp()
    if batched:
        loss = loss.mean()
    loss.backward()
    return loss.data, [p.grad for p in params], [x.grad for x in inputs]


def assert_identical(a, b, tol=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    assert np.all(np.abs(a - b) <= tol * (1.0 + np.abs(b))), np.max(np.abs(a - b))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    activation=st.sampled_from(ACTIVATIONS),
    batch=st.integers(1, 6),
)
def test_mlp_fused_equals_primitive_on_scalars_and_on_batches(seed, sizes, activation, batch):
    rng = np.random.default_rng(seed)
    values = list(rng.uniform(-1.0, 1.0, count_parameters(sizes)))
    activations = [activation] * (len(sizes) - 2) + ["linear"]
    scalar_inputs = list(rng.uniform(-2.0, 2.0, sizes[0]))
    batch_inputs = list(rng.uniform(-2.0, 2.0, (sizes[0], batch)))
    for inputs, batched in ((scalar_inputs, False), (batch_inputs, True)):
        fused = gradients(autograd.linear, values, inputs, sizes, activations, batched)
        primitive = gradients(primitive_neuron, values, inputs, sizes, activations, batched)
        for got, want in zip(fused, primitive):
            assert_identical(got, want)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_fused_local_derivatives_match_central_differences(activation):
    ws, xs, b = [0.7, -1.3, 0.4], [1.1, 0.6, -2.0], 0.35
    operands = [*ws, *xs, b]

    def f(values):
        n = len(ws)
        with autograd.no_grad():
            return autograd.linear(values[:n], values[n : 2 * n], values[-1], activation).data

    out = autograd.linear([Value(v) for v in ws], [Value(v) for v in xs], Value(b), activation)
    h = 1e-6
    for i, local in enumerate(out.local_grads):
        up, down = list(operands), list(operands)
        up[i] += h
        down[i] -= h
        assert math.isclose(local, (f(up) - f(down)) / (2 * h), rel_tol=1e-6, abs_tol=1e-8)


def test_a_fused_network_has_one_node_per_neuron():
    sizes = [2, 16, 16, 1]
    values = list(np.random.default_rng(0).uniform(-1, 1, count_parameters(sizes)))
    inputs = [Value(0.5), Value(-0.25)]
    acts = ["relu", "relu", "linear"]
    fused = network(autograd.linear, [Value(v) for v in values], inputs, sizes, acts)[0]
    primitive = network(primitive_neuron, [Value(v) for v in values], inputs, sizes, acts)[0]

    def inner_nodes(root):
        return [node for node in autograd.topological_order(root) if node.parents]

    assert len(inner_nodes(fused)) == 16 + 16 + 1
    # primitive: per neuron n products, n sums and one activation (none for the last layer)
    assert len(inner_nodes(primitive)) == 16 * (2 * 2 + 1) + 16 * (2 * 16 + 1) + 2 * 16
    assert fused.data == pytest.approx(primitive.data, rel=1e-12, abs=1e-12)


def test_nn_mlp_fused_and_primitive_give_the_same_gradients():
    nn_module = pytest.importorskip("nn.module")
    X = np.random.default_rng(5).normal(size=(7, 3))
    grads = []
    for fused in (True, False):
        model = nn_module.MLP(3, [4, 4, 1], activation="tanh", seed=2, fused=fused)
        inputs = [Value(X[:, j]) for j in range(3)]
        out = model(inputs)
        (out * out).mean().backward()
        grads.append(model.gradient_vector().tolist())
    assert_identical(grads[0], grads[1])
