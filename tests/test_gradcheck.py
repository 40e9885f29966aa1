"""gradcheck: the engine against central differences; check_gradient_function: yours vs engine."""

import math

import numpy as np
import pytest

from autograd import GradcheckError, Value, check_gradient_function, gradcheck, ops
from autograd.ops import Operation


def test_correct_gradients_pass_and_the_report_holds_both_numbers():
    report = gradcheck(lambda x, y: x.log() * y**2, [0.5, 3.0])
    assert report.passed
    rows = {row.input: row for row in report.rows}
    # d/dx log(x) y^2 = y^2/x = 18; d/dy = 2 y log(x), by hand
    assert rows["x"].actual == pytest.approx(18.0, rel=1e-12)
    assert rows["y"].actual == pytest.approx(2 * 3.0 * math.log(0.5), rel=1e-12)
    assert rows["x"].expected == pytest.approx(18.0, rel=1e-6)
    assert report.value == pytest.approx(math.log(0.5) * 9.0)
    assert "passed" in str(report) and "numeric" in str(report)


@pytest.mark.parametrize(
    "f, point",
    [
        (lambda a: a.tanh() * a.sigmoid(), [0.3]),
        (lambda a, b: (a / b).exp() - abs(b), [0.7, -1.3]),
        (lambda a, b: a**b, [1.7, 0.6]),
        (lambda a, b, c: (a * b + c).relu() + c**3, [0.5, 2.0, -0.2]),
    ],
)
def test_engine_operations_pass(f, point):
    assert gradcheck(f, point).passed


def test_a_deliberately_wrong_derivative_is_caught_with_a_table(monkeypatch):
    real = ops.OPERATIONS["tanh"]

    def wrong(x):
        out, (local,) = real.compute(x)
        return out, (local * 1.5,)  # a wrong local derivative

    monkeypatch.setitem(
        ops.OPERATIONS, "tanh", Operation("tanh", real.expression, real.derivative, wrong)
    )
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda w, x: (w * x).tanh() + x, {"w": 0.4, "x": -1.1})
    message = str(caught.value)
    assert "2 of 2 gradients do not match" in message
    header = message.splitlines()[1].split()
    assert header == ["input", "analytic", "numeric", "difference"]
    assert {row.input for row in caught.value.report.mismatches} == {"w", "x"}
    bad = next(r for r in caught.value.report.rows if r.input == "w")
    true_dw = (1 - math.tanh(0.4 * -1.1) ** 2) * -1.1  # by hand
    assert bad.expected == pytest.approx(true_dw, rel=1e-6)
    assert bad.actual == pytest.approx(1.5 * true_dw, rel=1e-12)


def test_a_wrong_hand_made_node_is_caught_without_raising_when_asked():
    def f(x):
        out = Value(math.sin(x.data))
        out.op, out.parents, out.local_grads = "exp", (x,), (math.sin(x.data),)  # wrong: cos
        return out * 2.0

    report = gradcheck(f, [Value(0.8, "theta")], raise_exception=False)
    assert not report.passed
    assert report.rows[0].input == "theta"
    assert report.rows[0].expected == pytest.approx(2 * math.cos(0.8), rel=1e-6)


def test_tolerances_follow_atol_plus_rtol_times_numeric():
    # 1% too large: fails the default rtol=1e-3, passes rtol=2e-2
    def f(x):
        out = Value(x.data**2)
        out.op, out.parents, out.local_grads = "**2", (x,), (2.0 * x.data * 1.01,)
        return out

    assert not gradcheck(f, [3.0], raise_exception=False).passed
    assert gradcheck(f, [3.0], rtol=2e-2).passed


def test_array_inputs_become_object_arrays_of_values_for_numpy_code():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2, 3))
    W = rng.normal(size=(2, 2))
    report = gradcheck(lambda W: np.tanh(W @ X).sum(), {"W": W})
    assert report.passed
    assert [r.input for r in report.rows][:2] == ["W[0,0]", "W[0,1]"]
    # d/dW sum(tanh(W X)) = (1 - tanh(WX)^2) X^T, by NumPy
    expected = ((1 - np.tanh(W @ X) ** 2) @ X.T).ravel()
    assert [r.actual for r in report.rows] == pytest.approx(expected, rel=1e-10)


def test_batched_value_input():
    v = Value(np.array([1.0, -2.0, 0.5]), "v")
    report = gradcheck(lambda v: (v * v * v).mean(), [v])
    assert report.passed
    assert [r.actual for r in report.rows] == pytest.approx(3 * v.data**2 / 3)


def test_bad_inputs_are_clear():
    with pytest.raises(TypeError, match="inputs must be a sequence"):
        gradcheck(lambda x: x, 3.0)
    with pytest.raises(TypeError, match="input x:"):
        gradcheck(lambda x: x, ["abc"])
    with pytest.raises(ValueError, match="eps must be positive"):
        gradcheck(lambda x: x, [1.0], eps=0.0)
    with pytest.raises(TypeError, match="scalar Value"):
        gradcheck(lambda x: "no", [1.0])


# ---------------------------------------------------------------------------------------------
# Checking a hand-written gradient (the NumPy tutorial style) against the engine


def _data(seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2, 5))
    Y = (rng.random((1, 5)) > 0.5).astype(float)
    params = {
        "W1": rng.normal(size=(3, 2)) * 0.8,
        "b1": rng.normal(size=(3, 1)) * 0.1,
        "W2": rng.normal(size=(1, 3)) * 0.8,
        "b2": np.zeros((1, 1)),
    }
    return X, Y, params


def _loss(X, Y):
    """Cross-entropy of a 2-layer tanh/sigmoid network, written as NumPy on Values."""
    sigmoid = np.vectorize(lambda v: v.sigmoid(), otypes=[object])
    log = np.vectorize(lambda v: v.log(), otypes=[object])

    def loss(W1, b1, W2, b2):
        A1 = np.tanh(W1 @ X + b1)
        A2 = sigmoid(W2 @ A1 + b2)
        return -(Y * log(A2) + (1 - Y) * log(1 - A2)).sum() / X.shape[1]

    return loss


def _backward_propagation(X, Y, bug=None):
    """The textbook's hand-written backprop, in plain NumPy."""

    def gradient(W1, b1, W2, b2):
        m = X.shape[1]
        A1 = np.tanh(W1 @ X + b1)
        A2 = 1 / (1 + np.exp(-(W2 @ A1 + b2)))
        dZ2 = A2 - Y
        dW2 = dZ2 @ A1.T / m
        db2 = dZ2.sum(axis=1, keepdims=True) / m
        dZ1 = (W2.T @ dZ2) * (1 - A1**2 if bug != "derivative" else 1 - A1)
        dW1 = dZ1 @ X.T / m
        db1 = dZ1.sum(axis=1, keepdims=True) / m
        return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}

    return gradient


def test_hand_written_numpy_backprop_matches_the_engine():
    X, Y, params = _data()
    report = check_gradient_function(_backward_propagation(X, Y), _loss(X, Y), params)
    assert report.passed
    assert len(report.rows) == 3 * 2 + 3 + 3 + 1
    assert report.columns == ("yours", "engine")
    # and the engine itself agrees with central differences on the same function
    assert gradcheck(_loss(X, Y), params).passed


def test_a_bug_in_hand_written_backprop_is_caught():
    X, Y, params = _data()
    with pytest.raises(GradcheckError) as caught:
        check_gradient_function(_backward_propagation(X, Y, bug="derivative"), _loss(X, Y), params)
    bad = {row.input.split("[")[0] for row in caught.value.report.mismatches}
    assert bad <= {"W1", "b1"} and bad  # only the first layer is wrong
    assert "yours" in str(caught.value) and "engine" in str(caught.value)


def test_hand_written_gradient_mistakes_in_shape_or_names_are_clear():
    X, Y, params = _data()
    right = _backward_propagation(X, Y)

    def missing(**kw):
        grads = right(**kw)
        del grads["db2"]
        return grads

    def transposed(**kw):
        grads = right(**kw)
        grads["dW1"] = grads["dW1"].T
        return grads

    with pytest.raises(KeyError, match="no entry for 'b2'"):
        check_gradient_function(missing, _loss(X, Y), params)
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*shape \(3, 2\)"):
        check_gradient_function(transposed, _loss(X, Y), params)
    with pytest.raises(TypeError, match="mapping"):
        check_gradient_function(right, _loss(X, Y), list(params.values()))


def test_plain_names_work_as_gradient_keys():
    report = check_gradient_function(
        lambda a, b: {"a": b, "b": a},  # d(ab)/da = b, d(ab)/db = a
        lambda a, b: a * b,
        {"a": 2.0, "b": -5.0},
    )
    assert report.passed
    assert [r.expected for r in report.rows] == [-5.0, 2.0]


def test_positional_inputs_are_named_after_the_functions_parameters():
    report = gradcheck(lambda x, w, b: (x * w + b).tanh(), [2.0, -3.0, 0.5])
    assert [row.split()[0] for row in str(report).splitlines()[2:]] == ["x", "w", "b"]
    report = gradcheck(lambda *v: v[0] * v[1], [2.0, 3.0])  # no names to take: x1, x2
    assert [row.split()[0] for row in str(report).splitlines()[2:]] == ["x1", "x2"]
