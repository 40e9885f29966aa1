"""The command line and the pictures under hostile input: bad input exits 2 with one line on
stderr, any graph `draw` accepts lays out in seconds, names shown are unique."""

from __future__ import annotations

import numpy as np
import pytest
from examples import run_cli as run
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, gradcheck
from autograd.cli import main
from autograd.draw import LONG_EDGES, find_renderer


@pytest.fixture
def unwritable(tmp_path):
    regular = tmp_path / "a-file"
    regular.write_text("not a folder")
    return [regular / "out.svg", regular / "deeper" / "out.dot", "/proc/out.svg", "/sys/out.dot"]


def test_an_output_path_that_cannot_be_written_exits_2_with_one_line(capsys, unwritable):
    for path in unwritable:
        status, out, err = run(capsys, "graph", "x*y", "x=1", "y=2", "-o", str(path))
        assert status == 2, (path, err)
        assert err.startswith("autograd: error: cannot write") and err.count("\n") == 1, err
        assert "Traceback" not in err


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(["out", "out_", "out__", "x"]), min_size=1, max_size=4, unique=True)
)
def test_the_roots_name_is_never_a_variables(names):
    expression = "*".join(names)
    argv = ["steps", expression, *[f"{n}={k + 2}" for k, n in enumerate(names)]]
    try:
        main(argv)
    except SystemExit:
        pass
    # the root's own name is told apart from every variable in what is printed
    from autograd.cli import _build, _parser, _separate

    _, root, values = _build(_parser().parse_args(_separate(argv)))
    if len(names) > 1:
        assert root.label not in values


def test_steps_with_out_and_out_underscore_names_the_root_apart(capsys):
    status, out, _ = run(capsys, "steps", "out*out_", "out=2", "out_=3")
    assert status == 0
    assert "backward: out__.grad = 1" in out
    assert "dout__/dout_ = 2.0" in out and "dout__/dout = 3.0" in out


def test_gradcheck_inside_no_grad_says_gradients_are_off():
    with autograd.no_grad(), pytest.raises(RuntimeError, match="inside no_grad"):
        gradcheck(lambda x: x * x, [3.0])


def reused_chain(terms: int) -> Value:
    x = Value(1.0, "x")
    out = x
    for _ in range(terms - 1):
        out = out + x
    return out


def test_a_node_read_at_every_depth_gets_a_bounded_layout():
    assert "nslimit" in autograd.draw(reused_chain(40)).source
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.88, "b")
    assert "nslimit" not in autograd.draw((x * w + b).tanh()).source  # ordinary graphs as before
    layers = np.random.default_rng(0).normal(size=(3, 4, 4))
    h = [Value(v) for v in layers[0, 0]]
    for W in layers:  # a small dense network reads each node once per layer: no long edges
        h = [autograd.sum([wi * hi for wi, hi in zip(row, h)]).tanh() for row in W]
    assert "nslimit" not in autograd.draw(autograd.sum(h)).source
    assert LONG_EDGES > 0


@pytest.mark.skipif(find_renderer() is None, reason="no Graphviz renderer here")
@pytest.mark.parametrize("terms", [90, 150])
def test_the_reused_node_chain_renders(tmp_path, terms):
    """(150 terms took minutes before the bound; now about a second: no timing is asserted.)"""
    root = reused_chain(terms)
    root.backward()
    for suffix in ("svg", "png"):
        path = autograd.render(root, tmp_path / f"chain.{suffix}", max_nodes=150)
        assert path.stat().st_size > 1000
    svg = (tmp_path / "chain.svg").read_text()
    assert f"grad {terms}.0" in svg  # x's grad: one path per term
