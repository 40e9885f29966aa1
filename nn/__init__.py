"""nn: neurons, layers and MLPs built only from autograd Values, trained end to end, and a
vectorized NumPy reference (`nn.reference`) they must agree with.

>>> import nn
>>> X, y = nn.data.moons(100, noise=0.1, seed=1)
>>> model = nn.MLP(2, [16, 16, 1], seed=1)
>>> opt = nn.optim.SGD(model.parameters(), lr=1.0, lr_schedule=lambda k: 1.0 - 0.9 * k / 100)
>>> history = nn.fit(model, X, nn.data.to_signed(y), loss="hinge", optimizer=opt, epochs=100,
...                  l2=1e-4, progress=False)
>>> history.accuracy[-1]
1.0
"""

from . import data, losses, optim
from .losses import bce_with_logits, binary_cross_entropy, cross_entropy, hinge, l2, mse, sse
from .module import ACTIVATIONS, INITS, MLP, Layer, Module, Neuron, columns
from .pages import training_page
from .serialize import ModelFileError, load, save
from .train import History, accuracy, build_loss, fit, predict

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "MLP",
    "History",
    "Layer",
    "ModelFileError",
    "Module",
    "Neuron",
    "columns",
    "accuracy",
    "bce_with_logits",
    "binary_cross_entropy",
    "cross_entropy",
    "build_loss",
    "data",
    "fit",
    "hinge",
    "l2",
    "load",
    "losses",
    "mse",
    "optim",
    "predict",
    "save",
    "sse",
    "training_page",
]


def __getattr__(name: str):
    # nn.plot and nn.reference are imported on first use (plot needs matplotlib, an extra).
    if name in ("plot", "reference"):
        import importlib

        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'nn' has no attribute {name!r}")
