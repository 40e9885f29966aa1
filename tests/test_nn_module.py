"""nn.Module, Neuron, Layer, MLP: structure, names, order, seeds, fused vs primitive nodes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Value, topological_order


def test_public_structure_and_labels():
    mlp = nn.MLP(3, [4, 2], seed=1)
    assert len(mlp.layers) == 2
    assert [len(layer.neurons) for layer in mlp.layers] == [4, 2]
    neuron = mlp.layers[0].neurons[2]
    assert isinstance(neuron.b, Value) and all(isinstance(w, Value) for w in neuron.w)
    assert [w.label for w in neuron.w] == ["L1.N3.w1", "L1.N3.w2", "L1.N3.w3"]
    assert neuron.b.label == "L1.N3.b"
    assert mlp.num_parameters() == 4 * (3 + 1) + 2 * (4 + 1)


def test_parameters_are_each_layers_weight_matrix_then_bias_vector():
    mlp = nn.MLP(2, [2, 1], seed=0)
    names = [name for name, _ in mlp.named_parameters()]
    assert names == ["L1.W", "L1.b", "L2.W", "L2.b"]
    assert [p.label for p in mlp.parameters()] == names
    assert [p.data.shape for p in mlp.parameters()] == [(2, 2), (2,), (1, 2), (1,)]
    assert all(p is q for (_, p), q in zip(mlp.named_parameters(), mlp.parameters()))
    # a neuron's parameters are its numbers: views of its row of W and b
    neuron = mlp.layers[0].neurons[1]
    assert [p.label for p in neuron.parameters()] == ["L1.N2.w1", "L1.N2.w2", "L1.N2.b"]
    assert [p.data for p in neuron.parameters()] == [*mlp.layers[0].W.data[1], 0.0]


def test_same_seed_same_network_other_seed_other_network():
    a, b, c = nn.MLP(2, [5, 1], seed=3), nn.MLP(2, [5, 1], seed=3), nn.MLP(2, [5, 1], seed=4)
    assert a.parameter_vector().tolist() == b.parameter_vector().tolist()
    assert a.parameter_vector().tolist() != c.parameter_vector().tolist()
    # neurons of one layer are not copies of each other
    assert a.layers[0].neurons[0].w[0].data != a.layers[0].neurons[1].w[0].data


def test_initialisations_have_the_documented_spread():
    fan_in, fan_out = 400, 300
    weights = {
        init: np.array([w.data for n in nn.Layer(fan_in, fan_out, init=init, seed=5).neurons
                        for w in n.w])
        for init in nn.INITS
    }  # fmt: skip
    uniform = weights["uniform"]
    assert uniform.min() >= -1.0 and uniform.max() <= 1.0
    assert uniform.std() == pytest.approx(1 / math.sqrt(3), rel=0.02)  # std of U(-1, 1)
    assert weights["xavier"].std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.02)
    assert weights["he"].std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)
    assert all(n.b.data == 0.0 for n in nn.Layer(3, 4, init="he").neurons)


def test_bad_names_and_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="linear, relu, tanh, sigmoid"):
        nn.Neuron(2, activation="softmax")
    with pytest.raises(ValueError, match="linear, relu, tanh, sigmoid"):
        nn.MLP(2, [3, 1], output_activation="elu")
    with pytest.raises(ValueError, match="uniform, xavier, he"):
        nn.MLP(2, [3, 1], init="glorot")
    with pytest.raises(ValueError, match="nouts"):
        nn.MLP(2, 3)
    with pytest.raises(ValueError, match="positive integer"):
        nn.Layer(0, 3)
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        nn.MLP(2, [1])([1.0, 2.0, 3.0])


def test_forward_computes_the_neuron_formula():
    neuron = nn.Neuron(3, activation="tanh", seed=2)
    neuron.b.data = 0.25
    x = [0.5, -1.0, 2.0]
    expected = math.tanh(0.25 + sum(w.data * xi for w, xi in zip(neuron.w, x)))
    assert neuron(x).data == pytest.approx(expected, rel=1e-15)
    mlp = nn.MLP(3, [2, 2], seed=1)
    out = mlp(x)
    assert isinstance(out, list) and len(out) == 2
    hidden = [max(0.0, n.b.data + sum(w.data * xi for w, xi in zip(n.w, x)))
              for n in mlp.layers[0].neurons]  # fmt: skip
    first = mlp.layers[1].neurons[0]
    assert out[0].data == pytest.approx(
        first.b.data + sum(w.data * h for w, h in zip(first.w, hidden)), rel=1e-14
    )


@pytest.mark.parametrize("activation", nn.ACTIVATIONS)
def test_fused_and_primitive_neuron_give_identical_gradients(activation):
    fused = nn.Neuron(3, activation=activation, seed=4)
    plain = nn.Neuron(3, activation=activation, seed=4, fused=False)
    for n in (fused, plain):
        n.b.data = 0.3
    x1 = [Value(v) for v in (0.5, -1.5, 2.0)]
    x2 = [Value(v) for v in (0.5, -1.5, 2.0)]
    a, b = fused(x1), plain(x2)
    a.backward()
    b.backward()
    assert a.data == b.data
    assert [p.grad for p in fused.parameters()] == [p.grad for p in plain.parameters()]
    assert [x.grad for x in x1] == [x.grad for x in x2]
    # the fused neuron is one node over its inputs; the primitive one is many
    assert len(topological_order(a)) == 3 + 3 + 1 + 1
    assert len(topological_order(b)) > len(topological_order(a))


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(nn.ACTIVATIONS), st.integers(0, 10_000), st.booleans())
def test_fused_and_primitive_mlp_agree(activation, seed, batched):
    X = np.random.default_rng(seed).normal(size=(6, 3))
    grads = []
    for fused in (True, False):
        mlp = nn.MLP(3, [4, 3, 1], activation=activation, seed=seed, fused=fused)
        out = (
            mlp(X, grain="neuron")
            if batched
            else nn.mse([mlp(list(row)) for row in X], np.zeros(6))
        )
        loss = out.mean() if batched else out
        loss.backward()
        grads.append(mlp.gradient_vector())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-15)


def test_batched_forward_equals_per_sample_forward():
    mlp = nn.MLP(2, [5, 3, 1], activation="tanh", seed=9)
    X = np.random.default_rng(0).normal(size=(8, 2))
    batched = mlp(X, grain="neuron")  # one batched Value per column, a node per neuron
    assert batched.is_batched and batched.data.shape == (8,)
    single = [mlp(list(row)).data for row in X]
    np.testing.assert_allclose(batched.data, single, rtol=1e-14)
    layer = mlp(X)  # a 2-D array at layer grain: one node per layer, (samples, outputs)
    assert layer.data.shape == (8, 1)
    np.testing.assert_allclose(layer.data[:, 0], single, rtol=1e-14)


def test_batched_parameter_gradient_is_sum_of_per_sample_gradients():
    mlp = nn.MLP(2, [3, 1], activation="tanh", seed=2)
    X = np.random.default_rng(1).normal(size=(5, 2))
    mlp(X, grain="neuron").sum().backward()
    batched = mlp.gradient_vector()
    mlp.zero_grad()
    mlp(X).sum().backward()  # layer grain
    layer = mlp.gradient_vector()
    total = np.zeros(len(batched))
    for row in X:
        mlp.zero_grad()
        mlp(list(row)).backward()
        total += mlp.gradient_vector()
    np.testing.assert_allclose(batched, total, rtol=1e-12)
    np.testing.assert_allclose(layer, total, rtol=1e-12)


def test_zero_grad_and_state_dict():
    mlp = nn.MLP(2, [2, 1], seed=0)
    mlp([1.0, 2.0]).backward()
    assert mlp.gradient_vector().any()
    mlp.zero_grad()
    assert not mlp.gradient_vector().any()
    state = mlp.state_dict()
    other = nn.MLP(2, [2, 1], seed=1)
    other.load_state_dict(state)
    assert other.parameter_vector().tolist() == mlp.parameter_vector().tolist()
    with pytest.raises(ValueError, match="missing L2.b"):
        other.load_state_dict({k: v for k, v in state.items() if k != "L2.b"})
    with pytest.raises(ValueError, match="shape"):
        other.load_state_dict({**state, "L1.W": np.zeros((3, 3))})


def test_fused_flag_passes_through_layers_and_mlp():
    plain = nn.MLP(2, [3, 1], activation="tanh", seed=0, fused=False)
    fused = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    assert all(not n.fused for layer in plain.layers for n in layer.neurons)
    ops_plain = {node.op for node in topological_order(plain([0.5, -0.5]))}
    ops_fused = {node.op for node in topological_order(fused([0.5, -0.5]))}
    assert {"*", "+", "tanh"} <= ops_plain and "tanh(linear)" not in ops_plain
    assert "tanh(linear)" in ops_fused and "*" not in ops_fused


def test_number_inputs_become_one_labelled_node_each_shared_by_the_first_layer():
    model = nn.MLP(2, [5, 1], activation="tanh", seed=3)
    out = model([0.3, -0.2])
    out.backward()
    inputs = [node for node in topological_order(out) if node.label in ("x1", "x2")]
    assert [node.label for node in inputs] == ["x1", "x2"]
    # d out/d x1 by the chain rule through every hidden neuron, written out with NumPy
    W1 = np.array([[w.data for w in n.w] for n in model.layers[0].neurons])
    b1 = np.array([n.b.data for n in model.layers[0].neurons])
    w2 = np.array([w.data for w in model.layers[1].neurons[0].w])
    assert (W1 == model.layers[0].W.data).all() and (b1 == model.layers[0].b.data).all()
    h = np.tanh(W1 @ np.array([0.3, -0.2]) + b1)
    expected = (w2 * (1 - h**2)) @ W1
    assert np.allclose([inputs[0].grad, inputs[1].grad], expected, rtol=1e-12, atol=1e-15)
