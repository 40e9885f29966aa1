"""To PyTorch and back: an MLP as a safetensors file with nn.Sequential's names (nn.export)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import nn
from nn import export


@pytest.fixture(autouse=True)
def needs_the_export_extra() -> None:
    """Skip where the safetensors package (the export extra) is missing, after checking that
    the error says how to get it; with REQUIRE_EXPORT_EXTRA set, a missing package fails."""
    try:
        import safetensors.numpy  # noqa: F401
    except ImportError:
        if os.environ.get("REQUIRE_EXPORT_EXTRA"):
            raise
        with pytest.raises(ImportError, match=r'pip install -e "\.\[export\]"'):
            nn.MLP(2, [1]).save("never-written.safetensors")
        pytest.skip("the safetensors package (the export extra) is not installed here")


ARCHITECTURES = {
    "relu hidden, linear out": dict(nin=2, nouts=[16, 16, 1]),
    "per-layer activations": dict(
        nin=3, nouts=[4, 5, 6, 2], activation=["tanh", "linear", "sigmoid", "relu"]
    ),
    "no bias": dict(
        nin=3, nouts=[4, 2], activation="tanh", output_activation="sigmoid", bias=False
    ),
    "one layer": dict(nin=5, nouts=[1], activation="relu", output_activation="sigmoid"),
    "unfused": dict(nin=2, nouts=[3, 1], fused=False),
}


def header_of(path: Path) -> dict:
    """The JSON header of a safetensors file (8 bytes of length, then the JSON)."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + length])


def bits(arrays: list) -> list[bytes | None]:
    return [None if a is None else np.asarray(a, dtype=np.float64).tobytes() for a in arrays]


@pytest.mark.parametrize("kind", ARCHITECTURES)
def test_a_round_trip_is_bit_for_bit(tmp_path, kind):
    model = nn.MLP(**ARCHITECTURES[kind], seed=7)
    for layer in model.layers:  # numbers whose last bits matter
        layer.W.data = layer.W.data * np.pi / 3
    path = model.save(tmp_path / "m.safetensors")
    back = nn.MLP.load(path)
    assert back.config() == model.config()
    assert bits(back.weight_arrays()) == bits(model.weight_arrays())
    assert bits(back.bias_arrays()) == bits(model.bias_arrays())
    X = np.random.default_rng(0).normal(size=(7, model.nin))
    assert model(X).data.tobytes() == back(X).data.tobytes()
    assert nn.load(path).config() == model.config()  # the function reads it as the method does


def test_the_names_and_shapes_in_the_file_are_nn_sequentials(tmp_path):
    model = nn.MLP(2, [3, 4, 1], activation=["relu", "linear", "tanh"], seed=1)
    path = model.save(tmp_path / "m.safetensors")
    header = header_of(path)
    metadata = header.pop("__metadata__")
    # Linear 0, ReLU 1, Linear 2 (no activation: no index), Linear 3, Tanh 4
    shapes = {name: (entry["dtype"], entry["shape"]) for name, entry in header.items()}
    assert shapes == {
        "0.weight": ("F64", [3, 2]),
        "0.bias": ("F64", [3]),
        "2.weight": ("F64", [4, 3]),
        "2.bias": ("F64", [4]),
        "3.weight": ("F64", [1, 4]),
        "3.bias": ("F64", [1]),
    }
    assert export.tensor_names(model) == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
        "3.weight",
        "3.bias",
    ]
    assert metadata["format"] == "backprop-lab/mlp"
    assert json.loads(metadata["architecture"]) == model.config()
    from safetensors.numpy import load_file

    arrays = load_file(str(path))
    assert np.array_equal(arrays["2.weight"], model.layers[1].W.data)  # (out, in), not W^T
    assert np.array_equal(arrays["3.bias"], model.layers[2].b.data)


def test_torch_code_is_the_matching_sequential():
    model = nn.MLP(2, [3, 4, 1], activation=["relu", "linear", "tanh"], seed=1)
    assert model.torch_code() == textwrap.dedent(
        """\
        import torch

        model = torch.nn.Sequential(
            torch.nn.Linear(2, 3, bias=True, dtype=torch.float64),  # 0
            torch.nn.ReLU(),  # 1
            torch.nn.Linear(3, 4, bias=True, dtype=torch.float64),  # 2
            torch.nn.Linear(4, 1, bias=True, dtype=torch.float64),  # 3
            torch.nn.Tanh(),  # 4
        )
        """
    )
    code = nn.MLP(3, [2], activation="sigmoid", output_activation="sigmoid", bias=False)
    text = code.torch_code("out/m.safetensors")
    assert "torch.nn.Linear(3, 2, bias=False, dtype=torch.float64),  # 0" in text
    assert "torch.nn.Sigmoid(),  # 1" in text
    assert text.splitlines()[1] == "from safetensors.torch import load_file"
    assert text.rstrip().endswith("model.load_state_dict(load_file('out/m.safetensors'))")
    assert repr(text) == str(text)  # a REPL shows the code, not a quoted string
    compile(text, "torch_code", "exec")


def pytorch_style_file(path: Path, dtype=np.float64, drop=(), **changes) -> dict:
    """A file as `safetensors.torch.save_file(seq.state_dict(), path)` writes it for
    Linear(2, 3), ReLU, Linear(3, 1): no metadata. Returns the tensors."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(3)
    tensors = {
        "0.weight": rng.normal(size=(3, 2)),
        "0.bias": rng.normal(size=3),
        "2.weight": rng.normal(size=(1, 3)),
        "2.bias": rng.normal(size=1),
    }
    tensors = {k: v.astype(dtype) for k, v in tensors.items() if k not in drop}
    tensors.update(changes)
    save_file({k.replace("_", "."): v for k, v in tensors.items()}, str(path))
    return tensors


def test_a_file_without_metadata_loads_with_the_activations_given(tmp_path):
    path = tmp_path / "torch.safetensors"
    tensors = pytorch_style_file(path)
    with pytest.raises(nn.ModelFileError, match=r"activations cannot be read from weights") as e:
        nn.MLP.load(path)
    assert str(path) in str(e.value) and "activations=['relu', 'linear']" in str(e.value)
    model = nn.MLP.load(path, activations=["relu", "linear"])
    assert model.nin == 2 and model.nouts == [3, 1] and model.activations == ["relu", "linear"]
    assert np.array_equal(model.layers[0].W.data, tensors["0.weight"])
    assert np.array_equal(model.layers[1].b.data, tensors["2.bias"])
    x = np.array([[0.5, -1.0]])
    hidden = np.maximum(0, x @ tensors["0.weight"].T + tensors["0.bias"])
    assert np.allclose(model(x).data, hidden @ tensors["2.weight"].T + tensors["2.bias"])
    # Activations that number the modules otherwise (a Linear at 1, not 2) are refused
    with pytest.raises(nn.ModelFileError, match=r"indices \[0, 2\].*number them \[0, 1\]"):
        nn.MLP.load(path, activations="linear")
    with pytest.raises(nn.ModelFileError, match=r"unknown activation\(s\) \['gelu'\]"):
        nn.MLP.load(path, activations=["gelu", "linear"])
    with pytest.raises(nn.ModelFileError, match=r"does not fit"):
        nn.MLP.load(path, activations=["relu"])


def test_float32_from_pytorch_becomes_float64_exactly(tmp_path):
    path = tmp_path / "f32.safetensors"
    tensors = pytorch_style_file(path, dtype=np.float32)
    model = nn.load(path, activations=["tanh", "linear"])
    assert model.layers[0].W.data.dtype == np.float64
    assert np.array_equal(model.layers[0].W.data, tensors["0.weight"].astype(np.float64))


def test_json_stays_the_default_for_any_other_suffix(tmp_path):
    model = nn.MLP(2, [3, 1], seed=2)
    for name in ("m.json", "m.model", "m"):
        model.save(tmp_path / name)
        assert json.loads((tmp_path / name).read_text())["format"] == "backprop-lab/mlp"
    with pytest.raises(TypeError, match="activations= is for .safetensors"):
        nn.load(tmp_path / "m.json", activations="relu")
    model.save(tmp_path / "M.SafeTensors")
    assert "0.weight" in header_of(tmp_path / "M.SafeTensors")


def test_a_failed_save_leaves_the_good_file(tmp_path, monkeypatch):
    path = nn.MLP(2, [1], seed=1).save(tmp_path / "m.safetensors")
    good = path.read_bytes()
    diverged = nn.MLP(2, [1], seed=2)
    diverged.layers[0].W.data = np.array([[1.0, np.nan]])
    with pytest.raises(ValueError, match=r"non-finite parameters \(in 0.weight\)"):
        diverged.save(path)
    assert path.read_bytes() == good

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)  # the write fails after the bytes went out
    with pytest.raises(OSError, match="disk full"):
        nn.MLP(2, [1], seed=3).save(path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]  # no temp file


def malformed(tmp_path: Path, kind: str) -> Path:
    """A bad file of the given kind."""
    path = tmp_path / f"{kind}.safetensors"
    if kind == "text":
        path.write_text('{"format": "backprop-lab/mlp"}\n')
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        good = nn.MLP(2, [8, 1]).save(tmp_path / "good.safetensors").read_bytes()
        path.write_bytes(good[: len(good) - 20])
    elif kind == "truncated header":
        good = nn.MLP(2, [8, 1]).save(tmp_path / "good.safetensors").read_bytes()
        path.write_bytes(good[:40])
    elif kind == "missing":
        pytorch_style_file(path, drop=("2.bias",))
    elif kind == "no weight":
        pytorch_style_file(path, drop=("2.weight",))
    elif kind == "shape":
        pytorch_style_file(path, **{"2_weight": np.ones((1, 4))})
    elif kind == "bias shape":
        pytorch_style_file(path, **{"0_bias": np.ones(4)})
    elif kind == "3-D":
        pytorch_style_file(path, **{"0_weight": np.ones((3, 2, 1))})
    elif kind == "integer":
        pytorch_style_file(path, **{"0_weight": np.ones((3, 2), dtype=np.int64)})
    elif kind == "unexpected":
        pytorch_style_file(path, **{"net_0_weight": np.ones((3, 2))})
    elif kind == "non-finite":
        pytorch_style_file(path, **{"0_bias": np.array([0.0, np.inf, 1.0])})
    elif kind == "metadata lies":
        from safetensors.numpy import save_file

        architecture = json.dumps({"nin": 2, "nouts": [10**9, 1], "activation": "relu"})
        tensors = {k: v for k, v in export.tensors(nn.MLP(2, [3, 1])).items()}
        save_file(
            tensors,
            str(path),
            metadata={"format": "backprop-lab/mlp", "architecture": architecture},
        )
    return path


MALFORMED = {
    "text": r"not a safetensors file",
    "empty": r"not a safetensors file: 0 bytes",
    "truncated": r"truncated: its tensors need \d+ bytes after the header, the file has \d+",
    "truncated header": r"truncated \(or not a safetensors file\): the header needs",
    "missing": r"missing tensor\(s\) 2.bias: an MLP has a bias in every layer or in none",
    "no weight": r"missing tensor\(s\) 2.weight",
    "shape": r"shape mismatch: 2.weight is \(1, 4\), so it reads 4 inputs, but the layer bef",
    "bias shape": r"shape mismatch: 0.bias is \(4,\), but 0.weight has 3 outputs",
    "3-D": r"tensor 0.weight has shape \(3, 2, 1\); expected \(outputs, inputs\)",
    "integer": r"tensor 0.weight has dtype I64; weights must be floats",
    "unexpected": r"unexpected tensor\(s\) net.0.weight",
    "non-finite": r"tensor 0.bias holds non-finite numbers",
    "metadata lies": r"architecture \(nin=2, nouts=\[1000000000, 1\].*tensors: 2 -> 3 -> 1",
}


@pytest.mark.parametrize("kind", MALFORMED)
def test_a_bad_file_is_refused_naming_it_and_the_fault(tmp_path, kind):
    path = malformed(tmp_path, kind)
    with pytest.raises(nn.ModelFileError, match=MALFORMED[kind]) as error:
        nn.MLP.load(path, activations=["relu", "linear"])
    assert str(error.value).startswith(f"{path}: ")


def test_without_safetensors_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)  # import fails as if absent
    model = nn.MLP(2, [1])
    with pytest.raises(ImportError, match=r'pip install -e "\.\[export\]"'):
        model.save(tmp_path / "m.safetensors")
    with pytest.raises(ImportError, match=r"export extra"):
        nn.load(tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()
    model.save(tmp_path / "m.json")  # JSON needs nothing
    assert model.torch_code().startswith("import torch\n")  # code needs no package either


TORCH_SCRIPT = """
import json, sys
import torch
from safetensors.torch import save_file
code, X = sys.argv[1], torch.tensor(json.loads(sys.argv[2]), dtype=torch.float64)
namespace = {}
exec(code, namespace)
ours = namespace["model"](X).tolist()
torch.manual_seed(0)
seq = torch.nn.Sequential(
    torch.nn.Linear(3, 5, dtype=torch.float64), torch.nn.Tanh(),
    torch.nn.Linear(5, 4, dtype=torch.float64),
    torch.nn.Linear(4, 2, dtype=torch.float64), torch.nn.Sigmoid(),
)
save_file(seq.state_dict(), sys.argv[3])
print(json.dumps({"ours": ours, "theirs": seq(X).tolist()}))
"""


def test_pytorch_runs_the_printed_sequential_on_the_saved_file(tmp_path):
    """Where TORCH_PYTHON names a Python with torch and safetensors, the printed code loads
    the file there and gives the engine's outputs; and a file PyTorch wrote loads here."""
    python = os.environ.get("TORCH_PYTHON")
    if not python:
        pytest.skip("set TORCH_PYTHON to a Python with torch and safetensors to compare outputs")
    model = nn.MLP(3, [5, 4, 2], activation=["tanh", "linear", "sigmoid"], seed=4)
    path = model.save(tmp_path / "m.safetensors")
    X = np.random.default_rng(1).normal(size=(6, 3))
    ran = subprocess.run(
        [
            python,
            "-c",
            TORCH_SCRIPT,
            model.torch_code(path),
            json.dumps(X.tolist()),
            str(tmp_path / "t.safetensors"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    outputs = json.loads(ran.stdout)
    assert np.max(np.abs(np.array(outputs["ours"]) - model(X).data)) <= 1e-12
    theirs = nn.MLP.load(tmp_path / "t.safetensors", activations=["tanh", "linear", "sigmoid"])
    assert np.max(np.abs(np.array(outputs["theirs"]) - theirs(X).data)) <= 1e-12
