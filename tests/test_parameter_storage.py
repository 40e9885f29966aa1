"""A layer's parameters live in its arrays (`autograd.fast.ParameterBlock`), each still a Value.

Against independent oracles: the core's own loop (`core_only`, the fast hook off), the same
network made of plain Values (`plain_twin`: the per-parameter path), central differences where
it matters, and hand-made numbers. And every documented behaviour of a parameter: `.data`
assignment, accumulation of `.grad`, `zero_grad`, `state_dict`, save/load, `from_weights`,
the optimizers, the step-through, `explain` and pictures of a trained model.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import math
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fast_oracle import core_only

import autograd
import nn
from autograd import Value
from autograd.fast import Parameter, ParameterBlock
from autograd.fast.params import Parents


def model_of(sizes, activations, bias, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(size=o) for o in sizes[1:]] if bias else None
    return nn.MLP.from_weights(weights, biases, activations)


def plain_twin(model):
    """The same network with plain Values for parameters (the per-parameter path)."""
    twin = copy.deepcopy(model)
    for layer in twin.layers:
        for neuron in layer.neurons:
            neuron.w = [Value(w.data, w.label) for w in neuron.w]
            if neuron.b is not None:
                neuron.b = Value(neuron.b.data, neuron.b.label)
    assert twin.parameter_blocks() is None
    return twin


def loss_of(model, X, y, l2, batched):
    return nn.build_loss(model, X, y, nn.losses.mse, l2, batched)[0]


def grads_of(model, X, y, l2=1e-2, batched=True, core=False, taped=True):
    model.zero_grad()
    with core_only() if core else contextlib.nullcontext():
        with autograd.tape() if taped else contextlib.nullcontext():
            loss = loss_of(model, X, y, l2, batched)
            loss.backward()
    return np.array([p.grad for p in model.parameters()]), loss.data


def data_of(model):
    return np.array([p.data for p in model.parameters()])


ACTS = st.sampled_from(["relu", "tanh", "sigmoid", "linear"])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    nin=st.integers(1, 4),
    widths=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    batch=st.integers(1, 5),
    bias=st.booleans(),
    data=st.data(),
)
def test_a_models_gradients_are_the_cores_on_batches_and_per_sample(
    seed, nin, widths, batch, bias, data
):
    # Small sizes on purpose: a layer whose neurons, inputs and samples all have one size
    # (k == n == B) is where two scratch arrays of one shape would be one array.
    sizes = [nin, *widths]
    acts = [data.draw(ACTS) for _ in widths]
    model = model_of(sizes, acts, bias, seed)
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(batch, nin)), rng.normal(size=(batch, sizes[-1]))
    if sizes[-1] == 1:
        y = y[:, 0]
    core, core_loss = grads_of(model, X, y, core=True, taped=False)
    for taped in (True, False):
        fast, fast_loss = grads_of(model, X, y, taped=taped)
        np.testing.assert_allclose(fast, core, rtol=1e-12, atol=1e-13)
        assert math.isclose(fast_loss, core_loss, rel_tol=1e-13, abs_tol=1e-15)
    # one graph per sample: the same sums in the same order, so the very same numbers, on a
    # tape and off one (the bulk loop takes a graph that reads a layer's arrays either way)
    core, _ = grads_of(model, X, y, batched=False, core=True, taped=False)
    for taped in (True, False):
        fast, _ = grads_of(model, X, y, batched=False, taped=taped)
        assert fast.tolist() == core.tolist()
    # and the per-parameter path (the same network of plain Values): identical per sample; on
    # a batch to rounding (a layer's weights are one array here, a strided view there, and
    # the matrix product may add the same terms in another order)
    twin = plain_twin(model)
    ours, _ = grads_of(model, X, y, batched=False)
    theirs, _ = grads_of(twin, X, y, batched=False)
    assert ours.tolist() == theirs.tolist()
    ours, _ = grads_of(model, X, y)
    theirs, _ = grads_of(twin, X, y)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)


def test_a_models_gradients_against_central_differences():
    model = model_of([2, 3, 2], ["tanh", "linear"], True, seed=4)
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    grads, _ = grads_of(model, X, y)
    for p, g in zip(model.parameters(), grads):
        x, h = p.data, 1e-6
        p.data = x + h
        up = loss_of(model, X, y, 1e-2, True).data
        p.data = x - h
        down = loss_of(model, X, y, 1e-2, True).data
        p.data = x
        assert abs((up - down) / (2 * h) - g) < 1e-7, p.label


def test_a_parameter_is_a_leaf_value_that_reads_and_writes_its_layers_array():
    layer = nn.Layer(3, 2, "relu", seed=1)
    w = layer.neurons[1].w[2]
    assert isinstance(w, Value) and type(w) is Parameter and w.is_leaf
    assert w.label == "L1.N2.w3" and layer.neurons[1].b.label == "L1.N2.b"
    assert w.data == layer.block.values[1, 2] and type(w.data) is float
    w.data = 0.25  # .data assignment writes the block
    assert layer.block.values[1, 2] == 0.25 and layer.weight_array()[1, 2] == 0.25
    w.data = 3  # an int, as for any Value
    assert w.data == 3.0 and type(w.data) is float
    w.grad = 1.5
    assert layer.block.grads[1, 2] == 1.5
    w.grad += 0.25  # leaves accumulate
    assert w.grad == 1.75
    with pytest.raises(TypeError, match="L1.N2.w3 is one number"):
        w.data = np.array([1.0, 2.0])
    with pytest.raises(TypeError, match="needs a real number"):
        w.data = "0.5"
    with pytest.raises(TypeError, match="gradient is one number"):
        w.grad = np.ones(3)
    assert w.data == 3.0 and w.grad == 1.75  # a refused assignment changes nothing
    assert repr(w) == "Value(data=3.0, grad=1.75, label='L1.N2.w3')"


def test_a_graph_keeps_the_weights_it_read_when_they_change_afterwards():
    for batched in (True, False):
        model = model_of([2, 3, 1], ["tanh", "linear"], True, seed=2)
        X, y = np.array([[0.5, -1.0], [2.0, 0.25]]), np.array([1.0, -1.0])
        expected, _ = grads_of(model, X, y, batched=batched)
        model.zero_grad()
        with autograd.tape():
            loss = loss_of(model, X, y, 1e-2, batched)
            before = loss.data
            for p in model.parameters():  # change every weight after the forward pass
                p.data = p.data + 1.0
            loss.backward()
        assert loss.data == before
        ours = np.array([p.grad for p in model.parameters()])
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)


def test_zero_grad_of_model_layer_and_optimizer_clear_every_grad():
    model = model_of([2, 4, 3, 1], ["relu", "tanh", "linear"], True)
    X, y = np.ones((3, 2)), np.zeros(3)
    for clear in (
        model.zero_grad,
        model.layers[1].zero_grad,
        nn.optim.SGD(model.parameters()).zero_grad,
    ):
        grads_of(model, X, y)
        assert any(p.grad != 0.0 for p in model.parameters())
        clear()
        cleared = model.layers[1].parameters() if clear == model.layers[1].zero_grad else None
        for p in cleared or model.parameters():
            assert p.grad == 0.0


def test_grads_accumulate_across_passes_as_for_any_leaf():
    model = model_of([2, 3, 1], ["relu", "linear"], True, seed=3)
    X, y = np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([0.5, 1.0])
    once, _ = grads_of(model, X, y)
    with autograd.tape():
        loss_of(model, X, y, 1e-2, True).backward()  # no zero_grad: adds to the grads
    twice = np.array([p.grad for p in model.parameters()])
    np.testing.assert_allclose(twice, 2 * once, rtol=1e-14)


def test_state_dict_save_load_and_from_weights_keep_the_arrays_and_values(tmp_path):
    model = model_of([3, 4, 2], ["relu", "linear"], True, seed=5)
    state = model.state_dict()
    assert list(state) == [p.label for p in model.parameters()]
    other = nn.MLP(3, [4, 2], seed=9)
    other.load_state_dict(state)
    assert data_of(other).tolist() == data_of(model).tolist()
    assert other.layers[0].block.values.tolist() == model.layers[0].block.values.tolist()
    path = tmp_path / "m.json"
    model.save(path)
    loaded = nn.MLP.load(path)
    assert data_of(loaded).tolist() == data_of(model).tolist()
    assert loaded.parameter_blocks() is not None
    X = np.random.default_rng(0).normal(size=(5, 3))
    assert nn.predict(loaded, X).tolist() == nn.predict(model, X).tolist()
    rebuilt = nn.MLP.from_weights(model.weight_arrays(), model.bias_arrays(), ["relu", "linear"])
    assert data_of(rebuilt).tolist() == data_of(model).tolist()
    W = model.weight_arrays()[0]
    W[0, 0] = 99.0  # a copy: the model is not changed through it
    assert model.layers[0].neurons[0].w[0].data != 99.0


def test_training_from_a_loaded_copy_continues_exactly(tmp_path):
    X, y = nn.data.moons(40, seed=1)
    model = nn.MLP(2, [8, 1], seed=2)
    nn.fit(model, X, y, loss="hinge", optimizer="adam", epochs=3, lr=0.05, l2=1e-3, seed=0)
    model.save(tmp_path / "m.json")
    loaded = nn.MLP.load(tmp_path / "m.json")
    clone = copy.deepcopy(model)  # a deep copy has its own arrays
    for m in (model, loaded, clone):
        nn.fit(m, X, y, loss="hinge", optimizer="sgd", epochs=3, lr=0.05, l2=1e-3, seed=0)
    assert data_of(loaded).tolist() == data_of(model).tolist() == data_of(clone).tolist()
    assert clone.layers[0].block is not model.layers[0].block


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: nn.optim.SGD(ps, lr=0.1),
        lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: nn.optim.Adam(ps, lr=0.01),
        lambda ps: nn.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    ],
)
def test_optimizers_move_whole_layers_exactly_as_they_move_single_values(make):
    model = model_of([2, 5, 3, 1], ["relu", "tanh", "linear"], True, seed=6)
    twin = plain_twin(model)
    ours, theirs = make(model.parameters()), make(twin.parameters())
    assert len(ours.blocks) == 3 and not ours.loose  # the layers, a layer at a time
    assert not theirs.blocks and len(theirs.loose) == len(twin.parameters())
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(7, 2)), rng.normal(size=7)
    for _ in range(4):
        for m, opt in ((model, ours), (twin, theirs)):
            opt.zero_grad()
            with autograd.tape():
                loss_of(m, X, y, 1e-2, True).backward()
            opt.step()
        assert data_of(model).tolist() == data_of(twin).tolist()


def test_an_optimizer_of_a_layer_and_a_loose_value_moves_both():
    layer = nn.Layer(2, 2, "linear", seed=0)
    extra = Value(1.0, "extra")
    opt = nn.optim.SGD([*layer.parameters(), extra], lr=0.5)
    assert opt.blocks == [layer.block] and opt.loose == [extra]
    for p in opt.params:
        p.grad = 2.0
    before = [p.data for p in opt.params]
    opt.step()
    assert [p.data for p in opt.params] == [b - 1.0 for b in before]
    part = nn.optim.SGD(layer.parameters()[1:], lr=0.5)  # not a whole block: one at a time
    assert not part.blocks and len(part.loose) == 5


def test_a_batched_training_step_does_no_python_step_per_parameter(monkeypatch):
    """nn.fit's batched step never reads or writes one parameter through its Value: forward,
    L2, backward, zero_grad and the optimizer each touch a layer in a few NumPy calls."""
    model = nn.MLP(2, [16, 16, 1], seed=0)
    X, y = nn.data.moons(50, seed=0)
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    nn.fit(model, X, y, loss="hinge", optimizer=opt, epochs=1, l2=1e-4)  # warm
    touched = []
    for name in ("data", "grad"):
        prop = getattr(Parameter, name)

        def get(p, prop=prop, name=name):
            touched.append(name)
            return prop.fget(p)

        def put(p, value, prop=prop, name=name):
            touched.append(name)
            prop.fset(p, value)

        monkeypatch.setattr(Parameter, name, property(get, put))
    nn.fit(model, X, y, loss="hinge", optimizer=opt, epochs=2, l2=1e-4)
    assert touched == []
    assert model.parameters()[0].grad != 1e300  # (the spy does see a read)
    assert touched == ["grad"]


def test_a_swapped_parameter_takes_the_per_value_path_and_stays_right():
    model = model_of([2, 3, 1], ["relu", "linear"], True, seed=7)
    X, y = np.array([[0.5, 1.0], [1.5, -2.0]]), np.array([1.0, 0.0])
    neuron = model.layers[0].neurons[1]
    mine = Value(0.75, "mine")
    neuron.w = (neuron.w[0], mine)
    assert model.parameter_blocks() is None and mine in model.parameters()
    core, _ = grads_of(model, X, y, core=True, taped=False)
    fast, _ = grads_of(model, X, y)
    np.testing.assert_allclose(fast, core, rtol=1e-12, atol=1e-14)
    assert mine.grad == fast[model.parameters().index(mine)] != 0.0


def test_a_graph_mixing_one_sample_and_a_batch_of_the_same_model():
    model = model_of([2, 4, 1], ["tanh", "linear"], True, seed=8)
    X = np.array([[0.5, 1.0], [1.5, -2.0], [0.1, 0.2]])

    def loss():
        batch = ((model(X) - 1.0) ** 2).mean()
        one = model([0.3, -0.7]) * model([1.0, 2.0])  # per-sample nodes of the same rows
        return batch + one + autograd.sum_of_squares(model.parameters())

    model.zero_grad()
    with core_only():
        loss().backward()
    core = [p.grad for p in model.parameters()]
    for taped in (True, False):
        model.zero_grad()
        with autograd.tape() if taped else contextlib.nullcontext():
            loss().backward()
        np.testing.assert_allclose([p.grad for p in model.parameters()], core, rtol=1e-13)


def test_the_step_through_explain_and_pictures_of_a_trained_model():
    X, y = nn.data.moons(30, seed=3)
    model = nn.MLP(2, [4, 1], activation="tanh", seed=1)
    nn.fit(model, X, y, loss="hinge", epochs=5, lr=0.1, seed=0)
    out = model([float(v) for v in X[0]])
    loss = (1.0 - float(y[0]) * out).relu() + out * out  # every parameter gets a gradient
    model.zero_grad()
    steps = loss.backward_steps().run()
    assert steps and "L1.N" in str(steps[-1])
    stepped = [p.grad for p in model.parameters()]
    model.zero_grad()
    loss.backward()
    assert stepped == [p.grad for p in model.parameters()]
    assert all(g != 0.0 for g in stepped)
    w = model.layers[0].neurons[2].w[1]
    model.zero_grad()
    assert autograd.explain(loss, w).total == pytest.approx(
        (loss.backward(), w.grad)[1], rel=1e-15, abs=0.0
    )
    source = autograd.draw(loss).source
    assert "L1.N3.w2" in source and "L2.N1" in source


def test_parents_read_as_the_tuple_they_stand_for_and_are_joined_once():
    model = model_of([3, 2, 1], ["relu", "linear"], True)
    out = model(np.ones((4, 3)))
    assert type(out.parents) is Parents and out.parents.joined is None
    assert len(out.parents) == 5 and out.parents[-1] is model.layers[1].neurons[0].b
    assert out.parents.joined is None  # (its bias alone needs no joining)
    joined = tuple(out.parents)
    assert joined == (*model.layers[1].neurons[0].w, *out.parents.inputs, out.parents.bias)
    assert out.parents == joined and out.parents[1:3] == joined[1:3]
    assert out.parents[2].label == "L1.N1" and out.parents[3].label == "L1.N2"
    assert out.parents.tuple() is out.parents.tuple()


def test_the_sum_of_squares_of_blocks_is_the_nodes_of_values():
    model = model_of([2, 3, 2], ["relu", "linear"], True, seed=9)
    blocks = model.parameter_blocks()
    node = autograd.fast.sum_of_squares_of(blocks)
    params = model.parameters()
    assert node.op == "sum_of_squares" and tuple(node.parents) == tuple(params)
    assert list(node.local_grads) == [p.data + p.data for p in params]
    assert node.data == pytest.approx(sum(p.data**2 for p in params), rel=1e-14)
    for core in (False, True):
        model.zero_grad()
        with core_only() if core else contextlib.nullcontext():
            node.backward()
        assert [p.grad for p in params] == [p.data + p.data for p in params]
    with pytest.raises(ValueError, match="no blocks"):
        autograd.fast.sum_of_squares_of([])


def test_a_dropped_batched_graph_is_freed_and_the_model_stays():
    model = model_of([2, 8, 1], ["relu", "linear"], True)
    was = gc.isenabled()
    gc.disable()
    try:
        with autograd.tape():
            loss = loss_of(model, np.ones((5, 2)), np.zeros(5), 1e-3, True)
            loss.backward()
        refs = [weakref.ref(loss), weakref.ref(loss.parents[0])]
        del loss
        assert [r() for r in refs] == [None, None]
    finally:
        if was:
            gc.enable()
    assert all(type(p.grad) is float for p in model.parameters())


def test_a_block_refuses_what_it_cannot_hold():
    with pytest.raises(ValueError, match="at least one"):
        ParameterBlock(np.zeros((2, 1)), bias=True)
    with pytest.raises(ValueError, match="2 neurons need 2 labels"):
        ParameterBlock(np.zeros((2, 3)), labels=["a"])
    block = ParameterBlock(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"holds shape \(2, 3\)"):
        block.assign(np.zeros((3, 2)))
    assert repr(block) == "ParameterBlock(2 neurons x 2 weights + bias)"
    with pytest.raises(ValueError, match=r"float64 array of shape \(2, 3\), got ndarray \(3, 2\)"):
        block.values = np.zeros((3, 2))
    with pytest.raises(ValueError, match="got list"):
        block.values = [[0.0] * 3] * 2
    with pytest.raises(AttributeError):
        block.grads = np.zeros((2, 3))
    # an array in Fortran order is one entry per parameter too, in the parameters' order
    transposed = ParameterBlock(np.arange(6.0).reshape(3, 2).T)
    assert [p.data for p in transposed.parameters] == [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]
    transposed.parameters[4].grad = 7.0
    assert transposed.grads[1, 1] == 7.0 and transposed.parameters[4].grad == 7.0


@pytest.mark.parametrize("bias", [True, False])
def test_l2_of_the_weights_alone_is_the_sum_of_their_squares(bias):
    model = model_of([3, 4, 2], ["tanh", "linear"], bias, seed=10)
    weights = model.weights()
    assert len(weights) == 3 * 4 + 4 * 2 and all(".w" in w.label for w in weights)
    penalty = nn.losses.l2(model, 0.5, biases=False)
    assert penalty.data == pytest.approx(0.5 * sum(w.data**2 for w in weights), rel=1e-14)
    model.zero_grad()
    penalty.backward()
    for p in model.parameters():
        expected = 2 * 0.5 * p.data if p in weights else 0.0
        assert p.grad == pytest.approx(expected, rel=1e-15, abs=0.0), p.label
    twin = plain_twin(model)  # the per-Value path gives the same
    twin_penalty = nn.losses.l2(twin, 0.5, biases=False)
    assert twin_penalty.data == pytest.approx(penalty.data, rel=1e-14)
    twin.zero_grad()
    twin_penalty.backward()
    assert [p.grad for p in twin.parameters()] == [p.grad for p in model.parameters()]
    with pytest.raises(ValueError, match="needs a model"):
        nn.losses.l2(model.parameters(), 0.5, biases=False)
    # a list of whole layers, in order, is read from the arrays too: the same node
    listed = nn.losses.l2(model.parameters(), 0.5)
    assert type(listed.parents[1].local_grads).__name__ == "SquaresGrads"
    assert listed.data == nn.losses.l2(model, 0.5).data
    shuffled = nn.losses.l2(model.parameters()[::-1], 0.5)  # not whole blocks: Value by Value
    assert type(shuffled.parents[1].local_grads) is tuple
    assert shuffled.data == pytest.approx(listed.data, rel=1e-14)


def test_demos_time_their_two_trainings_when_asked(monkeypatch, capsys):
    from demos import common, xor

    monkeypatch.setenv("DEMOS_TIMES", "1")
    monkeypatch.setattr(common, "TIMES", {"engine": 0.0, "NumPy": 0.0})
    assert common.report(xor.run(iterations=50)) == 0
    engine, numpy_ = common.TIMES["engine"], common.TIMES["NumPy"]
    assert engine > 0 and numpy_ > 0
    assert f"demo-times engine={engine!r} numpy={numpy_!r}" in capsys.readouterr().err


def test_a_layer_reading_parameters_as_its_inputs_one_sample_at_a_time():
    first = model_of([2, 3], ["tanh"], True, seed=11)
    second = model_of([3, 2], ["tanh"], True, seed=12)
    inputs = first.layers[0].neurons[0].w + (first.layers[0].neurons[2].b,)

    def loss():  # the second layer reads three parameters of the first as its inputs
        a = second.layers[0](list(inputs))
        assert type(a[0].parents) is tuple  # (inputs that are parameters: node by node)
        b = first([0.5, -1.0])
        return a[0] * b[1] + a[1] + b[0] * b[2]

    for m in (first, second):
        m.zero_grad()
    with core_only():
        loss().backward()
    core = [p.grad for m in (first, second) for p in m.parameters()]
    for m in (first, second):
        m.zero_grad()
    with autograd.tape():
        loss().backward()
    assert [p.grad for m in (first, second) for p in m.parameters()] == core


def test_a_networks_graph_of_one_sample_takes_the_bulk_loop_off_a_tape(monkeypatch):
    from autograd.fast import bulk

    ran = []
    real = bulk.run
    monkeypatch.setattr(bulk, "run", lambda nodes, start=-1: ran.append(1) or real(nodes, start))
    model = model_of([2, 3, 1], ["tanh", "linear"], True)
    (model([0.5, 1.0]) * 2.0).backward()
    assert ran == [1]
    x = Value(2.0)
    (x * x + 1.0).backward()  # plain Values: the core's own loop
    assert ran == [1] and x.grad == 4.0


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.5),
        lambda ps: nn.optim.Adam(ps, lr=0.01),
        lambda ps: nn.optim.AdamW(ps, lr=0.01),
    ],
)
def test_inf_and_nan_move_a_layer_as_they_move_a_value_without_warnings(make):
    import warnings

    model = model_of([2, 3, 1], ["relu", "linear"], True, seed=13)
    model.layers[0].block.assign(np.full((3, 3), 1e200))  # its squares overflow
    twin = plain_twin(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours, theirs = nn.losses.l2(model, 1.0), nn.losses.l2(twin, 1.0)
        assert ours.data == theirs.data == math.inf
        assert list(ours.parents[1].local_grads)[:3] == [2e200] * 3
        for m in (model, twin):
            for k, p in enumerate(m.parameters()):
                p.grad = [math.inf, -math.inf, math.nan, 1.0][k % 4]
        a, b = make(model.parameters()), make(twin.parameters())
        a.step()
        b.step()
    same = [x == y or (x != x and y != y) for x, y in zip(data_of(model), data_of(twin))]
    assert all(same)


def test_a_bad_state_changes_no_parameter():
    model = model_of([2, 3, 1], ["relu", "linear"], True, seed=14)
    before = data_of(model).tolist()
    state = model.state_dict()
    last = list(state)[-1]
    for bad, message in (("x", "must be a number"), (10**400, "beyond float64's range")):
        with pytest.raises(ValueError, match=message):
            model.load_state_dict({**{k: 0.5 for k in state}, last: bad})
        assert data_of(model).tolist() == before
    model.parameters()[0].grad = 3.0
    model.load_state_dict({k: 0.5 for k in state})
    assert data_of(model).tolist() == [0.5] * len(before)
    assert all(p.grad == 0.0 for p in model.parameters())
