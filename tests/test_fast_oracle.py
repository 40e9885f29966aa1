"""The oracle for the rooms of speed: every fast path gives the core's gradients.

The core is `autograd.value`'s own loop (`start_backward`, then `chain_rule` at each node), run
here with the fast hook switched off (`core_only`). Against it:

- the tape (`autograd.fast.tape()`): on random scalar programs (test_graphs: shared
  subexpressions, n-ary and fused nodes) with parts made before the tape, leftover gradients
  from an earlier pass and recorded nodes the root does not read: identical (==), because the
  tape must make the same sums in the same order;
- the bulk backward (`autograd.fast.bulk`) on batched graphs, searched and on a tape: random
  networks whose layers are whole `linear_layer`s, one `linear` per neuron or primitive nodes,
  read in part, with a batch of one, with 0, -0.0, inf and nan among the inputs: equal to
  1e-13 (a layer's sums are grouped as matrix products);
- each fused rule against the primitive rows it stands for: the fused neuron's local
  derivatives against the same neuron made of `*`, `+` and its activation's row.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_graphs import OPERATIONS, programs, resolve, run

import autograd
from autograd import Value


def same(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


@contextlib.contextmanager
def core_only() -> Iterator[None]:
    """`backward()` runs the core's loop alone: the fast hook switched off meanwhile."""
    hook, autograd.value.fast_backward = autograd.value.fast_backward, None
    try:
        yield
    finally:
        autograd.value.fast_backward = hook


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
def test_tape_gives_exactly_the_cores_gradients(case, split_at, stale):
    leaves, steps = case
    program = resolve(leaves, steps)
    split = min(split_at, len(program))
    n = len(leaves)

    # the oracle: the same graph, the core's loop alone
    values_a, before_a = build(program, leaves, split)
    results_a, root_a, _ = finish(program, before_a, split, n)
    with core_only():
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
    with autograd.tape() if taped else core_only():
        for k in range(min(split, 2), 3):
            h = stage(k, h)
            made.extend([h] if k == 2 else h)
        h.backward()
    return h, params + xs + made


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 2), st.booleans())
def test_batched_tape_agrees_with_the_cores_loop(seed, split, stale):
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


# -- batched graphs: the bulk backward, searched and on a tape, against the core's loop ---------

SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan]
ACTIVATIONS = ["linear", "relu", "tanh", "sigmoid"]


def batched_case(seed: int, batch: int, special: bool, taped: bool, core: bool):
    """A random batched network and loss: each layer made whole (`linear_layer`), one
    `linear` per neuron, or from primitive nodes; the next layer reads some of its neurons
    (in any order, one of them twice). Returns (loss, every Value whose grad to compare)."""
    rng = np.random.default_rng(seed)
    sizes = [int(n) for n in rng.integers(1, 5, size=rng.integers(2, 4))]
    X = rng.normal(size=(sizes[0], batch))
    if special:  # a few IEEE entries among the inputs
        for _ in range(2):
            X[rng.integers(sizes[0]), rng.integers(batch)] = SPECIAL[rng.integers(len(SPECIAL))]
    xs = [Value(row, f"x{i}") for i, row in enumerate(X)]
    params: list[Value] = []
    made: list[Value] = []
    with autograd.tape() if taped else contextlib.nullcontext():
        h: list[Value] = xs
        for n_out in sizes[1:]:
            W = [[Value(float(v)) for v in rng.normal(size=len(h))] for _ in range(n_out)]
            b = [Value(float(v)) for v in rng.normal(size=n_out)]
            params += [p for row in W for p in row] + b
            act = ACTIVATIONS[rng.integers(4)]
            how = rng.integers(3)
            if how == 0:
                out = autograd.linear_layer(W, h, b, act)
            elif how == 1:
                out = [autograd.linear(w, h, c, act) for w, c in zip(W, b)]
            else:
                out = [autograd.sum([c, *[wi * x for wi, x in zip(w, h)]]) for w, c in zip(W, b)]
                out = out if act == "linear" else [getattr(z, act)() for z in out]
            made += out
            picks = list(rng.permutation(len(out)))[: rng.integers(1, len(out) + 1)]
            h = [out[i] for i in picks] + [out[picks[0]] * 0.5]
        loss = autograd.sum([((v - 0.3) ** 2).mean() for v in h]) + 1e-2 * autograd.sum_of_squares(
            params
        )
        with core_only() if core else contextlib.nullcontext():
            loss.backward()
    return loss, params + xs + made


def close(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(
        np.allclose(a, b, rtol=1e-13, atol=1e-14, equal_nan=True)
        and np.array_equal(np.isnan(a), np.isnan(b))
    )


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 6), st.booleans(), st.booleans())
def test_bulk_backward_gives_the_cores_gradients(seed, batch, special, taped):
    with np.errstate(all="ignore"):
        loss_core, values_core = batched_case(seed, batch, special, taped=False, core=True)
        loss_fast, values_fast = batched_case(seed, batch, special, taped=taped, core=False)
    assert same(loss_core.data, loss_fast.data)
    for a, b in zip(values_core, values_fast, strict=True):
        assert close(a.grad, b.grad), (a, b, seed)


def test_the_bulk_path_runs_where_the_graph_is_batched(monkeypatch):
    """The oracle above compares two different loops: the hook takes batched graphs and tapes,
    and leaves a scalar graph off a tape to the core's loop."""
    taken = []
    real = autograd.fast.bulk.run
    monkeypatch.setattr(autograd.fast.bulk, "run", lambda *a: taken.append(1) or real(*a))
    x = Value(2.0)
    (x * x).backward()
    assert taken == []
    (Value(np.array([1.0, 2.0])) * x).sum().backward()
    assert taken == [1]
    with autograd.tape():
        (x * x).backward()
    assert taken == [1, 1]
    with autograd.detect_anomaly():  # the core's loop, whose every edge is checked
        (Value(np.array([1.0, 2.0])) * x).sum().backward()
    assert taken == [1, 1]


# -- fused rules against the primitive rows they stand for ---------------------------------------


def primitive_neuron(ws, xs, b, activation):
    """act(b + w_1 x_1 + ... + w_n x_n) from `*`, `+` and the activation's own row."""
    z = b
    for w, x in zip(ws, xs):
        z = z + w * x
    return z if activation == "linear" else getattr(z, activation)()


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 10**6),
    st.integers(1, 4),
    st.sampled_from(ACTIVATIONS),
    st.sampled_from([None, 1, 5]),
)
def test_fused_local_derivatives_are_the_primitive_rows_chain_rule(seed, n, activation, batch):
    """Each local derivative of the fused node is d out/d parent of the same neuron made of
    primitive nodes, computed by the core's backward."""
    rng = np.random.default_rng(seed)
    data = rng.normal(size=2 * n + 1) * 2
    X = rng.normal(size=(n, batch)) if batch else None
    ws = [Value(float(v)) for v in data[:n]]
    xs = [Value(X[i] if batch else float(data[n + i])) for i in range(n)]
    b = Value(float(data[-1]))
    fused = autograd.linear(ws, xs, b, activation)
    for k, parent in enumerate((*ws, *xs, b)):
        copies = [Value(p.data) for p in (*ws, *xs, b)]
        out = primitive_neuron(copies[:n], copies[n : 2 * n], copies[-1], activation)
        assert close(fused.data, out.data)
        if batch:  # d out_s / d parent for every sample s: one backward per sample
            for s in range(batch):
                for c in copies:
                    c.zero_grad()
                pick = np.zeros(batch)
                pick[s] = 1.0
                with core_only():
                    (out * Value(pick)).sum().backward()
                expected = copies[k].grad if type(parent.data) is float else copies[k].grad[s]
                assert close(np.asarray(fused.local_grads[k])[s], expected), (k, s)
        else:
            with core_only():
                out.backward()
            assert close(fused.local_grads[k], copies[k].grad), (k, activation)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
def test_a_layers_activation_in_fewer_arrays_is_the_rows_bit_for_bit(activation):
    from autograd.fast import fused

    autograd.ops.use_numpy()  # (as the first batch does)
    specials = [0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324, 1e308, -1e308, math.inf, -math.inf]
    z = np.array([specials + [math.nan], np.linspace(-30, 30, 11)])
    with autograd.ieee.quiet():  # (as every batched node computes)
        out, slope = fused._activate_layer(activation, z.copy())
        row_out, row_slope = fused._activate(activation, z.copy())
    assert out.dtype == np.float64 and slope.dtype == (bool if activation == "relu" else float)
    for ours, theirs in ((out, row_out), (slope.astype(float), row_slope)):
        ours, theirs = np.broadcast_to(ours, z.shape), np.broadcast_to(theirs, z.shape)
        assert ours.dtype == theirs.dtype == np.float64
        assert np.array_equal(ours, theirs, equal_nan=True)
        assert np.array_equal(np.signbit(ours), np.signbit(theirs))
