"""nn.plot: PNG files for a loss curve and a decision boundary; a clear message without
matplotlib."""

from __future__ import annotations

import builtins

import pytest

import nn

PNG = b"\x89PNG\r\n\x1a\n"


def test_loss_curve_and_decision_boundary_are_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    X, y = nn.data.moons(40, noise=0.1, seed=0)
    model = nn.MLP(2, [8, 1], output_activation="sigmoid", seed=0)
    history = nn.fit(model, X, y, loss="bce", lr=0.5, epochs=20)
    curve = nn.plot.loss_curve(history, tmp_path / "loss.png")
    boundary = nn.plot.decision_boundary(model, X, y, tmp_path / "sub" / "boundary.png",
                                         resolution=50)  # fmt: skip
    for path in (curve, boundary):
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png", "sub"]  # no temp files
    with pytest.raises(ValueError, match="2-D points"):
        nn.plot.decision_boundary(model, X[:, :1], y, tmp_path / "x.png")


def test_missing_matplotlib_gives_a_clear_message(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"backprop-lab\[plots\]"):
        nn.plot.loss_curve([1.0, 0.5], tmp_path / "loss.png")
    assert not (tmp_path / "loss.png").exists()
