"""Review of the layer-grain speed change (b976523, 47ebc2f, ddc379a): `chain_rule` adopting an
array's first share, `nn.train.step`, the full batch's targets made a constant once, the layer's
rules one class per parent, `Entry` indexed by (row, column) with a fast grad setter, and a
neuron's weights a `Row` of `Entry` leaves.

Every expected number comes from an oracle that shares no code with the path under test: the
hand-written NumPy backprop of `nn.reference`, central differences, or the same computation by
another route (neuron grain against layer grain, a minibatch of the whole set against the full
batch)."""

from __future__ import annotations

import copy
import pickle
import threading
import warnings

import numpy as np
import pytest
from examples import central_differences

import autograd
import nn
from autograd import Value
from nn import losses, optim, train
from nn.reference import ReferenceMLP

RNG = np.random.default_rng(20261203)
X = RNG.normal(size=(6, 3))
Y_REAL = RNG.normal(size=6)
Y_01 = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
Y_PM = 2.0 * Y_01 - 1.0

# ---------------------------------------------------------------------------------------------
# Bugs: each of these fails on ddc379a


def test_a_model_survives_deepcopy_and_pickle():
    """`copy.deepcopy(model)` (keeping the best model while training) and pickling worked
    before ddc379a; `Row.__new__(cls, source, row, labels)` cannot be rebuilt from the tuple's
    items, which is all `copy` and `pickle` give a tuple subclass."""
    model = nn.MLP(3, [4, 1], activation="tanh", seed=1)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert np.allclose(clone(X).data, model(X).data)
        assert clone([1.0, 2.0, 3.0]).data == pytest.approx(model([1.0, 2.0, 3.0]).data)
        clone.layers[0].neurons[0].w[0].data = 5.0  # the clone's numbers are its own
        assert model.layers[0].W.data[0, 0] != 5.0
        assert clone.layers[0].W.data[0, 0] == 5.0


class NeuronGrainModel(nn.Module):
    """A model of one's own (`nn.Module`) that computes a batch at neuron grain, one batched
    Value per output, which every loss of `nn.losses` takes."""

    def __init__(self) -> None:
        self.mlp = nn.MLP(3, [4, 1], activation="tanh", seed=2)

    def named_parameters(self):
        return self.mlp.named_parameters()

    def __call__(self, x, grain=None):
        data = x.data if isinstance(x, Value) else np.asarray(x, dtype=float)
        return self.mlp(data, grain="neuron")


@pytest.mark.parametrize(
    "loss, y", [("mse", Y_REAL), ("sse", Y_REAL), ("hinge", Y_PM), ("bce_with_logits", Y_01)]
)
def test_fit_full_batch_of_a_model_whose_outputs_are_not_a_matrix(loss, y):
    """The full batch (batch_size None) must train as one minibatch of every sample does. Since
    b976523 fit hands the loss a constant Value of the targets, which only the layer-grain
    branch of a loss reads: `pairs()` calls np.asarray(Value) -> TypeError."""
    whole, one_batch = NeuronGrainModel(), NeuronGrainModel()
    h1 = nn.fit(whole, X, y, loss=loss, epochs=3, lr=0.05, progress=False)
    h2 = nn.fit(one_batch, X, y, loss=loss, epochs=3, lr=0.05, progress=False,
                batch_size=len(X), shuffle=False)  # fmt: skip
    assert h1.loss == pytest.approx(h2.loss, rel=1e-12)
    assert np.allclose(whole.parameter_vector(), one_batch.parameter_vector(), rtol=1e-12)


def test_layer_with_an_unhashable_activation_says_which_activations_exist():
    """`layer()` looks the activation up in a dict before checking it (b976523): a list raises
    TypeError 'unhashable type' instead of check_activation's ValueError naming the choices."""
    W = Value(RNG.normal(size=(2, 3)), "W")
    with pytest.raises(ValueError, match="unknown activation"):
        autograd.layer(X, W, None, ["relu"])  # type: ignore[arg-type]


def test_preexisting_detect_anomaly_at_layer_grain_runs():
    """(Not introduced by this change: b976523~1 fails the same way.) detect_anomaly() checks
    each local derivative with isfinite, and a layer's local derivatives are rule objects:
    TypeError from NumPy instead of the gradients. Finite numbers must give backward()'s."""
    model = nn.MLP(3, [4, 1], activation="tanh", seed=3)
    losses.mse(model(X), Y_REAL).backward()
    expected = model.gradient_vector()
    model.zero_grad()
    with autograd.detect_anomaly():
        losses.mse(model(X), Y_REAL).backward()
    assert np.allclose(model.gradient_vector(), expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# What held: pinned against independent oracles


@pytest.mark.parametrize("acts", [["relu", "tanh"], ["sigmoid", "linear"], ["linear", "linear"]])
@pytest.mark.parametrize(
    "loss, y", [("mse", Y_REAL), ("sse", Y_REAL), ("hinge", Y_PM), ("bce_with_logits", Y_01)]
)
def test_layer_grain_gradients_equal_the_reference_and_accumulate(acts, loss, y):
    """The adopted first shares (_WeightRule, _BiasRule, the X rule) are the hand-written
    backprop's dW, db; a second backward() without zero_grad doubles them (an adopted array
    grows in place, shared with nothing)."""
    model = nn.MLP(3, [4, 2, 1], activation=[acts[0], acts[0], acts[1]], seed=4)
    expected_loss, expected = ReferenceMLP.from_mlp(model).loss_and_gradients(X, y, loss)
    fn = losses.get_loss(loss)[0]
    value = fn(model(X), y)
    value.backward()
    assert value.data == pytest.approx(expected_loss, rel=1e-12)
    assert np.allclose(model.gradient_vector(), expected, rtol=1e-10, atol=1e-13)
    fn(model(X), y).backward()
    assert np.allclose(model.gradient_vector(), 2 * expected, rtol=1e-10, atol=1e-13)


def test_cross_entropy_layer_grain_equals_the_reference():
    model = nn.MLP(3, [4, 3], seed=5)
    y = np.array([0, 2, 1, 1, 0, 2])
    expected_loss, expected = ReferenceMLP.from_mlp(model).loss_and_gradients(X, y, "cross_entropy")
    value = losses.cross_entropy(model(X), y)
    value.backward()
    assert value.data == pytest.approx(expected_loss, rel=1e-12)
    assert np.allclose(model.gradient_vector(), expected, rtol=1e-10, atol=1e-13)


def test_no_grad_shares_memory_between_any_two_grads_or_a_grad_and_data():
    """An adopted share is a fresh array: no grad of the graph is a view of another grad or of
    any node's data (else a later in-place += would change both)."""
    W1 = Value(RNG.normal(size=(4, 3)), "W1")
    b1 = Value(RNG.normal(size=4), "b1")
    W2 = Value(RNG.normal(size=(1, 4)), "W2")
    Xv = Value(X, "X")  # a leaf that asks for its gradient
    H = autograd.layer(Xv, W1, b1, "linear")  # a linear layer: S is G itself
    out = autograd.layer(H, W2, None, "linear")
    root = losses.mse(out, Y_REAL) + losses.l2([W1, W2], 0.1)
    root.backward()
    nodes = autograd.topological_order(root)
    grads = [n.grad for n in nodes if type(n.grad) is not float]
    datas = [n.data for n in nodes if type(n.data) is not float]
    for i, g in enumerate(grads):
        for other in grads[i + 1 :] + datas:
            assert not np.shares_memory(g, other)


def test_a_value_twice_a_parent_of_one_layer_node():
    """layer(A, A): A is X and W at once; its grad is the first share adopted, then the second
    added in place. Central differences of the same function."""
    A0 = RNG.normal(size=(3, 3))
    A = Value(A0, "A")
    autograd.layer(A, A, None, "tanh").sum().backward()
    numeric = central_differences(lambda a: float(np.tanh(a @ a.T).sum()), A0)
    assert np.allclose(A.grad, numeric, rtol=1e-6, atol=1e-8)


def test_a_batched_value_twice_a_parent_of_one_node():
    x0 = RNG.normal(size=5)
    x = Value(x0, "x")
    (x * x + x).sum().backward()
    assert np.allclose(x.grad, 2 * x0 + 1, rtol=1e-14)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("fused", [True, False])
def test_neuron_grain_through_rows_equals_the_reference(fused, bias):
    """A neuron reads its weights as a Row (its numbers in one go) at neuron grain: the same
    gradients as the hand-written backprop, and as the layer grain."""
    model = nn.MLP(3, [4, 1], activation="tanh", seed=6, fused=fused, bias=bias)
    expected = ReferenceMLP.from_mlp(model).loss_and_gradients(X, Y_REAL, "mse")[1]
    losses.mse([model(list(x)) for x in X], Y_REAL).backward()
    assert np.allclose(model.gradient_vector(), expected, rtol=1e-10, atol=1e-13)
    model.zero_grad()
    losses.mse(model(X), Y_REAL).backward()
    assert np.allclose(model.gradient_vector(), expected, rtol=1e-10, atol=1e-13)


def test_entry_grads_add_into_a_layer_grain_gradient_and_nothing_else():
    """A neuron-grain pass after a layer-grain pass (no zero_grad) adds each Entry's share into
    W.grad, the adopted array, and changes no other Value's grad."""
    model = nn.MLP(3, [2, 1], activation="tanh", seed=7)
    expected = ReferenceMLP.from_mlp(model).loss_and_gradients(X, Y_REAL, "mse")[1]
    losses.mse(model(X), Y_REAL).backward()
    b2 = model.layers[1].b.grad.copy()
    samples = [model(list(x)) for x in X[:1]]
    one = ReferenceMLP.from_mlp(model).loss_and_gradients(X[:1], Y_REAL[:1], "mse")[1]
    losses.mse(samples, Y_REAL[:1]).backward()
    assert np.allclose(model.gradient_vector(), expected + one, rtol=1e-10, atol=1e-13)
    assert model.layers[1].b.grad is not model.layers[0].b.grad
    assert np.allclose(model.layers[1].b.grad, b2 + one[-1:], rtol=1e-12)


def test_rows_and_entries_read_w_after_load_optimizer_and_setting_an_entry():
    model = nn.MLP(3, [2, 1], activation="tanh", seed=8)
    reference = lambda: ReferenceMLP.from_mlp(model).predict(X[:1])[0]  # noqa: E731
    state = model.state_dict()
    state["L1.W"] = state["L1.W"] * 2.0
    model.load_state_dict(state)
    assert model(list(X[0])).data == pytest.approx(reference(), rel=1e-12)
    opt = optim.SGD(model.parameters(), lr=0.1)
    losses.mse(model(X), Y_REAL).backward()
    opt.step()
    assert model(list(X[0])).data == pytest.approx(reference(), rel=1e-12)
    assert model.layers[0].neurons[1].w[2].data == model.layers[0].W.data[1, 2]
    model.layers[0].neurons[1].w[2].data = 3.0
    assert model.layers[0].W.data[1, 2] == 3.0
    assert model(list(X[0])).data == pytest.approx(reference(), rel=1e-12)
    assert model(X[:1]).data[0, 0] == pytest.approx(reference(), rel=1e-12)


@pytest.mark.parametrize(
    "loss, y",
    [
        ("mse", Y_REAL),
        ("mse", Y_REAL.reshape(-1, 1)),
        ("mse", list(Y_REAL)),
        ("sse", Y_REAL),
        ("hinge", Y_PM.astype(int)),
        ("bce_with_logits", Y_01.astype(bool)),
        ("bce_with_logits", Y_01.astype(int)),
        ("bce", Y_01),
    ],
)
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_fit_full_batch_equals_one_minibatch_of_every_sample(loss, y, l2):
    """The full batch (data and targets made constants once, the L2 list made once) against
    minibatches of the whole set (targets given as they are, each step)."""
    acts = ["tanh", "sigmoid"] if loss == "bce" else "tanh"
    whole = nn.MLP(3, [4, 1], activation=acts, seed=9)
    one_batch = nn.MLP(3, [4, 1], activation=acts, seed=9)
    h1 = nn.fit(whole, X, y, loss=loss, epochs=3, lr=0.05, l2=l2, progress=False)
    h2 = nn.fit(one_batch, X, y, loss=loss, epochs=3, lr=0.05, l2=l2, progress=False,
                batch_size=len(X), shuffle=False)  # fmt: skip
    assert h1.loss == pytest.approx(h2.loss, rel=1e-12)
    assert h1.accuracy == h2.accuracy
    assert np.allclose(whole.parameter_vector(), one_batch.parameter_vector(), rtol=1e-12)


def test_fit_full_batch_follows_the_reference_sgd_with_l2():
    model = nn.MLP(3, [4, 1], activation="tanh", seed=10)
    reference = ReferenceMLP.from_mlp(model)
    nn.fit(model, X, Y_REAL, loss="mse", epochs=4, lr=0.1, l2=0.01, progress=False)
    for _ in range(4):
        _, grads = reference.loss_and_grads(X, Y_REAL, "mse", 0.01)
        reference.update_parameters_with_gd(grads, 0.1)
    assert np.allclose(model.parameter_vector(), reference.flatten(), rtol=1e-10)


def test_fit_with_a_custom_loss_callable_gets_the_targets_as_given():
    seen = []

    def loss(outputs, targets):
        seen.append(type(targets))
        return losses.mse(outputs, targets)

    whole = nn.MLP(3, [4, 1], activation="tanh", seed=11)
    named = nn.MLP(3, [4, 1], activation="tanh", seed=11)
    h1 = nn.fit(whole, X, Y_REAL, loss=loss, epochs=2, progress=False)
    h2 = nn.fit(named, X, Y_REAL, loss="mse", epochs=2, progress=False)
    assert seen == [np.ndarray, np.ndarray]
    assert h1.loss == pytest.approx(h2.loss, rel=1e-12)


def test_train_step_equals_the_four_lines_and_leaves_numpy_as_it_was():
    a = nn.MLP(3, [4, 1], activation="tanh", seed=12)
    b = nn.MLP(3, [4, 1], activation="tanh", seed=12)
    opt_a, opt_b = optim.SGD(a.parameters(), lr=0.1), optim.SGD(b.parameters(), lr=0.1)
    before = np.geterr()
    loss_a, _ = train.step(a, X, Y_REAL, losses.mse, opt_a, l2=0.01)
    assert np.geterr() == before
    loss_b, _ = train.build_loss(b, X, Y_REAL, losses.mse, 0.01)
    opt_b.zero_grad()
    loss_b.backward()
    opt_b.step()
    assert loss_a.data == loss_b.data
    assert np.array_equal(a.parameter_vector(), b.parameter_vector())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy quiet inside the step: inf, no warning
        big = nn.MLP(3, [1], activation="linear", seed=12)
        big.layers[0].W.data = np.full((1, 3), 1e200)
        loss, _ = train.step(big, X, Y_REAL, losses.mse, optim.SGD(big.parameters(), lr=0.1))
        assert loss.data == np.inf


def test_step_through_and_explain_at_layer_grain_give_backwards_numbers():
    model = nn.MLP(3, [2, 1], activation="tanh", seed=13)
    expected = ReferenceMLP.from_mlp(model).loss_and_gradients(X[:3], Y_REAL[:3], "mse")[1]
    root = losses.mse(model(X[:3]), Y_REAL[:3])
    steps = root.backward_steps().run()
    assert len(steps) == 3  # two layers and the loss: one node each
    assert np.allclose(model.gradient_vector(), expected, rtol=1e-10)
    W1 = model.layers[0].W
    explained = autograd.explain(root, W1)
    assert np.allclose(explained.total, W1.grad, rtol=1e-12)
    assert np.allclose(model.gradient_vector(), expected, rtol=1e-10)  # left as it was


def test_step_through_and_explain_at_neuron_grain_give_backwards_numbers():
    model = nn.MLP(3, [2, 1], activation="tanh", seed=14)
    expected = ReferenceMLP.from_mlp(model).loss_and_gradients(X[:2], Y_REAL[:2], "mse")[1]
    root = losses.mse([model(list(x)) for x in X[:2]], Y_REAL[:2])
    root.backward_steps().run()
    assert np.allclose(model.gradient_vector(), expected, rtol=1e-10)
    w = model.layers[0].neurons[0].w[1]
    assert autograd.explain(root, w).total == pytest.approx(w.grad, rel=1e-12)
    assert np.allclose(model.gradient_vector(), expected, rtol=1e-10)


def test_detect_anomaly_at_neuron_grain_gives_the_same_gradients():
    model = nn.MLP(3, [4, 1], activation="tanh", seed=15)
    expected = ReferenceMLP.from_mlp(model).loss_and_gradients(X, Y_REAL, "mse")[1]
    with autograd.detect_anomaly():
        losses.mse(model(X, grain="neuron"), Y_REAL).backward()
    assert np.allclose(model.gradient_vector(), expected, rtol=1e-10, atol=1e-13)


def test_another_threads_modes_leave_this_threads_training_alone():
    """Thread A sits inside no_grad() and detect_anomaly() while this thread trains: its graph
    is recorded, and its gradients are the reference's."""
    entered, release = threading.Event(), threading.Event()

    def hold():
        with autograd.no_grad(), autograd.detect_anomaly():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert entered.wait(10)
        model = nn.MLP(3, [4, 1], activation="tanh", seed=16)
        expected = ReferenceMLP.from_mlp(model).loss_and_gradients(X, Y_REAL, "mse")[1]
        losses.mse(model(X), Y_REAL).backward()
        assert np.allclose(model.gradient_vector(), expected, rtol=1e-10, atol=1e-13)
    finally:
        release.set()
        thread.join()


def test_gradcheck_counts_one_mismatch():
    """A product whose d/db is written wrong (a + 1 instead of a): one row of two fails."""
    times = autograd.define(
        "review_speed_wrong_product", lambda a, b: a * b, [lambda a, b: b, lambda a, b: a + 1.0]
    )
    report = autograd.gradcheck(lambda a, b: times(a, b), [0.3, -0.7], raise_exception=False)
    assert [row.ok for row in report.rows] == [True, False]
    assert str(report).startswith("gradcheck FAILED: 1 mismatch (")
