"""Save and load an `MLP` as JSON: plain data, never code (no pickle), written atomically.

The file holds the architecture, every parameter by name (`L1.N3.w2`), and a SHA-256 checksum
of the content, so that a truncated, hand-edited or corrupted file is rejected with a message
that says what does not match. Floats are written with Python's shortest exact repr, so a
round trip gives bit-for-bit the same network.

    {"format": "backprop-lab/mlp", "version": 1,
     "architecture": {"nin": 2, "nouts": [16, 16, 1], "activation": "relu",
                      "output_activation": "linear"},
     "parameters": {"L1.N1.w1": 0.27, ..., "L3.N1.b": -0.1},
     "sha256": "..."}

A network with one activation per layer stores `"activation": ["tanh", "sigmoid"]` (and no
`output_activation`); one without biases adds `"bias": false`. Files of plain networks are
unchanged, so older files load as they did.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

import autograd
from autograd.files import atomic_write

from .errors import FORMAT, ModelFileError
from .module import ACTIVATIONS, MLP

VERSION = 1


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to `path` all or nothing (see `autograd.files.atomic_write`)."""
    return atomic_write(path, text)


def _checksum(architecture: dict[str, Any], parameters: dict[str, float]) -> str:
    canonical = json.dumps(
        {"architecture": architecture, "parameters": parameters},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def to_dict(model: MLP) -> dict[str, Any]:
    """The JSON-ready content of a model file."""
    if not isinstance(model, MLP):
        raise TypeError(f"save() takes an nn.MLP, got {type(model).__name__}")
    parameters = dict(zip(parameter_names([model.nin, *model.nouts], model.bias), _numbers(model)))
    bad = [name for name, v in parameters.items() if not math.isfinite(v)]
    if bad:
        raise ValueError(
            f"cannot save a model with non-finite parameters ({', '.join(bad[:5])}"
            f"{' ...' if len(bad) > 5 else ''}): training diverged"
        )
    architecture = model.config()
    return {
        "format": FORMAT,
        "version": VERSION,
        "architecture": architecture,
        "parameters": parameters,
        "sha256": _checksum(architecture, parameters),
    }


def save(model: MLP, path: str | os.PathLike) -> Path:
    """Write `model` to `path` as JSON (atomically), or for a `.safetensors` path as
    safetensors with PyTorch's names (`nn.export`). Returns the path."""
    if Path(path).suffix.lower() == ".safetensors":
        from . import export

        return export.save(model, path)
    text = json.dumps(to_dict(model), indent=1, allow_nan=False) + "\n"
    return atomic_write_text(path, text)


def from_dict(content: Any, source: str = "model file", verify: bool = True) -> MLP:
    """Rebuild an MLP from `to_dict` content, checking every part; see `load`."""

    def fail(message: str) -> ModelFileError:
        return ModelFileError(f"{source}: {message}")

    if not isinstance(content, dict):
        raise fail(f"expected a JSON object at the top, found {type(content).__name__}")
    if content.get("format") != FORMAT:
        raise fail(f"not a model file: 'format' is {content.get('format')!r}, not {FORMAT!r}")
    if content.get("version") != VERSION:
        raise fail(f"unsupported version {content.get('version')!r} (this code reads {VERSION})")
    missing = [k for k in ("architecture", "parameters", "sha256") if k not in content]
    if missing:
        raise fail(f"missing {', '.join(missing)}")
    architecture, parameters = content["architecture"], content["parameters"]
    if not isinstance(architecture, dict):
        raise fail("'architecture' must be an object")
    if not isinstance(parameters, dict):
        raise fail("'parameters' must be an object of name: number")

    nin, nouts = architecture.get("nin"), architecture.get("nouts")
    if isinstance(nin, bool) or not isinstance(nin, int) or nin < 1:
        raise fail(f"architecture 'nin' must be a positive integer, got {nin!r}")
    if (
        not isinstance(nouts, list)
        or not nouts
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in nouts)
    ):
        raise fail(f"architecture 'nouts' must be a list of positive integers, got {nouts!r}")
    activation = architecture.get("activation")
    if isinstance(activation, list):  # one per layer: no output_activation
        if len(activation) != len(nouts) or not all(a in ACTIVATIONS for a in activation):
            raise fail(
                f"architecture 'activation' is {activation!r}; a list needs one of "
                f"{', '.join(ACTIVATIONS)} per layer ({len(nouts)})"
            )
        if "output_activation" in architecture:
            raise fail("architecture gives both a list of activations and 'output_activation'")
        keys: tuple[str, ...] = ()
    else:
        keys = ("activation", "output_activation")
    for key in keys:
        if not isinstance(architecture.get(key), str) or architecture[key] not in ACTIVATIONS:
            raise fail(
                f"architecture {key!r} is {architecture.get(key)!r}; expected one of "
                f"{', '.join(ACTIVATIONS)}"
            )
    bias = architecture.get("bias", True)
    if not isinstance(bias, bool):
        raise fail(f"architecture 'bias' must be true or false, got {bias!r}")
    fused = architecture.get("fused", True)
    if not isinstance(fused, bool):
        raise fail(f"architecture 'fused' must be true or false, got {fused!r}")
    known = {"nin", "nouts", "activation", "output_activation", "bias", "fused"}
    unknown = sorted(set(architecture) - known)
    if unknown:
        raise fail(f"architecture has unknown field(s): {', '.join(unknown)}")

    for name, value in parameters.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(f"parameter {name} must be a number, got {value!r:.40}")
        if isinstance(value, int) and abs(value) >= 2**1024:
            raise fail(f"parameter {name} is an integer beyond float64's range (about 1.8e308)")
        if not math.isfinite(value):
            raise fail(f"parameter {name} is {value}, not a finite number")

    # The declared sizes must match the parameters given before anything is built: a file of
    # a few bytes must not make a network of 10**10 Values.
    sizes = [nin, *nouts]
    count = sum(a * b + (b if bias else 0) for a, b in zip(sizes, sizes[1:]))
    # names listed only for an architecture near the file's own size: never more than it holds
    near = count <= 2 * len(parameters) + 1000
    expected = list(parameter_names(sizes, bias)) if near else []
    absent = [n for n in expected if n not in parameters]
    if count != len(parameters) or absent:
        known = set(expected)
        extra = [n for n in parameters if n not in known] if expected else []
        shown = " -> ".join(map(str, sizes))
        parts = [f"the architecture {shown} has {count} parameters"]
        parts.append(f"the file lists {len(parameters)}")
        if absent:
            parts.append(f"missing {_few(absent)}")
        if extra:
            parts.append(f"unexpected {_few(extra)}")
        raise fail("parameters do not match the architecture: " + "; ".join(parts))
    if verify:
        expected_sum = _checksum(architecture, {n: float(parameters[n]) for n in expected})
        if content["sha256"] != expected_sum:
            raise fail(
                "checksum mismatch: the content was changed after it was saved (edited or "
                "corrupted); load(..., verify=False) accepts it anyway"
            )
    with autograd.gc_paused():  # many Values, no cycles: spare the collector its walks
        model = MLP(
            nin,
            nouts,
            activation=activation,
            output_activation=architecture.get("output_activation"),
            bias=bias,
            fused=fused,
        )
        _assign(model, [float(parameters[n]) for n in expected])
    return model


def _numbers(model: MLP) -> list[float]:
    """Every parameter's number in the file's order: layer by layer, neuron by neuron (row j of
    W, then b_j)."""
    numbers: list[float] = []
    for layer in model.layers:
        rows = layer.W.data if layer.b is None else np.column_stack([layer.W.data, layer.b.data])
        numbers.extend(rows.ravel().tolist())
    return numbers


def _assign(model: MLP, numbers: list[float]) -> None:
    """The inverse of `_numbers`: each layer's W and b from the file's order."""
    start = 0
    for layer in model.layers:
        k, n = layer.nout, layer.nin
        m = n + (layer.b is not None)
        rows = np.array(numbers[start : start + k * m]).reshape(k, m)
        start += k * m
        layer.W.data = rows[:, :n].copy()
        if layer.b is not None:
            layer.b.data = rows[:, n].copy()


def parameter_names(sizes: list[int], bias: bool = True) -> Iterator[str]:
    """The names `nn.MLP` gives its parameters, layer by layer (`L1.N1.w1`, ..., `L1.N1.b`),
    made one at a time: counting a declared architecture builds nothing."""
    for layer, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), start=1):
        for j in range(1, n_out + 1):
            yield from (f"L{layer}.N{j}.w{i}" for i in range(1, n_in + 1))
            if bias:
                yield f"L{layer}.N{j}.b"


def _few(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def load(
    path: str | os.PathLike, verify: bool = True, activations: str | list[str] | None = None
) -> MLP:
    """Read an MLP written by `save`. Raises ModelFileError (a ValueError) naming the problem
    for a file that is not valid JSON (e.g. truncated), is not a model file, does not match
    its own architecture, or whose checksum does not match (edited; `verify=False` skips it).
    A `.safetensors` path is read by `nn.export.load` (`activations` for a file PyTorch wrote).
    """
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        from . import export

        return export.load(path, activations=activations)
    if activations is not None:
        raise TypeError("activations= is for .safetensors files; a JSON model file has its own")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"no model file at {path}") from None
    except UnicodeDecodeError as error:
        raise ModelFileError(f"{path}: not a text (UTF-8 JSON) file: {error}") from None
    try:
        with autograd.gc_paused():  # a large file: many objects, no cycles
            content = json.loads(text, parse_constant=_reject_constant)
    except ModelFileError as error:
        raise ModelFileError(f"{path}: {error}") from None
    except RecursionError:
        raise ModelFileError(f"{path}: not a model file: its JSON is nested too deeply") from None
    except json.JSONDecodeError as error:
        truncated = not text.rstrip().endswith("}")
        hint = " (the file looks truncated: it does not end with '}')" if truncated else ""
        raise ModelFileError(
            f"{path}: not valid JSON{hint}: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except ValueError as error:  # e.g. an integer of more digits than Python will read
        raise ModelFileError(f"{path}: not a model file: {error}") from None
    return from_dict(content, source=str(path), verify=verify)


def _reject_constant(name: str) -> float:
    raise ModelFileError(f"the file contains {name}, which is not a finite number")


def _attach() -> None:
    """Make them methods too: `model.save(path)`, `MLP.load(path)` (and, from nn.export,
    `model.torch_code()`)."""
    from . import export  # noqa: F401 (it adds model.torch_code; it reads ModelFileError here)

    MLP.save = save  # type: ignore[attr-defined]
    MLP.load = staticmethod(load)  # type: ignore[attr-defined]


_attach()
