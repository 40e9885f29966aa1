"""Argument checks that come before the first update (issue 22, class 15), and what a layer's
parameters accept."""

from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn
from autograd import Value

X, Y = nn.data.moons(20, noise=0.1, seed=0)


def fresh():
    return nn.MLP(2, [4, 1], seed=0)


@pytest.mark.parametrize("batch_size", [1.5, "4", True, 0, -3, np.float64(2.0)])
def test_a_batch_size_that_is_not_a_positive_integer_is_refused_before_any_update(batch_size):
    model = fresh()
    before = model.parameter_vector()
    with pytest.raises(ValueError, match="batch_size"):
        nn.fit(model, X, Y, batch_size=batch_size, epochs=1, progress=False)
    assert (model.parameter_vector() == before).all()


@pytest.mark.parametrize("l2", [-1e-3, float("inf"), float("nan"), "0.1", True])
def test_an_l2_that_is_not_a_finite_number_at_least_zero_is_refused(l2):
    with pytest.raises(ValueError, match="l2"):
        nn.fit(fresh(), X, Y, l2=l2, epochs=1, progress=False)


@pytest.mark.parametrize("X_bad", [np.zeros((0, 2)), np.zeros(5), np.zeros((2, 2, 2))])
def test_an_empty_or_misshapen_X_names_X(X_bad):
    with pytest.raises(ValueError, match="X must be 2-D"):
        nn.fit(fresh(), X_bad, np.zeros(len(X_bad)), epochs=1, progress=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"callback": 3}, "callback"),
        ({"validation_data": (np.zeros((3, 5)), np.zeros(3))}, "validation_data"),
        ({"validation_data": (np.zeros((3, 2)), np.zeros(4))}, "validation_data"),
        ({"validation_data": "xy"}, "validation_data"),
        ({"grain": "atom"}, "grain"),
    ],
)
def test_a_bad_callback_or_validation_set_fails_before_the_first_update(kwargs, match):
    model = fresh()
    before = model.parameter_vector()
    with pytest.raises((ValueError, TypeError), match=match):
        nn.fit(model, X, Y, epochs=1, progress=False, **kwargs)
    assert (model.parameter_vector() == before).all()


def test_fit_inside_no_grad_says_so_instead_of_training_nothing():
    model = fresh()
    with autograd.no_grad(), pytest.raises(RuntimeError, match="no_grad"):
        nn.fit(model, X, Y, epochs=1, progress=False)


@pytest.mark.parametrize("value", ["1.5", None, [1.0], True])
def test_a_parameters_number_takes_numbers_only(value):
    w = fresh().layers[0].neurons[0].w[0]
    with pytest.raises(TypeError):
        w.grad = value
    with pytest.raises(TypeError):
        w.data = value


def test_a_layers_array_parameter_refuses_a_gradient_of_another_shape():
    model = fresh()
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    model.layers[0].W.grad = np.ones(3)
    with pytest.raises(TypeError, match="shape"):
        opt.step()


@pytest.mark.parametrize("fused", [True, False])
def test_save_keeps_fused(tmp_path, fused):
    model = nn.MLP(2, [3, 1], seed=1, fused=fused)
    loaded = nn.load(nn.save(model, tmp_path / "m.json"))
    assert loaded.fused is fused
    assert all(n.fused is fused for layer in loaded.layers for n in layer.neurons)


def test_parameter_names_are_unique_and_stable_whatever_the_values(tmp_path):
    model = nn.MLP(2, [2, 1], seed=0)
    for layer in model.layers:  # unlabelled values of the same numbers everywhere
        layer.W.data = np.zeros_like(layer.W.data)
        layer.W.label = ""
    names = [name for name, _ in model.named_parameters()]
    assert len(set(names)) == len(names) == 4
    state = model.state_dict()
    model.load_state_dict(state)  # a round trip changes nothing
    loaded = nn.load(nn.save(model, tmp_path / "m.json"))
    assert loaded.parameter_vector().tolist() == model.parameter_vector().tolist()


def test_node_parents_are_tuples_at_both_grains():
    model = fresh()
    one = model([0.1, 0.2])
    batch = model(np.array([[0.1, 0.2], [0.3, 0.4]]))
    for node in (one, batch, *autograd.topological_order(batch)):
        assert type(node.parents) is tuple
        hash(node.parents + ())
    assert isinstance(Value(1.0).parents, tuple)


@pytest.mark.parametrize("scale", [1.0, 1e3, 1e15, 1e16, -1e16])
def test_cross_entropy_at_huge_logits_is_right_at_every_grain(scale):
    """The true loss of logits (a + c, b + c) is logsumexp(a, b) - target's, whatever c."""
    import math

    base = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, -2.0]])  # (exact beside 1e16: its ulp is 2)
    targets = np.array([0, 1, 0])
    exact = np.mean(
        [math.log(sum(math.exp(v - row.max()) for v in row)) - (row[t] - row.max())
         for row, t in zip(base, targets)]
    )  # fmt: skip
    logits = base + scale
    assert ((logits - scale) == base).all()  # every logit exactly representable
    layer = nn.cross_entropy(Value(logits), targets)
    batched = nn.cross_entropy([Value(logits[:, j]) for j in range(2)], targets)
    rows = [[Value(v) for v in row] for row in logits]
    per_sample = nn.cross_entropy(rows, targets)
    for loss in (layer, batched, per_sample):
        assert loss.data == pytest.approx(exact, rel=1e-12)
    per_sample.backward()
    softmax = np.exp(base - base.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    expected = (softmax - np.eye(2)[targets]) / 3
    got = np.array([[v.grad for v in row] for row in rows])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("steps", [0, -1, 1.5, True, "2"])
def test_a_training_page_of_no_step_is_refused_with_what_to_give(steps):
    X, y = nn.data.xor()
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        nn.training_page(nn.MLP(2, [2, 1], seed=0), X, y, "mse", None, steps, 0)


def test_a_neurons_weights_are_set_never_swapped():
    """Both grains read a layer's arrays: a neuron's Values swapped for others would part
    them (and their names), so setting them says what to do instead."""
    model = nn.MLP(2, [2, 1], seed=0)
    neuron = model.layers[0].neurons[0]
    with pytest.raises(AttributeError, match=r"w\[0\]\.data = 0\.5"):
        neuron.w = (Value(1.0), Value(-0.5))
    with pytest.raises(AttributeError, match="from_weights"):
        neuron.b = Value(0.25)
    neuron.w[0].data, neuron.b.data = 1.0, 0.25  # the numbers: both grains see them
    assert model.layers[0].W.data[0, 0] == 1.0 and model.layers[0].b.data[0] == 0.25
    assert model(np.array([[1.0, 0.0]])).data[0, 0] == pytest.approx(model([1.0, 0.0]).data)
