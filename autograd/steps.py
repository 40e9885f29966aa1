"""Show the chain rule at work: step through `backward()`, and explain one gradient.

Step-through. `root.backward_steps()` starts a backward pass exactly as `backward()` does (every
non-leaf grad reset to 0, then d root/d root = 1) and returns an iterator; each `next()` applies
the chain rule at one node with the core's own `chain_rule`, in backward's order
(`graph.backward_order`), and shows the sums it made. Only nodes with parents are steps: at a
leaf the chain rule has nothing to pass on. Between steps every `.grad` holds what it holds at
that point of the real pass; after the last step, exactly what `backward()` leaves, bit for bit,
at both grains (the same `chain_rule` on the same nodes in the same order).

    step 3/7  c = a * b   (c.grad = -2.0)
      a.grad += c.grad * dc/da = -2.0 * -3.0 = 6.0   -> a.grad = 6.0

Explanation. `root.explain(x)` writes d root/d x as the chain rule does: the sum, over every path
from `root` down to `x`, of the product of the local derivatives along the path,

    d root/d x = sum over paths p of  prod over edges (child <- parent) in p of  d child/d parent,

first as formulas (from the table of operations), then with the numbers the nodes recorded
(`local_grads`, from the same table), then the total, which is what `backward()` puts in `x.grad`.
Paths are counted by dynamic programming; when there are too many to print, the explanation
prints a few and a summary instead of enumerating them.

Names. Every node is shown by its label; an unlabelled node gets an automatic name `v1, v2, ...`
numbered in topological order, so the same graph always gets the same names (`node_names`). A
constant (`requires_grad` False: the `2.0` of `2 * x`, a number in a CLI expression) is shown
by its label or its value, as a number with no gradient to track.

Numbers. A product is printed with `=` only where the shown factors multiply out to the shown
result (each factor with the digits it needs: `0.49998 * -3.0 = -1.49994`), else with `≈`
(`autograd.show.arithmetic`). In Jupyter, a step, a step-through (its steps so far) and an
explanation display as the same text, escaped, in a monospace block.
"""

from __future__ import annotations

import html
import itertools
import math
import numbers
import re
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .graph import topological_order
from .ieee import quiet
from .layers import LAYER_ACTIVATION
from .ops import operation
from .show import arithmetic, product_text
from .show import show as _show
from .value import Value, chain_rule, start_backward

__all__ = [
    "BackwardSteps",
    "Explanation",
    "Path",
    "Step",
    "backward_steps",
    "explain",
    "node_names",
]


# ---------------------------------------------------------------------------------------------
# Names


def node_names(root: Value, order: Sequence[Value] | None = None) -> dict[Value, str]:
    """A readable, unique, stable name for every node of `root`'s graph.

    A constant (`requires_grad` False) is a number, shown by its label or else its value
    (`out - 1.0`, `2 * x`). Every other node is a variable: a labelled one is shown by its
    label, a label used by several gets `#2`, `#3`, ... on its later uses; an unlabelled one
    (an inner node, or a leaf such as `Value(3.0)` that tracks its gradient) gets `v1`, `v2`,
    ... in topological order, skipping names already taken by labels. Names are unique but for
    constants (numbers, not names). The names depend only on the graph, never on memory
    addresses.
    """
    if order is None:
        order = topological_order(root)
    taken = {node.label for node in order if node.label and is_variable(node)}
    names: dict[Value, str] = {}
    uses: dict[str, int] = {}
    counter = 0
    for node in order:
        if not is_variable(node):  # a constant: a number, by its label or its value
            names[node] = node.label or _show(node.data)
            continue
        if node.label:
            k = uses[node.label] = uses.get(node.label, 0) + 1
            name = node.label if k == 1 else f"{node.label}#{k}"
            while k > 1 and name in taken:
                k += 1
                name = f"{node.label}#{k}"
            taken.add(name)
        else:
            counter += 1
            name = f"v{counter}"
            while name in taken:
                counter += 1
                name = f"v{counter}"
            taken.add(name)
        names[node] = name
    return names


def is_variable(node: Value) -> bool:
    """True for a value whose gradient is tracked; False for a constant (`requires_grad`
    False), to which the chain rule passes nothing."""
    return node.requires_grad is not False


def _expression(node: Value, names: dict[Value, str]) -> str:
    """`node`'s operation written with its parents' names, e.g. `a * b`, `tanh(n)`."""
    return operation(node.op).expression([names[p] for p in node.parents])


def _partial(child: str, parent: str) -> str:
    return f"d{child}/d{parent}"


# ---------------------------------------------------------------------------------------------
# Step-through


@dataclass(frozen=True)
class Edge:
    """One `parent.grad += local * node.grad` of a step, with the numbers it used."""

    parent: Value
    parent_name: str
    index: int  # which operand of the node
    local: Any  # d node / d parent (a number, or an array for batched values)
    formula: str  # the same derivative as text, from the table of operations
    contribution: Any  # local * node.grad (summed over the batch for a scalar parent)
    grad_after: Any  # parent.grad right after this edge was applied
    summed: bool = False  # a scalar parent of a batched node: the batch's products, summed
    constant: bool = False  # parent.requires_grad is False: a number, no gradient to track


@dataclass(frozen=True, repr=False)
class Step:
    """The chain rule at one node: what each parent's grad received; `str()` shows it."""

    number: int  # 1-based
    total: int
    node: Value
    name: str
    expression: str
    grad: Any  # node.grad when the step ran
    edges: tuple[Edge, ...]
    carried: tuple[tuple[str, Any], ...] = ()  # (first step) leaves holding an earlier pass's

    def __str__(self) -> str:
        head = f"step {self.number}/{self.total}  {self.name} = {self.expression}"
        lines = [f"{head}   ({self.name}.grad = {_show(self.grad)})"]
        if self.carried:
            held = ", ".join(f"{name}.grad = {_show(grad)}" for name, grad in self.carried)
            lines.append(
                f"  (from an earlier pass: {held}; this pass adds to them, as backward() does."
                f" {_zero_first([name for name, _ in self.carried])} first for this pass alone)"
            )
        rows = []
        layer_rules = [edge.local for edge in self.edges if hasattr(edge.local, "describe")]
        if layer_rules:  # a layer node: S = G * act'(Z) once, then each parent's share
            act = LAYER_ACTIVATION.get(self.node.op, "linear")
            slope = "" if act == "linear" else f" * {act}'(Z)"
            lines.append(f"  S = {self.name}.grad{slope} = {_show(layer_rules[0].shares.S)}")
        operands = [edge.parent_name for edge in self.edges]
        for edge in self.edges:
            p = edge.parent_name
            if edge.constant:
                continue
            if hasattr(edge.local, "describe"):  # a layer's rule: a matrix product, its shapes
                share = f"  {p}.grad += {edge.local.describe(operands)}"
                rows.append((share, f"-> {p}.grad = {_show(edge.grad_after)}"))
                continue
            if edge.summed:  # each sample's product, then their sum
                with quiet():
                    products = edge.local * self.grad
                text, digits = product_text([self.grad, edge.local], products)
                text += f", summed over the batch: {_show(edge.contribution, digits)}"
            else:
                text, digits = product_text([self.grad, edge.local], edge.contribution)
                if is_rule(edge.local):  # its G: the grad just shown on its left
                    text = _G.sub(lambda _: f"{self.name}.grad", text)
            rows.append(
                (
                    f"  {p}.grad += {self.name}.grad * {_partial(self.name, p)} = {text}",
                    f"-> {p}.grad = {_show(edge.grad_after, digits)}",
                )
            )
        width = max((len(left) for left, _ in rows), default=0)
        lines += [f"{left.ljust(width)}   {right}" for left, right in rows]
        constants = list(dict.fromkeys(edge.parent_name for edge in self.edges if edge.constant))
        if len(constants) == 1:
            lines.append(f"  ({constants[0]}: a constant, no gradient to track)")
        elif constants:
            lines.append(f"  ({' and '.join(constants)}: constants, no gradient to track)")
        return "\n".join(lines)

    __repr__ = __str__  # so that `next(steps)` at the REPL prints the arithmetic

    def _repr_html_(self) -> str:
        """In Jupyter: the same text, escaped, in a monospace block."""
        return _html(str(self))


class BackwardSteps(Iterator[Step]):
    """A backward pass, one node at a time. Made by `backward_steps(root)`.

    Creating it starts the pass as `backward()` does: non-leaf grads reset to 0 and
    root.grad set to 1 (a leaf root's grad grows by 1, as in `backward()`). `total` is the
    number of steps (nodes with parents); `names` maps every node to its shown name; `steps`
    the steps shown so far.

    Overtaken: each step first checks, by value (nan-aware), that the node and its parents
    hold what this pass left in them, and that no newer step-through of theirs is still under
    way; else another pass (`backward()`, of the root or of an inner node, or a second
    step-through) has changed them, every later number would be wrong, and it stops, saying so.
    A value whose grad is a view of another's (an entry of a layer's W, which names the array
    as its `source`) changes when that one does: what this pass leaves in one, it reads anew
    in the other.
    """

    def __init__(self, root: Value) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"backward_steps() needs a Value, got {type(root).__name__}")
        self.root = root
        self.order = topological_order(root)
        self.names = node_names(root, self.order)
        self.carried = tuple(  # leaves (variables) holding an earlier pass's gradient
            (self.names[n], n.grad)
            for n in self.order
            if not n.parents and is_variable(n) and n is not root and _nonzero(n.grad)
        )
        self._pending = start_backward(root, "backward_steps()")
        self.total = len(self._pending)
        self._done = 0
        self.steps: list[Step] = []
        self._serial = next(_step_throughs)
        # every node's grad as this pass left it (copied: a batch's grad grows in place)
        self._left = {node: _copy(node.grad) for node in self.order}
        self._views = _views(self.order)
        _under_way.add(self)

    def __iter__(self) -> BackwardSteps:
        return self

    def __repr__(self) -> str:
        return f"<backward steps from {self.names[self.root]}: {self._done} of {self.total} done>"

    def _repr_html_(self) -> str:
        """In Jupyter: how far it is, then the steps so far, as `str()` of each shows them."""
        return _html("\n\n".join([repr(self), *map(str, self.steps)]))

    def __next__(self) -> Step:
        if self._done == self.total:
            _under_way.discard(self)
            raise StopIteration
        node = self._pending[self._done]
        self._overtaken(node)
        self._done += 1
        grad = node.grad
        shown: list = []
        with quiet():  # (an array's inf and nan without NumPy's warnings, as in backward())
            chain_rule(node, shown)  # the core's update; `shown` gets what each edge added
        ran = {entry[0]: entry for entry in shown}
        edges = tuple(
            Edge(
                parent,
                self.names[parent],
                i,
                local,
                derivative_text(node, i, self.names),
                ran[i][3] if i in ran else 0.0,
                ran[i][4] if i in ran else parent.grad,
                type(parent.data) is float
                and (type(local) is not float or type(grad) is not float),
                not parent.requires_grad,
            )
            for i, (parent, local) in enumerate(zip(node.parents, node.local_grads))
        )
        for parent in node.parents:
            self._left[parent] = _copy(parent.grad)
            for view in self._views.get(parent, ()):  # its grad's storage is theirs too
                self._left[view] = _copy(view.grad)
        if self._done == self.total:
            _under_way.discard(self)
        step = Step(
            self._done,
            self.total,
            node,
            self.names[node],
            _expression(node, self.names),
            grad,
            edges,
            self.carried if self._done == 1 else (),
        )
        self.steps.append(step)
        return step

    def _overtaken(self, node: Value) -> None:
        """Stop, saying so, if another pass has changed the grads this step reads (the node's
        and its parents') since this pass left them, or a newer step-through of them is under
        way: every later number would be wrong."""
        for n in (node, *node.parents):
            newer = [
                other
                for other in _under_way
                if other._serial > self._serial and n in other._left and other._done < other.total
            ]
            if newer or not _same(n.grad, self._left[n]):
                why = "a newer step-through of it started" if newer else "its grad was changed"
                raise RuntimeError(
                    f"this step-through was overtaken: after its step {self._done}, another "
                    f"backward pass (backward() of a node of this graph, or a second "
                    f"step-through) reached {self.names[n]} ({why}), so its next steps would "
                    f"show wrong numbers. Start again with {self.names[self.root]}.backward_steps()"
                )

    @property
    def done(self) -> int:
        """How many steps have run."""
        return self._done

    def run(self) -> list[Step]:
        """Run every remaining step and return them."""
        return list(self)


_step_throughs = itertools.count()  # each step-through's creation number
_under_way: weakref.WeakSet[BackwardSteps] = weakref.WeakSet()  # begun and not finished


def _views(order: Sequence[Value]) -> dict[Value, list[Value]]:
    """For each node whose grad shares storage with others of the graph, those others: an
    entry (a node with a `source` Value, such as weight (j, i) of a layer's W) and its source."""
    views: dict[Value, list[Value]] = {}
    present = set(order)
    for node in order:
        source = getattr(node, "source", None)
        if isinstance(source, Value) and source in present:
            views.setdefault(node, []).append(source)
            views.setdefault(source, []).append(node)
    return views


def _copy(grad: Any) -> Any:
    """The grad as it is now (a batch's array copied: `+=` changes it in place)."""
    return grad if isinstance(grad, numbers.Real) else +grad


def _same(a: Any, b: Any) -> bool:
    """Equal values, nan equal to nan (a grad read twice may be two float objects)."""
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
        return a == b or (a != a and b != b)
    if isinstance(a, numbers.Real) or isinstance(b, numbers.Real):
        return False
    return a.shape == b.shape and bool(((a == b) | ((a != a) & (b != b))).all())


def _nonzero(grad: Any) -> bool:
    return bool(grad != 0.0) if type(grad) is float else bool((grad != 0.0).any())


def _html(text: str) -> str:
    """Text for Jupyter: escaped (a label is never markup), monospace, as printed."""
    style = "font-family: monospace; white-space: pre; line-height: 1.35"
    return f'<pre style="{style}">{html.escape(text)}</pre>'


def backward_steps(root: Value) -> BackwardSteps:
    """Start a backward pass from `root` that runs one chain-rule step per `next()`.

    >>> a, b = Value(2.0, "a"), Value(-3.0, "b")
    >>> c = a * b; c.label = "c"
    >>> out = c + a; out.label = "out"
    >>> steps = out.backward_steps()
    >>> print(next(steps))  # the chain rule at the root's node
    step 1/2  out = c + a   (out.grad = 1.0)
      c.grad += out.grad * dout/dc = 1.0 * 1.0 = 1.0   -> c.grad = 1.0
      a.grad += out.grad * dout/da = 1.0 * 1.0 = 1.0   -> a.grad = 1.0
    >>> for step in steps: print(step)
    ...
    step 2/2  c = a * b   (c.grad = 1.0)
      a.grad += c.grad * dc/da = 1.0 * -3.0 = -3.0   -> a.grad = -2.0
      b.grad += c.grad * dc/db = 1.0 * 2.0 = 2.0     -> b.grad = 2.0
    """
    return BackwardSteps(root)


# ---------------------------------------------------------------------------------------------
# Explanation of one gradient


@dataclass(frozen=True)
class Path:
    """A path from the root down to x: its nodes and the local derivative on each edge."""

    nodes: tuple[Value, ...]
    indices: tuple[int, ...]  # operand index of nodes[k+1] among nodes[k]'s parents
    locals: tuple[float, ...]
    product: float


@dataclass(repr=False)
class Explanation:
    """d root/d x as the sum over paths of products of local derivatives. `str()` shows it."""

    root: Value
    x: Value
    names: dict[Value, str]
    path_count: int  # every path from root to x (may be astronomically large)
    paths: list[Path]  # the paths shown: all of them, or the first `max_paths`
    total: float  # d root/d x
    through: list[tuple[Value, int, float, float]] = field(default_factory=list)
    # for each edge into x: (child, operand index, d root/d child, d child/d x)
    held: Any = 0.0  # x.grad before: an earlier pass's gradient a leaf still holds
    constant: bool = False  # x is a constant: backward() tracks no gradient for it

    @property
    def complete(self) -> bool:
        """True when every path is listed in `paths`."""
        return len(self.paths) == self.path_count

    def __str__(self) -> str:
        r, x, names = self.names[self.root], self.names[self.x], self.names
        head = f"d {r}/d {x}"
        if self.constant:
            return (
                f"{head}: {x} is a constant (requires_grad=False), a number with no gradient to "
                f"track: backward() passes it nothing, so {x}.grad stays 0.0. To follow "
                f"{head}, make it a variable (Value({_show(self.x.data)}, 'c')) and use that."
            )
        lines = [
            f"{head}: the chain rule sums, over every path from {r} down to {x}, the product "
            "of the local derivatives along the path."
        ]
        if self.path_count == 0:
            lines.append(f"{r} does not depend on {x}: there is no path, so {head} = 0.")
            return "\n".join(lines)
        if self.root is self.x:
            lines.append(f"{r} is {x}: the empty path, {head} = 1.")
            return "\n".join(lines)
        plural = "path" if self.path_count == 1 else "paths"
        lines.append(f"{self.path_count} {plural}.")
        shown = self.paths if self.complete else self.paths[:_SUMMARY_PATHS]
        edges = [(c, i) for path in shown for c, i in zip(path.nodes, path.indices)]
        rules = list(dict.fromkeys((id(c), i, c) for c, i in edges))
        if len(rules) <= _MAX_RULES:
            lines += ["", "local derivatives (from the table of operations):"]
            lines += ["  " + _edge_rule(c, i, names) for _, i, c in rules]
        for k, path in enumerate(shown, 1):
            steps = list(zip(path.nodes, path.indices))
            cut = len(steps) > _MAX_PATH_EDGES + 1  # (hiding one edge would save nothing)
            if cut:
                keep = _MAX_PATH_EDGES // 2
                steps = steps[:keep] + steps[-keep:]
            symbols = [_partial(names[c], names[c.parents[i]]) for c, i in steps]
            formulas = [f"({derivative_text(c, i, names)})" for c, i in steps]
            numbers = [_show(c.local_grads[i]) for c, i in steps]
            chain = [names[path.nodes[0]]] + [
                names[p] + _operand(c, i) for (c, i), p in zip(_edges_of(path), path.nodes[1:])
            ]
            if cut:
                hidden = len(path.indices) - 2 * keep
                gap = f"... {hidden} more factors ..."
                for row in (symbols, formulas, numbers):
                    row.insert(keep, gap)
                chain = chain[: keep + 1] + [f"... {hidden} more nodes ..."] + chain[-keep:]
            if len(steps) == 1:  # one edge: its derivative is the product, nothing to multiply
                formulas = [formulas[0][1:-1]]
            lines += ["", f"path {k}: " + " <- ".join(chain), "  " + " * ".join(symbols)]
            lines.append("  = " + " * ".join(formulas))
            if path.product is None:  # matrices: the step-through shows each share
                lines.append("  (matrices: each factor's share is a step of backward_steps())")
            elif not (len(steps) == 1 and _is_number(formulas[0], path.locals[0])):
                lines.append("  = " + _product_line(numbers, path, cut))
        if not self.complete:
            hidden = self.path_count - len(shown)
            lines += [
                "",
                f"... and {hidden} more paths, not printed. Grouped by the last edge into {x} "
                f"({head} = sum over the nodes c that use {x} of d{r}/dc * dc/d{x}):",
            ]
            for child, i, upstream, local in self.through[:_MAX_THROUGH]:
                c = names[child]
                lines.append(
                    f"  via {c} (operand {i + 1}): {_partial(r, c)} * {_partial(c, x)} = "
                    + arithmetic([upstream, local], upstream * local)
                )
            if len(self.through) > _MAX_THROUGH:
                lines.append(f"  ... and {len(self.through) - _MAX_THROUGH} more edges into {x}")
        lines += ["", f"total: {head} = {_show(self.total)}   (what backward() puts in {x}.grad)"]
        if type(self.total) is not float:  # layer grain: a matrix, shown as such
            return "\n".join(lines)
        undefined = [names[n] for n in _nodes_of(self.paths) if n.data != n.data]
        if undefined and self.total == self.total:
            lines.append(
                f"  ({', '.join(dict.fromkeys(undefined))} = nan here: a value on the way is not "
                "defined (log or a power of a negative number, 0/0); the total is the chain "
                "rule's all the same)"
            )
        if self.total != self.total:
            lines.append(
                f"  {head} is nan: a local derivative on some path is nan (log or a power of "
                "a negative number, 0/0), or inf meets 0 in a product"
            )
        if _nonzero(self.held) and self.held == self.total:  # (backward() of this root ran)
            lines.append(
                f"  ({x}.grad already holds this total, from the backward() pass that ran; "
                "another pass would add it again)"
            )
        elif _nonzero(self.held):
            lines.append(
                f"  ({x}.grad holds {_show(self.held)} from an earlier pass: backward() adds "
                f"this total to it; {x}.zero_grad() first to see this total alone)"
            )
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        """In Jupyter: the same text, escaped, in a monospace block."""
        return _html(str(self))


def where_nan_began(root: Value, names: dict) -> str:
    """Where a nan began: the first node, in graph order, that is nan though none of its operands
    is, written with its operands' values (constants are in the formula already): `v1 = log(x)
    is nan at x = -1.0: not defined there`, or `... at v1 = inf, v2 = inf: inf reached it (an
    overflow or an inf input), ...`. "" if no scalar node is."""
    for node in topological_order(root):
        data = node.data
        if node.parents and type(data) is float and data != data:
            operands = node.parents
            if all(type(p.data) is float and p.data == p.data for p in operands):
                shown = [p for p in operands if p.parents or p.requires_grad]
                at = ", ".join(dict.fromkeys(f"{names[p]} = {_show(p.data)}" for p in shown))
                head = f"{names[node]} = {_expression(node, names)} is nan" + (
                    f" at {at}" if at else ""
                )
                if any(p.data in (math.inf, -math.inf) for p in operands):
                    return (
                        f"{head}: inf reached it (an overflow or an inf input), and inf - inf, "
                        "0 * inf, inf / inf are nan"
                    )
                return f"{head}: not defined there"
    return ""


_SUMMARY_PATHS = 3  # paths printed when not all of them are
_MAX_RULES = 24  # local-derivative rules listed at most
_MAX_THROUGH = 10  # edges into x listed at most in a summary
_MAX_PATH_EDGES = 12  # longer paths are printed with their middle elided


def _nodes_of(paths: list[Path]) -> list[Value]:
    return [node for path in paths for node in path.nodes]


def _edges_of(path: Path) -> list[tuple[Value, int]]:
    return list(zip(path.nodes, path.indices))


def _operand(child: Value, index: int) -> str:
    """` (operand 2 of v1)` where `child` reads that parent more than once, else nothing."""
    parent = child.parents[index]
    return f" (operand {index + 1})" if child.parents.count(parent) > 1 else ""


def _product_line(numbers: list[str], path: Path, cut: bool) -> str:
    """The path's product: checked by hand (`=`) where every factor is shown, else `≈`."""
    if cut:  # the middle factors are elided: the shown ones do not multiply to the product
        return " * ".join(numbers) + f" ≈ {_show(path.product)}"
    if len(path.locals) == 1:
        return _show(path.product)
    return arithmetic(list(path.locals), path.product)


def derivative_text(child: Value, index: int, names: dict[Value, str]) -> str:
    """d child/d operand `index` as the table of operations writes it. A rule object's formula
    (a layer's `S^T X, S = G * tanh'(Z)`) writes G for the gradient reaching its node: here it
    is that node's grad, `S = L1.grad * tanh'(Z)`, as the step says it (a parent named G keeps
    its name; a formula of numbers, your own `define`'s included, is left as written)."""
    row, parents = operation(child.op), [names[p] for p in child.parents]
    formula = row.derivative(index, parents)
    if not (is_rule(child.local_grads[index]) and _G.search(formula)):
        return formula
    marks = [f"\x00{k}\x00" for k in range(len(parents))]  # (where the parents' names go)
    formula = _G.sub(lambda _: f"{names[child]}.grad", row.derivative(index, marks))
    for mark, name in zip(marks, parents):
        formula = formula.replace(mark, name)
    return formula


_G = re.compile(r"\bG\b")  # (a rule's gradient reaching its node)


def is_rule(local: Any) -> bool:
    """Is a local derivative a rule object (a layer's, the GPT's), not a number or an array?"""
    return type(local) is not float and not hasattr(local, "dtype")


def _edge_rule(child: Value, index: int, names: dict[Value, str]) -> str:
    c, p = names[child], names[child.parents[index]]
    expression = _expression(child, names)
    formula = derivative_text(child, index, names)
    where = ""
    if child.op.endswith("(linear)") and re.search(r"\bz\b", formula):
        z = operation("linear").expression([names[q] for q in child.parents])
        where = f"   (z = {z})"
    local = child.local_grads[index]
    value = _show(local)  # (a rule object, `S W`, is no number: its formula says it all)
    number = "" if is_rule(local) or formula == value or _is_number(formula, local) else value
    return (
        f"{_partial(c, p)}{_operand(child, index)} = d({expression})/d{p} = {formula}"
        f"{' = ' + number if number else ''}{where}"
    )


def _is_number(text: str, value: Any) -> bool:
    """True if the formula `text` is the number `value` itself (`1`, `-1`, `2`)."""
    try:
        return float(text) == value
    except (TypeError, ValueError):
        return False


def explain(root: Value, x: Value | str, max_paths: int = 12) -> Explanation:
    """Explain d root/d x: every path from root to x and the product of local derivatives on it.

    `x` is a node of the graph, or the label of exactly one node. At most `max_paths` paths
    are listed; when there are more, the explanation also groups the total by the last edge
    into x. Counting paths is dynamic programming over the graph (paths(n) = sum of paths(p)
    over n's parents p), so a graph with 2**100 paths is counted, never enumerated. A constant
    `x` (`requires_grad` False) has no gradient to explain, and the explanation says so. The
    total is the core's own backward pass from `root` (leaves from 0), so it is the number
    `backward()` puts in x.grad; every grad is left as it was.
    """
    if not isinstance(root, Value):
        raise TypeError(f"explain() needs a Value as root, got {type(root).__name__}")
    order = topological_order(root)
    names = node_names(root, order)
    if isinstance(x, str):
        matches = [n for n in order if n.label == x or names[n] == x]
        if len(matches) != 1:
            known = ", ".join(sorted(n.label for n in order if n.label and not n.parents)[:20])
            why = "no node" if not matches else f"{len(matches)} nodes"
            raise ValueError(f"explain: {why} named {x!r} in the graph (labelled leaves: {known})")
        x = matches[0]
    if not isinstance(x, Value):
        raise TypeError(f"explain() needs a Value or a label for x, got {type(x).__name__}")
    if not is_variable(x):  # no gradient is tracked for it: nothing to sum
        names = names if x in names else {**names, x: x.label or _show(x.data)}
        return Explanation(root, x, names, 0, [], 0.0, constant=True)
    layers = any(getattr(n.data, "ndim", 0) == 2 for n in order)  # a graph at layer grain
    batched = [n for n in order if type(n.data) is not float]
    if batched and not layers:
        raise ValueError(
            "explain() works on scalar graphs; this graph holds batched values (one number per "
            f"sample, e.g. {names[batched[0]]}). Explain one sample's graph instead."
        )
    if x not in names:
        names = {**names, x: x.label or "x"}
        return Explanation(root, x, names, 0, [], 0.0)

    # paths[n]: the number of paths from n down to x (counted, never enumerated)
    paths: dict[Value, int] = {}
    for node in order:
        paths[node] = 1 if node is x else sum(paths[parent] for parent in node.parents)
    listed = _first_paths(root, x, paths, max_paths)
    held = x.grad if not x.parents else 0.0
    gradient = _backward_pass(root, order)  # d root/d n for every n: what backward() computes
    through = []
    if len(listed) < paths[root] and not layers:
        for child in order:
            for i, parent in enumerate(child.parents):
                if parent is x:
                    through.append((child, i, gradient[child], child.local_grads[i]))
    return Explanation(root, x, names, paths[root], listed, gradient[x], through, held)


def _backward_pass(root: Value, order: list[Value]) -> dict[Value, Any]:
    """d root/d n for every node n, by the core's own pass (`start_backward`, then `chain_rule`
    at each node) from leaves at 0; every grad is put back as it was afterwards."""
    saved = [(node, node.grad) for node in order]
    try:
        for node in order:
            node.grad = 0.0
        with quiet():  # (as in backward())
            for node in start_backward(root, "explain()"):
                chain_rule(node)
        return {node: node.grad for node in order}
    finally:
        for node, grad in saved:
            node.grad = grad


def _first_paths(root: Value, x: Value, paths: dict[Value, int], limit: int) -> list[Path]:
    """The first `limit` paths from root to x, depth-first in operand order (no recursion).

    Only edges into nodes with paths[n] > 0 are followed, so every branch taken ends at x.
    """
    found: list[Path] = []
    if paths.get(root, 0) == 0:
        return found
    # stack of (node, next operand index to try); `trail` holds the operand indices taken
    stack: list[list] = [[root, 0]]
    trail: list[int] = []
    while stack and len(found) < limit:
        top = stack[-1]
        node, i = top
        if node is x:
            nodes = tuple(entry[0] for entry in stack)
            locals_ = tuple(n.local_grads[k] for n, k in zip(nodes, trail))
            product: Any = 1.0
            for value in locals_:
                if type(value) is not float:  # layer grain: rules and arrays, no one number
                    product = None
                    break
                product *= value
            found.append(Path(nodes, tuple(trail), locals_, product))
            stack.pop()
            if trail:
                trail.pop()
            continue
        while i < len(node.parents) and paths[node.parents[i]] == 0:
            i += 1
        if i == len(node.parents):
            stack.pop()
            if trail:
                trail.pop()
            continue
        top[1] = i + 1
        trail.append(i)
        stack.append([node.parents[i], 0])
    return found


def _attach() -> None:
    """Make the tools methods of Value: `root.backward_steps()`, `root.explain(x)`."""
    Value.backward_steps = backward_steps  # type: ignore[attr-defined]
    Value.explain = explain  # type: ignore[attr-defined]


_attach()


def _zero_first(names: list[str]) -> str:
    """What to call first: each value's zero_grad(), or for many, every leaf's."""
    if len(names) <= 3:
        return ", ".join(f"{name}.zero_grad()" for name in names)
    return f"zero_grad() on each of these {len(names)} leaves ({names[0]}, {names[1]}, ...)"
