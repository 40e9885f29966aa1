"""explain(): the sum over paths of products of local derivatives equals x.grad."""

import math
import random

import numpy as np
import pytest
from examples import neuron
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, explain, topological_order


def random_graph(seed: int, size: int = 10):
    rng = random.Random(seed)
    leaves = [Value(rng.uniform(-1.5, 1.5), f"x{i}") for i in range(rng.randint(1, 3))]
    nodes = list(leaves)
    for _ in range(size):
        a, b = rng.choice(nodes), rng.choice(nodes)
        kind = rng.randrange(7)
        if kind == 0:
            out = a + b
        elif kind == 1:
            out = a * b
        elif kind == 2:
            out = a.tanh()
        elif kind == 3:
            out = a - b.sigmoid()
        elif kind == 4:
            out = autograd.sum([a, b, b])
        elif kind == 5:
            out = autograd.linear([a], [b], 0.5, "tanh")
        else:
            out = a / (b * b + 1.0)
        nodes.append(out)
    return nodes[-1], leaves


def all_paths(root: Value, x: Value) -> list[list[float]]:
    """Brute force (small graphs only): the local derivatives along every path root -> x."""
    if root is x:
        return [[]]
    found = []
    for parent, local in zip(root.parents, root.local_grads):
        for rest in all_paths(parent, x):
            found.append([local, *rest])
    return found


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_path_sum_equals_the_gradient_of_backward(seed):
    root, leaves = random_graph(seed)
    root.backward()
    for leaf in leaves:
        e = explain(root, leaf)
        paths = all_paths(root, leaf)
        assert e.path_count == len(paths)
        brute = sum(math.prod(p) for p in paths)
        assert e.total == pytest.approx(brute, rel=1e-9, abs=1e-12)
        assert e.total == pytest.approx(leaf.grad, rel=1e-9, abs=1e-12)
        if e.complete:
            assert sum(p.product for p in e.paths) == pytest.approx(leaf.grad, rel=1e-9, abs=1e-12)
            assert sorted(math.prod(p.locals) for p in e.paths) == pytest.approx(
                sorted(math.prod(p) for p in paths)
            )


def test_neuron_explanation_shows_formulas_numbers_and_total():
    o, x, w, b, n = neuron()
    text = str(o.explain(w))
    local = 1 - math.tanh(n.data) ** 2  # computed here, not by the engine
    assert "1 path" in text
    assert "path 1: o <- n <- v1 <- w" in text
    assert "do/dn * dn/dv1 * dv1/dw" in text
    assert "(1 - tanh(n)^2) * (1) * (x)" in text  # formulas from the table of operations
    assert f"{round(local, 4)} * 1.0 * 2.0" in text
    assert f"total: d o/d w = {round(local * 2.0, 4)}" in text
    assert o.explain(w).total == pytest.approx(w.grad, rel=1e-12)


def test_x_can_be_named_by_label_and_bad_names_are_clear():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    y = a * b + a
    assert explain(y, "a").total == pytest.approx(3.0)  # dy/da = b + 1, by hand
    with pytest.raises(ValueError, match="no node named 'zz'"):
        explain(y, "zz")
    twin = Value(1.0, "a") + a
    with pytest.raises(ValueError, match="2 nodes named 'a'"):
        explain(twin, "a")


def test_unrelated_value_has_no_path_and_zero_derivative():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    y = a * 3.0
    e = explain(y, b)
    assert e.path_count == 0 and e.total == 0.0
    assert "does not depend on b" in str(e)


def test_very_many_paths_are_counted_not_enumerated_and_summarized():
    a = Value(1.3, "a")
    y = a
    for _ in range(80):  # each level doubles the paths: 2**80 of them
        y = y * 0.5 + y * 0.5
    y.backward()
    e = explain(y, a, max_paths=10)
    assert e.path_count == 2**80
    assert not e.complete and len(e.paths) == 10
    text = str(e)
    assert len(text) < 8000
    assert "more paths, not printed" in text
    assert f"{2**80} paths" in text
    assert e.total == pytest.approx(a.grad, rel=1e-9)
    assert e.total == pytest.approx(1.0, rel=1e-9)  # y == a exactly, so dy/da = 1
    # the grouped breakdown sums to the total
    assert sum(up * local for _, _, up, local in e.through) == pytest.approx(e.total, rel=1e-9)


def test_root_itself_is_the_empty_path():
    a = Value(2.0, "a")
    e = explain(a, a)
    assert e.path_count == 1 and e.total == 1.0


def test_batched_graph_gives_a_clear_message():
    x = Value(np.array([1.0, 2.0]), "x")
    w = Value(0.5, "w")
    loss = (x * w).sum()
    with pytest.raises(ValueError, match="scalar graphs"):
        explain(loss, w)


def test_explain_does_not_touch_gradients():
    root, leaves = random_graph(3)
    before = {n: n.grad for n in topological_order(root)}
    explain(root, leaves[0])
    assert {n: n.grad for n in topological_order(root)} == before


def test_fused_neuron_formula_names_its_pre_activation():
    xs = [Value(1.0, "x1"), Value(2.0, "x2")]
    h = autograd.linear([Value(0.5, "w1"), Value(0.25, "w2")], xs, Value(0.1, "b"), "tanh")
    h.label = "h"
    e = h.explain("w2")
    z = 0.1 + 0.5 * 1.0 + 0.25 * 2.0
    assert e.total == pytest.approx((1 - math.tanh(z) ** 2) * 2.0, rel=1e-12)
    text = str(e)
    assert "(1 - tanh(z)^2) * x2" in text and "(z = b + w1*x1 + w2*x2)" in text


def test_a_long_path_says_how_many_nodes_and_factors_it_hides():
    import re as _re

    for length in (13, 14, 20):  # 13 edges: printed whole; more: the middle elided
        x = Value(0.5, "x")
        v = x
        for k in range(length):
            v = v.tanh() if k % 2 else v * 1.01
            v.label = f"n{k}"
        text = str(v.explain(x))
        path = next(line for line in text.splitlines() if line.startswith("path 1:"))
        shown = path[len("path 1: ") :].split(" <- ")
        hidden = _re.search(r"\.\.\. (\d+) more nodes \.\.\.", path)
        nodes = length + 1  # the root, each node made, and x
        if length == 13:
            assert hidden is None and len(shown) == nodes
        else:
            count = int(hidden.group(1))
            assert count >= 2 and len(shown) - 1 + count == nodes
            factors = _re.search(r"\.\.\. (\d+) more factors \.\.\.", text)
            assert factors is not None and int(factors.group(1)) == count


def test_explain_at_layer_grain_writes_each_layers_S_with_its_own_grad():
    """A layer rule's G (the gradient reaching its node) is written as that node's grad, as the
    step-through writes S; a rule object is not shown again as a number (`= S W`)."""
    import re

    import nn

    model = nn.MLP(2, [2, 1], activation="tanh", seed=0)
    loss = nn.mse(model(np.array([[1.0, -2.0], [0.5, 0.3]])), np.array([0.5, -1.0]))
    loss.label = "loss"
    text = str(autograd.explain(loss, model.layers[0].W))
    assert "dL2/dL1 = d(L1 L2.W^T + L2.b)/dL1 = S L2.W, S = L2.grad\n" in text
    assert "= S^T X, S = L1.grad * tanh'(Z)\n" in text
    assert "(S L2.W, S = L2.grad) * (S^T X, S = L1.grad * tanh'(Z))" in text
    assert not re.search(r"\bG\b", text)
    steps = [str(s) for s in loss.backward_steps()]
    assert "S = L1.grad * tanh'(Z) = 2x2" in steps[-1]  # the step says the same S


def test_a_formula_of_your_own_that_writes_G_is_shown_as_written():
    """Only a rule object's G (a layer's, the GPT's) is the gradient reaching its node; your
    own operation's G (Newton's constant here) is left as you wrote it."""
    G = 6.674e-11
    grav = autograd.define("grav_of_G", lambda m: G * m * m, [lambda m: 2 * G * m], ["2 G {0}"])
    m = Value(3.0, "m")
    F = grav(m)
    F.label = "F"
    text = str(autograd.explain(F, m))
    assert "dF/dm = d(grav_of_G(m))/dm = 2 G m = 4.004e-10" in text and "F.grad" not in text


def test_a_layer_graphs_picture_writes_its_rules_with_each_layers_grad():
    import re

    import nn

    model = nn.MLP(2, [2, 1], activation="tanh", seed=0)
    loss = nn.mse(model(np.array([[1.0, -2.0]])), np.array([0.5]))
    loss.backward()
    source = autograd.draw(loss, formulas=True).source
    assert "dL2/dL1 = S L2.W, S = L2.grad" in source
    assert "dL1/dL1.W = S^T X, S = L1.grad * tanh'(Z)" in source
    assert not re.search(r"\bG\b", source) and "= S W" not in source
