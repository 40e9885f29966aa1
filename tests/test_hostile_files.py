"""Model files and saving under hostile input: a bad file is a `ModelFileError` naming the
problem (never another exception, never a huge allocation), and a save loses nothing."""

from __future__ import annotations

import itertools
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nn
from nn import ModelFileError
from nn.serialize import FORMAT, VERSION, from_dict, parameter_names


def write(tmp_path, text: str):
    path = tmp_path / "model.json"
    path.write_text(text)
    return path


def model_file(architecture, parameters) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "architecture": architecture,
        "parameters": parameters,
        "sha256": "0" * 64,
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ("[" * 100_000, "nested too deeply"),
        ("{" * 50_000, "nested too deeply|not valid JSON"),
        ('{"a": ' + "9" * 5000 + "}", "not a model file"),
    ],
)
def test_malformed_json_is_a_model_file_error_with_the_files_name(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ModelFileError, match=message) as caught:
        nn.load(path)
    assert str(path) in str(caught.value)


def test_an_integer_weight_beyond_float64_is_named(tmp_path):
    model = nn.MLP(2, [1], seed=0)
    content = json.loads(nn.save(model, tmp_path / "m.json").read_text())
    content["parameters"]["L1.N1.w1"] = 10**400
    path = write(tmp_path, json.dumps(content))
    with pytest.raises(ModelFileError, match="L1.N1.w1 is an integer beyond"):
        nn.load(path)


@pytest.mark.parametrize(
    "nin, nouts",
    [(10**30, [1]), (100_000, [100_000]), (1, [10**6] * 50), (3, [2**62, 1])],
)
def test_declared_sizes_are_checked_before_anything_is_built(monkeypatch, nin, nouts):
    built = []
    monkeypatch.setattr(nn.serialize, "MLP", lambda *a, **k: built.append(a))
    architecture = {"nin": nin, "nouts": nouts, "activation": "relu", "output_activation": "linear"}
    with pytest.raises(ModelFileError, match="parameters do not match the architecture"):
        from_dict(model_file(architecture, {"L1.N1.w1": 0.5}))
    assert built == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
small = st.integers(-2, 4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries(
        {"nin": small | json_values, "nouts": st.lists(small, max_size=3) | json_values},
        optional={
            "activation": st.sampled_from(["relu", "tanh", "cubic"]) | json_values,
            "output_activation": st.sampled_from(["linear", None]),
            "bias": st.booleans() | json_values,
            "extra": json_values,
        },
    ),
    st.dictionaries(st.text(max_size=10), st.floats() | st.integers() | json_values, max_size=6),
    st.booleans(),
)
def test_any_content_loads_or_is_a_model_file_error(architecture, parameters, use_names):
    nin, nouts = architecture.get("nin"), architecture.get("nouts")
    if use_names and isinstance(nin, int) and isinstance(nouts, list) and nin > 0:
        sizes = [nin, *[n for n in nouts if isinstance(n, int)]]
        names = (  # the first 20 names, made one at a time (a drawn size may be 10**30)
            list(itertools.islice(parameter_names(sizes), 20))
            if len(sizes) > 1 and min(sizes) > 0
            else []
        )
        parameters = {**{n: 0.25 for n in names}, **parameters}
    try:
        from_dict(model_file(architecture, parameters), verify=False)
    except ModelFileError:
        pass


def test_saving_through_a_symbolic_link_keeps_the_link_and_updates_its_target(tmp_path):
    target = tmp_path / "models" / "real.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    model = nn.MLP(2, [3, 1], seed=1)
    assert nn.save(model, link) == link
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert nn.load(target).parameter_vector().tolist() == model.parameter_vector().tolist()
    assert sorted(p.name for p in target.parent.iterdir()) == ["real.json"]  # no temporary left


@pytest.mark.parametrize("path", ["", ".", "..", "somewhere/.."])
def test_a_path_without_a_file_name_is_a_clear_error(path):
    with pytest.raises(ValueError, match="no file name"):
        nn.save(nn.MLP(1, [1]), path)


def test_a_directory_is_not_overwritten(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory"):
        nn.save(nn.MLP(1, [1]), tmp_path / "d")
    assert (tmp_path / "d").is_dir()
