"""Optimizers: one step by hand for SGD, momentum and Adam; schedules; bad arguments."""

from __future__ import annotations

import math

import pytest

import nn
from autograd import Value


def params_with_grads(values, grads):
    params = [Value(v) for v in values]
    for p, g in zip(params, grads):
        p.grad = g
    return params


def test_sgd_step_by_hand():
    params = params_with_grads([1.0, -2.0], [0.5, -4.0])
    nn.optim.SGD(params, lr=0.1).step()
    assert [p.data for p in params] == pytest.approx([1.0 - 0.05, -2.0 + 0.4], rel=1e-15)


def test_sgd_momentum_two_steps_by_hand():
    (p,) = params_with_grads([1.0], [2.0])
    opt = nn.optim.SGD([p], lr=0.1, momentum=0.9)
    opt.step()  # v = 2, p = 1 - 0.2
    p.grad = 1.0
    opt.step()  # v = 0.9 * 2 + 1 = 2.8, p = 0.8 - 0.28
    assert p.data == pytest.approx(0.52, rel=1e-14)


def test_adam_steps_by_hand():
    (p,) = params_with_grads([1.0], [3.0])
    opt = nn.optim.Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    opt.step()
    # first step: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps) ~ lr * sign(g)
    assert p.data == pytest.approx(1.0 - 0.01 * 3.0 / (3.0 + 1e-8), rel=1e-14)
    p.grad = -1.0
    opt.step()
    m = 0.9 * (0.1 * 3.0) + 0.1 * -1.0
    v = 0.999 * (0.001 * 9.0) + 0.001 * 1.0
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    expected = 1.0 - 0.01 * 3.0 / (3.0 + 1e-8) - 0.01 * m_hat / (math.sqrt(v_hat) + 1e-8)
    assert p.data == pytest.approx(expected, rel=1e-14)


def test_learning_rate_schedule_is_called_with_the_step_number():
    (p,) = params_with_grads([0.0], [1.0])
    seen = []

    def schedule(k):
        seen.append(k)
        return 1.0 - 0.9 * k / 100

    opt = nn.optim.SGD([p], lr=1.0, lr_schedule=schedule)
    for _ in range(3):
        opt.step()
    assert seen == [0, 1, 2]
    assert opt.lr == pytest.approx(1.0 - 0.9 * 2 / 100)
    assert p.data == pytest.approx(-(1.0 + 0.991 + 0.982))
    decay = nn.optim.linear_decay(1.0, 0.1, 100)
    assert [decay(0), decay(50), decay(100)] == pytest.approx([1.0, 0.55, 0.1])


def test_zero_grad():
    params = params_with_grads([1.0, 2.0], [3.0, 4.0])
    nn.optim.Adam(params).zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="no parameters"):
        nn.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        nn.optim.SGD([Value(1.0)], lr=-1.0)
    with pytest.raises(ValueError, match="momentum"):
        nn.optim.SGD([Value(1.0)], lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match="betas"):
        nn.optim.Adam([Value(1.0)], betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="Values"):
        nn.optim.SGD([1.0], lr=0.1)
