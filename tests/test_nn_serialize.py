"""Save/load as JSON: exact round trips, atomic writes, and clear errors for bad files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import nn
from nn import ModelFileError


@pytest.fixture
def model():
    m = nn.MLP(3, [4, 2], activation="tanh", output_activation="sigmoid", seed=7)
    for p in m.parameters():  # awkward floats: every bit must survive
        p.data = p.data / 3.0 + 1e-17
    return m


def test_round_trip_is_exact(tmp_path, model):
    path = nn.save(model, tmp_path / "model.json")
    loaded = nn.load(path)
    assert loaded.config() == model.config()
    assert loaded.parameter_vector().tolist() == model.parameter_vector().tolist()
    x = [0.3, -0.7, 1.1]
    assert [o.data for o in loaded(x)] == [o.data for o in model(x)]
    again = nn.MLP.load(model.save(tmp_path / "again.json"))
    assert again.parameter_vector().tolist() == model.parameter_vector().tolist()


def test_file_is_plain_json_with_named_parameters(tmp_path, model):
    content = json.loads(nn.save(model, tmp_path / "m.json").read_text())
    assert content["architecture"]["nouts"] == [4, 2]
    assert list(content["parameters"])[:2] == ["L1.N1.w1", "L1.N1.w2"]
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_truncated_file_is_rejected(tmp_path, model):
    path = nn.save(model, tmp_path / "m.json")
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match="not valid JSON.*truncated"):
        nn.load(path)


def test_edited_number_is_rejected_by_the_checksum(tmp_path, model):
    path = nn.save(model, tmp_path / "m.json")
    content = json.loads(path.read_text())
    content["parameters"]["L2.N1.b"] += 0.5
    path.write_text(json.dumps(content))
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        nn.load(path)
    loaded = nn.load(path, verify=False)  # a deliberate edit can be accepted
    assert loaded.layers[1].neurons[0].b.data == content["parameters"]["L2.N1.b"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["parameters"].pop("L1.N2.w3"), "missing L1.N2.w3"),
        (lambda c: c["parameters"].update({"L3.N1.b": 0.0}), "unexpected L3.N1.b"),
        (
            lambda c: c["architecture"].update(nouts=[5, 2]),
            "3 -> 5 -> 2 has 32 parameters; the file lists 26",
        ),
        (lambda c: c["architecture"].update(activation="gelu"), "'activation' is 'gelu'"),
        (lambda c: c["parameters"].update({"L1.N1.b": "0.1"}), "L1.N1.b must be a number"),
        (lambda c: c.update(format="something"), "not a model file"),
        (lambda c: c.update(version=2), "unsupported version 2"),
        (lambda c: c.pop("sha256"), "missing sha256"),
    ],
)
def test_mismatched_files_name_what_does_not_match(tmp_path, model, edit, message):
    path = nn.save(model, tmp_path / "m.json")
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content))
    with pytest.raises(ModelFileError, match=message):
        nn.load(path)


def test_non_finite_values_are_refused(tmp_path, model):
    path = nn.save(model, tmp_path / "m.json")
    text = path.read_text()
    start = text.index('"L1.N1.b": ') + len('"L1.N1.b": ')
    end = text.index(",", start)
    path.write_text(text[:start] + "NaN" + text[end:])
    with pytest.raises(ModelFileError, match="NaN"):
        nn.load(path)
    model.layers[0].neurons[0].w[0].data = float("inf")
    with pytest.raises(ValueError, match="non-finite"):
        nn.save(model, tmp_path / "bad.json")


def test_failed_write_keeps_the_previous_file(tmp_path, model, monkeypatch):
    path = nn.save(model, tmp_path / "m.json")
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    model.layers[0].neurons[0].w[0].data = 42.0
    with pytest.raises(OSError, match="disk full"):
        nn.save(model, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["m.json"]  # no temp left


def test_load_of_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file"):
        nn.load(tmp_path / "nope.json")
