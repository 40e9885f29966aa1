"""`autograd.tape()`: backward reads the recorded nodes instead of searching the graph.

The oracle is the searched backward itself, on a second copy of the very same graph: every
scalar gradient must be identical (==, not close), because the tape must make the same sums in
the same order. Random programs come from test_graphs (shared subexpressions, n-ary and fused
nodes); parts of each graph are made before the tape began, and nodes the root does not
depend on are recorded too. Batched graphs (the bulk path) are compared to 1e-13.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_graphs import OPERATIONS, programs, resolve, run

import autograd
from autograd import Value


def same(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


def build(program, leaves, split: int):
    """The program's values; steps before `split` made now, the rest by the caller's tape."""
    values = [Value(x, f"x{i}") for i, x in enumerate(leaves)]
    before = run(program[:split], values, 1)
    return values, before


def finish(program, before: list, split: int, n_leaves: int):
    """Run the steps from `split` on, then the root (as `output` does), plus a dead branch."""
    results = list(before)
    for name, indices in program[split:]:
        results.append(OPERATIONS[name][1](*[results[i] for i in indices]))
    used = {i for _, indices in program for i in indices}
    unused = [r for i, r in enumerate(results) if i >= n_leaves and i not in used]
    dead = (results[-1] * 3.0).exp()  # recorded, but the root does not read it
    root = autograd.sum(unused) if unused else results[-1]
    return results, root, dead


@settings(max_examples=200, deadline=None)
@given(programs, st.integers(0, 20), st.booleans())
def test_tape_gives_exactly_the_searched_gradients(case, split_at, stale):
    leaves, steps = case
    program = resolve(leaves, steps)
    split = min(split_at, len(program))
    n = len(leaves)

    # the oracle: the same graph, searched
    values_a, before_a = build(program, leaves, split)
    results_a, root_a, _ = finish(program, before_a, split, n)
    if stale:  # an earlier pass leaves gradients behind on the pre-tape nodes
        results_a[-1].backward()
    root_a.backward()

    values_b, before_b = build(program, leaves, split)
    with autograd.tape() as tape:
        results_b, root_b, dead = finish(program, before_b, split, n)
        if stale:
            results_b[-1].backward()
        root_b.backward()
    assert len(tape) >= len(program) - split
    assert root_a.data == root_b.data or math.isnan(root_a.data)
    for a, b in zip(results_a, results_b):  # (every result is read by the root)
        assert same(a.grad, b.grad), (a.grad, b.grad, program)
    assert dead.grad == 0.0  # recorded, not reached: d root / d dead = 0


def test_nodes_the_root_does_not_read_end_with_zero_even_through_inf():
    a = Value(0.0, "a")
    with autograd.tape():
        side = a.log()  # -inf, with local derivative 1/0 = inf
        root = a * 2.0
        root.backward()
    assert a.grad == 2.0  # 0 * inf from `side` would make it nan
    assert side.grad == 0.0


def test_ieee_zero_times_inf_is_kept_where_the_root_does_read_it():
    # d/da of relu(-1) * log(a) at a = 0: the searched backward gives 0 * inf = nan, as
    # PyTorch does; the tape must agree.
    a = Value(0.0)
    (Value(-1.0).relu() * a.log()).backward()
    assert math.isnan(a.grad)
    a = Value(0.0)
    with autograd.tape():
        (Value(-1.0).relu() * a.log()).backward()
    assert math.isnan(a.grad)


def test_a_root_recorded_earlier_leaves_later_nodes_alone():
    x = Value(1.5, "x")
    with autograd.tape() as tape:
        first = x * x
        later = first.tanh()
        later.backward()
        assert later.grad == 1.0
        x.zero_grad()
        first.backward()  # later was recorded after first: not part of this pass
    assert x.grad == 3.0
    assert first.grad == 1.0
    assert later.grad == 1.0  # kept from its own pass
    assert len(tape) == 2


def test_backward_twice_on_a_tape_leaves_accumulate_inner_nodes_show_the_latest():
    x = Value(2.0)
    with autograd.tape():
        y = x * x
        z = y + 1.0
        z.backward()
        z.backward()
    assert x.grad == 8.0
    assert y.grad == 1.0 and z.grad == 1.0


def test_inner_nodes_made_before_the_tape_are_finished_by_a_search():
    x = Value(0.7, "x")
    u = x.tanh()  # made before the tape
    v = u * u
    expected = 2 * math.tanh(0.7) * (1 - math.tanh(0.7) ** 2) * 3 + 1
    for make in (
        lambda: (v * 3.0) + x,  # binary nodes read it
        lambda: autograd.sum([v, v, v, x]),  # an n-ary node reads it three times
        lambda: autograd.linear([v, x], [Value(3.0), Value(1.0)]),  # a fused node
    ):
        x.grad = 0.0
        with autograd.tape():
            root = make()
            root.backward()
        assert math.isclose(x.grad, expected, rel_tol=1e-15), make
        assert v.grad == 3.0 and math.isclose(u.grad, 6 * math.tanh(0.7), rel_tol=1e-15)


def batched_network(seed: int, split: int, stale: bool, taped: bool):
    """A batched two-layer network and loss, its first `split` stages made before the tape
    (if `taped`): an inner feature per input, layer 1, then layer 2 and the loss (with L2 and
    a recorded branch the loss does not read). Returns (loss, every Value to compare)."""
    rng = np.random.default_rng(seed)
    X, t = rng.normal(size=(2, 7)), rng.normal(size=7)
    W1 = [[Value(float(v)) for v in row] for row in rng.normal(size=(3, 2))]
    b1 = [Value(float(v)) for v in rng.normal(size=3)]
    W2 = [[Value(float(v)) for v in rng.normal(size=3)]]
    b2 = [Value(0.1)]
    params = [p for row in W1 + W2 for p in row] + b1 + b2
    xs = [Value(x, f"x{i}") for i, x in enumerate(X)]
    made: list[Value] = []

    def stage(k: int, h):
        if k == 0:
            return [x * 1.5 + 0.25 for x in xs]  # inner batched nodes feeding layer 1
        if k == 1:
            return autograd.linear_layer(W1, h, b1, "tanh")
        out = autograd.linear_layer(W2, h, b2, "linear")[0]
        made.append((out * 3.0).exp().sum())  # recorded, not read by the loss
        return ((out - t) ** 2).mean() + 1e-2 * autograd.sum_of_squares(params)

    h = None
    for k in range(min(split, 2)):
        h = stage(k, h)
        made.extend(h)
    if stale and split:
        autograd.sum([v.sum() for v in h]).backward()  # gradients left on the early nodes
    with autograd.tape() if taped else contextlib.nullcontext():
        for k in range(min(split, 2), 3):
            h = stage(k, h)
            made.extend([h] if k == 2 else h)
        h.backward()
    return h, params + xs + made


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 2), st.booleans())
def test_batched_tape_agrees_with_the_searched_backward(seed, split, stale):
    loss_a, values_a = batched_network(seed, split, stale, taped=False)
    loss_b, values_b = batched_network(seed, split, stale, taped=True)
    assert loss_a.data == loss_b.data
    for a, b in zip(values_a, values_b):
        assert np.allclose(a.grad, b.grad, rtol=1e-13, atol=1e-15), (a, b)


def test_a_batched_tape_takes_the_bulk_path_without_searching(monkeypatch):
    calls = []
    real = autograd.graph.backward_order
    for module in (autograd.value, autograd.fast.bulk):
        monkeypatch.setattr(module, "backward_order", lambda *r: calls.append(r) or real(*r))
    batched_network(3, 0, False, taped=True)
    assert calls == []  # everything on the tape: no search
    batched_network(3, 1, True, taped=True)
    assert len(calls) == 2  # the stale pass searched; the taped pass searched only the rest


def test_nested_tapes_record_on_the_outer_one_and_no_grad_records_nothing():
    x = Value(1.0)
    with autograd.tape() as outer:
        a = x + 1.0
        with autograd.tape() as inner:
            b = a * 2.0
            with autograd.no_grad():
                c = b * 5.0
        assert inner is outer
        assert outer.nodes == [a, b]
        assert c.is_leaf
        b.backward()
    assert x.grad == 2.0
    assert repr(outer) == "Tape(2 nodes)"


def test_after_the_block_backward_searches_and_the_tape_is_gone():
    x = Value(3.0)
    with autograd.tape():
        y = x * x
    assert autograd.fast.replay.current is None and autograd.value.recorder is None
    y.backward()
    assert x.grad == 6.0


def test_anomaly_mode_still_names_the_operation_on_a_tape():
    x = Value(0.0, "x")
    with autograd.tape():
        y = x.log().exp()  # exp(-inf) = 0: finite; backward then meets 0 * inf at x
        with autograd.detect_anomaly():
            try:
                (y * 2.0).backward()
            except FloatingPointError as error:
                message = str(error)
            else:
                message = ""
    assert "x=0.0" in message
