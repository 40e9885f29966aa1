"""Every operation's value and local derivatives against independent oracles, over wide ranges.

The oracles: the `math` module for values, and central differences
    f'(x) ~ (f(x + h) - f(x - h)) / 2h
of that plain-float function for derivatives (step h relative to |x|). Hypothesis draws inputs
across many orders of magnitude; domains avoid only the points where a derivative does not
exist (kinks, poles) and where the function overflows.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value

EPS = 2.0**-52
settings.register_profile("engine", max_examples=150, deadline=None, derandomize=True)
PROFILE = settings.get_profile("engine")


def reals(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def magnitudes(low: float, high: float) -> st.SearchStrategy[float]:
    """|x| spread evenly over orders of magnitude in [low, high], either sign."""
    return st.tuples(reals(math.log(low), math.log(high)), st.booleans()).map(
        lambda t: math.copysign(math.exp(t[0]), -1.0 if t[1] else 1.0)
    )


def positive(low: float, high: float) -> st.SearchStrategy[float]:
    return reals(math.log(low), math.log(high)).map(math.exp)


def central_difference(f: Callable[..., float], args: list[float], i: int) -> tuple[float, float]:
    """(estimate of d f / d args[i], the size of its rounding error)."""
    h = 1e-5 * abs(args[i]) or 1e-5
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    f_up, f_down = f(*up), f(*down)
    scale = max(abs(f_up), abs(f_down), abs(f(*args)))
    return (f_up - f_down) / (2 * h), 64 * EPS * scale / h


def check_operation(
    make: Callable[..., Value], f: Callable[..., float], args: list[float], scale: float = 0.0
):
    """The node made by `make` from Values of `args` against `f` and its central differences.

    `scale`: the size the value's rounding error is relative to, when larger than the value
    (a sum rounds relative to the sum of its terms' sizes).
    """
    values = [Value(a) for a in args]
    node = make(*values)
    expected = f(*args)
    assert abs(node.data - expected) <= 1e-13 * max(abs(expected), scale) + 1e-300
    # the node's local derivatives must also be what backward delivers to each operand
    node.backward()
    for i, value in enumerate(values):
        estimate, rounding = central_difference(f, args, i)
        grad = value.grad
        if any(parent is value for parent in node.parents):  # one node: grad is its local
            assert grad == node.local_grads[[id(p) for p in node.parents].index(id(value))]
        assert math.isfinite(grad)
        assert abs(grad - estimate) <= 1e-5 * abs(grad) + rounding + 1e-300, (args, i, grad)


@PROFILE
@given(magnitudes(1e-100, 1e100), magnitudes(1e-100, 1e100))
def test_add_sub_mul(a, b):
    check_operation(lambda x, y: x + y, lambda x, y: x + y, [a, b])
    check_operation(lambda x, y: x - y, lambda x, y: x - y, [a, b])
    check_operation(lambda x, y: x * y, lambda x, y: x * y, [a, b])


@PROFILE
@given(magnitudes(1e-100, 1e100), magnitudes(1e-100, 1e100))
def test_division(a, b):
    check_operation(lambda x, y: x / y, lambda x, y: x / y, [a, b])


@PROFILE
@given(magnitudes(1e-3, 1e3), st.integers(-6, 6))
def test_power_with_an_integer_exponent_any_sign_of_base(x, n):
    check_operation(lambda v: v**n, lambda v: v**n, [x])
    assert (Value(x) ** n).parents and len((Value(x) ** n).parents) == 1


@PROFILE
@given(positive(1e-3, 1e3), reals(-5, 5))
def test_power_with_a_real_exponent(x, n):
    check_operation(lambda v: v**n, lambda v: math.pow(v, n), [x])


@PROFILE
@given(positive(1e-2, 1e2), reals(-6, 6))
def test_power_with_a_value_exponent(x, y):
    check_operation(lambda v, w: v**w, math.pow, [x, y])


@PROFILE
@given(positive(1e-2, 1e2), reals(-50, 50))
def test_number_to_a_value_power(n, y):
    check_operation(lambda w: n**w, lambda w: math.pow(n, w), [y])


@PROFILE
@given(reals(-700, 700))
def test_exp(x):
    check_operation(Value.exp, math.exp, [x])


@PROFILE
@given(positive(1e-300, 1e300))
def test_log(x):
    check_operation(Value.log, math.log, [x])


def reference_sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x > -700 else math.exp(x)


@PROFILE
@given(reals(-700, 700))
def test_tanh_and_sigmoid(x):
    check_operation(Value.tanh, math.tanh, [x])
    check_operation(Value.sigmoid, reference_sigmoid, [x])


@PROFILE
@given(magnitudes(1e-3, 1e300))
def test_relu_abs_neg(x):
    check_operation(Value.relu, lambda v: max(v, 0.0), [x])
    check_operation(Value.abs, abs, [x])
    check_operation(lambda v: -v, lambda v: -v, [x])


activations = {
    "linear": lambda z: z,
    "relu": lambda z: max(z, 0.0),
    "tanh": math.tanh,
    "sigmoid": reference_sigmoid,
}


@PROFILE
@given(
    st.sampled_from(sorted(activations)),
    st.lists(st.tuples(reals(-3, 3), reals(-3, 3)), min_size=0, max_size=5),
    reals(-3, 3),
)
def test_linear_with_each_activation(activation, pairs, bias):
    n = len(pairs)
    args = [w for w, _ in pairs] + [x for _, x in pairs] + [bias]

    def neuron(*a: float) -> float:
        return activations[activation](a[-1] + math.fsum(a[i] * a[n + i] for i in range(n)))

    z = bias + math.fsum(w * x for w, x in pairs)
    if activation == "relu" and abs(z) < 1e-3:
        return  # no derivative at the kink
    check_operation(
        lambda *v: autograd.linear(v[:n], v[n : 2 * n], v[-1], activation), neuron, args
    )


@PROFILE
@given(st.lists(magnitudes(1e-6, 1e6), min_size=1, max_size=30))
def test_n_ary_sum(terms):
    size = math.fsum(map(abs, terms))
    check_operation(lambda *v: autograd.sum(v), lambda *a: math.fsum(a), terms, size)


@PROFILE
@given(st.lists(magnitudes(1e-6, 1e6), min_size=1, max_size=30))
def test_mean(terms):
    size = math.fsum(map(abs, terms)) / len(terms)
    check_operation(lambda *v: autograd.mean(v), lambda *a: math.fsum(a) / len(a), terms, size)
