"""The yardstick for `benchmarks/gpt.py`: a closure-free scalar `Value` of about thirty lines,
written the way learners write one for a GPT in a single file.

Each node keeps its children and, as numbers, its local derivatives (d node / d child); no
closures. `backward()` sorts the graph with an explicit stack (no recursion limit), then runs
the chain rule `child.grad += local * node.grad` from the root down. Not a tool: no labels, no
checks, no IEEE care (`exp(1000)` raises OverflowError).
"""

from __future__ import annotations

import math


class Derived:
    """-x, x - y, x / y and their mirrors, written with the + * and ** a Value class defines
    (shared by this file's Value and `lean_value.py`'s)."""

    __slots__ = ()
    __neg__ = lambda self: self * -1.0
    __sub__ = lambda self, other: self + (-other)
    __rsub__ = lambda self, other: other + (-self)
    __truediv__ = lambda self, other: self * other**-1.0
    __rtruediv__ = lambda self, other: other * self**-1.0


class Value(Derived):
    __slots__ = ("data", "grad", "children", "local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data, self.grad = data, 0.0
        self.children, self.local_grads = children, local_grads

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k):  # k a number: d/dx x**k = k x**(k-1)
        return Value(self.data**k, (self,), (k * self.data ** (k - 1),))

    def exp(self):
        e = math.exp(self.data)
        return Value(e, (self,), (e,))

    def log(self):
        return Value(math.log(self.data), (self,), (1.0 / self.data,))

    def relu(self):
        return Value(max(0.0, self.data), (self,), (float(self.data > 0),))

    __radd__ = __add__
    __rmul__ = __mul__

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:  # depth first; a node is placed after all of its children
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in node.children if child not in seen)
        self.grad = 1.0
        for node in reversed(order):
            for child, local in zip(node.children, node.local_grads):
                child.grad += local * node.grad
