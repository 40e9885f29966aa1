"""autograd: a scalar automatic-differentiation engine that shows its work.

>>> from autograd import Value
>>> x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.88, "b")
>>> o = (x * w + b).tanh(); o.label = "o"
>>> o.backward()
>>> round(w.grad, 4)  # d o / d w = (1 - o**2) * x
1.0019
"""

from .anomaly import detect_anomaly
from .check import GradcheckError, check_gradient_function, gradcheck, label
from .define import define
from .draw import draw, render
from .graph import edges, gc_paused, leaves, topological_order
from .layers import Entry, layer, linear, sum_of_squares
from .nary import mean, sum
from .page import page
from .softmax import log_softmax, logsumexp, softmax
from .steps import backward_steps, explain, node_names
from .value import Value, is_recording, no_grad

__all__ = [
    "Entry",
    "GradcheckError",
    "Value",
    "backward_steps",
    "check_gradient_function",
    "define",
    "label",
    "draw",
    "explain",
    "gradcheck",
    "node_names",
    "page",
    "render",
    "detect_anomaly",
    "edges",
    "gc_paused",
    "is_recording",
    "leaves",
    "layer",
    "linear",
    "log_softmax",
    "logsumexp",
    "mean",
    "no_grad",
    "sum",
    "softmax",
    "sum_of_squares",
    "topological_order",
]
