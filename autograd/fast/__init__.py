"""Speed, in rooms of its own. Each imports the core (`autograd.value`, `autograd.ops`) and takes
every derivative from its table; the core imports none of them. `tests/test_fast_oracle.py`
proves each gives the core's gradients.

- `replay`: record and replay. Inside `tape()`, backward reads the recorded nodes instead of
  searching the graph; `gc_paused()` spares a training loop the cyclic collector.
- `fused`: the fused neuron `linear(ws, xs, b, activation)` (one node, one row of the table)
  and `linear_layer`, a layer of them computed with one matrix product on a batch.
- `params`: parameters that live in a layer's arrays (`ParameterBlock`), each entry still a
  `Value` (`Parameter`), so a batched step touches a layer in a few NumPy calls.
- `bulk`: the backward loop for tapes and batched graphs; a layer's fused neurons in bulk.

Importing this package installs `bulk.backward` as the core's one hook (`value.fast_backward`),
so `loss.backward()` takes the fast path where there is one and the core's loop elsewhere.
"""

from .. import value as _core
from .bulk import backward
from .fused import (
    ACTIVATIONS,
    LINEAR_OPS,
    LinearGrads,
    LinearLayerGrads,
    linear,
    linear_block,
    linear_layer,
)
from .params import Parameter, ParameterBlock, sum_of_squares_of, whole_blocks
from .replay import Tape, gc_paused, tape

_core.fast_backward = backward

__all__ = [
    "ACTIVATIONS",
    "LINEAR_OPS",
    "LinearGrads",
    "LinearLayerGrads",
    "Parameter",
    "ParameterBlock",
    "Tape",
    "backward",
    "gc_paused",
    "linear",
    "linear_block",
    "linear_layer",
    "sum_of_squares_of",
    "tape",
    "whole_blocks",
]
