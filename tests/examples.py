"""Small graphs several test files share."""

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
