"""To PyTorch and back: an `MLP` as a safetensors file that PyTorch's `nn.Sequential` loads.

The file holds one float64 tensor per parameter, named as PyTorch names the state of an
`nn.Sequential` of `Linear` and activation modules: every module takes the next index, so a
linear layer takes one index and its activation the next, and a layer with no activation
("linear") takes none. For `nn.MLP(2, [16, 16, 1])` (relu, then a linear output):

    index  module                 tensors
    0      Linear(2, 16)          0.weight (16, 2), 0.bias (16,)
    1      ReLU()
    2      Linear(16, 16)         2.weight (16, 16), 2.bias (16,)
    3      ReLU()
    4      Linear(16, 1)          4.weight (1, 16), 4.bias (1,)

Weights are (outputs, inputs), the layout of both `layer.W.data` and PyTorch's `Linear.weight`.
The metadata (str -> str, as safetensors allows) holds the architecture as JSON, so a file
written here loads back bit for bit. A file written by PyTorch
(`safetensors.torch.save_file(seq.state_dict(), path)`) has no such metadata: the sizes come
from the tensors' names and shapes, and the activations, which weights cannot tell, from the
`activations=` argument. `torch_code(model)` gives the matching `nn.Sequential(...)` code.

This needs the `safetensors` package: `pip install -e ".[export]"`.
"""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from autograd.files import atomic_write

from .errors import FORMAT, ModelFileError
from .module import ACTIVATIONS, MLP

TORCH_MODULES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}  # "linear": no module
_FLOAT_DTYPES = ("F64", "F32", "F16")  # read as float64 (exactly: each is a subset of it)
_NAME = re.compile(r"(0|[1-9][0-9]*)\.(weight|bias)")
_HEADER_LIMIT = 100_000_000  # the safetensors package's own limit on a header's size


class Code(str):
    """Text of Python code: `print` it, or let a REPL show it as it is (not as a quoted str)."""

    def __repr__(self) -> str:
        return str(self)


def _safetensors_numpy() -> Any:
    """The safetensors package's NumPy API, or an ImportError that says which extra to install."""
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            "saving or loading a .safetensors model needs the safetensors package, in the "
            'export extra: pip install -e ".[export]" (or pip install safetensors); '
            "any other suffix (e.g. .json) saves this project's JSON, which needs nothing"
        ) from None
    return safetensors.numpy


def layout(activations: list[str]) -> list[tuple[int, int | None]]:
    """Each layer's (index of its Linear, index of its activation module or None for
    "linear") in the `nn.Sequential`: modules are numbered in order from 0."""
    indices: list[tuple[int, int | None]] = []
    index = 0
    for activation in activations:
        if activation == "linear":
            indices.append((index, None))
            index += 1
        else:
            indices.append((index, index + 1))
            index += 2
    return indices


def tensor_names(model: MLP) -> list[str]:
    """The tensors' names in the file, layer by layer: `0.weight`, `0.bias`, `2.weight`, ..."""
    names = []
    for (linear, _), layer in zip(layout(model.activations), model.layers):
        names.append(f"{linear}.weight")
        if layer.b is not None:
            names.append(f"{linear}.bias")
    return names


def tensors(model: MLP) -> dict[str, np.ndarray]:
    """The file's tensors: name -> float64 array (a copy), weights (outputs, inputs)."""
    if not isinstance(model, MLP):
        raise TypeError(f"export takes an nn.MLP, got {type(model).__name__}")
    arrays: dict[str, np.ndarray] = {}
    for (linear, _), layer in zip(layout(model.activations), model.layers):
        arrays[f"{linear}.weight"] = np.array(layer.W.data, dtype=np.float64, order="C")
        if layer.b is not None:
            arrays[f"{linear}.bias"] = np.array(layer.b.data, dtype=np.float64, order="C")
    bad = [name for name, array in arrays.items() if not np.isfinite(array).all()]
    if bad:
        raise ValueError(
            f"cannot save a model with non-finite parameters (in {', '.join(bad)}): "
            "training diverged"
        )
    return arrays


def torch_code(model: MLP, path: str | os.PathLike | None = None) -> Code:
    """The PyTorch code of the same network: an `nn.Sequential` of `Linear(in, out, bias=...)`
    and `ReLU()`/`Tanh()`/`Sigmoid()` modules in float64, numbered as the saved file names its
    tensors. With `path`, two more lines (an import, a call) load that file's weights into it."""
    if not isinstance(model, MLP):
        raise TypeError(f"torch_code takes an nn.MLP, got {type(model).__name__}")
    lines = ["import torch"]
    if path is not None:
        lines.append("from safetensors.torch import load_file")
    lines += ["", "model = torch.nn.Sequential("]
    for (linear, act), layer in zip(layout(model.activations), model.layers):
        bias = layer.b is not None
        lines.append(
            f"    torch.nn.Linear({layer.nin}, {layer.nout}, bias={bias}, dtype=torch.float64),"
            f"  # {linear}"
        )
        if act is not None:
            lines.append(f"    torch.nn.{TORCH_MODULES[layer.activation]}(),  # {act}")
    lines.append(")")
    if path is not None:
        lines.append(f"model.load_state_dict(load_file({str(path)!r}))")
    return Code("\n".join(lines) + "\n")


def save(model: MLP, path: str | os.PathLike) -> Path:
    """Write `model` to `path` as safetensors (atomically: a crash never leaves half a file in
    place of a good one). Returns the path."""
    arrays = tensors(model)
    metadata = {"format": FORMAT, "architecture": json.dumps(model.config(), sort_keys=True)}
    data = _safetensors_numpy().save(arrays, metadata=metadata)
    return atomic_write(path, data)


def load(path: str | os.PathLike, activations: str | list[str] | None = None) -> MLP:
    """Read an MLP from a safetensors file: one written by `save` (its metadata gives the
    architecture) or by PyTorch from an `nn.Sequential` of `Linear` and activation modules
    (give `activations`, one name per layer or one for all, from relu, tanh, sigmoid, linear).
    Raises ModelFileError naming the file and what is wrong with it."""
    safetensors_numpy = _safetensors_numpy()
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"no model file at {path}") from None

    def fail(message: str) -> ModelFileError:
        return ModelFileError(f"{path}: {message}")

    header, metadata = _header(data, fail)
    names = sorted(header)
    unexpected = [n for n in names if not _NAME.fullmatch(n)]
    if unexpected:
        raise fail(
            f"unexpected tensor(s) {', '.join(unexpected[:5])}: an MLP's file holds only "
            "'<index>.weight' and '<index>.bias' (an nn.Sequential of Linear and activations)"
        )
    for name in names:
        dtype, shape = header[name].get("dtype"), header[name].get("shape")
        if dtype not in _FLOAT_DTYPES:
            raise fail(
                f"tensor {name} has dtype {dtype}; weights must be floats (F64, F32 or F16): "
                "save them as float64 (model.double()) and try again"
            )
        ndim = 2 if name.endswith(".weight") else 1
        if not isinstance(shape, list) or len(shape) != ndim or 0 in shape:
            kind = "(outputs, inputs)" if ndim == 2 else "(outputs,)"
            shown = tuple(shape) if isinstance(shape, list) else repr(shape)
            raise fail(f"tensor {name} has shape {shown}; expected {kind}")

    linears = sorted({int(n.split(".")[0]) for n in names})
    weights = [f"{i}.weight" for i in linears]
    missing = [n for n in weights if n not in header]
    if not linears or missing:
        raise fail(f"missing tensor(s) {', '.join(missing) or '0.weight'}")
    biased = [f"{i}.bias" in header for i in linears]
    if any(biased) and not all(biased):
        absent = [f"{i}.bias" for i, b in zip(linears, biased) if not b]
        raise fail(
            f"missing tensor(s) {', '.join(absent)}: an MLP has a bias in every layer or in none"
        )
    bias = all(biased)
    sizes = [header[weights[0]]["shape"][1]] + [header[w]["shape"][0] for w in weights]
    for k, w in enumerate(weights):
        if header[w]["shape"][1] != sizes[k]:
            raise fail(
                f"shape mismatch: {w} is {tuple(header[w]['shape'])}, so it reads "
                f"{header[w]['shape'][1]} inputs, but the layer before gives {sizes[k]}"
            )
        if bias and header[f"{linears[k]}.bias"]["shape"] != [sizes[k + 1]]:
            b = f"{linears[k]}.bias"
            raise fail(
                f"shape mismatch: {b} is {tuple(header[b]['shape'])}, but {w} has "
                f"{sizes[k + 1]} outputs"
            )

    config = _architecture(metadata, fail)
    from_metadata = config is not None
    if config is None:
        per_layer = _activations_given(activations, len(weights), fail)
        config = {"nin": sizes[0], "nouts": sizes[1:], "activation": per_layer, "bias": bias}
    described = (config.get("nin"), config.get("nouts"), config.get("bias", True))
    if described != (sizes[0], sizes[1:], bias):  # checked before building: never a huge net
        raise fail(
            "its metadata's architecture (nin={}, nouts={}, bias={}) does not match its "
            "tensors: {}".format(*described, _shown(sizes[0], sizes[1:], bias))
        )
    try:
        model = MLP(**config)
    except (TypeError, ValueError) as error:
        raise fail(f"its architecture cannot be built: {error}") from None
    if from_metadata and activations is not None:
        given = _activations_given(activations, len(weights), fail)
        if given != model.activations:
            raise fail(
                f"activations={given} disagree with the file's own {model.activations}: "
                "leave activations out for a file written by backprop-lab"
            )
    expected = [i for i, _ in layout(model.activations)]
    if expected != linears:
        raise fail(
            f"the Linear modules are at indices {linears}, but the activations "
            f"{model.activations} number them {expected} (each activation but 'linear' takes "
            "the next index): check activations="
        )

    try:
        arrays = safetensors_numpy.load(data)
    except Exception as error:  # the package's SafetensorError: a malformed file
        raise fail(f"not a readable safetensors file: {error}") from None
    for name, array in arrays.items():
        if not np.isfinite(array).all():
            raise fail(f"tensor {name} holds non-finite numbers (nan or inf)")
    for (linear, _), layer in zip(layout(model.activations), model.layers):
        layer.W.data = np.array(arrays[f"{linear}.weight"], dtype=np.float64, order="C")
        if layer.b is not None:
            layer.b.data = np.array(arrays[f"{linear}.bias"], dtype=np.float64, order="C")
    return model


def _header(data: bytes, fail: Any) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The tensors' entries and the metadata of a safetensors file's header: 8 bytes (the
    header's length, little-endian), then that many bytes of JSON, then the tensors' bytes."""
    if len(data) < 8:
        raise fail(f"not a safetensors file: {len(data)} bytes, too short for a header")
    (length,) = struct.unpack("<Q", data[:8])
    if length > _HEADER_LIMIT:
        raise fail(f"not a safetensors file: its first 8 bytes give a header of {length} bytes")
    if 8 + length > len(data):
        raise fail(
            f"truncated (or not a safetensors file): the header needs {length} bytes, the file "
            f"has {len(data) - 8} after the first 8"
        )
    try:
        header = json.loads(data[8 : 8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise fail("not a safetensors file: its header is not JSON") from None
    if not isinstance(header, dict):
        raise fail("not a safetensors file: its header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    end = 0
    for name, entry in header.items():
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2):
            raise fail(f"not a safetensors file: tensor {name} has no data_offsets")
        end = max([end, *(o for o in offsets if isinstance(o, int))])
    if 8 + length + end > len(data):
        raise fail(
            f"truncated: its tensors need {end} bytes after the header, the file has "
            f"{len(data) - 8 - length}"
        )
    if not isinstance(metadata, dict):
        raise fail("not a safetensors file: its __metadata__ is not an object")
    return header, metadata


def _architecture(metadata: dict[str, str], fail: Any) -> dict[str, Any] | None:
    """The architecture in a file written by `save`, or None for a file without it."""
    if metadata.get("format") != FORMAT or "architecture" not in metadata:
        return None
    try:
        config = json.loads(metadata["architecture"])
    except ValueError:
        raise fail("its metadata 'architecture' is not JSON") from None
    if not isinstance(config, dict):
        raise fail("its metadata 'architecture' is not a JSON object")
    return config


def _activations_given(activations: Any, layers: int, fail: Any) -> list[str]:
    """`activations` as one name per layer, or a ModelFileError saying what to give."""
    what = (
        f"give activations=, one of {', '.join(ACTIVATIONS)} for each of its {layers} "
        f"layer(s) (a list) or one name for all, e.g. nn.MLP.load(path, activations="
        f"{['relu'] * (layers - 1) + ['linear']!r})"
    )
    if activations is None:
        raise fail(
            "the file has no backprop-lab architecture in its metadata (written by PyTorch?), "
            f"and activations cannot be read from weights: {what}"
        )
    if isinstance(activations, str):
        activations = [activations] * layers
    if not isinstance(activations, list | tuple) or len(activations) != layers:
        raise fail(f"activations={activations!r} does not fit: {what}")
    unknown = [a for a in activations if a not in ACTIVATIONS]
    if unknown:
        raise fail(f"unknown activation(s) {unknown}: {what}")
    return list(activations)


def _shown(nin: int, nouts: list[int], bias: bool) -> str:
    sizes = " -> ".join(str(n) for n in [nin, *nouts])
    return sizes + ("" if bias else " without biases")


def _attach() -> None:
    """Make it a method too: `model.torch_code()`."""
    MLP.torch_code = torch_code  # type: ignore[attr-defined]


_attach()
