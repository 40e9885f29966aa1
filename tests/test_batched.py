"""Batched values: the graph of one sample, run on a whole batch, agrees with per-sample graphs.

The oracle for every batched gradient is independent of the batched code path: the same
network built once per sample from plain float Values (the scalar engine), whose gradients are
summed or averaged by hand, plus a hand-written NumPy backprop for one neuron.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value
from autograd.fast import LinearGrads

ACTIVATIONS = ["linear", "relu", "tanh", "sigmoid"]
TOLERANCE = 1e-10


def close(a, b, tol: float = TOLERANCE) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(np.abs(a - b) <= tol * (1.0 + np.abs(b))))


def random_network(rng: np.random.Generator, sizes: list[int]) -> list[list[tuple[list, float]]]:
    """Plain numbers: layers of neurons, each (weights, bias)."""
    return [
        [(list(rng.uniform(-1.5, 1.5, nin)), float(rng.uniform(-0.5, 0.5))) for _ in range(nout)]
        for nin, nout in zip(sizes[:-1], sizes[1:])
    ]


def build(numbers, inputs: list[Value], activations: list[str]):
    """The graph of one sample: one fused node per neuron. Returns (outputs, parameter Values)."""
    params = []
    xs = inputs
    for layer, activation in zip(numbers, activations):
        outs = []
        for weights, bias in layer:
            ws = [Value(w) for w in weights]
            b = Value(bias)
            params += [*ws, b]
            outs.append(autograd.linear(ws, xs, b, activation))
        xs = outs
    return xs, params


def loss_of(outputs: list[Value], target) -> Value:
    """A loss with scalar and batched parts: sum_j (o_j - t)**2 * 0.5 + relu(1 - t * o_0)."""
    total = autograd.sum([(o - target) ** 2 * 0.5 for o in outputs])
    return total + (1.0 - target * outputs[0]).relu()


def per_sample_gradients(numbers, X, t, activations):
    """(mean loss, mean parameter gradients, per-sample input gradients / B) from scalar graphs."""
    count = X.shape[0]
    total, param_grads, input_grads = 0.0, None, []
    for k in range(count):
        inputs = [Value(float(v)) for v in X[k]]
        outputs, params = build(numbers, inputs, activations)
        loss = loss_of(outputs, float(t[k]))
        loss.backward()
        assert all(type(p.grad) is float for p in params)  # the scalar path stays scalar
        total += loss.data
        grads = np.array([p.grad for p in params])
        param_grads = grads if param_grads is None else param_grads + grads
        input_grads.append([x.grad for x in inputs])
    return total / count, param_grads / count, np.array(input_grads).T / count


def batched_gradients(numbers, X, t, activations):
    inputs = [Value(X[:, j]) for j in range(X.shape[1])]
    outputs, params = build(numbers, inputs, activations)
    loss = loss_of(outputs, Value(t)).mean()
    loss.backward()
    return loss.data, np.array([p.grad for p in params]), np.array([x.grad for x in inputs])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    batch=st.integers(1, 7),
    sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4),
    activations=st.lists(st.sampled_from(ACTIVATIONS), min_size=3, max_size=3),
)
def test_batched_mlp_agrees_with_per_sample_graphs(seed, batch, sizes, activations):
    rng = np.random.default_rng(seed)
    numbers = random_network(rng, sizes)
    X = rng.normal(0.0, 1.5, (batch, sizes[0]))
    t = rng.choice([-1.0, 1.0], batch)
    acts = (activations * 2)[: len(sizes) - 1]
    loss, params, inputs = batched_gradients(numbers, X, t, acts)
    expected_loss, expected_params, expected_inputs = per_sample_gradients(numbers, X, t, acts)
    assert close(loss, expected_loss)
    assert close(params, expected_params)
    assert close(inputs, expected_inputs)


def test_a_neuron_against_hand_written_numpy_backprop():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(6, 3))
    w, b = rng.normal(size=3), 0.25
    ws, bias = [Value(v) for v in w], Value(b)
    inputs = [Value(X[:, j]) for j in range(3)]
    out = autograd.linear(ws, inputs, bias, "tanh")
    (out * out).sum().backward()
    # by hand: z = Xw + b, a = tanh z, L = sum a^2, dL/dz = 2 a (1 - a^2)
    a = np.tanh(X @ w + b)
    dz = 2 * a * (1 - a * a)
    assert close(out.data, a)
    assert close([p.grad for p in ws], X.T @ dz)
    assert close(bias.grad, dz.sum())
    assert close(np.array([x.grad for x in inputs]), np.outer(w, dz))


@pytest.mark.parametrize("made_by", ["linear", "linear_layer"])
def test_linear_grads_read_like_the_tuple_of_local_derivatives(made_by):
    rng = np.random.default_rng(1)
    w, X, b = rng.normal(size=3), rng.normal(size=(3, 5)), -0.5
    ws, xs = [Value(v) for v in w], [Value(x) for x in X]
    if made_by == "linear":
        out = autograd.linear(ws, xs, Value(b), "sigmoid")
    else:  # the second neuron of a layer: its row of what the layer's nodes share
        other = [Value(v) for v in rng.normal(size=3)]
        out = autograd.linear_layer([other, ws], xs, [Value(0.3), Value(b)], "sigmoid")[1]
    local_grads = out.local_grads
    assert isinstance(local_grads, LinearGrads)
    s = 1.0 / (1.0 + np.exp(-(w @ X + b)))
    slope = s * (1 - s)
    expected = [slope * x for x in X] + [slope * v for v in w] + [slope]
    assert len(local_grads) == len(out.parents) == 7
    for got, want in zip(local_grads, expected, strict=True):
        assert close(got, want, 1e-13)
    for i, want in enumerate(expected):
        assert close(local_grads[i], want, 1e-13)
        assert close(local_grads[i - 7], want, 1e-13)
    assert len(local_grads[2:5]) == 3 and close(local_grads[2:5][1], expected[3])
    assert local_grads  # truthy, like a non-empty tuple
    with pytest.raises(IndexError, match="out of range"):
        local_grads[7]
    assert "7 local derivatives" in repr(local_grads)


def test_detect_anomaly_gives_the_same_gradients_on_a_finite_batch():
    def grads():
        rng = np.random.default_rng(11)
        numbers = random_network(rng, [2, 3, 1])
        inputs = [Value(rng.normal(size=4)) for _ in range(2)]
        outputs, params = build(numbers, inputs, ["relu", "tanh"])
        outputs[0].mean().backward()
        return [p.grad for p in params]

    fast = grads()
    with autograd.detect_anomaly():
        checked = grads()
    assert close(fast, checked, 1e-13)


def test_inputs_shared_by_layers_repeated_and_used_elsewhere():
    """A batched input read by two neurons, twice by one neuron, and by a plain node."""
    X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])

    def graph(x1, x2, w):
        a = autograd.linear([w[0], w[1], w[2]], [x1, x2, x1], w[3], "tanh")
        c = autograd.linear([w[4], w[5]], [x1, x2], w[6], "relu")
        d = autograd.linear([w[7], w[8]], [a, c], w[9])
        return d * x2 + a.exp()

    weights = [0.3, -0.2, 0.7, 0.1, 0.9, -0.4, 0.05, 1.1, -0.6, 0.2]
    w = [Value(v) for v in weights]
    x1, x2 = Value(X[0]), Value(X[1])
    graph(x1, x2, w).sum().backward()
    for k in range(3):
        ws = [Value(v) for v in weights]
        s1, s2 = Value(X[0, k]), Value(X[1, k])
        graph(s1, s2, ws).backward()
        assert close(x1.grad[k], s1.grad) and close(x2.grad[k], s2.grad)
        if k == 0:
            totals = np.array([p.grad for p in ws])
        else:
            totals += np.array([p.grad for p in ws])
    assert close([p.grad for p in w], totals)


def test_leaf_gradients_accumulate_across_passes_and_inner_ones_reset():
    x = Value(np.array([1.0, -2.0, 3.0]))
    w, b = Value(0.5), Value(0.1)
    out = autograd.linear([w], [x], b, "tanh")
    loss = out.mean()
    loss.backward()
    first_w, first_x, first_out = w.grad, x.grad.copy(), out.grad.copy()
    loss.backward()
    assert close(w.grad, 2 * first_w) and close(x.grad, 2 * first_x)
    assert close(out.grad, first_out)  # not a leaf: this pass only


def test_mixed_operands_take_the_elementwise_path_and_stay_right():
    """A batched bias or weight, or a number among the inputs: not the bulk layout."""
    X = np.array([0.5, -1.5, 2.0])
    for make in (
        lambda x, w, b: autograd.linear([w, w], [x, 2.0], b),  # a number among the inputs
        lambda x, w, b: autograd.linear([w], [x], x * b),  # a batched bias
        lambda x, w, b: autograd.linear([x], [w], b, "tanh"),  # a batched weight
    ):
        w, b = Value(0.7), Value(-0.3)
        x = Value(X)
        out = make(x, w, b)
        assert not isinstance(out.local_grads, LinearGrads)
        out.sum().backward()
        for k in range(3):
            ws, bs, xs = Value(0.7), Value(-0.3), Value(float(X[k]))
            make(xs, ws, bs).backward()
            assert close(x.grad[k], xs.grad)
            if k == 0:
                wsum, bsum = ws.grad, bs.grad
            else:
                wsum, bsum = wsum + ws.grad, bsum + bs.grad
        assert close(w.grad, wsum) and close(b.grad, bsum)


def test_batches_of_different_sizes_are_a_clear_error():
    with pytest.raises(ValueError, match="batches of different sizes"):
        autograd.linear([Value(1.0), Value(2.0)], [Value(np.ones(3)), Value(np.ones(4))])


def test_a_batch_of_one_and_relu_at_zero_match_the_scalar_engine():
    # relu'(0) is 0 on both paths; z == 0 exactly at the second sample
    X = np.array([2.0, 0.0, -1.0])
    w, b = Value(1.0), Value(0.0)
    autograd.linear([w], [Value(X)], b, "relu").sum().backward()
    assert w.grad == 2.0 and b.grad == 1.0
    x1 = Value(np.array([3.0]))
    w1 = Value(-2.0)
    autograd.linear([w1], [x1], 0.5, "sigmoid").mean().backward()
    ws, xs = Value(-2.0), Value(3.0)
    autograd.linear([ws], [xs], 0.5, "sigmoid").backward()
    assert close(w1.grad, ws.grad, 1e-15) and close(x1.grad[0], xs.grad, 1e-15)


def test_the_scalar_path_makes_no_arrays():
    ws = [Value(0.5), Value(-1.0)]
    out = autograd.linear(ws, [Value(2.0), Value(3.0)], Value(0.25), "tanh")
    assert type(out.data) is float and type(out.local_grads) is tuple
    assert all(type(g) is float for g in out.local_grads)
    out.backward()
    assert all(type(p.grad) is float for p in ws)


def test_a_dropped_batched_graph_is_freed_without_the_cyclic_collector():
    """No reference cycles, and no cache keeps a dropped graph's arrays alive."""
    import gc
    import weakref

    rng = np.random.default_rng(2)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        numbers = random_network(rng, [2, 3, 1])
        inputs = [Value(rng.normal(size=50)) for _ in range(2)]
        outputs, params = build(numbers, inputs, ["relu", "linear"])
        loss = loss_of(outputs, 1.0).mean()
        loss.backward()
        hidden = outputs[0].parents[3]  # a neuron of the first layer
        refs = [
            weakref.ref(loss),
            weakref.ref(outputs[0]),
            weakref.ref(hidden),
            weakref.ref(hidden.local_grads),
            weakref.ref(hidden.local_grads.columns),
            weakref.ref(hidden.data),
        ]
        del loss, outputs, hidden
        assert [r() is None for r in refs] == [True] * len(refs)
        assert all(type(p.grad) is float for p in params)
    finally:
        if was_enabled:
            gc.enable()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    nin=st.integers(1, 5),
    nout=st.integers(1, 5),
    batch=st.integers(1, 6),
    activation=st.sampled_from(ACTIVATIONS),
    batched=st.booleans(),
)
def test_linear_layer_makes_the_nodes_linear_makes(seed, nin, nout, batch, activation, batched):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(nout, nin)), rng.normal(size=nout)
    X = rng.normal(size=(nin, batch)) if batched else rng.normal(size=nin)

    def make(layer: bool):
        ws = [[Value(float(v)) for v in row] for row in W]
        bs = [Value(float(v)) for v in b]
        xs = [Value(x if batched else float(x)) for x in X]
        if layer:
            outs = autograd.linear_layer(ws, xs, bs, activation)
        else:
            outs = [autograd.linear(w, xs, c, activation) for w, c in zip(ws, bs)]
        autograd.sum([(o * o).sum() if batched else o * o for o in outs]).backward()
        return outs, [p.grad for row in ws for p in row] + [p.grad for p in bs], xs

    outs, grads, xs = make(True)
    outs_each, grads_each, xs_each = make(False)
    assert len(outs) == nout
    for o, e in zip(outs, outs_each):
        assert o.op == e.op and len(o.parents) == len(e.parents) == 2 * nin + 1
        assert close(o.data, e.data, 1e-13)
        assert len(o.local_grads) == len(e.local_grads)
        for got, want in zip(o.local_grads, e.local_grads):
            assert close(got, want, 1e-13)
    assert all(o.parents[nin : 2 * nin] == tuple(xs) for o in outs)
    assert close(grads, grads_each, 1e-12)
    assert close([x.grad for x in xs], [x.grad for x in xs_each], 1e-12)


def test_linear_layer_checks_its_arguments_like_linear():
    xs = [Value(np.ones(3)), Value(np.zeros(3))]
    with pytest.raises(ValueError, match="2 weight rows but 1 biases"):
        autograd.linear_layer([[1.0, 2.0], [3.0, 4.0]], xs, [0.0])
    with pytest.raises(ValueError, match="1 weights but 2 inputs"):
        autograd.linear_layer([[Value(1.0)]], xs, [Value(0.0)])
    with pytest.raises(ValueError, match="unknown activation"):
        autograd.linear_layer([[Value(1.0), Value(2.0)]], xs, [Value(0.0)], "softmax")
    outs = autograd.linear_layer([[1.0, 2.0]], xs, [0.5], "relu")  # numbers become constants
    assert close(outs[0].data, [1.5, 1.5, 1.5])
    assert isinstance(outs[0].local_grads, LinearGrads)
    assert [p.data for p in outs[0].parents if not p.is_batched] == [1.0, 2.0, 0.5]


def test_linear_layer_under_no_grad_records_nothing_and_computes_the_same():
    rng = np.random.default_rng(4)
    W, b, X = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=(2, 5))

    def outputs():
        xs = [Value(x) for x in X]
        ws = [[Value(float(v)) for v in row] for row in W]
        return autograd.linear_layer(ws, xs, [Value(float(v)) for v in b], "tanh")

    with autograd.no_grad():
        constants = outputs()
    assert all(not o.parents and not o.local_grads for o in constants)
    for got, want in zip(constants, np.tanh(W @ X + b[:, None])):
        assert close(got.data, want, 1e-13)
    assert close([o.data for o in outputs()], [o.data for o in constants], 1e-15)


def test_batched_data_is_read_only_and_new_data_gives_new_results():
    x1 = Value(np.array([1.0, 2.0, 3.0]), "x1")
    x2 = Value(np.array([0.5, -1.0, 2.0]), "x2")
    with pytest.raises(ValueError, match="read-only"):
        x1.data[0] = 10.0  # an in-place change could desynchronize shared stacked inputs
    w = [Value(0.3), Value(-0.7)]
    first = autograd.linear(w, [x1, x2], 0.1, "tanh").data.copy()
    x1.data = np.array([10.0, 20.0, 30.0])  # assigned, not changed in place
    second = autograd.linear(w, [x1, x2], 0.1, "tanh").data
    expected = np.tanh(0.1 + 0.3 * np.array([10.0, 20.0, 30.0]) - 0.7 * x2.data)
    assert not np.allclose(first, second)
    assert np.allclose(second, expected, rtol=1e-15)


@pytest.mark.parametrize("picks", [(3, 1), (0,), (2, 0, 3), (1, 2)])
def test_some_neurons_of_a_layer_read_in_any_order_match_the_scalar_engine(picks):
    # Backward meets only the picked neurons of a 4-neuron layer (the root reads no others),
    # and, with a tanh node between them, not as one run: rows of the layer's arrays in bulk.
    rng = np.random.default_rng(len(picks))
    W, b, X = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(3, 6))

    def gradients(inputs):
        ws = [[Value(float(v)) for v in row] for row in W]
        bs = [Value(float(v)) for v in b]
        outs = autograd.linear_layer(ws, inputs, bs, "tanh")
        terms = [outs[j] * float(j + 1) if k % 2 else outs[j].tanh() for k, j in enumerate(picks)]
        root = autograd.sum(terms)
        root = root.sum() if root.is_batched else root
        root.backward()
        return [p.grad for row in ws for p in row] + [p.grad for p in bs]

    batched = gradients([Value(x) for x in X])
    each = np.sum([gradients([Value(float(v)) for v in X[:, s]]) for s in range(6)], axis=0)
    assert close(batched, each, 1e-12)
    unread = [j for j in range(4) if j not in picks]
    assert all(batched[j * 3 + i] == 0.0 for j in unread for i in range(3))


def test_data_assigned_by_hand_follows_the_rule_of_value_data():
    """One rule for `Value(x)` and `v.data = x` (`autograd.data.as_data`): what you assign is
    checked, and an array copied read-only, when an operation first reads it; so changing
    your array afterwards changes nothing, as after `Value(x)`."""
    for make in (
        lambda x: x * 2.0,
        lambda x: autograd.linear([Value(2.0)], [x]),
        lambda x: autograd.linear_layer([[Value(2.0)]], [x], [0.0])[0],
    ):
        x = Value(np.array([1.0, 2.0]), "x")
        mine = np.array([1.0, 2.0])
        x.data = mine
        first = make(x)
        mine[0] = 100.0
        assert list(first.data) == list(make(x).data) == [2.0, 4.0]
        assert x.data is not mine and not x.data.flags.writeable
    v = Value(1.0)
    v.data = 3  # an int: a float after the first read, as Value(3) makes it
    assert (v * 2.0).data == 6.0 and type(v.data) is float
    v.data = "abc"
    with pytest.raises(TypeError, match="needs a real number, got 'abc'"):
        v * 2.0
    v.data = np.ones((2, 2))
    with pytest.raises(TypeError, match="1-D array"):
        v + 1.0
    assert not (Value(np.array([1.0])) * 2.0).data.flags.writeable  # the engine's own arrays
