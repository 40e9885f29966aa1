"""The step-through and explain show the truth (issue 22, items 3 to 6, and issue 26):

3. `=` only where the shown numbers multiply out to the shown result, read back from the
   printed text with exact decimals; `≈` only where entries or factors are elided.
4. Numbers are constants: the CLI, steps, explain and the pictures give them no gradient.
5, 6. "Overtaken" exactly when another pass changed what a step reads: never for a parameter
   read twice whose `.grad` is a new float at every read, always for a pass over part of the
   graph, a second step-through or backward() (random interleavings against a reference pass).
And in Jupyter: the same text, escaped.
"""

from __future__ import annotations

import contextlib
import html
import io
import math
import random
import re
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pytest
from examples import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, explain, topological_order
from autograd.expression import parse

# -- reading printed products back --------------------------------------------------------------

NUMBER = r"-?(?:\d+(?:\.\d+)?(?:e[+-]\d+)?|inf|nan)"
ITEM = rf"(?:\[{NUMBER}(?:, {NUMBER})*(?:, \.\.\.)?\]|{NUMBER})"
PRODUCT = re.compile(rf"(?<![\w.])({ITEM}(?: \* {ITEM})+) ([=≈]) ({ITEM})")


def entries(item: str) -> tuple[list[str], bool]:
    """The numbers an item shows, and whether some are elided (`...`)."""
    if item.startswith("["):
        inner = item[1:-1].split(", ")
        return [t for t in inner if t != "..."], "..." in inner
    return [item], False


def unit_of(text: str) -> Decimal:
    """The unit of the last digit a number is shown with: 1.49994 -> 1e-5, 1.2e-05 -> 1e-6."""
    mantissa, _, exponent = text.partition("e")
    places = len(mantissa.partition(".")[2])
    return Decimal(1).scaleb(-places + (int(exponent) if exponent else 0))


def checks_by_hand(factors: list[str], result: str) -> bool:
    """The exact product of the shown factors, rounded to the shown result's last digit, is
    the shown result (IEEE's rules where a number is inf or nan)."""
    if not all(math.isfinite(float(t)) for t in (*factors, result)):
        product = math.prod(float(t) for t in factors)
        return product == float(result) or (math.isnan(product) and math.isnan(float(result)))
    product = Decimal(1)
    for text in factors:
        product *= Decimal(text)
    return product.quantize(unit_of(result), ROUND_HALF_EVEN) == Decimal(result)


def printed_products(text: str):
    """Every product printed in `text`: (factor items, sign, result item, the line)."""
    for line in text.splitlines():
        for match in PRODUCT.finditer(line):
            yield match.group(1).split(" * "), match.group(2), match.group(3), line


def assert_every_product_checks(text: str) -> int:
    """Each `=` checks by hand, entry by entry; each `≈` has something elided."""
    count = 0
    for factors, sign, result, line in printed_products(text):
        items = [entries(f) for f in factors] + [entries(result)]
        elided = any(cut for _, cut in items) or "more factors" in line
        if sign == "≈":
            assert elided or "nan" in line or "inf" in line, line  # no digits would do
            continue
        assert not elided, line
        size = max(len(numbers) for numbers, _ in items)
        for k in range(size):
            row = [numbers[k] if len(numbers) > 1 else numbers[0] for numbers, _ in items]
            assert checks_by_hand(row[:-1], row[-1]), (row, line)
        count += 1
    return count


def rounds_to(text: str, value: float) -> bool:
    """`text` is `value` rounded to the digits it shows."""
    if not math.isfinite(value) or value == 0.0:
        return float(text) == value or (math.isnan(value) and text == "nan")
    return Decimal(value).quantize(unit_of(text), ROUND_HALF_EVEN) == Decimal(text)


def random_graph(seed: int, size: int = 10):
    """A random DAG over labelled leaves with constants of every kind, scalar."""
    rng = random.Random(seed)
    leaves = [
        Value(round(rng.uniform(-3, 3), rng.choice([1, 3, 6, 12])), f"x{i}") for i in range(3)
    ]
    nodes = list(leaves)
    for _ in range(size):
        a, b = rng.choice(nodes), rng.choice(nodes)
        kind = rng.randrange(8)
        c = rng.choice([2, 0.5, 3.0, -1, 1e-5, 123456.789])
        out = [
            a * b,
            a + b * c,
            (a * 0.7).tanh(),
            a.sigmoid() - b,
            c / (b * b + 1.0),
            autograd.sum([a, b, a]),
            a**2 * c,
            (a * 0.1).exp() * b,
        ][kind]
        nodes.append(out)
    return autograd.sum(nodes[-3:]), leaves


# -- 3. the shown arithmetic checks by hand -----------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10**6))
def test_every_printed_product_of_steps_and_explain_checks_by_hand(seed):
    root, leaves = random_graph(seed)
    steps = root.backward_steps().run()
    text = "\n\n".join(map(str, steps))
    assert assert_every_product_checks(text) == sum(
        1 for step in steps for edge in step.edges if not edge.constant
    )
    assert "≈" not in text  # every step of a scalar graph can be shown so that it checks
    for step in steps:  # and the factors shown are the real ones, rounded
        lines = [line for line in str(step).splitlines() if "+=" in line]
        for edge, line in zip([e for e in step.edges if not e.constant], lines):
            (factors, _, result, _), *_ = printed_products(line)
            assert rounds_to(factors[0], step.grad) and rounds_to(factors[1], edge.local), line
            assert rounds_to(result, edge.contribution), line
            after = line.rsplit(f"{edge.parent_name}.grad = ", 1)[1]
            assert rounds_to(after, edge.grad_after), line
    for leaf in leaves:
        explained = str(explain(root, leaf, max_paths=4))
        assert_every_product_checks(explained)
        assert not re.search(rf"= ({NUMBER}) = \1$", explained, re.M), explained


def test_the_report_examples_check_by_hand():
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.8814, "b")
    o = (x * w + b).tanh()
    text = "\n".join(map(str, o.backward_steps()))
    assert "0.49998 * -3.0 = -1.49994" in text and "≈" not in text
    assert_every_product_checks(text)
    out = Value(2.0, "x") * 3.0
    explained = str(explain(out, "x"))
    assert "= 3.0 = 3.0" not in explained and "= 3 = 3.0" not in explained


@pytest.mark.parametrize("length", [13, 18, 40])
def test_explains_elided_long_paths_say_approximately(length):
    x = Value(0.9, "x")
    y = x
    for k in range(length):
        y = (y * (1.1 if k % 2 else 0.774)).tanh()
    text = str(explain(y, x))
    *_, line = [line for line in text.splitlines() if "more factors" in line]  # the numbers'
    assert "≈" in line and " = " not in line.split("more factors")[1]
    assert_every_product_checks(text)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 7))
def test_a_batched_step_says_equals_only_where_every_shown_entry_checks(seed, batch):
    rng = np.random.default_rng(seed)
    x = Value(np.round(rng.normal(size=batch), int(rng.integers(1, 8))), "x")
    w = Value(float(np.round(rng.normal(), 5)), "w")
    loss = ((x * w).tanh() * 3.0 + x * x * 0.5).sum()
    text = "\n".join(map(str, loss.backward_steps()))
    count = assert_every_product_checks(text)
    assert count + text.count("≈") >= 4
    if batch > 4:
        assert "≈" in text  # the entries are elided
    for line in text.splitlines():
        if "summed over the batch" in line:  # the products shown check, then their sum
            assert re.search(r"= \[.*\], summed over the batch: ", line) or "≈" in line, line


# -- 4. numbers are constants -----------------------------------------------------------------


def expressions():
    """Random CLI expressions mixing the variables x, y and number literals."""
    leaf = st.sampled_from(["x", "y", "2", "0.5", "1", "3", "1e-3", "10"])

    def grow(inner):
        binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        )
        call = st.tuples(st.sampled_from(["tanh", "sigmoid", "exp"]), inner).map(
            lambda t: f"{t[0]}({t[1]} * 0.1)"
        )
        return binary | call | inner.map(lambda e: f"({e}) ** 2")

    return st.recursive(leaf, grow, max_leaves=8).filter(lambda e: parse(e).variables)


def cli(*argv: str) -> tuple[int, str]:
    """`python -m autograd ARGV` in this process: (exit status, stdout and stderr)."""
    from autograd.cli import main

    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        try:
            status = main(list(argv))
        except SystemExit as exit:
            status = exit.code
    return status, captured.getvalue()


@settings(max_examples=60, deadline=None)
@given(expressions())
def test_numbers_in_an_expression_are_constants_everywhere(text):
    parsed = parse(text)
    values = {name: 1.5 + k for k, name in enumerate(parsed.variables)}
    assignments = [f"{k}={v}" for k, v in values.items()]
    root = parsed.evaluate(values)
    constants = [n for n in topological_order(root) if not n.requires_grad]
    literals = re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?:e-?\d+)?", text)
    exponents = re.findall(r"\*\* (\d+)", text)  # x ** 2 is one node, no leaf
    for exponent in exponents:
        literals.remove(exponent)
    assert sorted(float(n.label) for n in constants) == sorted(map(float, literals))
    assert all(not n.parents and n.data == float(n.label) for n in constants)
    status, out = cli("steps", text, *assignments)
    assert status == 0, out
    for constant in constants:
        label = re.escape(constant.label)
        assert not re.search(rf"(?<![\w.]){label}\.grad|/d{label} ", out), out
    readers = [node for node in topological_order(root) if node.parents]
    if any(not parent.requires_grad for node in readers for parent in node.parents):
        assert "a constant, no gradient to track" in out or "constants, no gradient" in out
    status, out = cli("graph", text, *assignments, "--formulas")
    assert status == 0, out
    for constant in constants:  # no derivative drawn into a constant
        assert not re.search(rf"d\w+/d{re.escape(constant.label)}\b", out), out
    status, out = cli("explain", text, *assignments)
    assert status == 0, out
    for constant in constants:
        label = re.escape(constant.label)
        assert not re.search(rf"(?<![\w.]){label}\.grad|/d{label}\b", out), out


def test_the_cli_examples_from_the_report(capsys):
    for text in ("2*x", "x - 1", "1/x"):
        status, out, _ = run_cli(capsys, "steps", text, "x=3")
        number = re.search(r"\d", text).group(0)
        assert status == 0 and f"{number}.grad" not in out
        assert f"({number}: a constant, no gradient to track)" in out
        status, out, _ = run_cli(capsys, "graph", text, "x=3", "--formulas")
        assert f"/d{number}" not in out and "dv2/d2" not in out
        assert (
            f'[label="{{{number}}}" shape=record tooltip="a constant, no gradient to track"]' in out
        )


def test_an_unlabelled_leaf_that_tracks_its_gradient_is_a_variable():
    x, c = Value(3.0), Value(2.0, requires_grad=False)
    out = x * c + x
    steps = out.backward_steps().run()
    text = "\n".join(map(str, steps))
    names = autograd.node_names(out)
    assert names[x] == "v1" and names[c] == "2.0"
    assert "v1.grad +=" in text and "2.0.grad" not in text and "(2.0: a constant" in text
    assert x.grad == 3.0 and c.grad == 0.0
    edges = [edge for step in steps for edge in step.edges]
    assert all(edge.constant == (not edge.parent.requires_grad) for edge in edges)
    source = autograd.draw(out, formulas=True).source
    assert "dv2/dv1" in source and "/d2.0" not in source
    said = explain(out, c)
    assert said.constant and said.total == 0.0 and said.paths == []
    assert "2.0 is a constant" in str(said) and "no gradient to track" in str(said)


# -- 5 and 6. overtaken exactly when another pass changed what a step reads ----------------------


class Stored(Value):
    """A parameter whose grad lives in an array (a layer's storage): `.grad` is a property that
    returns a new float object at every read."""

    def __init__(self, data: float, label: str, store: np.ndarray, index: int) -> None:
        self.store, self.index = store, index
        super().__init__(data, label)

    @property
    def grad(self):
        return float(self.store[self.index])

    @grad.setter
    def grad(self, value):
        self.store[self.index] = value


def stored_graph(seed: int):
    """A random graph over two stored parameters and a plain leaf, each read several times."""
    rng = random.Random(seed)
    store = np.zeros(2)
    w = [Stored(rng.uniform(-1, 1), f"w{i}", store, i) for i in range(2)]
    x = Value(rng.uniform(-1, 1), "x")
    nodes = [*w, x]
    for _ in range(8):
        a, b = rng.choice(nodes), rng.choice(nodes)
        nodes.append([a * a + a, a * b, (a + b).tanh(), a * 2.0 - b][rng.randrange(4)])
    return autograd.sum(nodes[-2:]), [*w, x]


@pytest.mark.parametrize("seed", range(30))
def test_a_parameter_read_twice_never_overtakes_its_own_step_through(seed):
    root, leaves = stored_graph(seed)
    assert leaves[0].grad is not leaves[0].grad  # a new float at every read
    stepped = root.backward_steps().run()
    after = [leaf.grad for leaf in leaves]
    for leaf in leaves:
        leaf.grad = 0.0
    root.backward()
    assert len(stepped) > 0 and after == [leaf.grad for leaf in leaves]


def test_the_report_examples_of_overtaken():
    x, w = Value(2.0, "x"), Value(-3.0, "w")
    v = x * w
    y = v * 2.0
    steps = y.backward_steps()
    v.backward()  # a pass over part of the graph
    with pytest.raises(RuntimeError, match="overtaken"):
        list(steps)
    store = np.zeros(1)
    w = Stored(0.5, "w", store, 0)
    assert len(list((w * w + w).backward_steps())) == 2


class View(Value):
    """A weight that is one entry of an array Value (weight i of a layer's W): its data and
    grad read and write that entry of `source`, so the two share their numbers."""

    def __init__(self, source: Value, index: int, label: str) -> None:
        self.source, self.index = source, index
        super().__init__(float(source.data[index]), label)

    @property
    def data(self):
        return float(self.source.data[self.index])

    @data.setter
    def data(self, value):
        assert value == self.source.data[self.index]

    @property
    def grad(self):
        grad = self.source.grad
        return grad if type(grad) is float else float(grad[self.index])

    @grad.setter
    def grad(self, value):
        if type(self.source.grad) is float:
            self.source.grad = np.full(len(self.source.data), self.source.grad)
        self.source.grad[self.index] = value


def viewed_graph(seed: int):
    """A random graph reading a layer's W both as an array (an L2 penalty) and entry by entry."""
    rng = random.Random(seed)
    W = Value(np.array([rng.uniform(-1, 1) for _ in range(3)]), "W")
    w = [View(W, i, f"w{i}") for i in range(3)]
    x = Value(rng.uniform(-1, 1), "x")
    nodes = [*w, x]
    for _ in range(6):
        a, b = rng.choice(nodes), rng.choice(nodes)
        nodes.append([a * b, (a + b).tanh(), a * a - b][rng.randrange(3)])
    penalty = (W * W).sum() * 0.1
    return autograd.sum([*nodes[-2:], penalty]), W, w, x


@pytest.mark.parametrize("seed", range(20))
def test_a_weight_read_as_an_entry_and_in_its_array_never_overtakes_itself(seed):
    root, W, w, x = viewed_graph(seed)
    stepped = root.backward_steps().run()
    after = (W.grad.copy(), x.grad)
    W.grad, x.grad = 0.0, 0.0
    root.backward()
    assert len(stepped) > 0
    assert np.array_equal(after[0], W.grad) and after[1] == x.grad
    root, W, w, x = viewed_graph(seed)
    steps = root.backward_steps()
    next(steps)
    W.grad = W.grad + 1.0  # another pass's share of the penalty
    with pytest.raises(RuntimeError, match="overtaken"):
        list(steps)


def reference_pass(steps, order):
    """What an undisturbed pass shows: before each step, every grad (a dict), by the chain rule
    on plain numbers from the grads the step-through started with."""
    grads = {node: node.grad for node in order}
    before = []
    for node in steps._pending:
        before.append(dict(grads))
        for parent, local in zip(node.parents, node.local_grads):
            if parent.requires_grad:
                grads[parent] = grads[parent] + local * grads[node]
    return before


def same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**6))
def test_random_interleavings_stop_exactly_when_another_pass_changed_what_a_step_reads(seed):
    rng = random.Random(seed)
    root, leaves = stored_graph(seed) if rng.random() < 0.5 else random_graph(seed, 6)
    order = topological_order(root)
    inner = [n for n in order if n.parents]
    steps = root.backward_steps()
    expected = reference_pass(steps, order)
    others = []  # (a newer step-through, the nodes it covers, finished?)
    for k in range(steps.total):
        for _ in range(rng.choice([0] * 8 + [1, 2])):  # other things happen between steps
            action = rng.randrange(7)
            if action == 0:
                rng.choice(inner).backward()
            elif action == 1:
                root.backward()
            elif action == 2:
                other_root = rng.choice(inner)
                other = other_root.backward_steps()
                others.append([other, set(topological_order(other_root)), False])
            elif action == 3 and others:
                entry = rng.choice(others)
                try:
                    for _ in range(rng.randint(1, 3)):
                        next(entry[0])
                except StopIteration:
                    entry[2] = True
                except RuntimeError:
                    pass
            elif action == 4:
                explain(root, rng.choice(leaves))  # puts every grad back as it was
            elif action == 5:
                [leaf.grad for leaf in leaves]  # reading changes nothing
            else:
                rng.choice(leaves).zero_grad()
        for entry in others:
            if not entry[2] and entry[0].done == entry[0].total:
                entry[2] = True
        node = steps._pending[k]
        read = (node, *node.parents)
        changed = any(not same(n.grad, expected[k][n]) for n in read)
        newer = any(not done and any(n in covered for n in read) for _, covered, done in others)
        if changed or newer:
            with pytest.raises(RuntimeError, match="overtaken"):
                next(steps)
            return
        step = next(steps)
        assert step.node is node and same(step.grad, expected[k][node])
        for edge in step.edges:
            if not edge.constant:
                want = expected[k + 1][edge.parent] if k + 1 < len(expected) else None
                if want is not None and node.parents.count(edge.parent) == 1:
                    assert same(edge.grad_after, want)


def test_two_step_throughs_the_older_stops_the_newer_runs_and_a_finished_one_frees_it():
    x = Value(2.0, "x")
    z = (x * x) * 3.0
    first, second = z.backward_steps(), z.backward_steps()
    with pytest.raises(RuntimeError, match="newer step-through"):
        next(first)
    second.run()
    assert x.grad == 12.0
    third = z.backward_steps()  # a page's pass: run to the end, every grad put back
    saved = {n: n.grad for n in topological_order(z)}
    fourth = z.backward_steps()
    fourth.run()
    for node, grad in saved.items():
        node.grad = grad
    assert len(third.run()) == 2  # the newer one finished and changed nothing it reads


# -- Jupyter ---------------------------------------------------------------------------------


def test_steps_and_explanations_display_escaped_in_jupyter():
    x = Value(2.0, "<script>alert(1)</script>")
    w = Value(-3.0, "w&<b>")
    out = (x * w).tanh()
    out.label = '"quoted" <i>'
    steps = out.backward_steps()
    first = next(steps)
    for shown, text in (
        (first._repr_html_(), str(first)),
        (steps._repr_html_(), repr(steps) + "\n\n" + str(first)),
        (explain(out, x)._repr_html_(), str(explain(out, x))),
    ):
        assert "<script>" not in shown and "<b>" not in shown and "<i>" not in shown
        assert shown.startswith("<pre") and shown.endswith("</pre>") and "monospace" in shown
        body = shown[shown.index(">") + 1 : -len("</pre>")]
        assert html.unescape(body) == text  # the same numbers as str()
    rest = list(steps)
    assert html.unescape(steps._repr_html_()).count("step ") == 1 + len(rest)
