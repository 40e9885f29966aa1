"""A student's first hour: every printed number checks by hand, and nothing surprises.

The bugs a new student met (a step-through overtaken by another pass, piped output, `graph`
without the graphviz package) and what made correct output look wrong, each read back from
the printed text.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest
from examples import run_cli as run
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, gradcheck
from autograd.expression import ExpressionError, parse


def neuron():
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.8814, "b")
    return x, w, b, (x * w + b).tanh()


# -- 1. a step-through another pass overtook stops, saying so -----------------------------------


def test_two_step_throughs_of_one_graph_the_older_one_stops():
    x = Value(2.0, "x")
    z = (x * x) * 3.0
    first, second = z.backward_steps(), z.backward_steps()  # the second resets the first's
    with pytest.raises(RuntimeError, match="overtaken"):
        list(first)
    list(second)
    assert x.grad == 12.0  # d(3 x**2)/dx = 6x, from the one pass that ran


def test_backward_between_steps_stops_the_step_through():
    x, w, b, o = neuron()
    steps = o.backward_steps()
    next(steps)
    o.backward()
    with pytest.raises(RuntimeError, match="overtaken.*backward_steps"):
        list(steps)


def test_an_untouched_step_through_still_gives_backwards_numbers():
    x, w, b, o = neuron()
    steps = list(o.backward_steps())
    stepped = (x.grad, w.grad, b.grad)
    for v in (x, w, b):
        v.zero_grad()
    o.backward()
    assert stepped == (x.grad, w.grad, b.grad) and len(steps) == 3


# -- 2. piped output ends quietly; 3. no graphviz package: one line -----------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "autograd", "explain", "x*y + tanh(x)", "x=0.5", "y=3"],
        ["-m", "demos", "xor", "--no-pictures"],
    ],
)
def test_output_cut_short_by_its_reader_ends_quietly(argv):
    done = subprocess.run(
        f"{sys.executable} {' '.join(repr(a) for a in argv)} | head -2",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert len(done.stdout.splitlines()) == 2
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.stderr == ""


def test_graph_without_the_graphviz_package_is_one_line_and_exit_3(tmp_path):
    code = (
        "import sys; sys.modules['graphviz'] = None\n"
        "from autograd.cli import main\n"
        f"raise SystemExit(main(['graph', 'x*y', 'x=1', 'y=2', '-o', {str(tmp_path / 'g.svg')!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "pip install graphviz graphviz-pure" in done.stderr


# -- 4. shown arithmetic checks by hand ------------------------------------------------------------

PRODUCT = re.compile(r"((?:-?[\d.e+-]+|inf|nan)(?: \* (?:-?[\d.e+-]+|inf|nan))+) ([=≈]) (\S+)")


def products(text: str):
    for factors, sign, result in PRODUCT.findall(text):
        yield factors.split(" * "), sign, result


def check_by_hand(text: str) -> int:
    """Every `a * b = r` printed with `=` multiplies, by hand, to what is shown: the exact
    product of the shown factors, rounded to the shown result's last digit, is the result."""
    from decimal import Decimal

    count = 0
    for factors, sign, result in products(text):
        numbers = [float(f) for f in (*factors, result)]
        if sign == "=" and all(map(math.isfinite, numbers)):
            product = math.prod(Decimal(f) for f in factors)
            unit = Decimal(1).scaleb(Decimal(result).as_tuple().exponent)
            assert abs(product - Decimal(result)) <= unit / 2, (factors, result, text)
        count += 1
    return count


def test_the_report_examples_now_check_by_hand():
    x, w, b, o = neuron()
    text = "\n".join(map(str, o.backward_steps()))
    assert check_by_hand(text) == 5
    assert "0.5 * -3.0 = -1.4999" not in text and "0.49998 * -3.0 = -1.49994" in text


values = st.floats(-3, 3, allow_nan=False).map(lambda v: round(v, 3))


@settings(max_examples=60, deadline=None)
@given(values, values, values)
def test_steps_and_explain_print_only_products_that_check(a, b, c):
    x, y = Value(a, "x"), Value(b, "y")
    out = ((x * y + c) * x - y).tanh() * 2.0
    check_by_hand("\n".join(map(str, out.backward_steps())))
    check_by_hand(str(autograd.explain(out, "x")))


# -- 5. constants are numbers; 6. a reused variable's paths differ; 7. wording ------------------


def test_constants_show_as_their_value_and_are_not_steps_to_track():
    out = Value(3.0, "out")
    loss = (out - 1.0) ** 2
    text = "\n".join(map(str, loss.backward_steps()))
    assert "= out - 1.0" in text
    assert "1.0.grad" not in text and "a constant" in text


def test_explain_says_which_operand_each_path_enters_by():
    x = Value(2.0, "x")
    g = x * x * x
    g.label = "g"
    text = str(g.explain(x))
    paths = [line for line in text.splitlines() if line.startswith("path ")]
    assert len(paths) == 3 and len(set(paths)) == 3
    assert "(operand 1)" in text and "(operand 2)" in text


def test_wording_of_powers_counts_and_empty_gradient_lists(capsys):
    v = Value(3.0, "v")
    assert "2 * v" in autograd.explain(v**2, v).__str__() and "v^1" not in str(
        autograd.explain(v**2, v)
    )
    status, out, _ = run(capsys, "steps", "x*2", "x=3")
    assert "then 1 step of the chain rule" in out
    status, out, _ = run(capsys, "steps", "2*3")
    assert status == 0 and "gradients: none" in out


def test_formulas_on_edges_say_which_derivative_they_are():
    x, w, b, o = neuron()
    o.backward()
    source = autograd.draw(o, formulas=True).source
    assert re.search(r"dv1/dw = x = 2\.0", source) and re.search(r"dv1/dx = w = -3\.0", source)


# -- 8. leaves holding an earlier pass's gradient are named -------------------------------------


def test_a_second_pass_names_the_leaves_it_starts_from():
    x, w, b, o = neuron()
    o.backward()
    first = next(o.backward_steps())
    assert "from an earlier pass" in str(first) and "b.grad = 0.5" in str(first)
    text = str(autograd.explain(o, w))  # after the one pass: the total it put there
    assert "w.grad already holds this total, from the backward() pass that ran" in text
    assert "from an earlier pass" not in text
    o.backward()  # a second pass: twice the total, and the note says what backward() does
    explained = autograd.explain(o, w)
    assert re.search(r"w.grad holds [-\d.]+ from an earlier pass", str(explained))
    assert w.grad == 2 * explained.total != 0


# -- 9. hints where the math has one ---------------------------------------------------------------


def test_a_check_at_a_kink_says_so(capsys):
    status, out, _ = run(capsys, "check", "relu(x)", "x=0")
    assert status == 1 and "kink at 0" in out
    report = gradcheck(lambda x: x.relu() * 3.0, [0.0], raise_exception=False)
    assert "relu has a kink at 0" in str(report) and not report.passed


def test_a_caret_suggests_the_power_operator():
    with pytest.raises(ExpressionError, match=r"x\*\*2, not x\^2"):
        parse("x^2")
    # the column is the operator's own, not its left operand's
    with pytest.raises(ExpressionError, match=r"x\^2 \(column 14\)"):
        parse("tanh(x*w) + b^2")
    with pytest.raises(ExpressionError, match=r"'//' is not allowed .* \(column 9\)"):
        parse("(a + b) // 2")
    with pytest.raises(ExpressionError, match=r"x\^2 \(column 12\)"):
        parse("tanh(θ) + b^2")  # columns count characters, not UTF-8 bytes


def test_detect_anomaly_names_the_operands_label():
    x = Value(0.0, "x")
    with autograd.detect_anomaly(), pytest.raises(FloatingPointError, match=r"respect to x"):
        x**0.5


def test_explain_of_a_nan_gradient_says_so():
    x = Value(-1.0, "x")
    assert "= nan here" in str(autograd.explain(x.log() * 2.0, x))  # its value is nan
    assert "is nan" in str(autograd.explain(x.log() * 0.0 * math.inf, x))  # its gradient too
