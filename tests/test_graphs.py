"""Random expression graphs with shared subexpressions: backward against central differences.

Hypothesis writes a small program: a few leaves, then steps that each apply one operation to
earlier results (any earlier result may be used again, so subexpressions are shared and nodes
are reached along several paths). The program runs twice: on Values (then `backward()`), and
on plain floats with formulas written here from the math module, whose central differences in
each leaf are the oracle.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value, topological_order
from autograd.graph import backward_order


def float_sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x > -700 else math.exp(x)


# name: (arity, on Values, on floats)
OPERATIONS: dict[str, tuple[int, Callable, Callable]] = {
    "+": (2, lambda a, b: a + b, lambda a, b: a + b),
    "-": (2, lambda a, b: a - b, lambda a, b: a - b),
    "*": (2, lambda a, b: a * b, lambda a, b: a * b),
    "/": (2, lambda a, b: a / b, lambda a, b: a / b),
    "**": (2, lambda a, b: a**b, lambda a, b: math.pow(a, b)),
    "neg": (1, lambda a: -a, lambda a: -a),
    "square": (1, lambda a: a**2, lambda a: a * a),
    "cube": (1, lambda a: a**3, lambda a: a * a * a),
    "reciprocal": (1, lambda a: a**-1, lambda a: 1 / a),
    "half*": (1, lambda a: 0.5 * a, lambda a: 0.5 * a),
    "3-": (1, lambda a: 3 - a, lambda a: 3 - a),
    "2**": (1, lambda a: 2**a, lambda a: math.pow(2, a)),
    "exp": (1, Value.exp, math.exp),
    "log": (1, Value.log, math.log),
    "tanh": (1, Value.tanh, math.tanh),
    "sigmoid": (1, Value.sigmoid, float_sigmoid),
    "relu": (1, Value.relu, lambda a: max(a, 0.0)),
    "abs": (1, Value.abs, abs),
    "sum3": (3, lambda a, b, c: autograd.sum([a, b, c]), lambda a, b, c: a + b + c),
    "tanh(linear)": (
        3,
        lambda a, b, c: autograd.linear([a], [b], c, "tanh"),
        lambda a, b, c: math.tanh(c + a * b),
    ),
    "relu(linear)": (
        5,
        lambda a, b, c, d, e: autograd.linear([a, b], [c, d], e, "relu"),
        lambda a, b, c, d, e: max(e + a * c + b * d, 0.0),
    ),
    "sigmoid(linear)": (
        3,
        lambda a, b, c: autograd.linear([a], [b], c, "sigmoid"),
        lambda a, b, c: float_sigmoid(c + a * b),
    ),
}


def well_posed(name: str, args: list[float], out: float) -> bool:
    """Is the operation smooth here, and its result of a size central differences can check?"""
    if not math.isfinite(out) or abs(out) > 1e4:
        return False
    if name in ("relu", "abs"):
        return abs(args[0]) > 1e-2
    if name == "relu(linear)":
        return abs(args[4] + args[0] * args[2] + args[1] * args[3]) > 1e-2
    if name in ("/", "reciprocal"):
        return abs(args[-1]) > 0.1
    if name == "log":
        return args[0] > 0.1
    if name == "**":
        return args[0] > 0.1 and abs(args[1]) < 4
    return True


step = st.tuples(st.sampled_from(sorted(OPERATIONS)), st.lists(st.integers(0, 10**6), min_size=5))
programs = st.tuples(
    st.lists(
        st.floats(-2, 2, allow_nan=False).filter(lambda x: abs(x) > 1e-3), min_size=1, max_size=4
    ),
    st.lists(step, min_size=1, max_size=14),
)


def resolve(leaves: list[float], steps: list) -> list[tuple[str, list[int]]]:
    """Pick operand indices (any earlier result) and keep only well-posed steps."""
    results = list(leaves)
    program = []
    for name, picks in steps:
        arity, _, on_floats = OPERATIONS[name]
        # prefer recent results, but reuse of any earlier one is allowed (sharing)
        indices = [len(results) - 1 - pick % len(results) for pick in picks[:arity]]
        args = [results[i] for i in indices]
        try:
            out = on_floats(*args)
        except (OverflowError, ValueError, ZeroDivisionError):
            continue
        if well_posed(name, args, out):
            program.append((name, indices))
            results.append(out)
    return program


def run(program, inputs: list, on: int) -> list:
    """Run the program on leaves `inputs`; `on` = 1 for Values, 2 for floats."""
    results = list(inputs)
    for name, indices in program:
        results.append(OPERATIONS[name][on](*[results[i] for i in indices]))
    return results


def output(program, inputs: list, on: int):
    """The sum of every result not used later (so no step is dead), or the last result."""
    results = run(program, inputs, on)
    used = {i for _, indices in program for i in indices}
    n_leaves = len(inputs)
    unused = [r for i, r in enumerate(results) if i >= n_leaves and i not in used]
    if on == 1:
        return autograd.sum(unused) if unused else results[-1]
    return math.fsum(unused) if unused else results[-1]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(programs)
def test_random_graphs_match_central_differences(case):
    leaves, steps = case
    program = resolve(leaves, steps)
    values = [Value(x, f"x{i}") for i, x in enumerate(leaves)]
    root = output(program, values, 1)
    root.backward()
    assert root.data == output(program, leaves, 2) or math.isclose(
        root.data, output(program, leaves, 2), rel_tol=1e-12, abs_tol=1e-12
    )
    for i, x in enumerate(leaves):
        h = 1e-6 * max(abs(x), 1.0)
        up, down = list(leaves), list(leaves)
        up[i] += h
        down[i] -= h
        try:
            f_up, f_down = output(program, up, 2), output(program, down, 2)
        except (OverflowError, ValueError, ZeroDivisionError):
            continue
        estimate = (f_up - f_down) / (2 * h)
        rounding = 1e4 * 2.0**-52 * max(abs(f_up), abs(f_down), 1.0) / h
        grad = values[i].grad
        assert math.isfinite(grad)
        assert abs(grad - estimate) <= 1e-4 * abs(grad) + rounding + 1e-6, (program, i)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(programs)
def test_topological_order_puts_every_node_after_its_parents(case):
    leaves, steps = case
    program = resolve(leaves, steps)
    root = output(program, [Value(x) for x in leaves], 1)
    order = topological_order(root)
    position = {id(node): k for k, node in enumerate(order)}
    assert len(position) == len(order)  # each node once
    assert order[-1] is root
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]
    # and it is every node the root depends on
    reachable, stack = set(), [root]
    while stack:
        node = stack.pop()
        if id(node) not in reachable:
            reachable.add(id(node))
            stack.extend(node.parents)
    assert reachable == set(position)
    assert [id(n) for n in topological_order(root)] == [id(n) for n in order]  # deterministic
    # backward's order: the same non-leaf nodes, each before all of its parents, root first
    fast = backward_order(root)
    assert {id(n) for n in fast} == {id(n) for n in order if n.parents}
    assert len(fast) == len({id(n) for n in fast})
    later = {id(n): k for k, n in enumerate(fast)}
    for node in fast:
        for parent in node.parents:
            if parent.parents:
                assert later[id(parent)] > later[id(node)]
    if root.parents:
        assert fast[0] is root


def test_diamond_by_hand():
    # f = (a*b) * (a+b) with a = 2, b = 3: df/da = b(a+b) + ab = 15 + 6 = 21, df/db = 16
    a, b = Value(2.0), Value(3.0)
    f = (a * b) * (a + b)
    f.backward()
    assert (a.grad, b.grad) == (21.0, 16.0)


def test_shared_node_used_many_times():
    # y = x*x*x*x built as ((x*x)*x)*x: dy/dx = 4 x^3 = 32 at x = 2
    x = Value(2.0)
    y = x * x * x * x
    y.backward()
    assert x.grad == 32.0
    # z = s + s + s with s = tanh(x): dz/dx = 3 (1 - tanh(x)^2)
    x = Value(0.3)
    s = x.tanh()
    z = autograd.sum([s, s, s])
    z.backward()
    assert abs(x.grad - 3 * (1 - math.tanh(0.3) ** 2)) < 1e-15
    assert s.grad == 3.0
