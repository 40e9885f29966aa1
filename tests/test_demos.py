"""The classic networks (issue 6): each demo learns what its tutorial says it learns, on the
engine, and ends with the same loss and weights as its vectorized NumPy form (to 1e-9).

Expected outcomes come from the tutorials' own facts (XOR (1,1) -> 0, OR stuck at 0.5 at (0,0)
without a bias, the virus predictions, 100% on blobs and moons), not from running the demos.
"""

from __future__ import annotations

import argparse
import importlib
import math
import re
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import autograd
import nn
from autograd import Value
from autograd.draw import find_renderer
from autograd.layers import batch_loss
from demos import DEMOS, blobs, common, deep, moons, perceptron, two_layer, xor
from demos.__main__ import main as demos_main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TOLERANCE = 1e-9


def assert_agrees(result: common.Result) -> None:
    assert result.agreement, "the demo compared nothing with NumPy"
    for what, difference in result.agreement.items():
        assert difference <= TOLERANCE, f"{result.name}: {what} differs by {difference}"


# -- 1. XOR -------------------------------------------------------------------------------------


def test_xor_is_learned_and_matches_numpy():
    result = xor.run()  # the original settings: 1,000 iterations on 4 samples
    assert result.values["predictions"][3] == 0  # predict(1, 1) -> 0
    np.testing.assert_array_equal(result.values["predictions"], [0, 1, 1, 0])  # A XOR B
    assert_agrees(result)


# -- 2. The two-layer class -------------------------------------------------------------------


def test_two_layer_loss_falls_monotonically_and_outputs_converge():
    result = two_layer.run()
    assert result.values["monotonic"]
    assert np.max(np.abs(result.values["outputs"] - two_layer.Y)) < 0.1
    assert_agrees(result)


# -- 3. The perceptron and the bias -----------------------------------------------------------


@pytest.fixture(scope="module")
def perceptron_result():
    return perceptron.run(epochs=3000)


def test_perceptron_learns_or_with_a_bias_both_ways(perceptron_result):
    for way in ("engine", "tutorial"):
        predictions = perceptron_result.values["or_predictions"][way] > 0.5
        np.testing.assert_array_equal(predictions, perceptron.OR_Y > 0.5, err_msg=way)


def test_perceptron_without_bias_is_stuck_at_one_half_for_zero_input(perceptron_result):
    p = perceptron_result.values["or_predictions"]["no bias"]
    assert p[0] == pytest.approx(0.5, abs=1e-15)  # sigmoid(w . 0) = sigmoid(0) for every w
    assert np.all(p[1:] > 0.5)  # the other three are learned


def test_perceptron_virus_predictions_and_largest_weight(perceptron_result):
    for way in ("engine", "tutorial"):
        signs = perceptron_result.values["virus"][way] > 0.5
        np.testing.assert_array_equal(signs, [True, False, True], err_msg=way)
        assert np.argmax(perceptron_result.values["virus"][f"{way} weights"]) == 0, way


def test_perceptron_gradient_check_points_at_the_tutorials_update(perceptron_result):
    errors = perceptron_result.values["gradient_errors"]
    assert errors["engine - central differences"] < 1e-6  # the engine has the true gradient
    assert errors["tutorial - engine"] > 1e-4  # sigmoid'(output) is not sigmoid'(z)
    assert_agrees(perceptron_result)  # the true gradient, engine vs NumPy


def test_tutorial_update_differs_from_true_gradient_exactly_by_the_derivative_point():
    # Independent of the demo's code paths: hand-compute one sample's two deltas.
    X, y, w, b = np.array([[1.0, 0.0]]), np.array([1.0]), np.array([0.1, 0.2]), 0.3
    z = 0.1 + 0.3
    p = 1 / (1 + math.exp(-z))
    s = 1 / (1 + math.exp(-p))
    assert perceptron.tutorial_delta(X, y, w, b)[0] == pytest.approx((p - 1) * s * (1 - s))
    assert perceptron.true_delta(X, y, w, b)[0] == pytest.approx((p - 1) * p * (1 - p))


# -- 4. The deep network ----------------------------------------------------------------------


def test_deep_net_beats_chance_on_its_test_set():
    result = deep.run(deep.Options(), compare=False)  # the tutorial's plain GD, 2,500 updates
    assert result.values["test_accuracy"]["this run"] > result.values["chance"] + 0.1
    assert_agrees(result)


def test_deep_options_each_match_numpy():
    # L2, mini-batches, momentum and Adam, each on reduced settings, against the NumPy form.
    result = deep.run(deep.Options(iterations=60), compare=True)
    assert len(result.values["test_accuracy"]) == 5
    assert_agrees(result)


def test_weather_is_standardised_with_train_statistics():
    X, y = deep.make_weather(200, seed=3)
    X_train, y_train, X_test, _ = deep.split(X, y, 0.25, seed=3)
    (train, test), mean, std = deep.standardise(X_train, X_test)
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(train.std(axis=0), 1.0)
    np.testing.assert_allclose(test, (X_test - X_train.mean(axis=0)) / X_train.std(axis=0))
    assert len(X_train) == 150 and len(X_test) == 50
    assert set(np.unique(y)) <= {0.0, 1.0}


def test_weather_is_deterministic_and_plausible():
    a, ya = deep.make_weather(300, seed=11)
    b, yb = deep.make_weather(300, seed=11)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert 0.1 < ya.mean() < 0.9  # both classes occur
    assert np.all((a[:, 1] >= 0) & (a[:, 1] <= 100))  # humidity is a percentage
    assert 950 < a[:, 2].mean() < 1070  # pressure in hPa
    humid = a[:, 1] > np.median(a[:, 1])
    assert ya[humid].mean() > ya[~humid].mean()  # humid days rain more often


def test_deep_rejects_bad_configurations():
    with pytest.raises(ValueError, match="takes 4 inputs"):
        deep.check_layers([(3, 5, "relu"), (4, 1, "sigmoid")])
    with pytest.raises(ValueError, match="last layer"):
        deep.check_layers([(3, 5, "relu"), (5, 1, "relu")])
    with pytest.raises(ValueError, match="test fraction"):
        deep.split(np.zeros((10, 3)), np.zeros(10), 1.5, 0)


# -- 5. Blobs and 6. moons --------------------------------------------------------------------


def test_blobs_reach_full_accuracy_and_match_numpy():
    result = blobs.run(iterations=2000)  # reduced from 10,000
    assert result.values["accuracy"] == 1.0
    assert_agrees(result)


def test_moons_reach_full_accuracy_and_match_numpy():
    result = moons.run()  # the original 100 steps
    assert result.values["accuracy"] == 1.0
    assert_agrees(result)


def test_data_sets_have_their_tutorial_shapes():
    X, y = blobs.make_blobs(300, 1.5, 42)
    assert X.shape == (300, 2) and sorted(np.bincount(y.astype(int))) == [150, 150]
    for label in (0, 1):  # each blob's spread is its std
        assert np.std(X[y == label], axis=0) == pytest.approx([1.5, 1.5], rel=0.2)
    with pytest.raises(ValueError, match="at least 2"):
        blobs.make_blobs(1)
    with pytest.raises(ValueError, match="positive std"):
        blobs.make_blobs(10, 0.0)


# -- The shared network against independent oracles -------------------------------------------


def test_network_gradients_match_central_differences():
    rng = np.random.default_rng(5)
    arrays = [rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=(1, 3)), np.zeros(1)]
    X = rng.normal(size=(6, 2))
    y = (rng.random(6) > 0.5).astype(float)

    def loss(W1, b1, W2, b2):  # the same network written from primitive operations
        hidden = [
            (sum(W1[j, i] * Value(X[:, i]) for i in range(2)) + b1[j]).tanh() for j in range(3)
        ]
        p = (sum(W2[0, j] * hidden[j] for j in range(3)) + b2[0]).sigmoid()
        return common.binary_cross_entropy(p, y)

    report = autograd.gradcheck(loss, arrays)
    assert report.passed
    net = nn.MLP.from_weights(arrays[0::2], arrays[1::2], ["tanh", "sigmoid"])
    batch_loss("bce", net(common.batch(X)), common.column(y)).backward()  # layer grain
    analytic = [row.actual for row in report.rows]  # W1 row-major, b1, W2, b2
    np.testing.assert_allclose(net.gradient_vector(), analytic, rtol=1e-10, atol=1e-12)
    net.zero_grad()  # neuron grain: one graph per sample, the same gradients summed
    per_sample = [
        common.binary_cross_entropy(net(common.sample(X, k)), float(y[k])) for k in range(len(X))
    ]
    (autograd.sum(per_sample) / len(X)).backward()
    np.testing.assert_allclose(net.gradient_vector(), analytic, rtol=1e-10, atol=1e-12)


def test_network_labels_parameter_order_and_arrays():
    W, b = np.arange(6.0).reshape(2, 3), np.array([7.0, 8.0])
    net = nn.MLP.from_weights([W], [b], ["relu"])
    assert [p.label for p in net.parameters()] == ["L1.W", "L1.b"]  # one Value per array
    np.testing.assert_array_equal(net.parameter_vector(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 8.0])
    neuron = net.layers[0].neurons[1]  # the neuron grain's view of the same numbers
    assert [w.label for w in neuron.w] == ["L1.N2.w1", "L1.N2.w2", "L1.N2.w3"]
    assert [w.data for w in neuron.w] == [3.0, 4.0, 5.0] and neuron.b.data == 8.0
    W_back, b_back = common.parameter_arrays(net)
    np.testing.assert_array_equal(W_back, W)
    np.testing.assert_array_equal(b_back, b)
    no_bias = nn.MLP.from_weights([W], None, "relu")
    assert len(common.parameter_arrays(no_bias)) == 1  # no b entry for a layer without biases
    with pytest.raises(ValueError, match="need 2 biases"):
        nn.MLP.from_weights([np.ones((2, 3))], [np.zeros(3)], ["relu"])


def test_max_abs_difference_sees_nan_and_shape_mismatch():
    assert common.max_abs_difference([np.array([1.0, 2.0])], [np.array([1.0, 2.5])]) == 0.5
    assert math.isnan(common.max_abs_difference([np.array([np.nan])], [np.array([0.0])]))
    with pytest.raises(ValueError, match="shapes"):
        common.max_abs_difference([np.zeros(2)], [np.zeros(3)])


@pytest.mark.parametrize(
    "flags",
    [
        ["xor"],
        ["two_layer"],
        ["perceptron", "--epochs", "300"],
        ["blobs", "--iterations", "200"],
        ["deep", "--iterations", "200", "--quick"],
    ],
    ids=lambda flags: flags[0],
)
def test_the_numpy_versions_compute_quietly_as_the_engine_does(flags, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (overflow in exp, log(0)) fails
        demos_main([*flags, "--lr", "1e9", "--no-pictures", "--every", "0"])


@pytest.mark.parametrize(
    "flags",
    [
        ["xor", "--lr", "50"],  # saturated at step 3
        ["blobs", "--lr", "50", "--iterations", "200"],  # at step 2
    ],
    ids=lambda flags: flags[0],
)
def test_a_difference_where_the_output_saturated_says_so_and_is_no_failure(flags, capsys):
    # The engine's cross-entropy clamps p to [1e-12, 1 - 1e-12] (gradient 0 beyond); the
    # tutorial's NumPy does not: once an output saturates, the two honestly part.
    assert demos_main([*flags, "--no-pictures", "--every", "0"]) == 0
    out = capsys.readouterr().out
    assert "DIFFERENT" not in out and re.search(r"the output saturated at step \d+", out)
    assert "clamps each probability to [1e-12, 1 - 1e-12]" in out
    assert "the tutorial's formula does not" in out


def test_a_difference_the_clamp_does_not_explain_is_still_different(monkeypatch, capsys):
    real = xor.numpy_train
    monkeypatch.setattr(xor, "numpy_train", lambda p, n, lr: real(p, n, lr * 1.001))  # a bug
    # no saturation; saturation, but the two parted before it; saturation at the first update,
    # where no agreeing update before it could vouch for the two trainings
    for lr in ("0.3", "50", "1e3", "1e9"):
        assert demos_main(["xor", "--lr", lr, "--no-pictures", "--every", "0"]) == 1
        out = capsys.readouterr().out
        assert "DIFFERENT" in out and "saturated" not in out, lr


def test_a_nan_before_the_clamp_is_no_agreement(monkeypatch, capsys):
    real = xor.numpy_train  # a NumPy bug that makes its loss nan at step 1, before saturation
    monkeypatch.setattr(xor, "numpy_train", lambda p, n, lr: real(p, n, lr * 1e6))
    assert demos_main(["xor", "--lr", "50", "--no-pictures", "--every", "0"]) == 1
    out = capsys.readouterr().out
    assert "DIFFERENT" in out and "saturated" not in out


def test_saturation_before_any_update_could_agree_is_still_different(capsys):
    # deep at lr 50 saturates at step 1: no loss made with updated weights agreed before it
    flags = ["deep", "--lr", "50", "--batch-size", "64", "--iterations", "100", "--quick"]
    assert demos_main([*flags, "--no-pictures", "--every", "0"]) == 1
    assert "saturated" not in capsys.readouterr().out


def test_the_clamp_is_noted_exactly_where_the_engines_gradient_stops():
    below, above = np.nextafter(1 - 1e-12, 0.0), np.nextafter(1 - 1e-12, 2.0)
    for p in (0.0, 1e-12, np.nextafter(1e-12, 1.0), 0.5, below, 1 - 1e-12, above, 1.0):
        P = Value(np.array([[p]]))
        clamp = common.Clamp()
        clamp.bce(P, common.column([0.25])).backward()
        assert (clamp.first == 0) == (P.grad[0, 0] == 0.0), p
    clamp = common.Clamp()
    for p in (0.5, 0.9, 1.0, 0.5):
        clamp.bce(Value(np.array([[p]])), common.column([1.0]))
    assert clamp.first == 2  # the first step that reached it


# -- The command line and the pictures --------------------------------------------------------


def test_every_registered_demo_has_a_main(capsys):
    assert {"xor", "two_layer", "perceptron", "deep", "blobs", "moons"} <= set(DEMOS)
    for module, _ in DEMOS.values():
        assert callable(importlib.import_module(module).main)
    assert demos_main([]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in DEMOS)
    assert demos_main(["nope"]) == 2


def test_every_option_of_every_demo_says_what_it_does(monkeypatch):
    parsers = []

    def keep(parser, *args, **kwargs):  # the demo's parser, before it reads any flag
        parsers.append(parser)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", keep)
    for module, _ in DEMOS.values():
        with pytest.raises(SystemExit):
            importlib.import_module(module).main([])
    assert len(parsers) == len(DEMOS)
    silent = [
        f"{parser.prog} {action.option_strings[-1]}"
        for parser in parsers
        for action in parser._actions
        if not action.help
    ]
    assert not silent, f"options without help: {silent}"


def test_a_mistyped_demo_name_suggests_the_closest(capsys):
    assert demos_main(["moon"]) == 2
    assert "did you mean 'moons'?" in capsys.readouterr().err
    assert demos_main(["nope"]) == 2
    assert "did you mean" not in capsys.readouterr().err  # nothing close: no guess


def test_the_list_marks_each_demo_that_needs_the_data_extra(capsys):
    assert demos_main([]) == 0
    listed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[3:]}
    for name, (module, _) in DEMOS.items():
        needs = "the `data` extra" in importlib.import_module(module).__doc__
        assert listed[name].endswith("(data extra)") == needs, name
    assert listed["gpt"].endswith("(data extra)") and listed["digits"].endswith("(data extra)")


def test_bad_flags_are_rejected(capsys):
    with pytest.raises(SystemExit) as exit_info:
        demos_main(["xor", "--iterations", "-5"])
    assert exit_info.value.code == 2
    assert "positive" in capsys.readouterr().err
    assert demos_main(["blobs", "--samples", "1", "--no-pictures"]) == 2
    assert "at least 2 points" in capsys.readouterr().err


def _check_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 100 and height > 100


def _check_svg(path, *labels):
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    text = " ".join(t for t in root.itertext())
    for label in labels:
        assert label in text, f"{label} not drawn in {path.name}"


def test_moons_command_writes_valid_pictures(tmp_path, capsys):
    out = tmp_path / "moons"
    assert demos_main(["moons", "--out", str(out), "--every", "0"]) == 0
    assert "accuracy" in capsys.readouterr().out
    if common.plots_available():
        _check_png(out / "loss.png")
        _check_png(out / "boundary.png")
    if find_renderer() is None:
        assert (out / "graph.dot").read_text().startswith("digraph")
    else:
        _check_svg(out / "graph.svg", "L1.N1", "L2.N16", "score", "hinge")


def test_xor_pictures_include_the_full_graph(tmp_path):
    result = xor.run(out=tmp_path)
    names = {p.name for p in result.files}
    if common.plots_available():
        assert {"loss.png", "boundary.png"} <= names
        _check_png(tmp_path / "loss.png")
    if find_renderer() is None:
        pytest.skip("no Graphviz renderer: the SVG checks need one")
    _check_svg(tmp_path / "graph.svg", "L1.N1", "L1.N2", "L2.N1", "loss")
    _check_svg(tmp_path / "graph_full.svg", "L1.N1.w1", "L2.N1.b")
    page = (tmp_path / "backprop.html").read_text()  # five optimizer steps, for the browser
    assert len(re.findall(r'id="frame\d+"', page)) == 5 and "optimizer step" in page


def test_run_all_times_each_demo_and_reports_its_verdict(monkeypatch, capsys):
    import demos.__main__ as entry

    fast = {name: DEMOS[name] for name in ("neuron", "xor")}
    monkeypatch.setattr(entry, "DEMOS", fast)
    assert entry.main(["all", "--no-pictures"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["neuron", "xor"]
    assert all(line.split()[2] == "ok" and float(line.split()[1]) >= 0 for line in lines[1:])


# -- pictures that teach (a student's first hour) ------------------------------------------------


def test_each_graph_is_of_a_sample_with_a_loss_and_the_summary_says_which(tmp_path, capsys):
    if find_renderer() is None:
        pytest.skip("no Graphviz renderer: the SVG checks need one")
    assert demos_main(["moons", "--out", str(tmp_path), "--every", "0"]) == 0
    shown = re.search(r"graph.svg shows\s+sample (\d+) \(loss ([\d.e+-]+)", capsys.readouterr().out)
    assert shown and float(shown.group(2)) > 0
    text = " ".join(ET.parse(tmp_path / "graph.svg").getroot().itertext())
    grads = re.findall(r"grad (-?[\d.e+-]+)", text)
    assert sum(float(g) != 0.0 for g in grads) > len(grads) // 3  # not 39 boxes of grad 0.0
    result = xor.run(out=tmp_path / "xor")
    full = " ".join(ET.parse(tmp_path / "xor" / "graph_full.svg").getroot().itertext())
    assert re.search(r"\by\b", full) and not re.search(r"-0\.0\b(?!\d)", full)  # no -0.0
    assert result.figures["graph.svg shows"].startswith("sample 3")


def _colours(png) -> set:
    import matplotlib.image

    pixels = (matplotlib.image.imread(png)[..., :3] * 255).round().astype(int)
    return {tuple(p) for p in pixels.reshape(-1, 3)}


@pytest.mark.skipif(not common.plots_available(), reason="matplotlib is not installed")
def test_boundaries_share_the_class_colours_and_say_what_they_show(tmp_path, monkeypatch):
    from nn.plot import CLASS_COLOURS

    labelled = []
    real = nn.plot.class_legend
    monkeypatch.setattr(nn.plot, "class_legend", lambda *a: labelled.append(a[3]) or real(*a))
    monkeypatch.setattr(common, "class_legend", nn.plot.class_legend)
    X, y = nn.data.moons(60, noise=0.1, seed=0)
    model = nn.MLP(2, [8, 1], seed=0)
    mine = nn.plot.decision_boundary(model, X, y, tmp_path / "nn.png")
    demo = common.plot_boundary(tmp_path / "demo.png", lambda P: nn.predict(model, P), X, y, "t")
    wanted = {tuple(int(CLASS_COLOURS[k][i : i + 2], 16) for i in (1, 3, 5)) for k in (0, 1)}
    for png in (mine, demo):
        assert wanted <= _colours(png), png  # both classes' points in the same colours
    assert labelled == [["0", "1"], ["0", "1"]]  # a legend naming the classes, twice


def test_an_unfused_neurons_sum_stays_inside_its_box():
    model = nn.MLP(2, [3, 1], fused=False, seed=0)
    out = model([Value(1.0, "x1"), Value(2.0, "x2")])
    source = autograd.draw(out, clusters=True).source
    inside = set()
    depth, node = 0, re.compile(r"^\s*(n\d+)(op)? \[")
    for line in source.splitlines():
        depth += (
            line.count("{") - line.count("}") if "subgraph" in line or line.strip() == "}" else 0
        )
        found = node.match(line)
        if found and depth >= 2:  # inside a neuron's cluster (within its layer's)
            inside.add(found.group(1))
    sums = [f"n{k}" for k, n in enumerate(autograd.topological_order(out)) if n.op == "+"]
    assert sums and set(sums) <= inside
