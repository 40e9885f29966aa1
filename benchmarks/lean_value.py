"""The leanest scalar `Value` we could write, for `benchmarks/gpt.py`: a ceiling, not a tool.

`plain_value.Value` (the yardstick) keeps each node's children and local derivatives in two
tuples, so every operation makes three objects that Python's cyclic collector tracks (the node
and its two tuples). This one keeps at most two parents and their local derivatives in the
node's own slots (`a`, `da`, `b`, `db`): one tracked object per operation, and a backward pass
that reads slots instead of zipping tuples. It runs the same plain-written model to the same
gradients; what it cannot do is everything the engine's tools read (operations, labels, more
than two parents, arrays, checks). It answers one question: how fast can a scalar Value of one
Python object per operation be on this machine, with the collector on, as a learner runs it?
"""

from __future__ import annotations

import math

from plain_value import Derived


class Value(Derived):  # (-x, x - y, x / y: as the yardstick writes them)
    __slots__ = ("data", "grad", "a", "da", "b", "db")

    def __init__(self, data, a=None, da=0.0, b=None, db=0.0):
        self.data, self.grad = data, 0.0
        self.a, self.da, self.b, self.db = a, da, b, db

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, self, 1.0, other, 1.0)

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, self, other.data, other, self.data)

    def __pow__(self, k):  # k a number
        return Value(self.data**k, self, k * self.data ** (k - 1))

    def exp(self):
        e = math.exp(self.data)
        return Value(e, self, e)

    def log(self):
        return Value(math.log(self.data), self, 1.0 / self.data)

    def relu(self):
        return Value(max(0.0, self.data), self, float(self.data > 0))

    __radd__ = __add__
    __rmul__ = __mul__

    @property
    def children(self):  # (for counting nodes, as the other Values are counted)
        return tuple(c for c in (self.a, self.b) if c is not None)

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:  # depth first; a node is placed after its parents
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                for parent in (node.a, node.b):
                    if parent is not None and parent not in seen:
                        stack.append((parent, False))
        self.grad = 1.0
        for node in reversed(order):
            a = node.a
            if a is not None:
                a.grad += node.da * node.grad
                b = node.b
                if b is not None:
                    b.grad += node.db * node.grad
