"""More than two classes: logsumexp, softmax, log_softmax, cross-entropy, AdamW, the data sets
and the demos, each checked against an independent oracle (central differences, the NumPy
reference with its hand-written dZ = P - Y, a hand-written NumPy AdamW)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
import nn
from autograd import Value, gradcheck
from demos import common
from nn.reference import ReferenceMLP

logits = st.lists(st.floats(-30, 30), min_size=2, max_size=5)


@settings(max_examples=60, deadline=None)
@given(logits, st.integers(0, 4))
def test_gradients_of_logsumexp_softmax_log_softmax_and_cross_entropy(z, pick):
    k = pick % len(z)
    gradcheck(lambda *v: autograd.logsumexp(v), z)
    gradcheck(lambda *v: autograd.softmax(v)[k] * 3.0, z)
    gradcheck(lambda *v: autograd.log_softmax(v)[k], z)
    gradcheck(lambda *v: nn.losses.cross_entropy([list(v)], [k]), z)


def test_the_rows_numbers_by_hand():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    out = autograd.logsumexp([a, b])
    assert math.isclose(out.data, math.log(math.e + math.e**2), rel_tol=1e-15)
    p = [math.exp(1.0) / (math.e + math.e**2), math.exp(2.0) / (math.e + math.e**2)]
    assert all(math.isclose(x, y, rel_tol=1e-15) for x, y in zip(out.local_grads, p))
    assert "exp(a - logsumexp(a, b))" in str(autograd.explain(out, a))


@pytest.mark.parametrize("big", [1000.0, 1e300])
def test_finite_at_extreme_logits_scalar_and_batched(big):
    for data in ([big, -big, 0.0], [np.array([big, -big]), np.array([-big, big]), np.zeros(2)]):
        values = [Value(d) for d in data]
        lse = autograd.logsumexp(values)
        probabilities = autograd.softmax(values)
        loss = (lse - values[0]).sum() if lse.is_batched else lse - values[0]
        loss.backward()
        for v in (lse, *probabilities, *values):
            assert np.all(np.isfinite(v.data)) and np.all(np.isfinite(v.grad))
        total = sum(np.asarray(p.data) for p in probabilities)
        assert np.allclose(total, 1.0, rtol=1e-15)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 7), st.integers(2, 5))
def test_batched_cross_entropy_equals_the_per_sample_one(seed, batch, k):
    rng = np.random.default_rng(seed)
    Z, y = rng.normal(size=(batch, k)) * 5, rng.integers(0, k, batch)
    columns = [Value(Z[:, i]) for i in range(k)]
    batched = nn.losses.cross_entropy(columns, y)
    batched.backward()
    rows = [[Value(float(v)) for v in row] for row in Z]
    per_sample = nn.losses.cross_entropy(rows, y)
    per_sample.backward()
    assert math.isclose(batched.data, per_sample.data, rel_tol=1e-12)
    for i in range(k):
        assert np.allclose(columns[i].grad, [row[i].grad for row in rows], rtol=1e-12, atol=1e-15)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from([[3], [4, 5]]), st.integers(2, 4))
def test_an_mlp_with_cross_entropy_against_the_numpy_reference(seed, hidden, k):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(9, 2)), rng.integers(0, k, 9)
    model = nn.MLP(2, [*hidden, k], activation="tanh", seed=seed % 1000)
    loss = nn.losses.cross_entropy(model(nn.columns(X)), y) + nn.losses.l2(model.parameters(), 1e-3)
    loss.backward()
    cost, gradient = ReferenceMLP.from_mlp(model).loss_and_gradients(X, y, "cross_entropy", 1e-3)
    assert math.isclose(loss.data, cost, rel_tol=1e-10)
    assert np.allclose(model.gradient_vector().tolist(), gradient, rtol=1e-10, atol=1e-12)


def test_cross_entropy_refuses_what_is_not_a_class_index():
    z = [Value(np.array([0.1, 0.2])), Value(np.array([0.3, -0.1])), Value(np.zeros(2))]
    with pytest.raises(ValueError, match="out of range for 3 classes"):
        nn.losses.cross_entropy(z, [0, 3])
    with pytest.raises(ValueError, match="class indices.*floats"):
        nn.losses.cross_entropy(z, [0.0, 1.0])
    with pytest.raises(ValueError, match="2 samples of logits but 3 targets"):
        nn.losses.cross_entropy(z, [0, 1, 2])
    with pytest.raises(ValueError, match="out of range"):
        nn.losses.cross_entropy([[Value(1.0), Value(2.0)]], [-1])


def numpy_adamw(p, grads, lr, b1, b2, eps, wd):
    """PyTorch's AdamW, by hand: decay first, then Adam with bias correction."""
    m, v = np.zeros_like(p), np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        p = p * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        out.append(p.copy())
    return out


def test_adamw_is_pytorchs_update_step_by_step():
    rng = np.random.default_rng(0)
    start = rng.normal(size=5)
    params = [Value(float(x)) for x in start]
    grads = [rng.normal(size=5) for _ in range(6)]
    opt = nn.optim.AdamW(params, lr=0.05, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1)
    expected = numpy_adamw(start, grads, 0.05, 0.8, 0.99, 1e-8, 0.1)
    for g, want in zip(grads, expected):
        for p, gi in zip(params, g):
            p.grad = float(gi)
        opt.step()
        assert np.allclose([p.data for p in params], want, rtol=1e-13, atol=1e-15)
    assert nn.optim.AdamW(params, weight_decay=0.0).weight_decay == 0.0
    with pytest.raises(ValueError, match="weight_decay"):
        nn.optim.AdamW(params, weight_decay=-1.0)


def test_the_data_sets():
    X, y = nn.data.spiral(50, classes=4, noise=0.1, seed=1)
    assert X.shape == (200, 2) and sorted(set(y.tolist())) == [0, 1, 2, 3] and y.dtype.kind == "i"
    assert np.array_equal(X, nn.data.spiral(50, classes=4, noise=0.1, seed=1)[0])
    assert np.all(np.hypot(*X.T) <= 1.0 + 1e-12)
    X, y = nn.data.yin_yang(400, seed=2)
    assert X.shape == (400, 2) and set(y.tolist()) == {0, 1, 2} and np.all(np.hypot(*X.T) <= 1)
    dots = y == 2
    assert np.all(
        np.minimum(np.hypot(X[dots, 0], X[dots, 1] - 0.5), np.hypot(X[dots, 0], X[dots, 1] + 0.5))
        < 0.2
    )


def test_digits_from_the_data_extra():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        if os.environ.get("REQUIRE_DATA_EXTRA"):
            raise
        with pytest.raises(ImportError, match=r'pip install -e "\.\[data\]"'):
            nn.data.digits()
        pytest.skip("scikit-learn (the data extra) is not installed here")
    X, y = nn.data.digits()
    assert X.shape == (1797, 64) and sorted(set(y.tolist())) == list(range(10)) and X.max() == 16


def test_fit_predict_and_accuracy_with_k_classes():
    X, y = nn.data.spiral(40, classes=3, seed=0)
    model = nn.MLP(2, [16, 3], seed=0)
    history = nn.fit(
        model, X, y, loss="cross_entropy", optimizer="adamw", lr=0.05, epochs=150, progress=False
    )
    assert history.loss[-1] < history.loss[0] / 2
    classes = nn.predict(model, X, classes=True)
    assert classes.dtype.kind == "i" and set(classes.tolist()) <= {0, 1, 2}
    assert nn.accuracy(model, X, y) == pytest.approx(np.mean(classes == y))
    assert history.accuracy[-1] > 0.7


@pytest.mark.parametrize("name, least", [("spiral", 0.99), ("yinyang", 0.95), ("digits", 0.9)])
def test_the_multiclass_demos_learn_and_agree_with_numpy(name, least, tmp_path):
    import importlib

    if name == "digits" and not os.environ.get("REQUIRE_DATA_EXTRA"):
        pytest.importorskip("sklearn", reason="scikit-learn (the data extra) is not installed")
    demo = importlib.import_module(f"demos.{name}")
    result = demo.run(out=tmp_path)
    assert result.agrees, result.agreement
    assert result.values["accuracy"] >= least
    if name == "digits":
        assert result.values["test accuracy"] >= 0.9
    if name != "digits" and common.plots_available():
        assert (tmp_path / "boundary.png").exists()
    assert result.figures["graph.svg shows"].startswith("sample")
