"""Data sets, splitting, mini-batches and standardisation."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from nn import data


def test_logic_gates():
    X, y = data.xor()
    assert list(y) == [float(a != b) for a, b in X]
    X, y = data.or_gate()
    assert list(y) == [float(a or b) for a, b in X]
    assert list(data.to_signed(np.array([0.0, 1.0]))) == [-1.0, 1.0]


@pytest.mark.parametrize("make", [data.moons, data.circles, data.blobs])
def test_generators_are_seeded_and_shaped(make):
    X1, y1 = make(51, seed=3)
    X2, y2 = make(51, seed=3)
    X3, _ = make(51, seed=4)
    assert X1.shape == (51, 2) and y1.shape == (51,)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    counts = np.bincount(y1.astype(int))
    assert counts.max() - counts.min() <= 1  # balanced classes


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = data.moons(40, noise=0.0, seed=0)
    outer, inner = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0)
    assert (outer[:, 1] >= -1e-12).all()
    assert np.allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0)
    assert (inner[:, 1] <= 0.5 + 1e-12).all()


def test_circles_radii_and_blob_centers():
    X, y = data.circles(60, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert np.allclose(radius[y == 0], 1.0) and np.allclose(radius[y == 1], 0.3)
    centers = np.array([[5.0, 5.0], [-5.0, 0.0], [0.0, -5.0]])
    X, y = data.blobs(3000, centers=centers, std=0.5, seed=1)
    for k, c in enumerate(centers):
        assert np.allclose(X[y == k].mean(axis=0), c, atol=0.05)
        assert np.allclose(X[y == k].std(axis=0), 0.5, rtol=0.1)


def test_bad_parameters():
    with pytest.raises(ValueError, match="noise"):
        data.moons(10, noise=-1.0)
    with pytest.raises(ValueError, match="factor"):
        data.circles(10, factor=1.5)
    with pytest.raises(ValueError, match="n must be"):
        data.blobs(1)


def test_train_test_split_partitions_the_samples():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10.0)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.3, seed=1)
    assert len(X_test) == 3 and len(X_train) == 7
    assert sorted(np.concatenate([y_train, y_test])) == list(y)
    assert np.array_equal(X_train[:, 0], 2 * y_train)  # rows stay with their labels
    with pytest.raises(ValueError, match="test_size"):
        data.train_test_split(X, y, test_size=1.5)


def test_minibatches_cover_every_sample_once():
    X = np.arange(22.0).reshape(11, 2)
    y = np.arange(11.0)
    batches = list(data.minibatches(X, y, batch_size=4, seed=2))
    assert [len(b[1]) for b in batches] == [4, 4, 3]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen) == list(y) and list(seen) != list(y)  # shuffled
    assert all(np.array_equal(bx[:, 0], 2 * by) for bx, by in batches)
    ordered = list(data.minibatches(X, y, batch_size=5, shuffle=False))
    assert list(ordered[0][1]) == [0, 1, 2, 3, 4]


def test_standardize_uses_training_statistics_for_test_set():
    rng = np.random.default_rng(0)
    train = rng.normal(3.0, 2.0, size=(50, 3))
    train[:, 2] = 7.0  # a constant feature is divided by 1, not 0
    test = rng.normal(3.0, 2.0, size=(10, 3))
    Z, mean, std = data.standardize(train)
    assert np.allclose(Z[:, :2].mean(axis=0), 0) and np.allclose(Z[:, :2].std(axis=0), 1)
    assert np.all(Z[:, 2] == 0.0)
    Zt, _, _ = data.standardize(test, mean, std)
    assert np.allclose(Zt, (test - train.mean(axis=0)) / np.where(std > 0, std, 1))
    assert nn.data is data
