"""The `Value` contract: hand-computed cases, IEEE edge cases, bad input, modes, deep graphs.

Every expected number here is worked out by hand (or with the `math` module) from the
mathematics, not copied from the engine's output.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

import autograd
from autograd import Value, detect_anomaly, no_grad, topological_order

# -- construction and the node contract ------------------------------------------------------


def test_a_new_value_is_a_leaf_with_zero_gradient():
    a = Value(3, "a")
    assert type(a.data) is float and a.data == 3.0
    assert a.grad == 0.0 and a.label == "a" and a.op == ""
    assert a.parents == () and a.local_grads == ()


@pytest.mark.parametrize(
    "make, op, parents, local_grads",
    [
        # c = a * b: dc/da = b = -3, dc/db = a = 2
        (lambda a, b: a * b, "*", "ab", (-3.0, 2.0)),
        (lambda a, b: a + b, "+", "ab", (1.0, 1.0)),
        (lambda a, b: a - b, "-", "ab", (1.0, -1.0)),
        # c = a / b: dc/da = 1/b = -1/3, dc/db = -a/b^2 = -2/9
        (lambda a, b: a / b, "/", "ab", (-1 / 3, -2 / 9)),
        # c = a ** b: dc/da = b a^(b-1) = -3/16, dc/db = a^b ln a = ln(2)/8
        (lambda a, b: a**b, "**", "ab", (-3 / 16, math.log(2) / 8)),
        (lambda a, b: -a, "neg", "a", (-1.0,)),
        # c = a ** 3: dc/da = 3 a^2 = 12
        (lambda a, b: a**3, "**3", "a", (12.0,)),
        (lambda a, b: a.exp(), "exp", "a", (math.exp(2),)),
        (lambda a, b: a.log(), "log", "a", (0.5,)),
        (lambda a, b: b.relu(), "relu", "b", (0.0,)),
        (lambda a, b: a.relu(), "relu", "a", (1.0,)),
        (lambda a, b: b.abs(), "abs", "b", (-1.0,)),
    ],
)
def test_each_operator_is_one_node_with_its_local_derivatives(make, op, parents, local_grads):
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    c = make(a, b)
    assert c.op == op
    assert c.parents == tuple({"a": a, "b": b}[name] for name in parents)
    assert len(c.local_grads) == len(local_grads)
    for got, want in zip(c.local_grads, local_grads):
        assert got == pytest.approx(want, rel=1e-15)


def test_numbers_on_either_side_become_constant_leaves_in_operand_order():
    a = Value(2.0)
    for c, value, first in [(a - 5, -3.0, a), (5 - a, 3.0, None), (1 / a, 0.5, None)]:
        assert c.data == value and len(c.parents) == 2
        constant = c.parents[1] if first is a else c.parents[0]
        assert constant.parents == () and constant is not a
    # 1 / a: d/d(1) = 1/a = 0.5, d/da = -1/a^2 = -0.25
    assert (1 / a).local_grads == (0.5, -0.25)
    # 2 ** a: a Value exponent, d/da = 2^a ln 2 = 4 ln 2
    c = 2**a
    assert c.data == 4.0 and c.parents[1] is a
    assert c.local_grads[1] == pytest.approx(4 * math.log(2), rel=1e-15)


def test_a_plus_a_keeps_both_parents_and_sums_over_paths():
    a = Value(1)
    b = a + a
    assert b.parents == (a, a) and b.parents[0] is a and b.parents[1] is a
    c = b + b
    c.backward()
    assert a.grad == 4.0 and b.grad == 2.0


def test_neuron_by_hand():
    # o = tanh(x1 w1 + x2 w2 + b) with the classic numbers; n = 0.8813735870195432 so o = 1/sqrt(2)
    x1, x2, w1, w2 = Value(2.0, "x1"), Value(0.0, "x2"), Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    o.backward()
    assert o.data == pytest.approx(1 / math.sqrt(2), abs=1e-12)
    do_dn = 1 - 0.5  # 1 - tanh^2 = 1 - 1/2
    assert b.grad == pytest.approx(do_dn, abs=1e-12)
    assert w1.grad == pytest.approx(do_dn * 2.0, abs=1e-12)
    assert x1.grad == pytest.approx(do_dn * -3.0, abs=1e-12)
    assert w2.grad == pytest.approx(0.0, abs=1e-12)
    assert x2.grad == pytest.approx(do_dn * 1.0, abs=1e-12)
    assert repr(o) == "Value(data=0.7071, grad=1.0, label='o')"


def test_repr_reads_like_the_issue():
    o = Value(-1 / math.sqrt(2), "o")
    o.grad = 1.0
    assert repr(o) == "Value(data=-0.7071, grad=1.0, label='o')"
    assert repr(Value(2)) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(math.inf)) == "Value(data=inf, grad=0.0)"


def test_sum_and_mean_nodes():
    xs = [Value(v) for v in (1.0, -2.0, 4.5)]
    s = autograd.sum(xs)
    assert s.op == "sum" and s.parents == tuple(xs) and s.local_grads == (1.0, 1.0, 1.0)
    assert s.data == 3.5
    m = autograd.mean(xs)
    m.backward()
    assert m.data == pytest.approx(3.5 / 3)
    assert [x.grad for x in xs] == pytest.approx([1 / 3] * 3)
    assert autograd.sum([2.0, Value(1.0)]).data == 3.0  # numbers are accepted
    with pytest.raises(ValueError, match="at least one"):
        autograd.sum([])


@pytest.mark.parametrize("activation", ["linear", "relu", "tanh", "sigmoid"])
def test_linear_is_one_node_equal_to_the_neuron_of_small_nodes(activation):
    ws = [Value(0.5), Value(-1.5), Value(2.0)]
    xs = [Value(1.0), Value(0.25), Value(-0.75)]
    b = Value(0.125)
    # z = 0.125 + 0.5 - 0.375 - 1.5 = -1.25
    fused = autograd.linear(ws, xs, b, activation)
    assert len(fused.parents) == 7 and fused.parents == (*ws, *xs, b)
    fused.backward()
    fused_grads = [v.grad for v in (*ws, *xs, b)]
    for v in (*ws, *xs, b):
        v.zero_grad()
    z = b + ws[0] * xs[0] + ws[1] * xs[1] + ws[2] * xs[2]
    small = z if activation == "linear" else getattr(z, activation)()
    small.backward()
    assert z.data == -1.25
    assert fused.data == pytest.approx(small.data, rel=1e-15, abs=1e-300)
    assert fused_grads == pytest.approx([v.grad for v in (*ws, *xs, b)], rel=1e-12, abs=1e-300)


def test_linear_rejects_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        autograd.linear([Value(1)], [Value(1)], 0.0, "softmax")
    with pytest.raises(ValueError, match="2 weights but 1 inputs"):
        autograd.linear([Value(1), Value(2)], [Value(1)])


# -- IEEE float semantics --------------------------------------------------------------------


def same(x: float, y: float) -> bool:
    """Equal as IEEE values: nan matches nan, and the sign of zero and of infinity counts."""
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y and math.copysign(1, x) == math.copysign(1, y)


@pytest.mark.parametrize(
    "make, value, grads",
    [
        # exp(1000) overflows to inf; d/dx = exp(x) = inf
        (lambda: Value(1000).exp(), math.inf, (math.inf,)),
        (lambda: Value(-1000).exp(), 0.0, (0.0,)),
        # log(0) = -inf, d/dx = 1/0 = inf; log(-1) = nan, d/dx = 1/-1 = -1
        (lambda: Value(0).log(), -math.inf, (math.inf,)),
        (lambda: Value(-1).log(), math.nan, (-1.0,)),
        # 1/0 = inf: d/da = 1/b = inf, d/db = -a/b^2 = -inf
        (lambda: Value(1) / Value(0), math.inf, (math.inf, -math.inf)),
        (lambda: Value(-1) / Value(0), -math.inf, (math.inf, math.inf)),
        (lambda: Value(0) / Value(0), math.nan, (math.inf, math.nan)),
        # (-8) ** (1/3) is nan, never complex; so is its derivative
        (lambda: Value(-8) ** (1 / 3), math.nan, (math.nan,)),
        (lambda: Value(-8) ** Value(1 / 3), math.nan, (math.nan, math.nan)),
        # (-8) ** 3 is fine: -512, d/dx = 3 * 64
        (lambda: Value(-8) ** 3, -512.0, (192.0,)),
        (lambda: Value(10.0) ** 400, math.inf, (math.inf,)),
        (lambda: Value(-10.0) ** 401, -math.inf, (math.inf,)),
        (lambda: Value(0.0) ** -1, math.inf, (-math.inf,)),
        (lambda: Value(-0.0) ** -1, -math.inf, (-math.inf,)),
        # d/dx sqrt(x) at 0 is inf
        (lambda: Value(0.0) ** 0.5, 0.0, (math.inf,)),
        # x ** 0 is 1 everywhere, with derivative 0 (also at x = 0)
        (lambda: Value(0.0) ** 0, 1.0, (0.0,)),
        # 0 ** y: d/dy taken as its limit 0 (as in PyTorch), not 0 * -inf = nan
        (lambda: Value(0.0) ** Value(2.0), 0.0, (0.0, 0.0)),
        (lambda: Value(1e308) * 10, math.inf, (10.0, 1e308)),
        (lambda: Value(math.inf) - math.inf, math.nan, (1.0, -1.0)),
        (lambda: Value(math.nan) ** 2, math.nan, (math.nan,)),
        (lambda: Value(2.0) ** math.nan, math.nan, (math.nan,)),
        (lambda: Value(2.0) ** math.inf, math.inf, (math.inf,)),
        # the formula n * x^(n-1) = inf * 0 is nan, as in PyTorch
        (lambda: Value(0.5) ** math.inf, 0.0, (math.nan,)),
        (lambda: Value(math.nan).relu(), math.nan, (0.0,)),
        (lambda: Value(-0.0).abs(), 0.0, (0.0,)),
    ],
)
def test_ieee_values_and_local_derivatives(make, value, grads):
    c = make()
    assert same(c.data, value), c.data
    assert len(c.local_grads) >= len(grads)
    for got, want in zip(c.local_grads, grads):
        assert same(got, want), (c.local_grads, grads)


@pytest.mark.parametrize(
    "x", [-1e308, -1000.0, -746.0, -710.0, -40.0, -1e-300, 0.0, 1e-300, 40.0, 710.0, 1e308]
)
def test_sigmoid_and_tanh_never_overflow_and_stay_exact(x):
    s = Value(x).sigmoid()
    t = Value(x).tanh()
    assert 0.0 <= s.data <= 1.0 and -1.0 <= t.data <= 1.0
    # sigmoid(x) = 1 / (1 + e^-x); for x < 0 the same is e^x / (1 + e^x), exact when e^x is tiny
    e = math.exp(-abs(x)) if abs(x) < 1000 else 0.0
    want = 1 / (1 + e) if x >= 0 else e / (1 + e)
    assert s.data == pytest.approx(want, rel=1e-15, abs=0)
    assert t.data == pytest.approx(math.tanh(x), rel=1e-15, abs=0)
    # sigmoid(-x) = 1 - sigmoid(x): symmetric, finite gradients
    assert Value(-x).sigmoid().data == pytest.approx(1 - s.data, abs=1e-16)
    for node in (s, t):
        (local,) = node.local_grads
        assert math.isfinite(local) and 0.0 <= local <= 1.0
    # the gradient at x: sigmoid' = s (1 - s) <= 1/4, tanh' = 1 - t^2 <= 1
    assert s.local_grads[0] == pytest.approx(s.data * (1 - s.data), abs=1e-17)


def test_large_inputs_give_zero_gradient_not_nan():
    for x in (-1e308, 1e308):
        for node in (Value(x, "x").sigmoid(), Value(x, "x").tanh()):
            node.backward()
            assert node.parents[0].grad == 0.0


def close_to_numpy(got: float, want: float) -> bool:
    """Same IEEE class (nan, +-inf, zero) and within 2 ulp: NumPy's pow may round differently.

    The sign of zero is not compared: NumPy computes power(-0.0, 0.5) as sqrt(-0.0) = -0.0,
    where C's pow (and so the table) gives +0.0.
    """
    if math.isnan(want) or math.isinf(want) or want == 0.0:
        return same(got, want) or got == want == 0.0
    return math.isclose(got, want, rel_tol=4.5e-16, abs_tol=0.0)


def test_scalar_semantics_match_numpy_elementwise():
    """The table's scalar arithmetic gives what NumPy gives for float64 (an independent oracle)."""
    specials = [0.0, -0.0, 1.0, -1.0, 2.5, -8.0, 1 / 3, 0.5, 700.0, -745.5, 1e308, -1e308]
    specials += [5e-324, math.inf, -math.inf, math.nan, 3.0, -3.0]
    binary = {
        "+": (lambda a, b: a + b, np.add),
        "-": (lambda a, b: a - b, np.subtract),
        "*": (lambda a, b: a * b, np.multiply),
        "/": (lambda a, b: a / b, np.divide),
        "**": (lambda a, b: a**b, np.power),
    }
    unary = {
        "exp": (Value.exp, np.exp),
        "log": (Value.log, np.log),
        "tanh": (Value.tanh, np.tanh),
        "abs": (Value.abs, np.abs),
        "neg": (Value.__neg__, np.negative),
    }
    with np.errstate(all="ignore"):
        for name, (ours, reference) in binary.items():
            for a in specials:
                for b in specials:
                    if name == "**" and b == 0.5:
                        continue  # NumPy: x**0.5 is sqrt(x), nan at -inf where C's pow gives inf
                    want = float(reference(np.float64(a), np.float64(b)))
                    got = ours(Value(a), Value(b)).data
                    assert close_to_numpy(got, want), f"{a!r} {name} {b!r}: {got!r}, {want!r}"
                    if name == "**":  # a number exponent: the one-parent node
                        got = (Value(a) ** b).data
                        assert close_to_numpy(got, want), f"{a!r} ** {b!r} (number)"
        for name, (ours, reference) in unary.items():
            for a in specials:
                want = float(reference(np.float64(a)))
                assert close_to_numpy(ours(Value(a)).data, want), f"{name}({a!r})"


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, type_name",
    [("abc", "str"), (None, "NoneType"), (1j, "complex"), ([1.0], "list"), (object(), "object")],
)
def test_bad_data_raises_type_error_naming_the_type(bad, type_name):
    with pytest.raises(TypeError, match=rf"\({type_name}\)"):
        Value(bad)
    with pytest.raises(TypeError, match=type_name):
        Value(1.0) + bad
    with pytest.raises(TypeError, match=type_name):
        bad * Value(1.0)
    with pytest.raises(TypeError, match=type_name):
        Value(1.0) ** bad


def test_an_array_of_three_or_more_dimensions_is_refused():
    with pytest.raises(TypeError, match="3-D"):
        Value(np.zeros((2, 2, 2)))
    assert Value(np.zeros((2, 3))).data.shape == (2, 3)  # a layer's matrix is taken


def test_a_value_of_a_value_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="Value"):
        Value(Value(1.0))


def test_label_must_be_a_string():
    with pytest.raises(TypeError, match="int"):
        Value(1.0, label=3)


def test_numpy_and_int_scalars_are_stored_as_float():
    for x in (np.float64(1.5), np.int64(3), np.float32(0.5), 7):
        assert type(Value(x).data) is float


# -- backward --------------------------------------------------------------------------------


def test_backward_twice_leaves_accumulate_and_the_rest_shows_the_latest_pass():
    a, b = Value(2.0, "a"), Value(3.0, "b")
    c = a * b  # dc/da = 3, dc/db = 2
    d = c * c  # dd/dc = 2c = 12
    d.backward()
    assert (a.grad, b.grad, c.grad, d.grad) == (36.0, 24.0, 12.0, 1.0)
    d.backward()
    assert (a.grad, b.grad) == (72.0, 48.0)  # leaves accumulate
    assert (c.grad, d.grad) == (12.0, 1.0)  # non-leaves: the latest pass
    a.zero_grad()
    b.zero_grad()
    d.backward()
    assert (a.grad, b.grad) == (36.0, 24.0)


def test_backward_of_an_inner_node_only_touches_its_subgraph():
    a = Value(2.0)
    c = a * a  # dc/da = 2a = 4
    e = c.exp()
    c.backward()
    assert a.grad == 4.0 and c.grad == 1.0 and e.grad == 0.0


def test_backward_on_a_leaf_accumulates_its_own_gradient():
    a = Value(5.0)
    a.backward()
    a.backward()
    assert a.grad == 2.0


def test_a_million_deep_chain_at_the_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    one = Value(1.0, "one")
    x = Value(0.0, "x")
    v = x
    for _ in range(1_000_000):
        v = v + one
    v.backward()
    assert v.data == 1_000_000.0
    assert x.grad == 1.0 and one.grad == 1_000_000.0
    assert len(topological_order(v)) == 1_000_002
    del v  # freeing a million-deep chain must not overflow the C stack either


# -- modes -----------------------------------------------------------------------------------


def test_no_grad_records_no_parents_and_restores():
    a = Value(2.0)
    assert autograd.is_recording()
    with no_grad():
        assert not autograd.is_recording()
        b = a * 3 + 1
        c = autograd.linear([a], [a], a, "tanh")
    assert autograd.is_recording()
    assert b.data == 7.0 and b.parents == () and b.local_grads == () and b.op == ""
    assert c.parents == ()
    d = a * 3
    assert d.parents[0] is a


def test_no_grad_restores_after_an_exception():
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError("boom")
    assert autograd.is_recording()


def test_detect_anomaly_names_the_forward_operation_inputs_and_value():
    x = Value(0.0, "x")
    with detect_anomaly():
        with pytest.raises(FloatingPointError) as error:
            x.log()
    message = str(error.value)
    assert "'log'" in message and "x=0.0" in message and "-inf" in message
    with detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"'/'.*p=1\.0.*q=0\.0.*inf"):
            Value(1.0, "p") / Value(0.0, "q")
    x.log()  # outside: no error, just -inf


def test_detect_anomaly_backward_raises():
    x = Value(1e-200, "x")
    with pytest.raises(FloatingPointError) as error:
        with detect_anomaly():
            y = x.log()
            y.label = "y"
            (y * 1e200).backward()
    message = str(error.value)
    assert "backward" in message and "x=" in message and "inf" in message and "'log'" in message
    assert autograd.value._modes.anomaly is None  # the mode is switched off again


def test_gc_paused_restores_the_collector():
    import gc

    assert gc.isenabled()
    with autograd.gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.parametrize("x", [-350.0, -40.0, -20.0, -3.0, -1e-8, 0.0, 0.7, 19.5, 37.5, 350.0])
def test_tanh_and_sigmoid_slopes_are_accurate_far_into_the_tails(x):
    # tanh'(x) = 1 / cosh(x)^2; 1 - tanh(x)^2 would cancel to 0 for |x| > 19
    assert Value(x).tanh().local_grads[0] == pytest.approx(1 / math.cosh(x) ** 2, rel=1e-14)
    # sigmoid'(x) = sigmoid'(-x) = s (1 - s) at -|x|, where s = e/(1+e), 1-s = 1/(1+e) are exact
    e = math.exp(-abs(x))
    want = (e / (1 + e)) * (1 / (1 + e))
    assert Value(x).sigmoid().local_grads[0] == pytest.approx(want, rel=1e-14)
    for activation, slope in [("tanh", 1 / math.cosh(x) ** 2), ("sigmoid", want)]:
        fused = autograd.linear([Value(1.0)], [Value(x)], 0.0, activation)
        assert fused.local_grads[2] == pytest.approx(slope, rel=1e-14)


def test_graphs_hold_no_reference_cycles_so_reference_counting_frees_them():
    import gc
    import weakref

    with autograd.gc_paused():  # nothing may depend on the cyclic collector
        x = Value(0.5, "x")
        y = (x * x + x.tanh()) / (1 + x.exp())
        z = autograd.linear([y, x], [x, y], y, "sigmoid") * y
        z.backward()
        inner = weakref.ref(y)
        root = weakref.ref(z)
        del y, z
        assert inner() is None and root() is None
    assert gc.isenabled()


def test_detect_anomaly_changes_nothing_on_a_clean_graph():
    def grads() -> list[float]:
        x, w = Value(0.3, "x"), Value(-1.2, "w")
        out = ((x * w).sigmoid() + (x / w).tanh() - x**3 + 2**w).log()
        out.backward()
        return [x.grad, w.grad]

    plain = grads()
    with detect_anomaly():
        assert grads() == plain
    # the same by hand: d/dx log(u) = u'/u with u = sigmoid(xw) + tanh(x/w) - x^3 + 2^w
    x, w = 0.3, -1.2
    s, t = 1 / (1 + math.exp(-x * w)), math.tanh(x / w)
    u = s + t - x**3 + 2**w
    du_dx = s * (1 - s) * w + (1 - t * t) / w - 3 * x**2
    du_dw = s * (1 - s) * x + (1 - t * t) * (-x / w**2) + 2**w * math.log(2)
    assert plain == pytest.approx([du_dx / u, du_dw / u], rel=1e-13)


def test_an_int_beyond_float64_is_a_clear_error():
    with pytest.raises(ValueError, match="1329 bits is beyond its range"):
        Value(10**400)
    with pytest.raises(ValueError, match="beyond its range"):
        Value(10**5000)  # too long even to print in full
    with pytest.raises(ValueError, match="beyond its range"):
        Value(2.0) * -(10**400)
    assert Value(2**1000).data == 2.0**1000  # large but representable: exact
