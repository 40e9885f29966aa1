"""Step-through backprop: same order, same arithmetic, same gradients as backward()."""

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, backward_steps, node_names, topological_order


def random_graph(seed: int, size: int = 12):
    """A random DAG over a few leaves: reuse of nodes, duplicates (a*a), n-ary sums, fused
    linear nodes, every unary function. Returns (root, leaves)."""
    rng = random.Random(seed)
    leaves = [Value(rng.uniform(-2, 2), f"x{i}") for i in range(rng.randint(1, 4))]
    nodes = list(leaves)
    for _ in range(size):
        a, b = rng.choice(nodes), rng.choice(nodes)
        kind = rng.randrange(11)
        if kind == 0:
            out = a + b
        elif kind == 1:
            out = a - b
        elif kind == 2:
            out = a * b
        elif kind == 3:
            out = a / (b * b + 1.0)
        elif kind == 4:
            out = a.tanh()
        elif kind == 5:
            out = a.sigmoid()
        elif kind == 6:
            out = (a * 0.3).exp()
        elif kind == 7:
            out = a.relu() + a * a
        elif kind == 8:
            out = autograd.sum([a, b, a])
        elif kind == 9:
            out = autograd.linear([a, b], [b, a], rng.choice(nodes), rng.choice(["tanh", "relu"]))
        else:
            out = a**2 + abs(b)
        nodes.append(out)
    root = autograd.sum(nodes[-3:]) if len(nodes) > 3 else nodes[-1]
    return root, leaves


def chain_rule_snapshots(root: Value) -> list[dict]:
    """An independent oracle: the chain rule on a dict of numbers, snapshot after each node
    that has parents (grads are not touched)."""
    order = topological_order(root)
    grad = {n: (n.grad if not n.parents else 0.0) for n in order}
    grad[root] = 1.0 if root.parents else grad[root] + 1.0
    snapshots = [dict(grad)]
    # the real pass's order: the engine's propagation order (each node before its parents)
    engine_order = getattr(autograd.graph, "backward_order", None)
    visits = engine_order(root) if engine_order else [n for n in reversed(order) if n.parents]
    for node in visits:
        for parent, local in zip(node.parents, node.local_grads):
            if parent.requires_grad:  # a constant (a number in the formula) receives nothing
                grad[parent] += local * grad[node]
        snapshots.append(dict(grad))
    return snapshots


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_all_steps_leave_exactly_the_gradients_of_backward(seed):
    root, leaves = random_graph(seed)
    order = topological_order(root)
    steps = root.backward_steps()
    done = steps.run()
    assert len(done) == steps.total == sum(1 for n in order if n.parents)
    after_steps = {n: n.grad for n in order}
    for node in order:  # every leaf, constants included, accumulates: start the pass afresh
        if not node.parents:
            node.zero_grad()
    root.backward()
    for node in order:
        assert node.grad == after_steps[node] or (
            math.isnan(node.grad) and math.isnan(after_steps[node])
        )


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_between_steps_every_grad_is_that_of_the_real_pass_at_that_point(seed):
    root, leaves = random_graph(seed)
    for leaf in leaves:  # leaves accumulate: start from a previous pass's gradients
        leaf.grad = 0.25
    expected = chain_rule_snapshots(root)
    order = topological_order(root)
    steps = backward_steps(root)
    snapshots = [{n: n.grad for n in order}]
    for _ in steps:
        snapshots.append({n: n.grad for n in order})
    assert len(snapshots) == len(expected)
    for got, want in zip(snapshots, expected):
        for node in order:
            assert got[node] == pytest.approx(want[node], rel=1e-12, abs=1e-12, nan_ok=True)


@pytest.mark.parametrize("seed", range(5))
def test_steps_visit_each_non_leaf_node_once_after_every_node_that_uses_it(seed):
    root, _ = random_graph(seed, size=25)
    order = topological_order(root)
    visited = [step.node for step in backward_steps(root)]
    assert set(visited) == {n for n in order if n.parents} and len(visited) == len(set(visited))
    position = {node: k for k, node in enumerate(visited)}
    for node in visited:
        for parent in node.parents:
            if parent.parents:
                assert position[node] < position[parent]
    assert visited[0] is root
    assert [step.number for step in backward_steps(root)] == list(range(1, len(visited) + 1))


def test_step_text_shows_the_chain_rule_arithmetic():
    a, b, d = Value(2.0, "a"), Value(-3.0, "b"), Value(-2.0, "d")
    c = a * b
    c.label = "c"
    L = c * d
    L.label = "L"
    steps = L.backward_steps()
    first, second = next(steps), next(steps)
    # d L/d c = d = -2; d c/d a = b = -3 -> a.grad = 6; d c/d b = a = 2 -> b.grad = -4
    assert str(first).splitlines()[0] == "step 1/2  L = c * d   (L.grad = 1.0)"
    lines = str(second).splitlines()
    assert lines[0] == "step 2/2  c = a * b   (c.grad = -2.0)"
    assert lines[1].startswith("  a.grad += c.grad * dc/da = -2.0 * -3.0 = 6.0")
    assert lines[1].endswith("-> a.grad = 6.0")
    assert lines[2].startswith("  b.grad += c.grad * dc/db = -2.0 * 2.0 = -4.0")
    assert lines[2].endswith("-> b.grad = -4.0")
    assert [e.formula for e in second.edges] == ["b", "a"]  # from the table of operations
    assert a.grad == 6.0 and b.grad == -4.0
    with pytest.raises(StopIteration):
        next(steps)


def test_a_repeated_parent_gets_one_line_per_edge_with_running_totals():
    a = Value(3.0, "a")
    y = a * a  # dy/da = a, twice
    y.label = "y"
    (step,) = list(y.backward_steps())
    assert [e.parent_name for e in step.edges] == ["a", "a"]
    assert [e.grad_after for e in step.edges] == [3.0, 6.0]
    assert a.grad == 6.0


def test_leaf_root_has_no_steps_and_accumulates_like_backward():
    x = Value(1.5, "x")
    steps = x.backward_steps()
    assert steps.total == 0 and list(steps) == []
    assert x.grad == 1.0


def test_leaves_accumulate_across_passes_like_backward():
    x = Value(0.7, "x")
    y = (x * x).tanh()
    y.backward()
    once = x.grad
    y.backward_steps().run()
    assert x.grad == pytest.approx(2 * once, rel=1e-15)


def test_automatic_names_are_stable_unique_and_skip_user_labels():
    def build():
        p = Value(1.0, "v1")  # a user label that looks automatic
        q = Value(2.0)  # an unlabelled variable (it tracks its gradient): named, not a number
        r = Value(3.0, "w")
        s = Value(4.0, "w")  # a repeated label
        c = Value(0.5, requires_grad=False)  # a constant: shown as its value
        return ((p * q) + (r * s) * c).tanh()

    first, second = build(), build()
    names1, names2 = node_names(first), node_names(second)
    assert list(names1.values()) == list(names2.values())
    assert len(set(names1.values())) == len(names1)
    order = topological_order(first)
    shown = [names1[n] for n in order]
    assert shown[0] == "v1"  # the user's label
    assert "v1" not in [names1[n] for n in order if not n.label]
    assert "w" in shown and "w#2" in shown
    unlabelled = [names1[n] for n in order if not n.label and n.requires_grad]
    assert unlabelled == [f"v{k}" for k in range(2, 2 + len(unlabelled))]
    assert names1[order[1]] == "v2"  # q, a leaf that tracks its gradient
    assert [names1[n] for n in order if not n.requires_grad] == ["0.5"]  # the constant
    assert all(names1[n] in str(step) for step in first.backward_steps() for n in [step.node])


def test_batched_graph_steps_match_backward():
    x = Value(np.array([0.5, -1.0, 2.0]), "x")
    w = Value(1.5, "w")
    loss = (x * w).tanh().mean()
    steps = loss.backward_steps()
    text = "\n".join(str(s) for s in steps)
    assert "w.grad" in text
    got = w.grad
    w.zero_grad()
    x.zero_grad()
    loss.backward()
    assert got == pytest.approx(w.grad, rel=1e-12)
    expected = float(np.mean((1 - np.tanh(1.5 * x.data) ** 2) * x.data))  # by hand
    assert got == pytest.approx(expected, rel=1e-12)


def test_batched_root_is_a_clear_error():
    x = Value(np.array([1.0, 2.0]), "x")
    with pytest.raises(ValueError, match="reduce it first"):
        (x * 2.0).backward_steps()


def test_steps_read_well_at_the_repl():
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    c = a * b
    c.label = "c"
    steps = c.backward_steps()
    assert repr(steps) == "<backward steps from c: 0 of 1 done>"
    step = next(steps)
    assert repr(step) == str(step) and repr(step).startswith("step 1/1  c = a * b")
    assert repr(steps) == "<backward steps from c: 1 of 1 done>"


def test_the_step_through_leaves_backwards_bits_the_sign_of_a_zero_included():
    """backward() adopts an array's first share; the step-through must leave the same bits,
    so a share of -0.0 stays -0.0 there too (0.0 + -0.0 would make it +0.0)."""
    x = Value(np.array([1.0, 2.0, -3.0]), "x")
    loss = (x * Value(-2.0)).relu().sum()  # relu's slope 0 times -2: shares of -0.0 into x
    loss.backward()
    expected = x.grad.copy()
    assert np.signbit(expected[:2]).all()  # (the case this test is about)
    x.grad = 0.0
    list(loss.backward_steps())
    assert x.grad.tobytes() == expected.tobytes()


def test_a_shown_share_keeps_its_numbers_after_later_shares_arrive():
    """The first share into an array parent is adopted as its grad, and later shares are added
    to that grad in place: what a step showed must not change with them."""
    x = Value(np.array([1.0, 2.0]), "x")
    loss = (x * x + x.exp()).sum()
    steps = list(loss.backward_steps())
    exp_step = next(s for s in steps if "exp(x)" in str(s))
    assert "= [2.7183, 7.3891]   -> x.grad = [2.7183, 7.3891]" in str(exp_step)
    assert np.allclose(x.grad, 2 * np.array([1.0, 2.0]) + np.exp([1.0, 2.0]))
