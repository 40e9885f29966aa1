"""`python -m autograd graph|steps|explain|check`: output, exit codes, one-line errors."""

import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from examples import run_cli as run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import autograd
from autograd.draw import find_renderer

NEURON = ["tanh(x*w + b)", "x=2", "w=-3", "b=6.88"]


def test_steps_prints_every_chain_rule_step_and_the_gradients(capsys):
    status, out, err = run(capsys, "steps", *NEURON)
    assert status == 0 and err == ""
    assert "step 1/3  out = tanh(v2)" in out
    assert "step 3/3  v1 = x * w" in out
    local = 1 - math.tanh(2 * -3 + 6.88) ** 2  # by hand
    assert f"w.grad = {round(local * 2, 4)}" in out
    assert f"dout/dw = {round(local * 2, 4)}" in out


def test_explain_wrt_one_variable(capsys):
    status, out, _ = run(capsys, "explain", *NEURON, "--wrt", "w")
    assert status == 0
    assert "path 1: out <- v2 <- v1 <- w" in out
    assert "(1 - tanh(v2)^2) * (1) * (x)" in out
    local = 1 - math.tanh(0.88) ** 2
    assert f"total: d out/d w = {round(local * 2, 4)}" in out
    status, out, _ = run(capsys, "explain", *NEURON)  # every variable
    assert out.count("total:") == 3


def test_check_passes_and_fails_with_exit_codes(capsys):
    status, out, _ = run(capsys, "check", "log(x) * y ** 2", "x=0.5", "y=3")
    assert status == 0 and "passed" in out
    # relu at 0: the engine says 0, central differences say 1/2 -> a mismatch, exit 1
    status, out, _ = run(capsys, "check", "relu(x)", "x=0")
    assert status == 1 and "FAILED" in out


def test_graph_prints_dot_source_without_output_file(capsys):
    status, out, _ = run(capsys, "graph", *NEURON)
    assert status == 0 and out.startswith("digraph") and "tanh" in out


@pytest.mark.skipif(find_renderer() is None, reason="no Graphviz renderer")
def test_graph_writes_an_svg(capsys, tmp_path):
    target = tmp_path / "neuron.svg"
    status, out, _ = run(capsys, "graph", *NEURON, "-o", str(target), "--highlight", "w")
    assert status == 0 and f"wrote {target}" in out
    text = " ".join(t.text or "" for t in ET.parse(target).getroot().iter())
    assert "out" in text and "tanh" in text


def test_steps_says_where_a_nan_began(capsys):
    status, out, _ = run(capsys, "steps", "log(x)*2 + y", "x=-1", "y=3")
    assert status == 0 and "out = log(x)*2 + y = nan" in out
    assert "(v1 = log(x) is nan at x = -1.0: not defined there; the chain rule runs" in out
    assert "dout/dx = -2.0" in out  # 2 * d log(x)/dx = 2 * (1 / -1)
    status, out, _ = run(capsys, "steps", "log(x)*2 + y", "x=1", "y=3")
    assert "not defined" not in out
    status, out, _ = run(capsys, "check", "log(x)*2 + y", "x=-1", "y=3")
    assert status == 1 and "hint: v1 = log(x) is nan at x = -1.0: not defined there" in out
    mine = autograd.define("log_of_mine", math.log, [lambda x: 1 / x])
    report = autograd.gradcheck(lambda x: mine(x) * 2.0, [-1.0], raise_exception=False)
    assert "v1 = log_of_mine(x) is nan at x = -1.0: not defined there" in str(report)
    wrong = autograd.define("log_wrong", math.log, [lambda x: 2 / x])  # fails, and is finite
    report = autograd.gradcheck(lambda x: wrong(x), [2.0], raise_exception=False)
    assert not report.passed and not any("nan" in h for h in report.hints)
    status, out, _ = run(capsys, "steps", "exp(x) - exp(x)", "x=1000")  # inf - inf
    assert "is nan at v1 = inf, v2 = inf: inf reached it (an overflow or an inf input)" in out
    status, out, _ = run(capsys, "steps", "x*0/0", "x=1")  # a constant is in the formula
    assert "(out = v1 / 0 is nan at v1 = 0.0: not defined there;" in out


def test_expression_starting_with_minus_is_not_an_option(capsys):
    status, out, _ = run(capsys, "steps", "-x*y", "x=1", "y=2")
    assert status == 0 and "out = -x*y = -2.0" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["steps", "x*y", "x=1"], "missing value for y"),
        (["steps", "x*y", "x=1", "y=2", "z=3"], "value given for z"),
        (["steps", "x*y", "x=1", "y=abc"], "not a number"),
        (["steps", "foo(x)", "x=1"], "unknown function 'foo'"),
        (["steps", "x.__class__", "x=1"], "attribute access"),
        (["explain", "x*y", "x=1", "y=2", "--wrt", "q"], "not a variable"),
        (["graph", "x", "x=1", "--max-nodes", "0"], "at least 1"),
        (["check", "2*3"], "no variables"),
        (["frobnicate", "x"], "invalid choice"),
        (["steps", "x*y", "x=1", "y=2", "--wrt", "x"], "--wrt NAME belongs to explain"),
        (["steps", "x*y", "x=1", "y=2", "--wrt=x"], "--wrt NAME belongs to explain"),
        ([], "required"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("autograd: error: ")
    assert message in err


@pytest.mark.skipif(find_renderer() is None, reason="no Graphviz renderer")
def test_pdf_with_graphviz_pure_is_one_line_error(capsys, tmp_path):
    if find_renderer().name != "graphviz-pure":
        pytest.skip("a system dot writes PDF")
    status, _, err = run(capsys, "graph", "x*2", "x=1", "-o", str(tmp_path / "g.pdf"))
    assert status == 2 and "cannot write PDF" in err and err.count("\n") == 1


_hostile = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "__import__('os').system('echo hi')",
            "x.__class__.__bases__",
            "lambda: x",
            "[x for x in y]",
            "x[0]",
            "9**9**9**9",
            "(" * 500 + "x" + ")" * 500,
            "-" * 5000 + "x",
            "x" * 5000,
            "exp(" * 300 + "x" + ")" * 300,
        ]
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_hostile)
def test_hostile_expressions_never_crash_the_cli(capsys, text):
    status, out, err = run(capsys, "steps", text, "x=0.5")
    if text.strip() in ("-h", "--help"):
        return
    if status == 0:  # a harmless expression in x alone
        assert "step" in out or "gradients" in out
    else:
        assert status == 2
        assert err.count("\n") == 1 and err.startswith("autograd: error: ")
        assert "Traceback" not in err


def test_python_dash_m_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "autograd", "check", "x*y", "x=2", "y=3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert re.search(r"x\s+3\s+3", done.stdout)  # d(xy)/dx = y = 3


def test_without_a_renderer_the_dot_file_is_written_and_exit_is_3(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules["autograd.draw"], "find_renderer", lambda: None)
    status, _, err = run(capsys, "graph", "x*2", "x=1", "-o", str(tmp_path / "g.svg"))
    assert status == 3 and err.count("\n") == 1
    assert "pip install graphviz-pure" in err
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def test_every_option_of_every_command_is_known_as_taking_a_value_or_not():
    """Options are told apart from an expression that starts with "-" by two lists; an option
    missing from them is read as a NAME=NUMBER (as --dpi once was)."""
    import argparse

    from autograd import cli

    parser = cli._parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        for action in sub._actions:
            for option in action.option_strings:
                known = cli._VALUE_OPTIONS if action.nargs != 0 else cli._FLAGS
                assert option in known, f"{name} {option}"


def test_graph_writes_a_sharper_png_at_a_higher_dpi(tmp_path, capsys):
    import struct

    sizes = []
    for dpi in ([], ["--dpi", "192"]):  # (Graphviz draws 96 dots per inch)
        path = tmp_path / f"g{len(dpi)}.png"
        status, _, err = run(capsys, "graph", "a*b + a", "a=2", "b=3", "-o", str(path), *dpi)
        assert status == 0, err
        sizes.append(struct.unpack(">II", path.read_bytes()[16:24]))
    assert sizes[1][0] == pytest.approx(2 * sizes[0][0], abs=2)
    status, _, err = run(
        capsys, "graph", "a*b", "a=2", "b=3", "-o", str(tmp_path / "x.png"), "--dpi", "5"
    )
    assert status == 2 and "dpi must be a number from 10 to 600" in err
    status, _, err = run(
        capsys, "graph", "a*b", "a=2", "b=3", "-o", str(tmp_path / "x.svg"), "--dpi", "200"
    )
    assert status == 2 and "dpi sets the resolution of a .png, .jpg or .gif; a .svg has none" in err
    status, _, err = run(capsys, "graph", "a*b", "a=2", "b=3", "--dpi", "200")
    assert status == 2 and "give it with -o FILE.png" in err


def test_web_takes_a_title_for_the_class(tmp_path, capsys):
    path = tmp_path / "week3.html"
    status, out, err = run(
        capsys,
        "web",
        "a*b + a",
        "a=2",
        "b=3",
        "-o",
        str(path),
        "--title",
        "Week 3: a <reused> value",
    )
    assert status == 0, err
    text = path.read_text()
    assert "<title>backprop: Week 3: a &lt;reused&gt; value</title>" in text
    status, _, _ = run(capsys, "web", "a*b", "a=2", "b=3", "-o", str(tmp_path / "d.html"))
    assert "<title>backprop: a*b</title>" in (tmp_path / "d.html").read_text()


@pytest.mark.parametrize(
    "argv, usage",
    [
        (["--help"], "python -m autograd [-h]"),
        (["steps", "-h"], "python -m autograd steps"),
        (["lab", "-h"], "python -m autograd lab"),
    ],
)
def test_python_dash_m_usage_says_python_dash_m_autograd(argv, usage):
    done = subprocess.run(
        [sys.executable, "-m", "autograd", *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith(f"usage: {usage}")


def test_error_hints_name_the_command_as_typed(capsys):
    from autograd.cli import main

    with pytest.raises(SystemExit):
        main(["steps", "x*y", "x=1", "y=2", "--wrt", "x"], prog="python -m autograd")
    err = capsys.readouterr().err
    assert "(python -m autograd explain EXPRESSION ... --wrt x)" in err
    assert "(see: python -m autograd --help)" in err


def test_an_input_beyond_float64s_range_gets_a_note(capsys):
    status, out, _ = run(capsys, "steps", "x*w+b", "x=1e400", "w=-1e400", "b=1")
    assert status == 0 and "out = x*w+b = -inf\n" in out
    assert "  (x = 1e400 is beyond float64's range: read as inf)\n" in out
    assert "  (w = -1e400 is beyond float64's range: read as -inf)\n" in out
    status, out, _ = run(capsys, "steps", "x-x", "x=1e400")  # then the nan note, the same way
    assert "read as inf)\n  (out = x - x is nan at x = inf: inf reached it" in out
    status, out, _ = run(capsys, "check", "x*w", "x=1e400", "w=1")
    assert out.startswith("  (x = 1e400 is beyond float64's range: read as inf)\n")
    for inf in ("inf", "-Infinity", "+INF"):  # written as inf: no note
        status, out, _ = run(capsys, "steps", "x*w+b", f"x={inf}", "w=1", "b=1")
        assert status == 0 and "range" not in out


def test_gradcheck_of_something_not_a_function_says_what_it_needs():
    with pytest.raises(TypeError, match=r"needs f to be a function .* got int 3$"):
        autograd.gradcheck(3, [1.0])
    with pytest.raises(TypeError, match=r"got Value Value\(data=2.0"):  # f(x) given, not f
        autograd.gradcheck(autograd.Value(2.0), [1.0])


def test_web_refuses_an_output_that_is_not_html(tmp_path, capsys):
    for name in ("page.txt", "page"):
        status, _, err = run(capsys, "web", "a*b", "a=2", "b=3", "-o", str(tmp_path / name))
        assert status == 2 and err.count("\n") == 1
        assert f"-o {tmp_path / name}: web writes an HTML page; name it FILE.html" in err
    assert list(tmp_path.iterdir()) == []
    status, out, _ = run(capsys, "web", "a*b", "a=2", "b=3", "-o", str(tmp_path / "p.HTM"))
    assert status == 0 and (tmp_path / "p.HTM").exists()
