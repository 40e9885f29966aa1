"""Where a network's numbers start: the seeded random generator every `nn` function takes
(`seed=None` is `DEFAULT_SEED`, so every run repeats), and a neuron's initial weights."""

from __future__ import annotations

import math

import numpy as np

INITS = ("uniform", "xavier", "he")
DEFAULT_SEED = 0  # the seed used when none is given: every run is repeatable by default

Seed = int | np.random.Generator | None


def make_rng(seed: Seed) -> np.random.Generator:
    """A NumPy generator: `seed` None means DEFAULT_SEED; a Generator is used as it is."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        seed = DEFAULT_SEED
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int or a numpy Generator, got {type(seed).__name__}")
    return np.random.default_rng(int(seed))


def initial_weights(
    rng: np.random.Generator, fan_in: int, fan_out: int = 1, init: str = "uniform"
) -> np.ndarray:
    """`fan_in` initial weights of one neuron: "uniform" U(-1, 1) (micrograd's), "xavier"
    N(0, 2 / (fan_in + fan_out)) for tanh/sigmoid, "he" N(0, 2 / fan_in) for relu."""
    if init == "uniform":
        return rng.uniform(-1.0, 1.0, size=fan_in)
    if init == "xavier":
        return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=fan_in)
    if init == "he":
        return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=fan_in)
    raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
