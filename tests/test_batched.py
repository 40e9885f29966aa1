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
            weakref.ref(hidden.local_grads[0]),  # an array of local derivatives
            weakref.ref(hidden.data),
        ]
        del loss, outputs, hidden
        assert [r() is None for r in refs] == [True] * len(refs)
        assert all(type(p.grad) is float for p in params)
    finally:
        if was_enabled:
            gc.enable()


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
