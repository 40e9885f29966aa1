"""Losses: values and gradients by hand, both input forms, and safety at the edges."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from autograd import Value


def grads_of(loss_fn, data, targets, batched):
    """Loss value and d loss / d prediction for each prediction (as a NumPy array)."""
    if batched:
        p = Value(np.array(data, dtype=float))
        loss = loss_fn(p, np.array(targets, dtype=float))
        loss.backward()
        return loss.data, np.array(p.grad)
    ps = [Value(float(v)) for v in data]
    loss = loss_fn(ps, targets)
    loss.backward()
    return loss.data, np.array([p.grad for p in ps])


def sigmoid(z):
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


P = [0.3, -1.2, 2.5, 0.0]
Y = [1.0, -1.0, 1.0, -1.0]
Y01 = [1.0, 0.0, 1.0, 0.0]


@pytest.mark.parametrize("batched", [False, True])
def test_mse_and_sse_by_hand(batched):
    n = len(P)
    loss, grad = grads_of(nn.mse, P, Y, batched)
    assert loss == pytest.approx(sum((p - y) ** 2 for p, y in zip(P, Y)) / n, rel=1e-15)
    assert grad == pytest.approx([2 * (p - y) / n for p, y in zip(P, Y)], rel=1e-15)
    loss, grad = grads_of(nn.sse, P, Y, batched)
    assert loss == pytest.approx(sum((p - y) ** 2 for p, y in zip(P, Y)), rel=1e-15)
    assert grad == pytest.approx([2 * (p - y) for p, y in zip(P, Y)], rel=1e-15)


@pytest.mark.parametrize("batched", [False, True])
def test_hinge_by_hand(batched):
    loss, grad = grads_of(nn.hinge, P, Y, batched)
    margins = [1 - y * p for p, y in zip(P, Y)]  # 0.7, -0.2, -1.5, 1.0
    assert loss == pytest.approx(sum(max(0.0, m) for m in margins) / 4, rel=1e-15)
    assert list(grad) == [-1 / 4, 0.0, 0.0, 1 / 4]


@pytest.mark.parametrize("batched", [False, True])
def test_bce_on_probabilities_by_hand(batched):
    probs = [0.9, 0.2, 0.6, 0.35]
    loss, grad = grads_of(nn.binary_cross_entropy, probs, Y01, batched)
    expected = -sum(y * math.log(p) + (1 - y) * math.log(1 - p) for p, y in zip(probs, Y01)) / 4
    assert loss == pytest.approx(expected, rel=1e-12)
    assert grad == pytest.approx(
        [(p - y) / (4 * p * (1 - p)) for p, y in zip(probs, Y01)], rel=1e-10
    )


@pytest.mark.parametrize("batched", [False, True])
def test_bce_on_probabilities_is_finite_at_0_and_1(batched):
    probs = [0.0, 1.0, 0.0, 1.0]
    loss, grad = grads_of(nn.binary_cross_entropy, probs, [0.0, 1.0, 1.0, 0.0], batched)
    assert math.isfinite(loss) and np.isfinite(grad).all()
    # the right answers cost ~0, the wrong ones -log(eps) each
    assert loss == pytest.approx(2 * -math.log(nn.losses.EPS) / 4, rel=1e-6)


@pytest.mark.parametrize("batched", [False, True])
def test_bce_with_logits_by_hand(batched):
    logits = [0.3, -1.2, 2.5, 0.0]
    loss, grad = grads_of(nn.bce_with_logits, logits, Y01, batched)
    expected = (
        -sum(
            y * math.log(sigmoid(z)) + (1 - y) * math.log(1 - sigmoid(z))
            for z, y in zip(logits, Y01)
        )
        / 4
    )
    assert loss == pytest.approx(expected, rel=1e-12)
    # d/dz = (sigmoid(z) - y) / N: exact at z = 0 too (0.5 - y)
    assert grad == pytest.approx([(sigmoid(z) - y) / 4 for z, y in zip(logits, Y01)], rel=1e-12)
    assert grad[3] == pytest.approx(0.5 / 4, rel=1e-15)


@pytest.mark.parametrize("batched", [False, True])
def test_bce_with_logits_is_stable_for_huge_logits(batched):
    logits = [1000.0, -1000.0, 800.0, -800.0]
    loss, grad = grads_of(nn.bce_with_logits, logits, [1.0, 0.0, 0.0, 1.0], batched)
    assert loss == pytest.approx((800.0 + 800.0) / 4, rel=1e-12)  # softplus(z) - y z
    assert list(grad) == pytest.approx([0.0, 0.0, 1 / 4, -1 / 4], abs=1e-300)


def test_probabilities_and_logits_forms_agree():
    z = np.array([-3.0, -0.4, 0.2, 1.7, 4.0])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    a = nn.bce_with_logits(Value(z), y)
    b = nn.binary_cross_entropy(Value(z).sigmoid(), y)
    assert a.data == pytest.approx(b.data, rel=1e-12)


def test_multi_output_forms_agree():
    rng = np.random.default_rng(0)
    out = rng.normal(size=(5, 3))
    y = rng.normal(size=(5, 3))
    per_sample = nn.mse([[Value(v) for v in row] for row in out], y)
    batched = nn.mse([Value(out[:, j]) for j in range(3)], y)
    assert per_sample.data == pytest.approx(np.mean((out - y) ** 2), rel=1e-14)
    assert batched.data == pytest.approx(np.mean((out - y) ** 2), rel=1e-14)


def test_l2_penalty():
    params = [Value(0.5), Value(-2.0)]
    penalty = nn.l2(params, 0.1)
    penalty.backward()
    assert penalty.data == pytest.approx(0.1 * (0.25 + 4.0))
    assert [p.grad for p in params] == pytest.approx([0.1, -0.4])


def test_shape_mismatches_are_clear_errors():
    with pytest.raises(ValueError, match="3 predictions but 2 targets"):
        nn.mse([Value(1.0), Value(2.0), Value(3.0)], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"expected \(4,\)"):
        nn.mse(Value(np.zeros(4)), np.zeros(5))
    with pytest.raises(ValueError, match="unknown loss 'l1'"):
        nn.losses.get_loss("l1")
    with pytest.raises(TypeError, match="predictions"):
        nn.mse(3.0, [1.0])
