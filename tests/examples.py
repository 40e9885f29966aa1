"""Small graphs and helpers several test files share."""

import numpy as np

from autograd import Value


def neuron():
    """The classic labelled neuron o = tanh(x*w + b), after backward(): (o, x, w, b, n)."""
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.8813735870195432, "b")
    n = x * w + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o, x, w, b, n


def run_cli(capsys, *argv):
    """`python -m autograd ARGV` in this process: (exit status, stdout, stderr)."""
    from autograd.cli import main

    try:
        status = main(list(argv))
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


def central_differences(f, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d array, entry by entry, (f(a + eps) - f(a - eps)) / (2 eps): an oracle that shares
    no code with the engine."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        plus, minus = array.copy(), array.copy()
        plus[index] += eps
        minus[index] -= eps
        grad[index] = (f(plus) - f(minus)) / (2.0 * eps)
    return grad
