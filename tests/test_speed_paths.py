"""The engine's fast paths give the numbers the plain rules give.

- `autograd.nary.sum_of_squares` (the one-node L2 penalty): value and gradient 2 v_i, checked by
  hand, by central differences, with duplicates, numbers and batches;
- `graph.backward_order(root)` (backward's order): each node before its non-leaf parents,
  and backward resets stale non-leaf grads while leaves accumulate;
- `autograd.linear` with number operands and the linear/relu shortcuts: the local derivatives
  written out by hand (d/dw_i = act'(z) x_i, d/dx_i = act'(z) w_i, d/db = act'(z)).
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
import nn
from autograd import Value
from autograd.graph import backward_order, topological_order
from autograd.nary import sum_of_squares
from autograd.ops import operation

finite = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)


def test_sum_of_squares_by_hand():
    a, b, c = Value(0.5), Value(-2.0), Value(3.0)
    out = sum_of_squares([a, b, c])
    assert out.data == 0.25 + 4.0 + 9.0
    assert out.op == "sum_of_squares"
    assert out.parents == (a, b, c)
    assert out.local_grads == (1.0, -4.0, 6.0)
    out.backward()
    assert (a.grad, b.grad, c.grad) == (1.0, -4.0, 6.0)


def test_sum_of_squares_repeated_value_and_numbers():
    a = Value(1.5)
    out = sum_of_squares([a, a, 2.0])  # 2 a^2 + 4, d/da = 4a
    assert out.data == 2 * 1.5**2 + 4.0
    assert isinstance(out.parents[2], Value) and out.parents[2].data == 2.0
    out.backward()
    assert a.grad == 4 * 1.5


def test_sum_of_squares_needs_values():
    with pytest.raises(ValueError, match="no values"):
        sum_of_squares([])
    with pytest.raises(TypeError, match="cannot combine"):
        sum_of_squares([Value(1.0), "x"])


def test_sum_of_squares_row_in_the_table():
    row = operation("sum_of_squares")
    assert row.expression(["a", "b"]) == "a^2 + b^2"
    assert row.derivative(1, ["a", "b"]) == "2 * b"


@settings(max_examples=30, deadline=None)
@given(st.lists(finite, min_size=1, max_size=8))
def test_sum_of_squares_against_central_differences(numbers):
    values = [Value(x) for x in numbers]
    sum_of_squares(values).backward()
    h = 1e-6
    for i, x in enumerate(numbers):
        up = sum(v * v for v in numbers[:i] + [x + h] + numbers[i + 1 :])
        down = sum(v * v for v in numbers[:i] + [x - h] + numbers[i + 1 :])
        assert values[i].grad == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-5)


def test_sum_of_squares_on_a_batch():
    data = np.array([1.0, -2.0, 0.5])
    x, w = Value(data), Value(3.0)
    out = sum_of_squares([x, w])  # per sample: x_k^2 + w^2
    np.testing.assert_array_equal(out.data, data**2 + 9.0)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * data)
    assert w.grad == 3 * 2 * 3.0  # w's 2w, summed over the batch of 3


def test_l2_penalty_matches_numpy():
    rng = np.random.default_rng(3)
    numbers = rng.normal(size=40)
    params = [Value(float(p)) for p in numbers]
    penalty = nn.l2(params, 0.01)
    penalty.backward()
    assert penalty.data == pytest.approx(0.01 * float(np.sum(numbers**2)), rel=1e-14)
    np.testing.assert_allclose([p.grad for p in params], 0.02 * numbers, rtol=1e-15, atol=0)


def a_graph(seed: int) -> Value:
    """A small graph with shared nodes, repeated parents, constants and leaves."""
    rng = random.Random(seed)
    leaves = [Value(rng.uniform(-1, 1)) for _ in range(4)]
    nodes = list(leaves)
    for _ in range(12):
        a, b = rng.choice(nodes), rng.choice(nodes)
        kind = rng.randrange(4)
        if kind == 0:
            nodes.append(a * b)
        elif kind == 1:
            nodes.append((a + b).tanh())
        elif kind == 2:
            nodes.append(autograd.linear([a, b], [b, 0.5], 0.1, "relu"))
        else:
            nodes.append(autograd.sum([a, a, b]))
    return autograd.sum(nodes[4:])


@pytest.mark.parametrize("seed", range(5))
def test_backward_order_and_reset_of_stale_gradients(seed):
    root = a_graph(seed)
    every = topological_order(root)
    order = backward_order(root)
    assert set(order) == {node for node in every if node.parents}
    position = {node: i for i, node in enumerate(order)}
    for node in order:  # each node before all of its non-leaf parents
        assert all(position[p] > position[node] for p in node.parents if p.parents)
    root.backward()
    fresh = {node: node.grad for node in every}
    for node in every:  # stale gradients on every inner node; leaves hold the first pass's
        if node.parents:
            node.grad = 7.0
    root.backward()
    for node in every:  # inner nodes show this pass only; leaves have accumulated two passes
        if node.parents:
            assert node.grad == fresh[node]
        else:  # (a + b) + a + b, not 2 * (a + b): equal up to rounding
            assert node.grad == pytest.approx(2 * fresh[node], rel=1e-14, abs=1e-14)


def test_backward_twice_shows_this_pass_only():
    x = Value(0.3)
    y = (x * x).tanh()
    y.backward()
    first = (x.grad, y.parents[0].grad)
    y.backward()
    assert x.grad == 2 * first[0]  # a leaf accumulates
    assert y.parents[0].grad == first[1]  # a non-leaf node shows the latest pass
    assert y.parents[0].grad == pytest.approx(1 - math.tanh(0.09) ** 2, rel=1e-15)


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_linear_shortcuts_local_derivatives_by_hand(activation):
    ws = [Value(0.5), Value(-1.5), Value(2.0)]
    xs = [0.25, Value(1.0), -0.5]  # numbers become constant leaves
    out = autograd.linear(ws, xs, 0.75, activation)
    z = 0.75 + 0.5 * 0.25 + -1.5 * 1.0 + 2.0 * -0.5  # = -1.625
    slope = 1.0 if activation == "linear" else 0.0
    assert out.data == (z if activation == "linear" else 0.0)
    assert len(out.parents) == 7 and all(isinstance(p, Value) for p in out.parents)
    assert out.parents[:3] == tuple(ws) and out.parents[4] is xs[1]
    assert [p.data for p in out.parents[3:]] == [0.25, 1.0, -0.5, 0.75]
    expected = [slope * x for x in (0.25, 1.0, -0.5)] + [slope * w for w in (0.5, -1.5, 2.0)]
    assert list(out.local_grads) == [*expected, slope]


def test_relu_linear_active_local_derivatives_by_hand():
    w, x, b = Value(2.0), Value(3.0), Value(-1.0)
    out = autograd.linear([w], [x], b, "relu")  # z = 5 > 0
    assert out.data == 5.0
    assert out.local_grads == (3.0, 2.0, 1.0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=0, max_size=6), finite)
def test_linear_equals_the_neuron_of_plain_nodes(pairs, bias):
    for activation in ("linear", "relu", "tanh"):
        ws = [Value(w) for w, _ in pairs]
        xs = [Value(x) for _, x in pairs]
        b = Value(bias)
        fused = autograd.linear(ws, xs, b, activation)
        fused.backward()
        fused_grads = [v.grad for v in (*ws, *xs, b)]
        for v in (*ws, *xs, b):
            v.grad = 0.0
        z = b
        for w, x in zip(ws, xs):
            z = z + w * x
        plain = z if activation == "linear" else getattr(z, activation)()
        plain.backward()
        assert fused.data == pytest.approx(plain.data, rel=1e-12, abs=1e-12)
        assert fused_grads == pytest.approx([v.grad for v in (*ws, *xs, b)], rel=1e-12, abs=1e-12)
