"""The classic mistakes of a hand-written backward pass, each run on the same small graph.

    a = x * y;  b = a + x;  L = a * b        (x = 2, y = -3: x and a are each read twice)

1. `=` instead of `+=` on a reused node: the second path overwrites the first;
2. `backward()` twice without `zero_grad()`: the leaves add up both passes;
3. a recursive backward without a topological order: a node passes its gradient on before it
   has all of it, and again when the rest arrives;
4. zeroing only the parameters: a leaf that is not a parameter (here the input x, whose
   gradient we read) keeps the earlier pass's gradient.

Each prints the wrong gradients beside the right ones (`backward()` on a fresh graph) and the
check that catches it.
"""

from __future__ import annotations

import sys

from autograd import Value, gradcheck
from autograd.graph import backward_order

from . import common

NAME = "mistakes"


def graph() -> tuple[Value, Value, Value]:
    x, y = Value(2.0, "x"), Value(-3.0, "y")
    a = x * y
    b = a + x
    return x, y, a * b


def overwrite(root: Value) -> None:
    """Mistake 1: parent.grad = local * node.grad (the second path into x and a is lost)."""
    for node in backward_order(root):
        node.grad = 0.0
    root.grad = 1.0
    for node in backward_order(root):
        for parent, local in zip(node.parents, node.local_grads):
            parent.grad = local * node.grad


def recursive(root: Value) -> None:
    """Mistake 3: pass gradient on at once, depth first, without waiting for every child."""
    root.grad = 1.0

    def visit(node: Value, incoming: float) -> None:
        for parent, local in zip(node.parents, node.local_grads):
            parent.grad += local * incoming
            visit(parent, parent.grad)  # everything the parent holds so far, again

    visit(root, 1.0)


def run(out=None, every: int = 0) -> common.Result:
    result = common.Result(NAME)
    x, y, root = graph()
    root.backward()
    right = (x.grad, y.grad)

    def loss(x: Value, y: Value) -> Value:
        a = x * y
        return a * (a + x)

    result.figures["the graph"] = "a = x * y; b = a + x; L = a * b at x = 2, y = -3"
    result.figures["right (backward())"] = _grads(*right)
    check = gradcheck(loss, [2.0, -3.0])
    result.figures["gradcheck of it"] = f"passed, max difference {check.max_difference:.2g}"

    def mistake(number: int, what: str, wrong: tuple, caught: str) -> None:
        result.figures[f"{number}. {what}"] = f"{_grads(*wrong)}   <- wrong; caught by {caught}"

    x, y, root = graph()
    overwrite(root)
    mistake(1, "= instead of +=", (x.grad, y.grad), _caught(x.grad, y.grad, right))
    x, y, root = graph()
    root.backward()
    root.backward()
    mistake(
        2,
        "backward() twice, no zero_grad()",
        (x.grad, y.grad),
        "comparing with one fresh pass (2x); the step-through names leaves holding an earlier "
        "pass's gradient",
    )
    x, y, root = graph()
    recursive(root)
    mistake(3, "recursive, no topological order", (x.grad, y.grad), _caught(x.grad, y.grad, right))
    x, y, root = graph()
    root.backward()
    y.zero_grad()  # "the parameters": y only; x is the input whose gradient we read
    root.backward()
    mistake(
        4,
        "zeroing only the parameters",
        (x.grad, y.grad),
        "the input's gradient doubling from pass to pass; zero_grad() every leaf you read",
    )
    return result


def _grads(dx: float, dy: float) -> str:
    return f"dL/dx = {dx:g}, dL/dy = {dy:g}"


def _caught(dx: float, dy: float, right: tuple) -> str:
    worst = max(abs(dx - right[0]), abs(dy - right[1]))
    return f"gradcheck (central differences differ by {worst:g})"


def main(argv: list[str] | None = None) -> int:
    p = common.parser(NAME, __doc__, every=0)
    args = p.parse_args(argv)
    return common.report(run(None if args.no_pictures else args.out, args.every))


if __name__ == "__main__":
    sys.exit(main())
