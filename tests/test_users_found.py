"""What a student and an engineer found trying the project (2026-12-04), each fixed and held
here against an oracle that shares no code with the engine: central differences, numbers worked
out by hand, or the same loss by another route (per sample against layer grain)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autograd
import nn
from autograd import Value

RNG = np.random.default_rng(4)


def central(f, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d array by central differences, entry by entry."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        plus, minus = array.copy(), array.copy()
        plus[index] += eps
        minus[index] -= eps
        grad[index] = (f(plus) - f(minus)) / (2 * eps)
    return grad


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

    assert np.allclose(by_mean, central(mean_of, W.data.copy()), rtol=1e-6, atol=1e-9)


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
