"""Draw a computation graph with Graphviz: value nodes, operation nodes, local derivatives on edges.

`draw(root)` returns a `graphviz.Digraph` (left to right by default): a box per value showing its
name, data and grad, a circle per operation, and on each edge parent -> operation the local
derivative d child/d parent that the node recorded (`local_grads`), optionally with its formula
from the table of operations. `a + a` is drawn with two edges. Node order follows the graph's
topological order and names (`v1, v2, ...` for unlabelled nodes), so the same graph draws the
same way twice. In Jupyter the returned graph displays inline.

A constant (`requires_grad` False: the `2` of `2 * x`, a number in a CLI expression) is drawn as
its name alone (its label or value), with a grey edge and no derivative on it, and a tooltip
that says "a constant, no gradient to track": the chain rule passes it nothing.

`render(root_or_graph, "out.svg")` writes SVG or PNG (PDF where the renderer can), atomically.
Renderer: a system Graphviz `dot` on PATH if there is one, else the `graphviz-pure` executable
(installed by the `graphviz-pure` dependency, next to the Python executable), which is also made
the `dot` program of the `graphviz` package so that `Digraph.render()`/`pipe()` and notebook
display work without any system package. With no renderer, `render` writes the `.dot` source and
raises `RendererNotFoundError` saying how to get one.

The `graphviz` package is imported here only when a picture is made: `import autograd` stays light.
"""

from __future__ import annotations

import numbers
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import atomic_write
from .graph import topological_order
from .layers import LINEAR_OPS
from .show import show as _show
from .steps import derivative_text, is_rule, is_variable, node_names
from .value import Value

__all__ = [
    "Renderer",
    "RendererNotFoundError",
    "draw",
    "find_renderer",
    "render",
    "scope_of",
]

HIGHLIGHT_FILL = "#ffe082"
RASTER = ("png", "jpg", "gif")
LONG_EDGES = 300  # ranks crossed by edges in all, beyond which the layout's search is bounded
PATH_COLOR = "#d32f2f"
CONSTANT_EDGE = "#9e9e9e"  # the edge from a constant: grey, no derivative on it
CONSTANT_SAYS = "a constant, no gradient to track"  # its tooltip, as the step-through says
RENDER_TIMEOUT = 60  # seconds: a render still running then is stopped with a clear message


class RendererNotFoundError(RuntimeError):
    """No Graphviz renderer (system `dot` or `graphviz-pure`) was found."""


@dataclass(frozen=True)
class Renderer:
    """A Graphviz program that lays out and renders DOT source."""

    path: str
    name: str  # "dot" or "graphviz-pure"

    @property
    def formats(self) -> tuple[str, ...]:
        if self.name == "graphviz-pure":
            return ("svg", "png", "dot", "gv", "json", "plain")
        return ("svg", "png", "pdf", "dot", "gv", "json", "plain", "ps", "jpg")


def find_renderer() -> Renderer | None:
    """A system `dot` on PATH, else `graphviz-pure` next to sys.executable or on PATH, else None."""
    dot = shutil.which("dot")
    if dot:
        return Renderer(dot, "dot")
    exe = "graphviz-pure.exe" if os.name == "nt" else "graphviz-pure"
    beside = Path(sys.executable).parent / exe
    if beside.is_file() and os.access(beside, os.X_OK):
        return Renderer(str(beside), "graphviz-pure")
    found = shutil.which("graphviz-pure")
    if found:
        return Renderer(found, "graphviz-pure")
    return None


def _graphviz() -> Any:
    """Import the graphviz package; make graphviz-pure its `dot` when no system dot exists."""
    try:
        import graphviz
    except ImportError:  # a declared dependency, so a Python without this project's install
        raise ImportError(
            "drawing needs the Python packages graphviz and graphviz-pure (its renderer), which "
            "this project's install brings: python -m pip install graphviz graphviz-pure"
        ) from None
    renderer = find_renderer()
    if renderer is not None and renderer.name == "graphviz-pure":
        from graphviz.backend import dot_command

        if str(dot_command.DOT_BINARY) == "dot":
            dot_command.DOT_BINARY = Path(renderer.path)
    return graphviz


# ---------------------------------------------------------------------------------------------
# Scopes (clusters) from labels like L1.N3.w2


def scope_of(node: Value) -> str:
    """The scope a label names: `L1.N3.w2` -> `L1.N3`; no dot -> `` (top level)."""
    head, dot, _ = node.label.rpartition(".")
    return head if dot else ""


def _scopes(order: list[Value], scope: Callable[[Value], str] | None) -> dict[Value, str]:
    """Each node's scope. Unlabelled nodes join their labelled leaf parents' scope if shared,
    or else the one scope their unlabelled inner parents share (so a neuron's sum of `+` and
    `*` nodes stays inside the neuron's box)."""
    if scope is not None:
        return {node: scope(node) or "" for node in order}
    labels = {node.label for node in order if node.label}
    prefixes = {label.rsplit(".", k)[0] for label in labels for k in range(1, label.count(".") + 1)}
    result: dict[Value, str] = {}
    for node in order:
        if node.label:
            # a node labelled exactly like a scope (a neuron's output `L1.N3`) goes inside it
            result[node] = node.label if node.label in prefixes else scope_of(node)
            continue
        shared = {result[p] for p in node.parents if not p.parents and p.label and result[p]}
        if not shared:  # a sum of such nodes (a neuron's pre-activation, built of `+` and `*`)
            shared = {result[p] for p in node.parents if p.parents and not p.label}
        result[node] = shared.pop() if len(shared) == 1 else ""
    return result


def _parameter_leaves(order: list[Value], scopes: dict[Value, str], root: Value) -> set[Value]:
    """The leaves folded by `draw(parameters=False)`: labelled variables inside a scope
    (`L1.N3.w2`) and constants read only as a neuron's bias (a bias-free neuron's 0)."""
    readers: dict[Value, list[Value]] = {}
    for node in order:
        for parent in node.parents:
            readers.setdefault(parent, []).append(node)
    folded = set()
    for node in order:
        if node.parents or node is root:
            continue
        if is_variable(node):
            if node.label and scope_of(node):
                folded.add(node)
        elif all(_reads_as_bias(reader, node) for reader in readers.get(node, [])):
            folded.add(node)  # the constant 0 of a bias-free neuron, not an input
    return folded


def _reads_as_bias(reader: Value, leaf: Value) -> bool:
    """True if `reader` is a neuron (a linear node) that reads `leaf` only as its bias."""
    is_neuron = reader.op in LINEAR_OPS.values()
    return is_neuron and reader.parents[-1] is leaf and leaf not in reader.parents[:-1]


def _natural_key(scope: str) -> list:
    """Sort `L1.N2` before `L1.N10`: digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", scope)]


def _ancestors_of_scope(scope: str) -> list[str]:
    parts = scope.split(".")
    return [".".join(parts[: k + 1]) for k in range(len(parts))] if scope else []


# ---------------------------------------------------------------------------------------------
# Drawing


def _escape(text: str) -> str:
    """Escape text for a Graphviz record label."""
    out = text.replace("\\", "\\\\")
    for ch in '{}|<>"':
        out = out.replace(ch, "\\" + ch)
    return out


def _resolve(nodes: Iterable[Value | str], order: list[Value], names: dict[Value, str]) -> set:
    chosen = set()
    by_name = {names[n]: n for n in order}
    for item in nodes:
        if isinstance(item, Value):
            if item not in names:
                raise ValueError(f"highlight: {item!r} is not in this graph")
            chosen.add(item)
        elif isinstance(item, str):
            if item not in by_name:
                raise ValueError(f"highlight: no node named {item!r} in this graph")
            chosen.add(by_name[item])
        else:
            raise TypeError(f"highlight takes Values or names, got {type(item).__name__}")
    return chosen


def _on_paths(order: list[Value], chosen: set) -> set:
    """Chosen nodes and every node on a path between two of them (descendant of one chosen
    node and ancestor of another)."""
    below = set()  # descendants of a chosen node (itself included)
    for node in order:
        if node in chosen or any(p in below for p in node.parents):
            below.add(node)
    above = set(chosen)  # ancestors of a chosen node (itself included)
    for node in reversed(order):
        if node in above:
            above.update(node.parents)
    return (below & above) | chosen


def _long_edge_ranks(drawn: list[Value], order: list[Value]) -> int:
    """How many ranks the drawn edges cross beyond their own (each edge value -> operation
    spans two ranks per level of depth between them): what dot lays out as virtual nodes."""
    depth: dict[Value, int] = {}
    for node in order:
        depth[node] = 1 + max((depth[p] for p in node.parents), default=-1)
    return sum(2 * (depth[node] - depth[p]) - 2 for node in drawn for p in node.parents)


def draw(
    root: Value,
    *,
    grads: bool | None = None,
    local_grads: bool = True,
    formulas: bool = False,
    highlight: Iterable[Value | str] = (),
    clusters: bool | Callable[[Value], str] = True,
    max_nodes: int = 150,
    rankdir: str = "LR",
    title: str | None = None,
    parameters: bool = True,
) -> Any:
    """The graph of `root` as a `graphviz.Digraph`.

    grads: show each value's grad (by default, unless every one is 0.0, as before any backward
    pass: then they are left off and the title says so). local_grads: label each edge with
    d child/d parent (the number the node recorded); formulas: also the formula from the table
    of operations.
    highlight: Values (or names) to mark; the nodes and edges on paths between them are marked
    too. clusters: True groups nodes into boxes by label prefix (`L1.N3.w2` is in box `L1.N3`
    inside box `L1`), or give a function node -> scope name; False for none. max_nodes: a graph
    with more values is collapsed: boxes become single nodes, deepest first, and if still too
    large only the `max_nodes` values nearest the root are drawn, the rest as one node.
    rankdir: "LR" (left to right), "RL", "TB" or "BT". parameters: False folds the parameters
    (leaves whose label names a scope, like `L1.N3.w2`) into the node that reads them, one box
    per neuron: they and their edges are not drawn, and that node's box says how many it reads.
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw() needs a Value, got {type(root).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be LR, TB, RL or BT, got {rankdir!r}")
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1, got {max_nodes}")
    graphviz = _graphviz()
    order = topological_order(root)
    if grads is None:  # (every one 0.0, as before any backward(): they would say nothing)
        grads = any(type(n.grad) is not float or n.grad != 0.0 for n in order)
        if not grads:
            title = (f"{title}\n" if title else "") + "(every grad is 0.0: not shown)"
    names = node_names(root, order)
    index = {node: k for k, node in enumerate(order)}
    chosen = _resolve(highlight, order, names)
    marked = _on_paths(order, chosen) if chosen else set()
    found_scopes = _scopes(order, clusters if callable(clusters) else None)
    scopes = {node: "" for node in order} if clusters is False else found_scopes
    folded = set() if parameters else _parameter_leaves(order, found_scopes, root)

    # Collapse: representative of each value node (itself, a scope box, or the "more" node).
    rep: dict[Value, str] = {node: f"n{index[node]}" for node in order}
    boxes: dict[str, list[Value]] = {}
    drawn = [node for node in order if node not in folded]
    if len(drawn) > max_nodes:
        rep, boxes = _collapse(drawn, scopes, max_nodes, root, index)

    g = graphviz.Digraph(name="autograd", graph_attr={"rankdir": rankdir})
    g.attr("node", fontname="Helvetica", fontsize="11")
    g.attr("edge", fontname="Helvetica", fontsize="9")
    if title:
        g.attr(label=title, labelloc="t", fontname="Helvetica")

    # Node statements, grouped by scope; emitted inside nested clusters.
    body: dict[str, list[tuple[str, str, dict[str, str]]]] = {}

    def add(scope: str, node_id: str, label: str, **attrs: str) -> None:
        body.setdefault(scope, []).append((node_id, label, attrs))

    for node in drawn:
        node_id = rep[node]
        if node_id != f"n{index[node]}":
            continue
        fields = [_escape(names[node]), f"data {_escape(_show(node.data))}"]
        hidden = sum(1 for p in node.parents if p in folded and p.label)
        if hidden:
            fields.insert(1, f"{hidden} parameter{'s' if hidden > 1 else ''}")
        if grads:
            fields.append(f"grad {_escape(_show(node.grad))}")
        if not is_variable(node):  # a constant: its label or value, nothing to track
            fields = [_escape(names[node])]
        attrs = {"shape": "record"}
        if not is_variable(node):
            attrs["tooltip"] = CONSTANT_SAYS
        if node in chosen:
            attrs.update(style="filled,bold", fillcolor=HIGHLIGHT_FILL, color=PATH_COLOR)
        elif node in marked:
            attrs.update(color=PATH_COLOR, penwidth="2")
        add(scopes[node], node_id, "{" + " | ".join(fields) + "}", **attrs)
        if node.parents:
            op_attrs = {"shape": "circle" if len(node.op) <= 3 else "ellipse"}
            if node in marked:
                op_attrs.update(color=PATH_COLOR, penwidth="2")
            add(scopes[node], f"{node_id}op", node.op, **op_attrs)
    for box_id, members in boxes.items():
        count = len(members) - 1
        text = f"... {count} more values" if box_id == "more" else f"{members[0]}\n({count} values)"
        add("", box_id, text, shape="box3d", style="filled", fillcolor="#eeeeee")

    _emit(g, body, with_clusters=clusters is not False and not boxes)
    if _long_edge_ranks(drawn, order) > LONG_EDGES:
        # A node read at every depth (x + x + ... + x): its edges cross every rank, and dot's
        # network simplex and spline routing grow with the square of that. Bounded, and drawn
        # as straight lines, it lays out in a second where it took minutes.
        g.attr(nslimit="2", nslimit1="2", splines="line")

    # Edges: parent -> child's operation node (one per operand, duplicates kept).
    seen_collapsed: set[tuple[str, str]] = set()
    for node in drawn:
        if not node.parents:
            continue
        child = rep[node]
        direct_child = child == f"n{index[node]}"
        if direct_child:
            g.edge(
                f"{child}op",
                child,
                **({"color": PATH_COLOR, "penwidth": "2"} if node in marked else {}),
            )
        for i, (parent, local) in enumerate(zip(node.parents, node.local_grads)):
            if parent in folded:
                continue
            source = rep[parent]
            if direct_child and source == f"n{index[parent]}":
                attrs: dict[str, str] = {}
                if not is_variable(parent):  # no gradient flows to a constant: no derivative
                    g.edge(source, f"{child}op", color=CONSTANT_EDGE, tooltip=CONSTANT_SAYS)
                    continue
                if local_grads:
                    text = _show(local)
                    if formulas:  # say which derivative the number is: d child/d parent
                        formula = derivative_text(node, i, names)
                        symbol = f"d{names[node]}/d{names[parent]}"
                        shown = text if _is_number(formula) else formula
                        shown += "" if is_rule(local) or _is_number(formula) else f" = {text}"
                        text = f"{symbol} = {shown}"
                    attrs["label"] = text
                if parent in marked and node in marked:
                    attrs.update(color=PATH_COLOR, penwidth="2", fontcolor=PATH_COLOR)
                g.edge(source, f"{child}op", **attrs)
            else:
                target = f"{child}op" if direct_child else child
                if source == target or source == child or (source, target) in seen_collapsed:
                    continue
                seen_collapsed.add((source, target))
                g.edge(source, target, style="dashed")
    return g


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _emit(g: Any, body: dict, with_clusters: bool) -> None:
    """Add node statements to g, inside nested `cluster_` subgraphs for non-empty scopes."""

    def node_lines(target: Any, scope: str) -> None:
        for node_id, label, attrs in body.get(scope, []):
            target.node(node_id, label, **attrs)

    if not with_clusters:
        for scope in body:
            node_lines(g, scope)
        return
    node_lines(g, "")
    all_scopes = sorted(
        {s for scope in body if scope for s in _ancestors_of_scope(scope)}, key=_natural_key
    )
    children: dict[str, list[str]] = {}
    for scope in all_scopes:
        parent = scope.rpartition(".")[0] if "." in scope else ""
        while parent and parent not in all_scopes:
            parent = parent.rpartition(".")[0]
        children.setdefault(parent, []).append(scope)

    def emit(target: Any, scope: str, k: list[int]) -> None:
        for child in children.get(scope, []):
            k[0] += 1
            with target.subgraph(name=f"cluster_{k[0]}") as sub:
                sub.attr(label=child, style="rounded", color="#888888", fontname="Helvetica")
                node_lines(sub, child)
                emit(sub, child, k)

    emit(g, "", [0])


def _collapse(
    order: list[Value],
    scopes: dict[Value, str],
    max_nodes: int,
    root: Value,
    index: dict[Value, int] | None = None,
) -> tuple[dict[Value, str], dict[str, list]]:
    """Map value nodes to what is drawn for them when the graph has more than `max_nodes`.

    `order` is the drawn nodes in topological order; `index` gives each node's id number
    (its position in the whole graph's order; default its position in `order`)."""
    if index is None:
        index = {node: k for k, node in enumerate(order)}
    depth = max((s.count(".") + 1 for s in scopes.values() if s), default=0)
    for level in range(depth, 0, -1):
        rep: dict[Value, str] = {}
        boxes: dict[str, list] = {}
        box_ids: dict[str, str] = {}
        for node in order:
            scope = scopes[node]
            if scope and node is not root:
                key = ".".join(scope.split(".")[:level])
                box = box_ids.setdefault(key, f"box{len(box_ids)}")
                boxes.setdefault(box, [key]).append(node)
                rep[node] = box
            else:
                rep[node] = f"n{index[node]}"
        if len(set(rep.values())) <= max_nodes:
            return rep, boxes
    # Keep the values nearest the root (breadth first over parents); the rest become one node.
    allowed = set(order)
    keep: dict[Value, int] = {root: 0}
    frontier = [root]
    while frontier and len(keep) < max_nodes:
        nxt = []
        for node in frontier:
            for parent in node.parents:
                if parent in allowed and parent not in keep and len(keep) < max_nodes:
                    keep[parent] = 1
                    nxt.append(parent)
        frontier = nxt
    rep = {}
    rest: list = ["more"]
    for node in order:
        if node in keep:
            rep[node] = f"n{index[node]}"
        else:
            rep[node] = "more"
            rest.append(node)
    return rep, {"more": rest}


# ---------------------------------------------------------------------------------------------
# Rendering to files


def _raster_flags(dpi: float | None) -> list[str]:
    """At most 60 inches a side at Graphviz's 96 dpi (a huge graph's PNG is otherwise 50,000 px
    wide): at another dpi, as many pixels at most, the picture scaled down to fit if it must."""
    if dpi is None:
        return ["-Gsize=60,60"]
    inches = 60 * 96 / dpi
    return [f"-Gdpi={dpi:g}", f"-Gsize={inches:g},{inches:g}"]


def render(
    graph: Value | Any,
    path: str | os.PathLike,
    format: str | None = None,
    dpi: float | None = None,
    **options: Any,
) -> Path:
    """Write the picture of `graph` (a Value, drawn with `options`, or a Digraph) to `path`.

    The format is `format` or the file's suffix: svg, png, pdf (system Graphviz only), or
    dot/gv for the DOT source. `dpi`: a raster's dots per inch (Graphviz draws 96; 200 is sharp
    on a slide). Written atomically (temp file, then os.replace).
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if not fmt:
        raise ValueError(f"cannot tell the format of {str(path)!r}: give a suffix such as .svg")
    if dpi is not None:
        if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real) or not 10 <= dpi <= 600:
            raise ValueError(f"dpi must be a number from 10 to 600, got {dpi!r}")
        if fmt not in RASTER:
            raise ValueError(f"dpi sets the resolution of a .png, .jpg or .gif; a .{fmt} has none")
        dpi = float(dpi)
    digraph = draw(graph, **options) if isinstance(graph, Value) else graph
    source = digraph.source
    if fmt in ("dot", "gv"):
        atomic_write(path, source.encode())
        return path
    renderer = find_renderer()
    if renderer is None:
        dot_path = path.with_suffix(".dot")
        atomic_write(dot_path, source.encode())
        raise RendererNotFoundError(
            f"no Graphviz renderer found, so wrote the DOT source to {dot_path} instead of "
            f"{path}. Get one with `pip install graphviz-pure` (no system package needed) or "
            "your system's Graphviz (apt install graphviz, brew install graphviz), then run "
            f"`dot -T{fmt} {dot_path} -o {path}`."
        )
    if fmt not in renderer.formats:
        if fmt == "pdf":
            raise ValueError(
                f"{renderer.name} cannot write PDF (it writes svg and png); install the "
                "system Graphviz (apt install graphviz, brew install graphviz) for PDF, or "
                "render .svg/.png"
            )
        raise ValueError(
            f"format {fmt!r} is not supported by {renderer.name}; use one of "
            f"{', '.join(renderer.formats)}"
        )
    try:
        done = subprocess.run(
            [renderer.path, "-Kdot", f"-T{fmt}", *(_raster_flags(dpi) if fmt in RASTER else [])],
            input=source.encode(),
            capture_output=True,
            timeout=RENDER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"{renderer.name} was stopped after {RENDER_TIMEOUT} s without finishing {path}; "
            "draw fewer nodes (max_nodes=...), or write .svg or .dot instead"
        ) from None
    if done.returncode != 0 or not done.stdout:
        error = done.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(
            f"{renderer.name} failed (exit {done.returncode}): {error[0] if error else 'no output'}"
        )
    atomic_write(path, done.stdout)
    return path
