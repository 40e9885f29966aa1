"""A sum of many values as one node, `autograd.sum(values)`, instead of a chain of binary `+`:
one node with n parents and n local derivatives, each from the table's n-ary row. The same
numbers as the chain (added left to right), with one node where the chain makes n - 1: a wide
sum (an L2 penalty, a softmax's denominator) is quick to make and short to step through.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import ops
from .value import Value, _as_value, _node


def sum(values: Iterable[Any]) -> Value:  # noqa: A001 - deliberately like builtins.sum
    """One n-ary node for v_1 + v_2 + ... + v_n; every local derivative is 1."""
    return n_ary("sum", values)


def sum_of_squares(values: Iterable[Any]) -> Value:
    """One n-ary node for v_1**2 + ... + v_n**2 (an L2 penalty); d out/dv_i = 2 v_i."""
    return n_ary("sum_of_squares", values)


def mean(values: Iterable[Any]) -> Value:
    """(v_1 + ... + v_n) / n, as an n-ary sum node followed by one division."""
    parents = tuple(values)
    return sum(parents) / len(parents) if parents else sum(parents)


def n_ary(op: str, values: Iterable[Any]) -> Value:
    parents = tuple(values)
    if not parents:
        raise ValueError(f"{op}() of no values: give at least one")
    operands = [p.data for p in parents if type(p) is Value]  # the type test while reading
    if len(operands) != len(parents):  # numbers or arrays among them: make them leaves
        parents = tuple(map(_as_value, parents))
        operands = [p.data for p in parents]
    return _node(ops.OPERATIONS[op], parents, operands)
