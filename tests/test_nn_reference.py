"""The engine against the NumPy reference (and both against central differences).

For many shapes, activations and losses the scalar engine's loss and every parameter gradient
must equal the hand-written vectorized backprop of `nn.reference` to 1e-10 relative; training
steps with SGD and Adam must give the same parameters; and the reference itself is checked
against a tiny network differentiated by hand and against central differences.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
import nn
from nn.reference import ReferenceMLP

ACTS = ["relu", "tanh", "sigmoid", "linear"]
# loss -> (output activation to pair with it, how to draw targets)
LOSS_SETUPS = {
    "mse": ("tanh", lambda rng, shape: rng.normal(size=shape)),
    "sse": ("linear", lambda rng, shape: rng.normal(size=shape)),
    "bce": ("sigmoid", lambda rng, shape: rng.integers(0, 2, size=shape).astype(float)),
    "bce_with_logits": ("linear", lambda rng, shape: rng.integers(0, 2, size=shape) * 1.0),
    "hinge": ("linear", lambda rng, shape: rng.choice([-1.0, 1.0], size=shape)),
}


def assert_close(actual, expected, rtol=1e-10, what="value", atol=1e-15):
    """|a - e| <= rtol * max(|e|, scale) + atol: relative, with the scale of the whole vector
    for entries that are near zero by cancellation (a gradient summed over samples), and an
    absolute floor of a few float64 roundings of O(1) terms, for a gradient whose every entry
    cancels to (nearly) zero: both sides are then rounding noise of the order 1e-17."""
    actual, expected = np.atleast_1d(actual), np.atleast_1d(expected)
    assert actual.shape == expected.shape, what
    scale = max(float(np.max(np.abs(expected))), 1e-300)
    bound = rtol * np.maximum(np.abs(expected), 1e-3 * scale) + atol
    bad = np.abs(actual - expected) > bound
    assert not bad.any(), f"{what}: {actual[bad][:5]} vs {expected[bad][:5]}"


def engine_loss_and_grads(model, X, y, loss, l2=0.0, batched=True, grain="layer"):
    fn, _ = nn.losses.get_loss(loss)
    value, _ = nn.build_loss(model, X, y, fn, l2, batched, grain=grain)
    model.zero_grad()
    value.backward()
    return value.data, np.array(model.gradient_vector().tolist())


network = st.fixed_dictionaries(
    {
        "nin": st.integers(1, 4),
        "hidden": st.lists(st.integers(1, 5), min_size=0, max_size=3),
        "nout": st.integers(1, 3),
        "activation": st.sampled_from(ACTS),
        "loss": st.sampled_from(sorted(LOSS_SETUPS)),
        "samples": st.integers(1, 9),
        "init": st.sampled_from(nn.INITS),
        "seed": st.integers(0, 2**31 - 1),
        "l2": st.sampled_from([0.0, 1e-3, 0.1]),
        "fused": st.booleans(),
    }
)


def make_case(case):
    output_activation, draw_targets = LOSS_SETUPS[case["loss"]]
    model = nn.MLP(
        case["nin"],
        [*case["hidden"], case["nout"]],
        activation=case["activation"],
        output_activation=output_activation,
        seed=case["seed"],
        init=case["init"],
        fused=case.get("fused", True),
    )
    rng = np.random.default_rng(case["seed"] + 1)
    for layer in model.layers:  # non-zero biases too, so every term is exercised
        layer.b.data = rng.uniform(-0.5, 0.5, size=layer.nout)
    X = rng.normal(size=(case["samples"], case["nin"]))
    shape = (case["samples"],) if case["nout"] == 1 else (case["samples"], case["nout"])
    y = draw_targets(rng, shape)
    return model, X, y


@settings(max_examples=60, deadline=None)
@given(network, st.sampled_from(["layer", "neuron", "per sample"]))
def test_engine_loss_and_every_gradient_equal_the_reference(case, grain):
    """Layer grain, neuron grain (batched) and one graph per sample, against the textbook's
    hand-written backprop."""
    model, X, y = make_case(case)
    batched = grain != "per sample"
    loss, grads = engine_loss_and_grads(
        model, X, y, case["loss"], case["l2"], batched, "neuron" if grain != "layer" else "layer"
    )
    ref_loss, ref_grads = ReferenceMLP.from_mlp(model).loss_and_gradients(
        X, y, case["loss"], case["l2"]
    )
    assert len(grads) == model.num_parameters()
    assert_close(loss, ref_loss, what="loss")
    assert_close(grads, ref_grads, what="gradients")


@settings(max_examples=25, deadline=None)
@given(network, st.sampled_from(["sgd", "sgd-momentum", "adam"]), st.integers(2, 5))
def test_training_steps_give_the_same_parameters_as_the_reference(case, optimizer, steps):
    model, X, y = make_case(case)
    reference = ReferenceMLP.from_mlp(model)
    params = model.parameters()
    schedule = lambda k: 0.1 / (1 + k)  # a schedule, to check it is applied step by step
    if optimizer == "adam":
        opt = nn.optim.Adam(params, lr=0.05, betas=(0.8, 0.99), eps=1e-6)
    else:
        momentum = 0.9 if optimizer == "sgd-momentum" else 0.0
        opt = nn.optim.SGD(params, lr=0.1, momentum=momentum, lr_schedule=schedule)
    fn, _ = nn.losses.get_loss(case["loss"])
    for k in range(steps):
        value, _ = nn.build_loss(model, X, y, fn, case["l2"])
        opt.zero_grad()
        value.backward()
        opt.step()
        with np.errstate(all="ignore"):  # (a drawn case may overflow: inf and nan, as ours)
            ref_loss, grads = reference.loss_and_grads(X, y, case["loss"], case["l2"])
            if optimizer == "adam":
                reference.update_parameters_with_adam(grads, 0.05, 0.8, 0.99, 1e-6)
            else:
                reference.update_parameters_with_gd(grads, schedule(k), momentum)
        assert_close(value.data, ref_loss, what=f"loss at step {k}")
    assert opt.steps == steps
    assert_close(model.parameter_vector(), reference.flatten(), rtol=1e-9, what="parameters")


def test_reference_matches_a_network_differentiated_by_hand():
    # y_hat = w2 * tanh(w1 x + b1) + b2, L = (y_hat - y)^2 for one sample: by hand,
    # dL/dw2 = 2 e h, dL/db2 = 2 e, dL/dw1 = 2 e w2 (1 - h^2) x, dL/db1 = 2 e w2 (1 - h^2).
    w1, b1, w2, b2, x, y = 0.7, -0.2, 1.3, 0.4, 0.5, -1.0
    h = math.tanh(w1 * x + b1)
    e = w2 * h + b2 - y
    expected = [2 * e * w2 * (1 - h * h) * x, 2 * e * w2 * (1 - h * h), 2 * e * h, 2 * e]
    reference = ReferenceMLP(
        {"W1": [[w1]], "b1": [[b1]], "W2": [[w2]], "b2": [[b2]]}, ["tanh", "linear"]
    )
    loss, grads = reference.loss_and_gradients(np.array([[x]]), np.array([y]), "sse")
    assert loss == pytest.approx(e * e, rel=1e-14)
    assert grads == pytest.approx(expected, rel=1e-14)


def central_differences(f, values, eps=1e-6):
    """(f(x + eps e_k) - f(x - eps e_k)) / (2 eps) for every k."""
    values = np.array(values, dtype=float)
    out = []
    for k in range(len(values)):
        plus, minus = values.copy(), values.copy()
        plus[k] += eps
        minus[k] -= eps
        out.append((f(plus) - f(minus)) / (2 * eps))
    return np.array(out)


@pytest.mark.parametrize("loss", sorted(LOSS_SETUPS))
@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_gradcheck_agrees_with_engine_and_reference(loss, activation):
    case = dict(nin=2, hidden=[3], nout=1, activation=activation, loss=loss, samples=5,
                init="uniform", seed=7, l2=0.01)  # fmt: skip
    model, X, y = make_case(case)
    params = model.parameters()
    engine_loss, engine_grads = engine_loss_and_grads(model, X, y, loss, 0.01)

    def reference_loss(flat):
        ref = ReferenceMLP.from_mlp(model)
        offset = 0
        for l, layer in enumerate(model.layers, start=1):  # noqa: E741
            for name, shape in ((f"W{l}", (layer.nout, layer.nin)), (f"b{l}", (layer.nout, 1))):
                size = shape[0] * shape[1]
                ref.parameters[name] = flat[offset : offset + size].reshape(shape)
                offset += size
        return ref.loss_and_grads(X, y, loss, 0.01)[0]

    start = model.parameter_vector()
    numeric = central_differences(reference_loss, start)
    _, ref_grads = ReferenceMLP.from_mlp(model).loss_and_gradients(X, y, loss, 0.01)
    np.testing.assert_allclose(engine_grads, numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ref_grads, numeric, rtol=1e-5, atol=1e-7)

    # And autograd.gradcheck (the "show" room's tool) on the engine, parameters as inputs.
    fn, _ = nn.losses.get_loss(loss)

    def engine_function(*values):
        swap_parameters(model, values)
        return nn.build_loss(model, X, y, fn, 0.01)[0]

    try:
        report = autograd.gradcheck(engine_function, params, eps=1e-6, atol=1e-7, rtol=1e-5)
    finally:
        swap_parameters(model, params)
    assert report.passed
    assert [row.actual for row in report.rows] == pytest.approx(engine_grads, rel=1e-12)


def swap_parameters(model, values):
    """Put the given Values (W and b of each layer, in parameters() order) in the layers."""
    values = list(values)
    for layer in model.layers:
        layer.W, layer.b = values[0], values[1]
        values = values[2:]
    assert not values
