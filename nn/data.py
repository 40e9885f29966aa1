"""Small data sets made with NumPy (every random one takes a `seed`), splitting, batching and
standardisation, written the way the from-scratch tutorials use them.

Every generator returns `X` of shape (samples, features) and `y` of shape (samples,): class
labels 0, 1, ... (use `to_signed(y)` for the -1/+1 labels of the hinge loss).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .initial import Seed, make_rng

Dataset = tuple[np.ndarray, np.ndarray]


def _count(n: int, what: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"{what} must be an integer >= 2, got {n!r}")
    return int(n)


def _non_negative(x: float, what: str) -> float:
    if not isinstance(x, int | float) or not x >= 0:
        raise ValueError(f"{what} must be a number >= 0, got {x!r}")
    return float(x)


def xor() -> Dataset:
    """The four points of XOR: y = x1 xor x2 (not linearly separable)."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array([0.0, 1.0, 1.0, 0.0])


def or_gate() -> Dataset:
    """The four points of OR: y = x1 or x2 (one neuron, a perceptron, can learn it)."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array([0.0, 1.0, 1.0, 1.0])


def to_signed(y: np.ndarray) -> np.ndarray:
    """0/1 labels to -1/+1 labels (for the hinge loss): 2 y - 1."""
    return 2.0 * np.asarray(y, dtype=float) - 1.0


def _shuffled(rng: np.random.Generator, X: np.ndarray, y: np.ndarray) -> Dataset:
    order = rng.permutation(len(X))
    return X[order], y[order]


def moons(n: int = 100, noise: float = 0.1, seed: Seed = None) -> Dataset:
    """Two interleaving half circles: class 0 on (cos t, sin t), class 1 on
    (1 - cos t, 1/2 - sin t), t evenly spaced in [0, pi]; plus N(0, noise**2) on each coordinate.
    """
    n = _count(n)
    noise = _non_negative(noise, "noise")
    rng = make_rng(seed)
    n_outer = n // 2
    n_inner = n - n_outer
    t_outer = np.linspace(0.0, np.pi, n_outer)
    t_inner = np.linspace(0.0, np.pi, n_inner)
    X = np.concatenate(
        [
            np.column_stack([np.cos(t_outer), np.sin(t_outer)]),
            np.column_stack([1.0 - np.cos(t_inner), 0.5 - np.sin(t_inner)]),
        ]
    )
    y = np.concatenate([np.zeros(n_outer), np.ones(n_inner)])
    X = X + rng.normal(0.0, noise, size=X.shape)
    return _shuffled(rng, X, y)


def circles(n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: Seed = None) -> Dataset:
    """Two concentric circles: class 0 on radius 1, class 1 on radius `factor` (0 < factor < 1),
    angles evenly spaced; plus N(0, noise**2) on each coordinate."""
    n = _count(n)
    noise = _non_negative(noise, "noise")
    if not isinstance(factor, int | float) or not 0.0 < factor < 1.0:
        raise ValueError(f"factor (inner radius / outer radius) must be in (0, 1), got {factor!r}")
    rng = make_rng(seed)
    n_outer = n // 2
    n_inner = n - n_outer
    t_outer = np.linspace(0.0, 2.0 * np.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2.0 * np.pi, n_inner, endpoint=False)
    X = np.concatenate(
        [
            np.column_stack([np.cos(t_outer), np.sin(t_outer)]),
            factor * np.column_stack([np.cos(t_inner), np.sin(t_inner)]),
        ]
    )
    y = np.concatenate([np.zeros(n_outer), np.ones(n_inner)])
    X = X + rng.normal(0.0, noise, size=X.shape)
    return _shuffled(rng, X, y)


def blobs(
    n: int = 100,
    centers: int | Sequence[Sequence[float]] | np.ndarray = 2,
    std: float = 1.0,
    seed: Seed = None,
    features: int = 2,
    box: tuple[float, float] = (-10.0, 10.0),
) -> Dataset:
    """Gaussian clusters: class k drawn from N(center_k, std**2 I).

    `centers` is a number of clusters (centers drawn uniformly in `box` on each of `features`
    coordinates) or an explicit (clusters, features) array. Samples are split evenly.
    """
    n = _count(n)
    std = _non_negative(std, "std")
    rng = make_rng(seed)
    if isinstance(centers, int | np.integer) and not isinstance(centers, bool):
        if centers < 1:
            raise ValueError(f"centers must be >= 1, got {centers}")
        center_array = rng.uniform(box[0], box[1], size=(int(centers), int(features)))
    else:
        center_array = np.asarray(centers, dtype=float)
        if center_array.ndim != 2 or len(center_array) < 1:
            raise ValueError(
                f"centers must be a count or a (clusters, features) array, got shape "
                f"{center_array.shape}"
            )
    k = len(center_array)
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    X = np.concatenate(
        [rng.normal(c, std, size=(m, center_array.shape[1])) for c, m in zip(center_array, sizes)]
    )
    y = np.concatenate([np.full(m, float(i)) for i, m in enumerate(sizes)])
    return _shuffled(rng, X, y)


def train_test_split(
    X: np.ndarray, y: np.ndarray, test_size: float = 0.25, seed: Seed = None, shuffle: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, X_test, y_train, y_test); `test_size` a fraction in (0, 1) or a count."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    n = len(X)
    if isinstance(test_size, float) and 0.0 < test_size < 1.0:
        n_test = int(np.ceil(test_size * n))
    elif isinstance(test_size, int | np.integer) and not isinstance(test_size, bool):
        n_test = int(test_size)
    else:
        raise ValueError(f"test_size must be a fraction in (0, 1) or a count, got {test_size!r}")
    if not 0 < n_test < n:
        raise ValueError(f"test_size {test_size!r} leaves {n_test} of {n} samples for testing")
    order = make_rng(seed).permutation(n) if shuffle else np.arange(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def minibatches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: Seed = None,
) -> Iterator[Dataset]:
    """Yield (X_batch, y_batch) pairs covering every sample once (the last may be smaller).

    `batch_size` None is one batch of everything. `seed` (an int or a Generator, reused across
    epochs for a new order each time) fixes the shuffled order.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    n = len(X)
    size = n if batch_size is None else int(batch_size)
    if size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    order = make_rng(seed).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, size):
        index = order[start : start + size]
        yield X[index], y[index]


def standardize(
    X: np.ndarray, mean: np.ndarray | None = None, std: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X - mean) / std per feature; returns (X_standardized, mean, std).

    With no mean/std they are computed from X (use it on the training set), then pass them to
    standardize the test set with the *training* statistics. A constant feature (std 0) is
    divided by 1 instead.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"standardize expects a 2-D (samples, features) array, got {X.shape}")
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std (from the training set), or neither")
    if mean is None:
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        std = np.where(std > 0, std, 1.0)
    mean, std = np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
    if mean.shape != (X.shape[1],) or std.shape != (X.shape[1],):
        raise ValueError(
            f"mean and std must have one entry per feature ({X.shape[1]}), got shapes "
            f"{mean.shape} and {std.shape}"
        )
    return (X - mean) / std, mean, std


def spiral(
    n_per_class: int = 100, classes: int = 3, noise: float = 0.2, seed: Seed = None
) -> Dataset:
    """The CS231n spiral: `classes` arms, point i of arm c at radius r = i / (n - 1) and angle
    4 (c + r) + N(0, noise**2) radians: (r sin t, r cos t). Labels 0..classes-1 (ints)."""
    n = _count(n_per_class, "n_per_class")
    k = _count(classes, "classes")
    noise = _non_negative(noise, "noise")
    rng = make_rng(seed)
    X, y = [], []
    for c in range(k):
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(c * 4.0, (c + 1) * 4.0, n) + rng.normal(0.0, noise, n)
        X.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        y.append(np.full(n, c))
    return _shuffled(rng, np.concatenate(X), np.concatenate(y))


def yin_yang(n: int = 1000, seed: Seed = None) -> Dataset:
    """Three classes in the unit disc, as the LLM101n micrograd's yin-yang: yin (0), yang (1)
    and the two dots (2). Points drawn uniformly in the disc of radius 1 centred at (0, 0);
    the dots have radius 0.2 around (0, +-0.5), the S-shaped border follows the circles of
    radius 0.5 around them. Labels are ints."""
    n = _count(n)
    rng = make_rng(seed)
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    radius = np.sqrt(rng.uniform(0.0, 1.0, n))
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    x, yy = X[:, 0], X[:, 1]
    top = np.hypot(x, yy - 0.5)  # distance to the upper small circle's centre
    bottom = np.hypot(x, yy + 0.5)
    yang = np.where(top < 0.5, True, np.where(bottom < 0.5, False, x > 0))
    label = np.where(yang, 1, 0)
    label = np.where((top < 0.2) | (bottom < 0.2), 2, label)
    return X, label.astype(int)


def digits() -> Dataset:
    """The 8x8 handwritten digits that scikit-learn ships inside its wheel (1,797 images, no
    download): X (1797, 64) with pixel values 0..16, y the digit 0..9 (ints). Needs the `data`
    extra: pip install -e ".[data]"."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError(
            'nn.data.digits() needs scikit-learn, the `data` extra: pip install -e ".[data]" '
            "(or pip install scikit-learn)"
        ) from None
    images = load_digits()
    return np.asarray(images.data, dtype=float), np.asarray(images.target, dtype=int)
