"""Check your own work: your own operations (a row of the table from user code), where a
gradient goes wrong (the first node whose own rule is off), and the first wrong step of your
own hand-written backprop."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import autograd
from autograd import Value, check_gradient_function, gradcheck, label
from demos import mistakes

_names = (f"op{k}" for k in itertools.count())


def softplus_row(wrong: bool = False, name: str | None = None):
    slope = (lambda x: 1 / (1 + math.exp(x))) if wrong else (lambda x: 1 / (1 + math.exp(-x)))
    return autograd.define(
        name or next(_names), lambda x: math.log1p(math.exp(x)), [slope], ["sigmoid({0})"]
    )


def test_your_operation_is_a_row_shown_like_a_built_in():
    softplus = softplus_row()
    x = Value(0.5, "x")
    y = softplus(x * 2.0)
    assert y.op == softplus.__name__ and math.isclose(y.data, math.log1p(math.e))
    y.backward()
    assert math.isclose(x.grad, 2 / (1 + math.exp(-1.0)), rel_tol=1e-15)
    assert "sigmoid(v1)" in str(autograd.explain(y, x))
    assert f"{softplus.__name__}(v1)" in str(next(y.backward_steps()))
    assert softplus.__name__ in autograd.draw(y).source
    assert gradcheck(lambda x: softplus(x * 2.0), [0.5]).passed
    batch = softplus(Value(np.array([0.0, 1.0, -1.0])))  # once per sample
    assert np.allclose(batch.data, np.log1p(np.exp([0.0, 1.0, -1.0])))
    assert np.isinf(softplus(1000.0).data)  # math.exp overflows: IEEE's inf, no exception


def test_a_built_in_name_and_other_bad_rows_are_clear_errors():
    with pytest.raises(ValueError, match="already has a built-in row named 'tanh'"):
        autograd.define("tanh", math.tanh, [lambda x: 1 - math.tanh(x) ** 2])
    with pytest.raises(ValueError, match="identifier"):
        autograd.define("2x", abs, [abs])
    with pytest.raises(TypeError, match="one per operand"):
        autograd.define(next(_names), abs, [])
    with pytest.raises(ValueError, match="formula strings"):
        autograd.define(next(_names), abs, [abs], ["a", "b"])
    two = autograd.define(next(_names), lambda a, b: a * b, [lambda a, b: b, lambda a, b: a])
    with pytest.raises(TypeError, match="takes 2 operand"):
        two(Value(1.0))


def test_defining_your_operation_again_replaces_it_as_a_fix_in_a_repl_would():
    name = next(_names)
    wrong = autograd.define(name, lambda x: x * x, [lambda x: x])  # the slip: x for 2x
    assert not gradcheck(lambda x: wrong(x), [1.5], raise_exception=False).passed
    fixed = autograd.define(name, lambda x: x * x, [lambda x: 2 * x], ["2 * {0}"])
    x = Value(1.5, "x")
    y = fixed(x)
    y.backward()
    assert x.grad == 3.0 and y.op == name
    assert gradcheck(lambda x: fixed(x), [1.5]).passed
    assert "2 * x" in str(autograd.explain(y, x))
    assert autograd.ops.OPERATIONS[name].derivative(0, ["x"]) == "2 * x"
    with pytest.raises(TypeError, match=f"{name} was defined again after this function was"):
        wrong(x)  # the earlier function does not quietly run the new row
    with pytest.raises(ValueError, match=f"defined '{name}' before with 1 operand"):
        autograd.define(name, lambda a, b: a * b, [lambda a, b: b, lambda a, b: a])
    assert fixed(x).data == 2.25  # (refused: the row stays the fixed one)


def test_a_count_of_derivatives_that_is_not_one_per_operand_is_refused_when_defined():
    with pytest.raises(TypeError, match=r"value takes 2 operands but 1 derivative was given"):
        autograd.define(next(_names), lambda x, y: x * y, [lambda x, y: y])
    with pytest.raises(TypeError, match=r"value takes 1 operand but 2 derivatives were given"):
        autograd.define(next(_names), lambda x: x * x, [lambda x: 2 * x, lambda x: 0.0])
    with pytest.raises(TypeError, match=r"derivatives\[0\] takes 0 operands, but the operation"):
        autograd.define(next(_names), lambda x: x * x, [lambda: 2.0])
    with pytest.raises(TypeError, match=r"derivatives\[1\] takes 1 operand, but the operation"):
        autograd.define(next(_names), lambda x, y: x * y, [lambda x, y: y, lambda x: x])
    with pytest.raises(TypeError, match=r"derivatives must be a list of functions.*\[its deriv"):
        autograd.define(next(_names), lambda x: x * x, lambda x: 2 * x)
    # signatures that cannot say, or say "any number", are taken at their word
    biggest = autograd.define(next(_names), max, [lambda a, b: float(a > b), lambda *v: 1.0])
    assert biggest(Value(1.0), Value(2.0)).data == 2.0


def test_an_error_inside_your_function_names_the_operation_the_function_and_the_operands():
    name = next(_names)
    slip = autograd.define(name, lambda x: x * x, [lambda x: int("2x") * x])
    with pytest.raises(
        ValueError,
        match=rf"{name}: your derivatives\[0\] .* raised ValueError at "
        r"operands \(3\): invalid literal",
    ):
        slip(Value(3.0))
    with pytest.raises(ValueError, match=rf"{name}: your derivatives\[0\]"):
        gradcheck(lambda x: slip(x), [3.0])

    def own_message(x):
        raise ValueError("expected a positive learning rate")  # yours, not math's domain

    with pytest.raises(ValueError, match="your derivatives.*expected a positive learning rate"):
        autograd.define(next(_names), lambda x: x * x, [own_message])(Value(1.0))
    nothing = autograd.define(next(_names), lambda x: x * x, [lambda x: None])
    with pytest.raises(TypeError, match=r"returned None \(NoneType\) at operands \(3\), not a "):
        nothing(Value(3.0))
    broken = autograd.define(next(_names), lambda x: x.nope, [lambda x: 1.0])
    with pytest.raises(AttributeError, match=r"your value function raised AttributeError"):
        broken(Value(np.array([1.0, 2.0])))  # a batch too: once per sample

    class Coded(Exception):  # an exception of your own, whose constructor takes a code
        def __init__(self, code):
            super().__init__(f"error code {code}")
            self.code = code

    def raises(x):
        raise Coded(7)

    coded = autograd.define(next(_names), raises, [lambda x: 1.0])
    with pytest.raises(RuntimeError, match="your value function raised Coded .*code 7") as caught:
        coded(Value(1.0))
    assert caught.value.__cause__.code == 7  # yours, untouched, as the cause
    text = autograd.define(next(_names), lambda x: "1.5", [lambda x: 1.0])
    with pytest.raises(TypeError, match=r"returned the text '1.5' at operands \(1\), not a nu"):
        text(Value(1.0))
    # NumPy's ufuncs: their inputs count, not their `out`
    with pytest.raises(TypeError, match="value takes 1 operand but 2 derivatives were given"):
        autograd.define(next(_names), np.exp, [np.exp, np.exp])
    assert autograd.define(next(_names), np.exp, [np.exp])(Value(0.0)).data == 1.0
    # a nan operand that makes your function raise gives nan, as the built-in rows pass it on
    floor = autograd.define(next(_names), lambda x: float(math.floor(x)), [lambda x: 0.0])
    assert math.isnan(floor(Value(math.nan)).data)
    # Python's math outside its domain, and 1/0, are IEEE's nan and inf, as before
    log = autograd.define(next(_names), lambda x: math.log(x), [lambda x: 1 / x])
    assert math.isnan(log(Value(-1.0)).data) and math.isnan(log(Value(0.0)).local_grads[0])
    assert math.isinf(
        autograd.define(next(_names), lambda x: 10**400 * x, [lambda x: 1.0])(Value(2.0)).data
    )


def test_a_wrong_derivative_is_named_by_gradcheck():
    bad = softplus_row(wrong=True, name=next(_names))
    report = gradcheck(lambda x: (bad(x * 2.0) + x).tanh(), [0.5], raise_exception=False)
    assert not report.passed
    assert f"(operation '{bad.__name__}') at v1 = 1.0" in report.first_wrong
    assert "0.268941 as written, 0.731059 by central differences" in report.first_wrong
    with pytest.raises(autograd.GradcheckError, match="where it goes wrong"):
        gradcheck(lambda x: bad(x), [0.3])


def test_one_wrong_custom_row_among_many_right_ones_is_located():
    right = [softplus_row() for _ in range(4)]
    wrong = softplus_row(wrong=True)

    def f(x, y):
        v = right[0](x) * y
        v = right[1](v) + right[2](x * y)
        v = wrong(v * 0.5) * right[3](y)
        return (v + x).tanh()

    report = gradcheck(f, [0.4, -0.7], raise_exception=False)
    assert not report.passed and f"(operation '{wrong.__name__}')" in report.first_wrong
    assert all(f"'{r.__name__}'" not in report.first_wrong for r in right)


def test_the_first_wrong_step_of_your_backprop_is_located():
    """The perceptron tutorial's bug, in a two-layer net: the sigmoid's derivative taken at
    the output (sigma(A1)(1 - sigma(A1))) where the chain rule has A1 (1 - A1)."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(2, 5)), (rng.random((1, 5)) > 0.5) * 1.0
    start = {
        "W1": rng.normal(size=(3, 2)),
        "b1": np.zeros((3, 1)),
        "W2": rng.normal(size=(1, 3)),
        "b2": np.zeros((1, 1)),
    }
    sigmoid = np.vectorize(lambda v: v.sigmoid())

    def loss(W1, b1, W2, b2):
        A1 = label(sigmoid(label(W1 @ X + b1, "Z1")), "A1")
        A2 = sigmoid(label(W2 @ A1 + b2, "Z2"))
        return autograd.sum(((A2 - Y) ** 2).ravel().tolist()) * (0.5 / 5)

    def backprop(W1, b1, W2, b2, bug=True):
        s = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
        A1 = s(W1 @ X + b1)
        A2 = s(W2 @ A1 + b2)
        dZ2 = (A2 - Y) / 5 * A2 * (1 - A2)
        dA1 = W2.T @ dZ2
        dZ1 = dA1 * (s(A1) * (1 - s(A1)) if bug else A1 * (1 - A1))
        grads = {"dW1": dZ1 @ X.T, "db1": dZ1.sum(1, keepdims=True), "dW2": dZ2 @ A1.T}
        return {**grads, "db2": dZ2.sum(1, keepdims=True), "dZ2": dZ2, "dA1": dA1, "dZ1": dZ1}

    report = check_gradient_function(backprop, loss, start, raise_exception=False)
    assert not report.passed
    assert report.first_wrong.startswith("your dZ1 is wrong (dA1 was right)")
    assert "sigmoid(Z1[0,0]) * (1 - sigmoid(Z1[0,0]))" in report.first_wrong
    fixed = lambda **w: backprop(**w, bug=False)  # noqa: E731
    assert check_gradient_function(fixed, loss, start).passed
    # every intermediate right, one result wrong (dW1 without X's transpose's sum: halved)
    halved = lambda **w: {**fixed(**w), "dW1": fixed(**w)["dW1"] / 2}  # noqa: E731
    report = check_gradient_function(halved, loss, start, raise_exception=False)
    assert report.first_wrong.startswith("your dW1 is wrong, though every intermediate you ")
    expected = fixed(**start)["dW1"][0, 0]
    assert f"at W1[0,0] expected {expected:.6g}, got {expected / 2:.6g}" in report.first_wrong
    assert report.first_wrong.endswith("look at the step from your dZ1 to dW1")
    assert str(report).startswith("check_gradient_function FAILED: 6 mismatches (")
    # the step named is from the nearest intermediate the wrong result depends on: dW2 reads
    # dZ2, not dZ1 (which comes after it in backward order); a second wrong result is listed
    halved = lambda **w: {**fixed(**w), "dW2": fixed(**w)["dW2"] / 2}  # noqa: E731
    report = check_gradient_function(halved, loss, start, raise_exception=False)
    assert report.first_wrong.endswith("look at the step from your dZ2 to dW2")
    both = lambda **w: {**halved(**w), "dW1": fixed(**w)["dW1"] * 3}  # noqa: E731
    report = check_gradient_function(both, loss, start, raise_exception=False)
    assert report.first_wrong.startswith("your dW1 is wrong")
    assert report.first_wrong.endswith("from your dZ1 to dW1 (also wrong: dW2)")
    with pytest.raises(KeyError, match="no nodes labelled 'H'"):
        check_gradient_function(lambda **w: {**fixed(**w), "dH": 0.0}, loss, start)


def test_the_mistakes_lesson_shows_each_bug_beside_the_right_gradients(capsys):
    result = mistakes.run()
    right = result.figures["right (backward())"]
    assert right == "dL/dx = 24, dL/dy = -20"  # by hand: see the module's docstring
    bugs = [v for k, v in result.figures.items() if k[0].isdigit()]
    assert len(bugs) == 4 and all("<- wrong; caught by" in v for v in bugs)
    assert all(v.split("   <-")[0] != right for v in bugs)
    assert mistakes.main(["--no-pictures"]) == 0
