"""Training for real: the micrograd moons demo, XOR with 2-2-1, and fit's bookkeeping."""

from __future__ import annotations

import io

import numpy as np
import pytest

import nn
from nn.reference import ReferenceMLP


def test_moons_mlp_16_16_hinge_l2_reaches_full_training_accuracy():
    # The classic micrograd demo: MLP(2, [16, 16, 1]), max-margin loss + 1e-4 L2,
    # 100 steps of SGD with lr = 1.0 - 0.9 k / 100, on the full batch.
    X, y = nn.data.moons(100, noise=0.1, seed=1)
    y = nn.data.to_signed(y)
    model = nn.MLP(2, [16, 16, 1], seed=1)
    opt = nn.optim.SGD(model.parameters(), lr=1.0, lr_schedule=lambda k: 1.0 - 0.9 * k / 100)
    history = nn.fit(model, X, y, loss="hinge", optimizer=opt, epochs=100, l2=1e-4)
    assert len(history) == 100
    assert history.lr[0] == 1.0 and history.lr[-1] == pytest.approx(0.109)
    assert history.loss[-1] < history.loss[0] / 10
    # accuracy measured afresh, by the reference network (independent of the engine)
    scores = ReferenceMLP.from_mlp(model).predict(X)
    assert np.mean(np.where(scores > 0, 1.0, -1.0) == y) == 1.0
    assert nn.accuracy(model, X, y) == 1.0


def test_xor_is_learned_by_a_2_2_1_network():
    # 2-2-1 XOR has known local minima; with this seed and the classic sigmoid net it is solved.
    X, y = nn.data.xor()
    model = nn.MLP(2, [2, 1], activation="sigmoid", output_activation="sigmoid", seed=2)
    history = nn.fit(model, X, y, loss="bce", optimizer="sgd", lr=2.0, epochs=1500)
    probabilities = nn.predict(model, X)
    assert list(probabilities > 0.5) == [False, True, True, False]
    assert history.accuracy[-1] == 1.0 and history.loss[-1] < 0.1


def test_or_gate_is_learned_by_one_neuron():
    X, y = nn.data.or_gate()
    model = nn.MLP(2, [1], output_activation="sigmoid", seed=0)
    nn.fit(model, X, y, loss="bce", optimizer="adam", lr=0.1, epochs=300)
    assert list(nn.predict(model, X) > 0.5) == [False, True, True, True]


def test_per_sample_and_batched_training_give_the_same_history():
    X, y = nn.data.blobs(24, centers=2, std=1.5, seed=0)
    histories, params = [], []
    for batched in (True, False):
        model = nn.MLP(2, [4, 1], activation="tanh", output_activation="linear", seed=5)
        histories.append(
            nn.fit(
                model,
                X,
                y,
                loss="bce_with_logits",
                lr=0.1,
                epochs=5,
                batch_size=8,
                seed=3,
                batched=batched,
            )  # fmt: skip
        )
        params.append(model.parameter_vector().tolist())
    np.testing.assert_allclose(histories[0].loss, histories[1].loss, rtol=1e-12)
    assert histories[0].accuracy == histories[1].accuracy
    np.testing.assert_allclose(params[0], params[1], rtol=1e-11)


def test_minibatch_fit_matches_reference_training():
    X, y = nn.data.circles(30, noise=0.1, factor=0.5, seed=2)
    model = nn.MLP(2, [6, 1], activation="tanh", output_activation="sigmoid", seed=4)
    reference = ReferenceMLP.from_mlp(model)
    nn.fit(model, X, y, loss="mse", optimizer=nn.optim.Adam(model.parameters(), lr=0.05),
           epochs=3, batch_size=7, seed=11)  # fmt: skip
    rng = np.random.default_rng(11)  # the same batches, in the same order, by hand
    for _ in range(3):
        for Xb, yb in nn.data.minibatches(X, y, 7, seed=rng):
            _, grads = reference.loss_and_grads(Xb, yb, "mse")
            reference.update_parameters_with_adam(grads, 0.05)
    np.testing.assert_allclose(model.parameter_vector().tolist(), reference.flatten(),
                               rtol=1e-9)  # fmt: skip


def test_validation_history_and_callback_stop():
    X, y = nn.data.moons(60, noise=0.2, seed=0)
    X_train, X_test, y_train, y_test = nn.data.train_test_split(X, y, seed=0)
    model = nn.MLP(2, [8, 1], output_activation="sigmoid", seed=0)
    history = nn.fit(model, X_train, y_train, loss="bce", lr=0.5, epochs=50,
                     validation_data=(X_test, y_test), callback=lambda e, h: e == 7)  # fmt: skip
    assert len(history) == 7 and len(history.val_loss) == 7
    expected = np.mean((nn.predict(model, X_test) > 0.5) == y_test)
    assert history.val_accuracy[-1] == pytest.approx(expected)


def test_regression_has_no_accuracy():
    X = np.linspace(-1, 1, 10)[:, None]
    model = nn.MLP(1, [3, 1], activation="tanh", seed=0)
    history = nn.fit(model, X, 0.5 * X[:, 0] ** 2 + 0.1, loss="mse", epochs=3)
    assert history.accuracy == [None, None, None]


def test_progress_bar_only_when_asked_or_on_a_terminal(monkeypatch):
    X, y = nn.data.xor()
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    nn.fit(nn.MLP(2, [2, 1], seed=0), X, y, epochs=3)  # StringIO is not a terminal
    assert stream.getvalue() == ""
    history = nn.fit(nn.MLP(2, [2, 1], seed=0), X, y, epochs=3, progress=True)
    drawn = stream.getvalue()  # tqdm's bar: the epochs counted, the last loss shown
    assert "3/3" in drawn and "epoch" in drawn and f"loss={history.loss[-1]:.6f}" in drawn


def test_a_history_prints_as_a_summary():
    X, y = nn.data.xor()
    history = nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=300, loss="mse")
    text = repr(history)
    assert text.startswith(f"History(300 epochs, final loss {history.loss[-1]:.6g}, accuracy ")
    assert len(text) < 200  # not 300 floats
    assert repr(nn.History()) == "History(no epochs)"


def test_fit_rejects_bad_input():
    model = nn.MLP(2, [1])
    with pytest.raises(ValueError, match="4 samples but y has 3"):
        nn.fit(model, np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="epochs"):
        nn.fit(model, np.zeros((4, 2)), np.zeros(4), epochs=0)
    with pytest.raises(ValueError, match="optimizer"):
        nn.fit(model, np.zeros((4, 2)), np.zeros(4), optimizer="rmsprop")
