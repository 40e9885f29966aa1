"""The bridge demo: for one weight, each sample's path at neuron grain is that sample's term of
the layer's S^T X, and the sum over paths is the layer grain's gradient."""

from __future__ import annotations

import numpy as np
import pytest
from test_page import recording

from autograd.draw import HIGHLIGHT_FILL
from demos import grains


@pytest.mark.parametrize("seed,samples", [(0, 3), (1, 5), (7, 1)])
def test_each_path_is_one_samples_term_of_the_matrix_rule(seed, samples):
    found = grains.run(seed, samples)
    assert found["explanation"].path_count == samples  # one path per sample
    np.testing.assert_allclose(found["paths"], found["terms"], rtol=1e-13, atol=1e-16)
    assert found["neuron_grad"] == pytest.approx(found["layer_grad"], rel=1e-12, abs=1e-15)
    assert found["neuron_loss"].data == pytest.approx(found["layer_loss"].data, rel=1e-13)
    # an independent oracle: central differences of the loss in that weight
    model = found["model"]
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(samples, 2)), rng.normal(size=samples)

    def loss(w):
        W1 = np.array(model.layers[0].W.data)
        W1[1, 0] = w
        A = np.tanh(X @ W1.T + model.layers[0].b.data)
        out = A @ model.layers[1].W.data.T + model.layers[1].b.data
        return float(np.mean((out[:, 0] - y) ** 2))

    w0, h = float(model.layers[0].W.data[1, 0]), 1e-6
    numeric = (loss(w0 + h) - loss(w0 - h)) / (2 * h)
    assert found["layer_grad"] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_the_demo_prints_both_numbers_and_agrees(capsys, tmp_path):
    assert grains.main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "sum over paths" in out and "(S^T X)[1, 0]" in out and "tanh(layer)" in out
    for name in ("neuron.svg", "layer.svg", "neuron.html", "layer.html"):
        assert f"wrote {tmp_path / name}" in out and (tmp_path / name).stat().st_size > 1000
    neuron = (tmp_path / "neuron.svg").read_text()
    assert "L1.N2.w1" in neuron and HIGHLIGHT_FILL in neuron  # the weight and its paths, marked
    layer = (tmp_path / "layer.svg").read_text()
    assert "S^T X" in layer and "S W" in layer  # the layer's rules on its edges
    for name, weight in (("neuron.html", "L1.N2.w1"), ("layer.html", "L1.W")):
        data = recording((tmp_path / name).read_text())["frames"][0]
        opens = next(n["id"] for n in data["nodes"] if n["name"] == weight)
        assert data["opens"] == opens and data["paths"][opens].startswith(f"d loss/d {weight}")


def test_the_demo_writes_nothing_when_asked(capsys, tmp_path):
    assert grains.main(["--no-pictures", "--out", str(tmp_path / "none")]) == 0
    assert not (tmp_path / "none").exists() and "wrote" not in capsys.readouterr().out
