"""nn.MLP built from given matrices, without biases, and with one activation per layer.

Oracles: a NumPy forward pass written here (A = act(W A + b)), the hand-written backprop of
`nn.reference` (extended to layers without biases, itself checked by central differences),
and save/load round trips.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from nn.reference import ReferenceMLP

ACTS = ["relu", "tanh", "sigmoid", "linear"]
NUMPY_ACTS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "linear": lambda z: z,
}


def numpy_forward(weights, biases, activations, X):
    """A_l = act_l(W_l A_{l-1} + b_l) with samples as columns; returns (samples, outputs)."""
    A = X.T
    for W, b, act in zip(weights, biases, activations):
        Z = W @ A if b is None else W @ A + b[:, None]
        A = NUMPY_ACTS[act](Z)
    return A.T


def random_arrays(rng, sizes, bias):
    weights = [rng.normal(size=(n, m)) for m, n in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(size=n) if bias else None for n in sizes[1:]]
    return weights, biases


def test_from_weights_computes_the_textbook_forward_pass_and_reads_back_exactly():
    rng = np.random.default_rng(3)
    weights, biases = random_arrays(rng, [3, 4, 2], bias=True)
    acts = ["tanh", "sigmoid"]
    model = nn.MLP.from_weights(weights, biases, acts)
    X = rng.normal(size=(5, 3))
    engine = model(X).data  # layer grain: (samples, outputs)
    np.testing.assert_allclose(engine, numpy_forward(weights, biases, acts, X), rtol=1e-12)
    for got, given_ in zip(model.weight_arrays(), weights):
        np.testing.assert_array_equal(got, given_)
    for got, given_ in zip(model.bias_arrays(), biases):
        np.testing.assert_array_equal(got, given_)
    assert model.activations == acts
    # labels and order: layer by layer, W then b; a neuron's numbers, weights then bias
    assert [p.label for p in model.parameters()] == ["L1.W", "L1.b", "L2.W", "L2.b"]
    labels = [p.label for p in model.layers[0].neurons[0].parameters()]
    assert labels == ["L1.N1.w1", "L1.N1.w2", "L1.N1.w3", "L1.N1.b"]
    assert model.num_parameters() == 4 * 4 + 2 * 5
    # the matrices were copied, not shared
    weights[0][0, 0] += 1.0
    assert model.weight_arrays()[0][0, 0] != weights[0][0, 0]


def test_no_bias_network_has_no_bias_parameters_and_computes_w_times_x():
    rng = np.random.default_rng(4)
    weights, _ = random_arrays(rng, [3, 4, 1], bias=False)
    model = nn.MLP.from_weights(weights, None, "sigmoid")
    assert not model.bias and model.bias_arrays() == [None, None]
    assert [p.label for p in model.parameters()] == ["L1.W", "L2.W"]
    assert [p.label for p in model.layers[0].neurons[0].parameters()] == [
        "L1.N1.w1",
        "L1.N1.w2",
        "L1.N1.w3",
    ]
    assert model.num_parameters() == 3 * 4 + 4
    assert not any(p.label.endswith(".b") for p in model.parameters())
    X = rng.normal(size=(6, 3))
    expected = numpy_forward(weights, [None, None], ["sigmoid"] * 2, X)[:, 0]
    np.testing.assert_allclose(model(X).data[:, 0], expected, rtol=1e-12)
    # one sample, scalar Values: the same numbers
    assert abs(model(X[2]).data - expected[2]) < 1e-12
    assert "bias=False" in repr(model)


def test_no_bias_layer_is_one_node_reading_X_and_W():
    layer = nn.Layer(3, 2, "tanh", seed=1, bias=False)
    out = layer(np.ones((4, 3)))
    assert out.op == "tanh(layer)" and out.data.shape == (4, 2)
    assert out.parents[1] is layer.W and len(out.parents) == 2
    np.testing.assert_allclose(out.data, np.tanh(np.ones((4, 3)) @ layer.W.data.T), rtol=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    nin=st.integers(1, 4),
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    acts=st.data(),
    bias=st.booleans(),
    fused=st.booleans(),
    batched=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_gradients_equal_the_reference_for_any_activations_with_or_without_bias(
    nin, sizes, acts, bias, fused, batched, seed
):
    activations = acts.draw(
        st.lists(st.sampled_from(ACTS), min_size=len(sizes), max_size=len(sizes))
    )
    rng = np.random.default_rng(seed)
    weights, biases = random_arrays(rng, [nin, *sizes], bias)
    model = nn.MLP.from_weights(weights, biases, activations, fused=fused)
    X = rng.normal(size=(5, nin))
    y = rng.normal(size=(5,) if sizes[-1] == 1 else (5, sizes[-1]))
    fn, _ = nn.losses.get_loss("mse")
    value, _ = nn.build_loss(model, X, y, fn, 1e-2, batched)
    model.zero_grad()
    value.backward()
    reference = ReferenceMLP.from_mlp(model)
    assert ("b1" in reference.parameters) == bias
    ref_loss, ref_grads = reference.loss_and_gradients(X, y, "mse", 1e-2)
    grads = np.array(model.gradient_vector().tolist())
    assert grads.shape == ref_grads.shape
    np.testing.assert_allclose(value.data, ref_loss, rtol=1e-10)
    np.testing.assert_allclose(grads, ref_grads, rtol=1e-9, atol=1e-12)


def test_reference_without_biases_matches_central_differences():
    rng = np.random.default_rng(7)
    params = {"W1": rng.normal(size=(3, 2)), "W2": rng.normal(size=(1, 3))}
    reference = ReferenceMLP(params, ["tanh", "sigmoid"])
    X, y = rng.normal(size=(4, 2)), rng.integers(0, 2, size=4).astype(float)
    _, grads = reference.loss_and_gradients(X, y, "bce")
    flat = reference.flatten()
    assert grads.shape == flat.shape == (9,)

    def loss_at(vector):
        W1, W2 = vector[:6].reshape(3, 2), vector[6:].reshape(1, 3)
        return ReferenceMLP({"W1": W1, "W2": W2}, ["tanh", "sigmoid"]).loss_and_grads(X, y, "bce")[
            0
        ]

    h = 1e-6
    numeric = np.array(
        [(loss_at(flat + h * e) - loss_at(flat - h * e)) / (2 * h) for e in np.eye(flat.size)]
    )
    np.testing.assert_allclose(grads, numeric, rtol=1e-6, atol=1e-9)


def test_sgd_steps_equal_the_reference_gradient_descent_without_biases():
    rng = np.random.default_rng(11)
    weights, _ = random_arrays(rng, [3, 4, 1], bias=False)
    model = nn.MLP.from_weights(weights, None, ["sigmoid", "sigmoid"])
    reference = ReferenceMLP.from_mlp(model)
    X, y = rng.normal(size=(4, 3)), np.array([0.0, 1.0, 1.0, 0.0])
    opt = nn.optim.SGD(model.parameters(), lr=0.5)
    fn, _ = nn.losses.get_loss("sse")
    for _ in range(5):
        value, _ = nn.build_loss(model, X, y, fn, 0.0, True)
        opt.zero_grad()
        value.backward()
        opt.step()
        _, grads = reference.loss_and_grads(X, y, "sse")
        reference.update_parameters_with_gd(grads, 0.5)
    np.testing.assert_allclose(model.parameter_vector().tolist(), reference.flatten(), rtol=1e-12)


def test_per_layer_activations_and_their_errors():
    model = nn.MLP(2, [3, 3, 1], activation=["tanh", "relu", "sigmoid"], seed=0)
    assert model.activations == ["tanh", "relu", "sigmoid"]
    assert model.output_activation == "sigmoid"
    # the string form is unchanged: hidden layers `activation`, last `output_activation`
    assert nn.MLP(2, [3, 1], activation="tanh").activations == ["tanh", "linear"]
    with pytest.raises(ValueError, match="one per layer"):
        nn.MLP(2, [3, 1], activation=["tanh"])
    with pytest.raises(ValueError, match="last entry is the output"):
        nn.MLP(2, [3, 1], activation=["tanh", "relu"], output_activation="sigmoid")
    with pytest.raises(ValueError, match="unknown activation 'elu'"):
        nn.MLP(2, [3, 1], activation=["tanh", "elu"])
    with pytest.raises(TypeError, match="bias must be True or False"):
        nn.MLP(2, [1], bias="no")


def test_from_weights_rejects_what_does_not_fit():
    W1, W2 = np.ones((3, 2)), np.ones((1, 3))
    with pytest.raises(ValueError, match="read 2 inputs, but layer 1 has 3 outputs"):
        nn.MLP.from_weights([W1, np.ones((1, 2))])
    with pytest.raises(ValueError, match="3 neurons need 3 biases"):
        nn.MLP.from_weights([W1, W2], [np.zeros(2), np.zeros(1)])
    with pytest.raises(ValueError, match="every layer or for none"):
        nn.MLP.from_weights([W1, W2], [np.zeros(3), None])
    with pytest.raises(ValueError, match="2 weight matrices but 1 activations"):
        nn.MLP.from_weights([W1, W2], None, ["relu"])
    with pytest.raises(ValueError, match="2-D"):
        nn.MLP.from_weights([np.ones(3)])


@pytest.mark.parametrize(
    "model",
    [
        nn.MLP(2, [3, 1], activation=["tanh", "sigmoid"], seed=1),
        nn.MLP(2, [3, 1], activation="tanh", output_activation="sigmoid", bias=False, seed=2),
        nn.MLP(3, [1], activation=["sigmoid"], bias=False, seed=3),
    ],
    ids=["per-layer", "no-bias", "one-neuron"],
)
def test_save_and_load_round_trip_the_new_options(model, tmp_path):
    path = model.save(tmp_path / "m.json")
    loaded = nn.load(path)
    assert loaded.config() == model.config()
    assert loaded.activations == model.activations and loaded.bias == model.bias
    assert loaded.parameter_vector().tolist() == model.parameter_vector().tolist()
    X = np.random.default_rng(0).normal(size=(4, model.nin))
    np.testing.assert_array_equal(loaded(X).data, model(X).data)
    architecture = json.loads(path.read_text())["architecture"]
    assert ("bias" in architecture) == (not model.bias)


def test_a_plain_network_file_keeps_its_old_form(tmp_path):
    model = nn.MLP(2, [4, 1], activation="tanh", output_activation="sigmoid", seed=0)
    architecture = json.loads(model.save(tmp_path / "m.json").read_text())["architecture"]
    assert architecture == {
        "nin": 2,
        "nouts": [4, 1],
        "activation": "tanh",
        "output_activation": "sigmoid",
    }


def test_a_file_with_a_wrong_activation_list_or_bias_is_rejected(tmp_path):
    model = nn.MLP(2, [3, 1], activation=["tanh", "sigmoid"], seed=1)
    content = nn.serialize.to_dict(model)
    content["architecture"]["activation"] = ["tanh"]
    with pytest.raises(nn.ModelFileError, match="one of .* per layer"):
        nn.serialize.from_dict(content, verify=False)
    content = nn.serialize.to_dict(model)
    content["architecture"]["bias"] = "yes"
    with pytest.raises(nn.ModelFileError, match="'bias' must be true or false"):
        nn.serialize.from_dict(content, verify=False)
