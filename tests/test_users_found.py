"""What a student and an engineer found trying the project (2026-12-04), each fixed and held
here against an oracle that shares no code with the engine: central differences, numbers worked
out by hand, or the same loss by another route (per sample against layer grain)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from examples import central_differences

import autograd
import nn
from autograd import Value

RNG = np.random.default_rng(4)

# -- .mean() of a matrix: the mean of every entry, d/dx = 1/N -----------------------------------


def test_the_mean_of_a_matrix_passes_one_over_its_entries():
    A = Value(np.arange(6.0).reshape(2, 3))
    m = A.mean()
    m.backward()
    assert m.data == 2.5  # (0 + 1 + ... + 5) / 6
    assert A.grad.tolist() == [[1 / 6] * 3] * 2  # 1/N for N = 6 entries, not 1/rows


def test_a_layers_mean_output_has_the_gradient_of_its_sum_over_its_size():
    X = RNG.normal(size=(5, 3))
    model = nn.MLP(3, [4, 2], seed=0)
    out = model(X)
    out.mean().backward()
    by_mean = model.layers[0].W.grad.copy()
    W = model.layers[0].W

    def mean_of(w: np.ndarray) -> float:
        saved = W.data
        W.data = w
        try:
            return model(X).data.mean()
        finally:
            W.data = saved

    assert np.allclose(by_mean, central_differences(mean_of, W.data.copy()), rtol=1e-6, atol=1e-9)


# -- sum_of_squares / l2 of arrays and numbers together: one number ------------------------------


def test_sum_of_squares_of_a_matrix_and_numbers_is_one_number():
    W, s = Value(np.ones((2, 2))), Value(3.0)
    total = autograd.sum_of_squares([W, s, 2.0])
    assert total.data == 4 * 1.0 + 9.0 + 4.0
    total.backward()
    assert W.grad.tolist() == [[2.0, 2.0], [2.0, 2.0]] and s.grad == 6.0


def test_l2_of_a_models_parameters_and_an_extra_number():
    model, temperature = nn.MLP(2, [3, 2], seed=1), Value(0.5)
    penalty = nn.losses.l2([*model.parameters(), temperature], 0.01)
    squares = sum(float((p.data**2).sum()) for p in model.parameters()) + 0.25
    assert penalty.data == pytest.approx(0.01 * squares, rel=1e-14)
    penalty.backward()
    assert temperature.grad == pytest.approx(0.01 * 2 * 0.5)


# -- binary cross-entropy at layer grain with its own eps ----------------------------------------


@pytest.mark.parametrize("eps", [1e-7, 0.2])
def test_bce_with_another_eps_at_layer_grain_equals_the_per_sample_loss(eps):
    X, y = RNG.normal(size=(6, 3)), np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    model = nn.MLP(3, [4, 1], output_activation="sigmoid", seed=2)
    layer = nn.losses.binary_cross_entropy(model(X), y, eps=eps)
    model.zero_grad()
    layer.backward()
    grads = [p.grad.copy() for p in model.parameters()]
    per_sample = nn.losses.binary_cross_entropy([model(list(x)) for x in X], y, eps=eps)
    model.zero_grad()
    per_sample.backward()
    assert layer.data == pytest.approx(per_sample.data, rel=1e-14)
    for g, p in zip(grads, model.parameters()):
        assert np.allclose(g, p.grad, rtol=1e-12, atol=1e-15)
    q = np.clip(model(X).data[:, 0], eps, 1 - eps)  # the loss written out by hand
    assert layer.data == pytest.approx(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))
    rows = len(autograd.ops.OPERATIONS)  # another eps is a constant operand, not a new row
    nn.losses.binary_cross_entropy(model(X), y, eps=eps / 2)
    assert len(autograd.ops.OPERATIONS) == rows and layer.parents[2].data == eps
    with pytest.raises(ValueError, match="eps is binary cross-entropy's clamp; 'mse' takes none"):
        autograd.layers.batch_loss("mse", model(X), y, eps)


# -- the hinge loss takes labels -1 and +1 only ----------------------------------------------------


def test_hinge_refuses_zero_one_labels_and_says_what_to_do():
    X, y = nn.data.moons(20, noise=0.1, seed=1)  # labels 0 and 1
    model = nn.MLP(2, [4, 1], seed=1)
    with pytest.raises(ValueError, match=r"-1 or \+1, got 0.0; .*to_signed"):
        nn.losses.hinge(model(X), y)
    with pytest.raises(ValueError, match=r"-1 or \+1, got 0.0"):
        nn.fit(model, X, y, loss="hinge", epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"-1 or \+1, got 0.5"):
        nn.losses.hinge([model(list(x)) for x in X[:3]], [1.0, 0.5, -1.0])
    signed = nn.data.to_signed(y)
    loss = nn.losses.hinge(model(X), signed)
    margins = 1 - signed * model(X).data[:, 0]
    assert loss.data == pytest.approx(np.maximum(margins, 0).mean(), rel=1e-14)


# -- a Value is never a float without a word --------------------------------------------------


def test_math_functions_on_a_value_refuse_instead_of_dropping_the_gradient():
    x = Value(1.0, "x")
    with pytest.raises(TypeError, match=r"x\.exp\(\).*x\.data"):
        x * math.exp(x)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="out of the graph"):
        float(x)
    y = x * x.exp()  # what was meant: d/dx = e (1 + x) = 2e at 1
    y.backward()
    assert x.grad == pytest.approx(2 * math.e, rel=1e-15)


def test_an_array_of_exponents_and_a_zero_d_array():
    x = Value(1.5, "x")
    out = (x ** np.array([1.0, 3.0])).sum()  # 1.5 + 1.5**3
    out.backward()
    assert out.data == pytest.approx(1.5 + 1.5**3)
    assert x.grad == pytest.approx(1 + 3 * 1.5**2)  # d/dx (x + x^3)
    assert Value(np.array(2.0)).data == 2.0 and type(Value(np.array(2)).data) is float
    assert (x * np.array(3.0)).data == 4.5


def test_an_exponent_beyond_float64_says_so_without_naming_value_data():
    with pytest.raises(ValueError, match="beyond its range") as raised:
        Value(2.0) ** 10**400
    assert "Value(data)" not in str(raised.value)


# -- check_gradient_function quotes the rule of the entry it found wrong ------------------------


def test_the_wrong_entry_is_the_one_whose_rule_is_quoted():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]).T
    Y = np.array([[0.0, 1.0, 1.0, 1.0]])

    def loss(w, b):
        z = autograd.label(w @ X + b, "z")
        p = autograd.label(np.vectorize(lambda v: v.sigmoid())(z), "p")
        return autograd.sum((0.5 * (p - Y) ** 2).ravel().tolist())

    def mine(w, b):  # right but for one entry of dz, the third
        p = 1 / (1 + np.exp(-(w @ X + b)))
        dp = p - Y
        dz = dp * p * (1 - p)
        dz[0, 2] *= 1.5
        return {"dw": dz @ X.T, "db": dz.sum(keepdims=True), "dp": dp, "dz": dz}

    start = {"w": np.array([[0.1, 0.2]]), "b": np.array([[0.3]])}
    report = autograd.check_gradient_function(mine, loss, start, raise_exception=False)
    assert report.first_wrong.startswith("your dz is wrong (dp was right): at dz[0,2]")
    assert "d p[0,2] / d z[0,2] = sigmoid(z[0,2])" in report.first_wrong


# -- gradcheck names the wrong node of a batch too, entry by entry -----------------------------


def test_gradcheck_names_a_wrong_rule_on_a_batch_at_its_entry():
    wrong = autograd.define(
        "a_exp_b_wrong",
        lambda a, b: a * math.exp(b),
        [lambda a, b: math.exp(b), lambda a, b: math.exp(b)],  # d/db is a e^b, not e^b
    )
    a, b = Value(np.array([0.5, 2.0]), "a"), Value(np.array([0.3, -0.1]), "b")
    report = autograd.gradcheck(lambda a, b: wrong(a, b).sum(), [a, b], raise_exception=False)
    assert [row.ok for row in report.rows] == [True, True, False, False]
    expected = 0.5 * math.exp(0.3)  # d/db at the first entry, by hand
    assert report.first_wrong == (
        "v1 = a_exp_b_wrong(a, b) (operation 'a_exp_b_wrong') at a[0] = 0.5, b[0] = 0.3: its "
        f"local derivative dv1/db[0] is {math.exp(0.3):.6g} as written, {expected:.6g} by "
        "central differences of its own value"
    )


def test_where_it_goes_wrong_passes_layer_nodes_by_and_names_the_wrong_rule_beyond_them():
    # the wrong rule is a scalar's, reached through the layer nodes (rules, not numbers) and an
    # elementwise product of the layer's output: none of those may be named instead
    wrong = autograd.define("double_wrong", lambda w: 2.0 * w, [lambda w: 3.0])
    X, y = RNG.normal(size=(4, 2)), np.array([1.0, -1.0, 1.0, -1.0])
    model = nn.MLP(2, [3, 1], activation="tanh", seed=3)
    report = autograd.gradcheck(
        lambda w: nn.losses.mse(model(X) * wrong(w), y), [0.7], raise_exception=False
    )
    assert not report.passed
    assert report.first_wrong.startswith("v1 = double_wrong(w) (operation 'double_wrong') at w")
    assert "is 3 as written, 2 by central differences" in report.first_wrong


def test_a_matrix_entry_is_named_by_row_and_column():
    wrong = autograd.define("cube_wrong", lambda z: z**3, [lambda z: 2.0 * z * z])  # not 3 z^2
    X = RNG.normal(size=(3, 2))
    model = nn.MLP(2, [2], activation="tanh", seed=5)  # one layer: out is 3 x 2
    report = autograd.gradcheck(lambda s: wrong(model(X) * s).sum(), [1.3], raise_exception=False)
    assert re.search(r"at v\d+\[0,0\] = ", report.first_wrong), report.first_wrong
    bigger = Value(np.arange(1.0, 7.0).reshape(2, 3))
    out = wrong(bigger)  # your own operation on a matrix: entry by entry
    out.sum().backward()
    assert out.data.tolist() == [[1.0, 8.0, 27.0], [64.0, 125.0, 216.0]]
    assert bigger.grad.tolist() == [[2.0, 8.0, 18.0], [32.0, 50.0, 72.0]]  # as written: 2 z^2


# -- targets may hold Values (their numbers), and fit checks hinge's validation labels first ----


def test_targets_given_as_values_are_read_as_their_numbers():
    p = [Value(0.3), Value(-0.5)]
    assert nn.losses.hinge(p, [Value(1.0), -1.0]).data == pytest.approx((0.7 + 0.5) / 2)
    assert nn.losses.mse(p, [[Value(1.0)], [2.0]]).data == pytest.approx((0.49 + 6.25) / 2)
    report = autograd.gradcheck(lambda v: v[0] * v[1], [[Value(1.0), Value(2.0)]])
    assert report.passed and [row.actual for row in report.rows] == [2.0, 1.0]


def test_fit_refuses_zero_one_validation_labels_before_training():
    X, y = nn.data.moons(20, noise=0.1, seed=1)
    model = nn.MLP(2, [4, 1], seed=1)
    before = model.parameter_vector()
    with pytest.raises(ValueError, match=r"-1 or \+1, got 0.0"):
        nn.fit(model, X, nn.data.to_signed(y), loss="hinge", epochs=2, progress=False,
               validation_data=(X, y))  # fmt: skip
    assert np.array_equal(model.parameter_vector(), before)  # not one step taken


def test_sum_of_squares_of_any_array_is_one_number_and_the_n_ary_row_stays_per_sample():
    x, w = Value(np.array([1.0, -2.0, 0.5])), Value(3.0)
    assert autograd.sum_of_squares([x, w]).data == 1 + 4 + 0.25 + 9  # an L2 penalty: one number
    assert autograd.sum_of_squares([x, x]).data == 2 * (1 + 4 + 0.25)
    per_sample = autograd.nary.sum_of_squares([x, w])  # a batch's, sample by sample
    assert per_sample.data.tolist() == [10.0, 13.0, 9.25]


def test_a_wrong_rule_at_one_entry_of_a_large_batch_is_found_where_the_check_failed():
    wrong = autograd.define(
        "sq_wrong_below", lambda z: z * z, [lambda z: 2 * z if z > -5 else 3 * z]
    )
    x = np.linspace(-4.0, 4.0, 1000)
    x[500] = -6.0  # the one entry where the rule is wrong, between the 32 spread ones
    report = autograd.gradcheck(lambda a: wrong(a).sum(), [Value(x)], raise_exception=False)
    assert [row.input for row in report.rows if not row.ok] == ["a[500]"]
    assert report.first_wrong.startswith("v1 = sq_wrong_below(a) (operation 'sq_wrong_below') at")
    assert (
        "a[500] = -6.0" in report.first_wrong and "is -18 as written, -12 by" in report.first_wrong
    )
