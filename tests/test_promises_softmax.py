"""Softmax, log-softmax and one sample's cross-entropy are right wherever the true value is
representable, huge equal logits included (issue 22, item 1).

Oracles: 60-digit decimals from the float logits as they are (exact inputs), the shift
invariance softmax(z + c) = softmax(z) at constants c where z + c is exact, and central
differences (`gradcheck`) at moderate logits.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, gradcheck, log_softmax, softmax
from autograd.softmax import cross_entropy_term

TINY = 2.2250738585072014e-308


def reference(z: list[float]) -> tuple[list[Decimal], list[Decimal]]:
    """(log softmax(z), softmax(z)) to 60 digits, from the exact values of the float logits:
    log softmax(z)_i = (z_i - m) - ln(sum_j exp(z_j - m)), each z_j - m exact (the floats'
    decimals hold at most about 770 digits; m + ln(...) alone would round ln 2 away at 1e300),
    and ln(1 + r) for a tiny r by its series."""
    with localcontext() as context:
        context.prec = 60
        exact = [Decimal(x) for x in z]
        m = max(exact)
        context.prec = 800
        differences = [d - m for d in exact]  # exact
        context.prec = 60
        others = list(differences)
        others.remove(Decimal(0))  # the largest term, exp(0) = 1
        rest = sum(d.exp() for d in others)
        if rest < Decimal("1e-25"):  # ln(1 + r) = r - r^2/2 + r^3/3: 1 + r would round
            total = rest - rest * rest / 2 + rest * rest * rest / 3
        else:
            total = (1 + rest).ln()
        logs = [d - total for d in differences]
        return logs, [value.exp() for value in logs]


def close(got: float, want: Decimal, rel: float, abs_: float = 0.0) -> bool:
    want_float = float(want)
    if abs(want_float) < TINY:  # the true value is below the normal floats: any tiny answer
        return abs(got - want_float) <= max(abs_, 1e-300)
    return abs(got - want_float) <= rel * abs(want_float) + abs_


def build(kind: str, z: list[float], target: int) -> tuple[list[Value], Value]:
    """The logits as leaves and, from them, the node of `kind` for class `target`."""
    leaves = [Value(x, f"z{i}") for i, x in enumerate(z)]
    if kind == "log_softmax":
        node = log_softmax(leaves)[target]
    elif kind == "softmax":
        node = softmax(leaves)[target]
    else:
        node = cross_entropy_term(leaves, target)
    return leaves, node


def expected(kind: str, z: list[float], target: int) -> tuple[Decimal, list[Decimal]]:
    """The oracle's value and gradient (d/dz_j for every j) of the node of `kind`."""
    logs, probabilities = reference(z)
    with localcontext() as context:
        context.prec = 60
        one = [Decimal(int(j == target)) for j in range(len(z))]
        if kind == "log_softmax":
            return logs[target], [o - p for o, p in zip(one, probabilities)]
        if kind == "softmax":
            pt = probabilities[target]
            return pt, [pt * (o - p) for o, p in zip(one, probabilities)]
        return -logs[target], [p - o for o, p in zip(one, probabilities)]


def error_bound(z: list[float], target: int) -> float:
    """How far any float64 method that first rounds z_j - max may be from log softmax(z)_t:
    the rounding d_j of each z_j - max moves log softmax_t by d_t + sum_j p_j d_j (exactly,
    from the decimals), plus a few units in the last place of the result and of logsumexp."""
    logs, probabilities = reference(z)
    largest = max(z)
    rounded = [Decimal(x - largest) - (Decimal(x) - Decimal(largest)) for x in z]  # d_j
    moved = abs(rounded[target]) + sum(p * abs(d) for p, d in zip(probabilities, rounded))
    total = abs(Decimal(z[target]) - Decimal(largest) - logs[target])  # logsumexp(z - max)
    return float(2 * moved) + 1e-15 * (abs(float(logs[target])) + float(total))


def assert_right(kind: str, z: list[float], target: int, value: float, grads: list[float]):
    want, want_grads = expected(kind, z, target)
    bound = error_bound(z, target)
    if kind == "softmax":  # exp(log p): log p's error is p's relative error
        assert close(value, want, bound + 1e-15), (kind, z, target, value, float(want))
        scale = float(want)
        for g, w in zip(grads, want_grads):
            assert close(g, w, 1e-13, 4e-16 * scale), (kind, z, target, grads, want_grads)
        return
    assert close(value, want, 0.0, bound), (kind, z, target, value, float(want), bound)
    for g, w in zip(grads, want_grads):  # every entry within [-1, 1]
        assert close(g, w, 0.0, 4e-16), (kind, z, target, grads, [float(w) for w in want_grads])


def huge_logits():
    """k logits around a base of any size, a few units in the last place apart or equal."""
    bases = st.sampled_from([0.0, 1e15, -1e15, 1e16, -1e16, 2.0**60, 1e300, -1e300, 1.5e308])

    def around(base: float):
        step = math.ulp(base) if base else 1.0
        offsets = st.lists(st.integers(-40, 40), min_size=2, max_size=5)
        return offsets.map(lambda ks: [base + k * step for k in ks])

    return bases.flatmap(around)


logits = (
    huge_logits()
    | st.lists(st.floats(-60, 60), min_size=2, max_size=5)
    | st.lists(st.floats(-1e308, 1e308), min_size=2, max_size=4)
)
KINDS = ["log_softmax", "softmax", "cross_entropy_term"]


@settings(max_examples=300, deadline=None)
@given(logits, st.integers(0, 4), st.sampled_from(KINDS))
def test_scalar_logits_against_60_digit_decimals(z, pick, kind):
    target = pick % len(z)
    leaves, node = build(kind, z, target)
    node.backward()
    assert_right(kind, z, target, node.data, [leaf.grad for leaf in leaves])


@settings(max_examples=60, deadline=None)
@given(st.lists(logits, min_size=1, max_size=4), st.integers(0, 4), st.sampled_from(KINDS))
def test_batched_logits_are_each_samples_scalar_answer(samples, pick, kind):
    k = min(len(z) for z in samples)
    samples = [z[:k] for z in samples]
    target = pick % k
    columns = [Value(np.array([z[i] for z in samples])) for i in range(k)]
    if kind == "log_softmax":
        node = log_softmax(columns)[target]
    elif kind == "softmax":
        node = softmax(columns)[target]
    else:
        node = cross_entropy_term(columns, target)
    node.sum().backward()
    for s, z in enumerate(samples):
        assert_right(kind, z, target, node.data[s], [column.grad[s] for column in columns])


@pytest.mark.parametrize("big", [1e15, 1e16, -1e16, 1e300, 1.5e308, -1.7e308])
@pytest.mark.parametrize("k", [2, 3, 7])
def test_equal_huge_logits_give_one_over_k(big, k):
    leaves = [Value(big) for _ in range(k)]
    probabilities = softmax(leaves)
    logs = log_softmax(leaves)
    loss = cross_entropy_term(leaves, 0)
    loss.backward()
    assert all(math.isclose(p.data, 1 / k, rel_tol=1e-15) for p in probabilities)
    assert all(math.isclose(v.data, -math.log(k), rel_tol=1e-15) for v in logs)
    assert math.isclose(loss.data, math.log(k), rel_tol=1e-15)
    want = [1 / k - 1] + [1 / k] * (k - 1)  # softmax - one_hot(0), by hand
    assert all(math.isclose(v.grad, w, rel_tol=1e-14) for v, w in zip(leaves, want))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(-12, 12), min_size=2, max_size=5),
    st.sampled_from([1e15, -1e15, 1e16, -1e16, 2.0**53, 4e16]),
    st.integers(0, 4),
    st.sampled_from(KINDS),
)
def test_a_huge_shift_changes_nothing_and_gradients_are_central_differences(ks, c, pick, kind):
    """softmax(z + c) = softmax(z): at moderate z, central differences check the gradient;
    at z + c (exact: z a multiple of the unit in the last place of c) it must be the same."""
    step = math.ulp(c)
    z = [k * step for k in ks]
    target = pick % len(z)
    moved = [x + c for x in z]
    assert all((x + c) - c == x for x in z)  # z + c is exact
    if max(abs(x) for x in z) < 40:
        gradcheck(lambda *v: build_from(kind, list(v), target), z)
    near, node = build(kind, z, target)
    node.backward()
    far, moved_node = build(kind, moved, target)
    moved_node.backward()
    scale = 1.0 if kind != "softmax" else node.data
    assert math.isclose(moved_node.data, node.data, rel_tol=1e-14, abs_tol=1e-300)
    for a, b in zip(near, far):
        assert math.isclose(a.grad, b.grad, rel_tol=1e-13, abs_tol=1e-15 * scale + 1e-300)


def build_from(kind: str, values: list[Value], target: int) -> Value:
    if kind == "log_softmax":
        return log_softmax(values)[target]
    if kind == "softmax":
        return softmax(values)[target]
    return cross_entropy_term(values, target)


def test_the_report_examples():
    assert [p.data for p in softmax([Value(1e16), Value(1e16)])] == [0.5, 0.5]
    assert [p.data for p in softmax([Value(1e15), Value(1e15)])] == [0.5, 0.5]
    assert [v.data for v in log_softmax([Value(1e16), Value(1e16)])] == [-math.log(2)] * 2
    z = [Value(1e16), Value(1e16)]
    loss = cross_entropy_term(z, 1)
    loss.backward()
    assert loss.data == math.log(2) and [v.grad for v in z] == [0.5, -0.5]


def test_a_confident_right_answer_keeps_its_tiny_loss():
    """-log softmax at [0, -40] is log(1 + e^-40) = 4.25e-18, not 0 (log1p, not log)."""
    loss = cross_entropy_term([Value(0.0), Value(-40.0)], 0)
    assert math.isclose(loss.data, math.log1p(math.exp(-40.0)), rel_tol=1e-15)
    total = autograd.logsumexp([Value(0.0), Value(-40.0)])
    assert math.isclose(total.data, 4.248354255291589e-18, rel_tol=1e-15)


def test_ieee_answers_at_infinite_and_nan_logits():
    """As PyTorch's log_softmax: inf - inf is nan; -inf is a class of probability 0."""
    assert [v.data for v in softmax([Value(-math.inf), Value(1.0)])] == [0.0, 1.0]
    values = [v.data for v in log_softmax([Value(math.inf), Value(1.0)])]
    assert math.isnan(values[0]) and values[1] == -math.inf
    assert all(math.isnan(v.data) for v in softmax([Value(math.nan), Value(1.0)]))


def test_the_shift_is_a_constant_the_tools_show():
    z = [Value(1e16, "a"), Value(1e16, "b")]
    loss = cross_entropy_term(z, 0)
    assert loss.op == "-" and loss.parents[1].parents[1].label == "max"
    shift = loss.parents[1].parents[1]
    assert not shift.requires_grad and shift.data == 1e16
    text = "\n".join(map(str, loss.backward_steps()))
    assert "a - max" in text and "max: a constant" in text


def test_bad_targets_are_clear_errors():
    z = [Value(1.0), Value(2.0)]
    with pytest.raises(ValueError, match="target 2 is out of range for 2 classes"):
        cross_entropy_term(z, 2)
    with pytest.raises(TypeError, match="class index"):
        cross_entropy_term(z, True)
    with pytest.raises(TypeError, match="class index"):
        cross_entropy_term(z, 1.0)
    with pytest.raises(ValueError, match="at least one"):
        softmax([])
