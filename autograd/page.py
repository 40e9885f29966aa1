"""Backprop in the browser: one self-contained page that replays a real backward pass.

    page = autograd.page(root)          # Python runs the pass (the core's chain rule)
    page.save("neuron.html")            # one HTML file: no network, opens from file://
    page                                # in Jupyter: shown inline, in an iframe of its own

`python -m autograd web "tanh(x*w + b)" x=2 w=-3 b=6.88 -o neuron.html` writes the same.

The page is a recording: the graph (each value with its name, operation and data; each edge with
the local derivative the node recorded, but for an edge from a constant, which the pass gives
nothing), every step of the step-through (the core's `chain_rule` at one node, with its
arithmetic as the REPL prints it; a layer's rules with S = its grad times its slope, as the
step-through writes S), every gradient each step changed (never a constant's), each value's
explanation (the sum over paths, as `explain` writes it), and the classic mistakes' passes
replayed on the same numbers. Every number is written here, in Python, as the REPL shows
it; the page's script only replays them. It draws the graph itself, laid out to fill its pane
(left to right or top to bottom, whichever reads larger), with zoom and pan (wheel, pinch, drag,
buttons, "fit"), and follows the current node; a graph too large to read at "fit" (a GPT
head's) opens at a readable zoom on the root, where the pass starts. Next and previous step,
play and pause, a scrub bar, the arrow keys and space; click a value for its paths; a quiz
mode. The link keeps the state: `#step=5` opens after step 5, `#step=end` at the finished
pass, `#mode=quiz` in the quiz (which asks the step after the ones done: `#step=4&mode=quiz`
asks step 5, as the address bar shows it there), `#pass=overwrite` on a mistake's replay.

A network's graph opens at layer grain: one box per layer, each edge carrying its matrix rule
with the shapes that multiply (`S^T X (16x2 = (1x16)^T 1x2)`). A training run's page
(`nn.training_page`, through `frames_page(..., training=...)`) adds, per recorded optimizer
step, the traced samples' neuron views (a click on a layer opens it), a loss curve, the decision
regions with the traced samples to click, and the parameter table folded by layer; the link
keeps `#frame=`, `#sample=` and `#grain=neuron` too.

The quiz asks for numbers the page must not show before they are answered, so the recording is
stored compressed (JSON, deflated, in base64; the browser's DecompressionStream opens it): no
gradient, total or sum is readable in the page's text until the script puts it on screen, which
in quiz mode it does only once a question is answered, revealed or past. (Compressed, a page is
also a fraction of its size: the steps' texts repeat a lot.) User text (labels, titles) never
becomes markup: the recording is encoded, the template's markers are replaced in one pass (so
nothing inserted is read as a marker), and the script writes only text (`textContent`), never
evaluates anything it reads. The template, its styles and the script are files beside this one
(`page_assets/`).

Cost: linear in the graph's size. The recording walks the pass once; explanations (each a walk of
the whole graph) are kept for every value of a graph of up to `EXPLAIN_BUDGET` node-visits in
all, and for the labelled leaves first and then the values nearest the root beyond that; the
mistakes' replays for graphs of at most `MISTAKES_MAX_NODES` nodes.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import math
import os
import re
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from .files import atomic_write
from .graph import backward_order, topological_order
from .layers import LAYER_ACTIVATION
from .ops import operation
from .show import arithmetic, show
from .steps import backward_steps, explain, is_variable, node_names
from .value import Value

ASSETS = Path(__file__).with_name("page_assets")
EXPLAIN_BUDGET = 40_000  # nodes walked by all explanations together (each walks the graph)
MISTAKES_MAX_NODES = 300  # a larger graph's page leaves out the mistakes' replays
HEADER_EXPRESSION = 28  # a value's box shows `name = expression` up to this many characters


class Page:
    """A recorded backward pass as one HTML page: `html` (the text), `save(path)`, and
    `_repr_html_` for Jupyter (an iframe, so its script and styles never touch the notebook)."""

    def __init__(self, text: str, title: str) -> None:
        self.html, self.title = text, title
        self.training: dict | None = None  # a training page's exact numbers (nn.training_page)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the page (atomically); returns the path."""
        return atomic_write(Path(path), self.html)

    def _repr_html_(self) -> str:
        source, title = html.escape(self.html, quote=True), html.escape(self.title)
        return (
            f'<iframe srcdoc="{source}" title="{title}"'
            ' style="width: 100%; height: 640px; border: 1px solid #ccc"></iframe>'
        )

    def __repr__(self) -> str:
        return f"<backprop page of {self.title}: {len(self.html):,} bytes>"


def page(
    root: Value, title: str | None = None, max_paths: int = 3, paths_of: Value | str | None = None
) -> Page:
    """Record `root`'s backward pass (from leaves at 0; every grad is put back afterwards) and
    return it as a page. `paths_of`: the value (or its name) whose paths the page opens on
    (by default the first weight drawn)."""
    data = recording(root, max_paths=max_paths, paths_of=paths_of)
    return frames_page([(data, "", "")], title or data["title"])


def recording(
    root: Value,
    max_paths: int = 3,
    mistakes: bool = True,
    parameters: bool = True,
    local_grads: bool = True,
    paths_of: Value | str | None = None,
) -> dict:
    """`root`'s backward pass, recorded for a page: the data its script replays and draws.

    `parameters=False` folds the parameters (leaves labelled inside a scope, `L1.N3.w2`) into
    the boxes of the nodes that read them, and leaves them out of the table and the paths;
    `local_grads=False` leaves the edges' numbers out of the drawing; `mistakes=False` leaves
    out the classic mistakes' replays; `paths_of` (a drawn value or its name) is the value whose
    paths the page opens on.

    The recording: `nodes` (each drawn value: id, name, `head` as its box says it, data as
    shown, leaf, tracked, the parameters it folds), `edges` (parent id, child id, operand
    index, the local derivative as shown, "" from a constant), `start` (every grad as the
    pass starts), `steps` (each: the node, its head line and text as the step-through prints
    them, the grads it changed as shown, and one question per edge: the numbers the parent's
    new grad is made of, each as a float or "inf"/"-inf"/"nan" and as shown, and the
    step-through's line for it; at layer grain, for one sample, one entry of each W.grad and
    b.grad, with its `entry`, the `neuron` weight it is, the names of its two factors and the
    numbers it is made of, `given`), `mistakes` (the same for the two classic bugs' passes),
    `paths` (explanations by id)."""
    if not isinstance(root, Value):
        raise TypeError(f"page() needs a Value, got {type(root).__name__}")
    order = topological_order(root)
    layers = any(getattr(node.data, "ndim", 0) == 2 for node in order)  # a network's layers
    if not layers and any(type(node.data) is not float for node in order):
        raise ValueError("page() shows scalar graphs; draw one sample's graph of a batch")
    names = node_names(root, order)
    ids = {node: f"n{k}" for k, node in enumerate(order)}
    folded = not parameters
    drawn = [n for n in order if _drawn(n, root) and not (folded and _parameter(n))]
    shown = set(drawn)
    opens = _paths_of(paths_of, drawn, names) if paths_of is not None else None
    saved = [(node, node.grad) for node in order]
    try:
        for node in order:
            node.grad = 0.0
        paths = _explanations(root, order, drawn, max_paths)
        if opens is not None and opens not in paths:  # (whatever the budget: asked for)
            paths[opens] = str(explain(root, opens, max_paths=max_paths))
        steps = backward_steps(root)
        start = {ids[n]: show(n.grad) for n in drawn}
        held = {node: node.grad for node in order}  # each grad as the pass goes
        recorded = [_step(step, ids, shown, folded, held) for step in steps]
        final = {node: node.grad for node in order}
    finally:
        for node, grad in saved:
            node.grad = grad
    replays = mistakes and len(order) <= MISTAKES_MAX_NODES and bool(recorded) and not layers
    return {
        "title": names[root],
        "root": ids[root],
        "opens": ids[opens] if opens is not None else None,
        "nodes": [_node(n, names, ids, shown, folded) for n in drawn],
        "edges": [
            {
                "from": ids[p],
                "to": ids[n],
                "i": i,
                # (none into a constant: the engine passes it nothing, as the step says)
                "local": _local(n, local, names) if local_grads and is_variable(p) else "",
            }
            for n in drawn
            for i, (p, local) in enumerate(zip(n.parents, n.local_grads))
            if p in shown
        ],
        "start": start,
        "steps": recorded,
        "mistakes": {
            "overwrite": _mistaken(root, order, ids, names, shown, final, True) if replays else [],
            "recursive": _mistaken(root, order, ids, names, shown, final, False) if replays else [],
        },
        "mistakesNote": ""
        if replays or not mistakes or not recorded
        else "(the classic mistakes' replays are for graphs of numbers, not a network's layers)"
        if layers
        else f"(the mistakes' replays: graphs of at most {MISTAKES_MAX_NODES} values)",
        "paths": {ids[n]: text for n, text in paths.items()},
    }


def record(root: Value, max_paths: int = 3, mistakes: bool = True, **drawing: Any) -> tuple:
    """`(recording(root, ...), "")`: the form `frames_page` takes a frame's pass in. The page
    draws the graph itself now, so the second item (once the SVG) is empty; `drawing` takes
    `parameters` and `local_grads` (see `recording`)."""
    unknown = set(drawing) - {"parameters", "local_grads"}
    if unknown:
        raise TypeError(f"record() takes parameters and local_grads, not {sorted(unknown)}")
    return recording(root, max_paths, mistakes, **drawing), ""


def frames_page(frames: list, title: str, training: dict | None = None) -> Page:
    """A page of several recorded passes (one per optimizer step of a training run, say):
    each frame is (its recording, "", its extra HTML: parameter table, pictures), and
    optionally a fourth: (recording, "") of the same pass with every node (the neurons'
    parameters too), which a checkbox expands the picture to. The extra HTML is the caller's
    own markup, inserted as it is: escape any user text in it.

    `training` (a training run's page, `nn.training_page`): each frame is then a dict, the
    step's recordings by traced sample and grain with its numbers, and `training` what the
    page says and draws of the whole run; the page builds its panels from them."""
    graphs = "".join(
        f'<div class="frame" id="frame{k}"{"" if k == 0 else " hidden"}></div>'
        for k in range(len(frames))
    )
    extras = "".join(
        f'<div class="extra" id="extra{k}"{"" if k == 0 else " hidden"}>'
        f"{'' if training is not None else frame[2]}</div>"
        for k, frame in enumerate(frames)
    )
    if training is not None:
        everything = {"title": title, "frames": frames, "training": training}
    else:
        recorded = [{**f[0], "full": f[3][0] if len(f) > 3 and f[3] else None} for f in frames]
        everything = {"title": title, "frames": recorded}
    data = json.dumps(everything, allow_nan=False, separators=(",", ":"))
    style, script = _asset("page.css"), _asset("page.js")
    if training is not None:  # (the training panels' code and styles: its pages only)
        style += _asset("page_training.css")
        if _TRAINING not in script:
            raise RuntimeError("page_assets/page.js lost the line where its training code goes")
        script = script.replace(_TRAINING, _asset("page_training.js"), 1)
    parts = {
        "TITLE": html.escape(title),
        "STYLE": style,
        "SCRIPT": script,
        "DATA": base64.b64encode(zlib.compress(data.encode("utf-8"), 9)).decode("ascii"),
        "FRAMES": graphs,
        "EXTRAS": extras,
    }
    # One pass over the template: what is inserted is never searched for markers again.
    text = _MARKER.sub(lambda m: parts[m[1]], _asset("page.html"))
    return Page(text, title)


_TRAINING = "  /* %TRAINING% */\n"  # (where page.js takes page_training.js)
_MARKER = re.compile(r"%(TITLE|STYLE|SCRIPT|DATA|FRAMES|EXTRAS)%")


@cache
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _drawn(node: Value, root: Value) -> bool:
    """A box of its own: an operation's result, a labelled leaf, or a leaf that takes a
    gradient. An unlabelled constant is written into the expressions that read it."""
    return node is root or bool(node.parents) or bool(node.label) or is_variable(node)


def _parameter(node: Value) -> bool:
    """A parameter as the pictures fold it: a leaf labelled inside a scope (`L1.N3.w2`)."""
    return not node.parents and "." in node.label


def _node(node: Value, names: dict, ids: dict, shown: set, folded: bool) -> dict:
    name = names[node]
    head = name
    if node.parents:
        expression = _expression(node, names)
        head = f"{name} = {expression if len(expression) <= HEADER_EXPRESSION else node.op}"
    hidden = sum(1 for p in node.parents if p not in shown and p.label) if folded else 0
    layer = node.op == "layer" or str(node.op).endswith("(layer)")  # a network's layer
    return {
        "id": ids[node],
        "name": name,
        "head": head,
        **({"layer": name} if layer else {}),
        "data": show(node.data),
        "leaf": not node.parents,
        "tracked": is_variable(node),
        "params": hidden,
    }


def _local(node: Value, local: Any, names: dict) -> str:
    """An edge's local derivative as shown: a number, or a layer's matrix rule with the shapes
    that multiply (`S^T X (16x2 = (1x16)^T 1x2)`)."""
    describe = getattr(local, "describe", None)
    if describe is not None:
        try:
            text = " ".join(describe([names[p] for p in node.parents]).split())
            return text.replace("= the column sums of S, ", "= column sums of ")
        except (TypeError, ValueError, AttributeError, KeyError):
            return repr(local)
    return show(local)


def _num(x: Any) -> float | str:
    """A number for JSON: finite as it is, else "inf", "-inf" or "nan" (JSON has none)."""
    x = float(x)
    return x if math.isfinite(x) else repr(x)


def _paths_of(wanted: Value | str, drawn: list, names: dict) -> Value:
    """The drawn value `wanted` names (a Value of the graph, or its name as the page shows it)."""
    for node in drawn:
        if node is wanted or (isinstance(wanted, str) and names[node] == wanted):
            return node
    said = wanted if isinstance(wanted, str) else names.get(wanted, repr(wanted))
    raise ValueError(f"paths_of: {said!r} is not a value this page draws")


def _explanations(root: Value, order: list, drawn: list, max_paths: int) -> dict:
    """Each drawn value's explanation, within `EXPLAIN_BUDGET` (each walks the whole graph):
    all of them for a graph that fits, else the labelled leaves first, then the values nearest
    the root."""
    count = max(1, EXPLAIN_BUDGET // max(1, len(order)))
    if count >= len(drawn):
        chosen = drawn
    else:
        leaves = [n for n in drawn if not n.parents and n.label]
        inner = [n for n in reversed(drawn) if n.parents or not n.label]
        chosen = (leaves + inner)[:count]
    return {n: str(explain(root, n, max_paths=max_paths)) for n in chosen}


def _step(step: Any, ids: dict, shown: set, folded: bool, held: dict) -> dict:
    """One step: its node, its text (as the REPL prints it, then the local derivatives'
    formulas), each edge's numbers for the quiz, and the grads it changed (never a constant's:
    the engine passes it nothing). `folded`: the edges into parameters are left out (a line
    says how many), as the picture folds the parameters into their neurons. `held`: every
    grad before this step (updated here to after it)."""
    if folded:
        kept = tuple(e for e in step.edges if e.parent in shown)
        hidden = len(step.edges) - len(kept)
        step = dataclasses.replace(step, edges=kept)
        text = str(step) + (f"\n  (and its {hidden} parameters' gradients)" if hidden else "")
    else:
        text = str(step)
    formulas, shares = [], []
    for e in step.edges:  # the local derivatives' formulas, from the table of operations
        if e.constant:
            continue
        formula, said, share = e.formula.partition(", S = ")  # a layer's S: once, at the end
        formulas.append(f"d{step.name}/d{e.parent_name} = {formula}")
        shares += [f"S = {share}"] if said else []
    if formulas:
        text += "\n  where " + ", ".join(dict.fromkeys(formulas + shares))
    edges = []
    prior: dict[Value, Any] = {}
    reads = [e.parent for e in step.edges]
    rows = _rows(step, text)
    for edge in step.edges:
        if edge.constant:
            continue
        before = held[edge.parent]
        held[edge.parent] = edge.grad_after
        prior.setdefault(edge.parent, before)
        if edge.parent not in shown:
            continue
        if type(edge.grad_after) is not float:  # a layer's W or b: one entry of it, asked
            asked = _entry_question(step, edge, ids[edge.parent], before, prior[edge.parent])
            edges += [asked] if asked else []
            continue
        edges.append(
            _question(
                ids[edge.parent],
                edge.parent_name,
                edge.index,
                reads.count(edge.parent) > 1,
                {
                    "after": edge.grad_after,
                    "local": edge.local,
                    "upstream": step.grad,
                    "before": before,
                    "prior": prior[edge.parent],
                    "data": edge.parent.data,
                },
                rows.get(edge.index) or _edge_text(step, edge),
            )
        )
    return {
        "node": ids[step.node],
        "head": text.split("\n", 1)[0],
        "text": text,
        "edges": edges,
        "grads": {
            ids[e.parent]: show(e.parent.grad)
            for e in step.edges
            if e.parent in shown and not e.constant
        },
    }


def _question(parent: str, name: str, index: int, twice: bool, numbers: dict, text: str) -> dict:
    """One quiz question: `name.grad` after one edge, with the numbers the answer is made of
    (to check it and to say which factor is off) and each as the page shows it."""
    return {
        "parent": parent,
        "name": name,
        "operand": index + 1,
        "twice": twice,
        **{key: _num(value) for key, value in numbers.items()},
        "shown": {key: show(value) for key, value in numbers.items()},
        "explain": text,
    }


def _entry_question(step: Any, edge: Any, parent: str, before: Any, prior: Any) -> dict | None:
    """At layer grain, for one sample: an entry of W.grad (or b.grad), asked as the neuron grain
    asks its weight, W.grad[j][i] += S[0][j] * X[0][i] with S = G * act'(z) (b's input is 1),
    the entry with the largest share (a dead layer, S all 0: the largest G X, so that
    forgetting the slope shows). The question gives the numbers it is made of (a matrix shows
    only its first entries): G's entry, the layer's output there (act'(z) follows from it), the
    input and the entry before. None for a batch (an entry is then a sum over the samples)."""
    shares, part = getattr(edge.local, "shares", None), getattr(edge.local, "parent", "")
    if shares is None or part not in ("W", "b") or shares.S is None or len(shares.X) != 1:
        return None
    S, X, G = shares.S.tolist()[0], shares.X.tolist()[0], step.grad.tolist()[0]
    inputs = X if part == "W" else [1.0]

    def size(at: tuple[int, int]) -> tuple[float, float]:  # |S x|, then |G x| (a nan last)
        x = inputs[at[1]]
        return _magnitude(S[at[0]] * x), _magnitude(G[at[0]] * x)

    j, i = max(((j, i) for j in range(len(S)) for i in range(len(inputs))), key=size)
    at = (j, i) if part == "W" else (j,)
    entry = "".join(f"[{k}]" for k in at)
    x_name = next((e.parent_name for e in step.edges if e.index == 0), "X")
    local_name = f"{x_name}[0][{i}]" if part == "W" else "1"
    label = edge.parent.label
    prefix = label[: -len(part) - 1] if label.endswith("." + part) else ""
    neuron = f"{prefix}.N{j + 1}." + (f"w{i + 1}" if part == "W" else "b") if prefix else ""
    output = _entry(step.node.data, (0, j))
    numbers = {
        "after": _entry(edge.grad_after, at),
        "local": inputs[i],
        "upstream": S[j],
        "before": _entry(before, at),
        "prior": _entry(prior, at),
        "data": _entry(edge.parent.data, at),
        "grad": G[j],
        "output": output,
    }
    product = arithmetic([S[j], inputs[i]], S[j] * inputs[i])
    text = (
        f"{edge.parent_name}.grad{entry} += S[0][{j}] * {local_name} = {product} -> "
        f"{show(numbers['after'])}"
    )
    asked = _question(parent, edge.parent_name, edge.index, False, numbers, text)
    names = {"upstreamName": f"S[0][{j}]", "localName": local_name}
    act = LAYER_ACTIVATION.get(step.node.op, "linear")
    given = [
        f"{step.name}.grad[0][{j}] = {show(G[j])}",
        f"{step.name}[0][{j}] = {show(output)} ({act}: {SLOPES.get(act, act)})",
        *([f"{local_name} = {show(inputs[i])}"] if part == "W" else []),
        f"{edge.parent_name}.grad{entry} before this step = {show(numbers['before'])}",
    ]
    return {**asked, "entry": entry, "neuron": neuron, **names, "given": ", ".join(given)}


SLOPES = {  # act'(z) from the activation's output a, as a student computes it
    "linear": "slope 1",
    "relu": "slope 1 where a > 0, else 0",
    "tanh": "slope 1 - a^2",
    "sigmoid": "slope a (1 - a)",
}


def _magnitude(v: float) -> float:
    return abs(v) if v == v else -1.0  # (a nan: least)


def _entry(x: Any, at: tuple) -> float:
    """One entry of an array (a float stands for every entry)."""
    return x if type(x) is float else float(x[at])


def _rows(step: Any, text: str) -> dict[int, str]:
    """Each edge's own line in the step's text, by operand index: the step-through writes one
    line per edge that is not a constant, in operand order, after its head (and the line about
    an earlier pass's gradients). Empty if the lines do not read so (`_edge_text` then)."""
    edges = [e for e in step.edges if not e.constant]
    lines = text.split("\n")[1 + bool(step.carried) :]
    if len(lines) < len(edges):
        return {}
    rows = {}
    for edge, line in zip(edges, lines):
        if not line.strip().startswith(f"{edge.parent_name}.grad "):
            return {}
        rows[edge.index] = " ".join(line.split())  # (its columns' padding dropped)
    return rows


def _edge_text(step: Any, edge: Any) -> str:
    """The step-through's own line for one edge (its arithmetic and the grad after)."""
    try:
        one = dataclasses.replace(step, edges=(edge,), carried=())
        return " ".join(" ".join(str(one).split("\n")[1:]).split())
    except (TypeError, ValueError):  # (a Step of another shape)
        return f"{edge.parent_name}.grad -> {show(edge.grad_after)}"


def _mistaken(
    root: Value,
    order: list,
    ids: dict,
    names: dict,
    shown: set,
    final: dict,
    overwrite: bool,
) -> list[dict]:
    """The pass as a classic bug computes it, step by step, on plain numbers (the graph is not
    touched): `overwrite`, `parent.grad = local * grad` instead of `+=` (a reused node keeps
    only its last path); else a recursive backward without a topological order, each node
    passing on what it holds the moment a child reaches it. Each step carries its questions
    for the quiz: what the bug puts in each parent's grad. `final`: the engine's gradients."""
    grad = {n: 0.0 for n in order}
    grad[root] = 1.0
    steps: list[dict] = []
    sign = "=" if overwrite else "+="

    def apply(node: Value, upstream: float) -> None:
        name = names[node]
        lines, edges, changed = [], [], {}
        prior: dict[Value, float] = {}
        for i, (parent, local) in enumerate(zip(node.parents, node.local_grads)):
            if not is_variable(parent):
                continue
            p = names[parent]
            before = grad[parent]
            prior.setdefault(parent, before)
            contribution = local * upstream
            grad[parent] = contribution if overwrite else before + contribution
            lost = f" (it held {show(before)}: lost)" if overwrite and before != 0.0 else ""
            line = (
                f"{p}.grad {sign} {name}.grad * d{name}/d{p} = "
                f"{arithmetic([upstream, local], contribution)}   -> {p}.grad = "
                f"{show(grad[parent])}{lost}"
            )
            lines.append("  " + line)
            if parent not in shown:
                continue
            changed[ids[parent]] = show(grad[parent])
            edges.append(
                _question(
                    ids[parent],
                    p,
                    i,
                    node.parents.count(parent) > 1,
                    {
                        "after": grad[parent],
                        "local": local,
                        "upstream": upstream,
                        "before": before,
                        "prior": prior[parent],
                        "data": parent.data,
                        "engine": final[node],  # what the node holds once its pass is done
                    },
                    line,
                )
            )
        held = "" if overwrite else ", what it holds when reached"
        head = f"{name} = {_expression(node, names)}   ({name}.grad = {show(upstream)}{held})"
        steps.append(
            {
                "node": ids[node],
                "head": head,
                "text": head + "\n" + "\n".join(lines),
                "edges": edges,
                "grads": changed,
            }
        )

    if overwrite:
        for node in backward_order(root):
            apply(node, grad[node])
    else:
        stack = [(root, 1.0)]
        while stack and len(steps) < 4 * len(order):  # (it can repeat itself a lot)
            node, incoming = stack.pop()
            if not node.parents:
                continue
            apply(node, incoming)
            stack.extend((p, grad[p]) for p in reversed(node.parents))
    total = len(steps)
    for k, step in enumerate(steps, 1):
        step["head"] = f"step {k}/{total}  {step['head']}"
        step["text"] = f"step {k}/{total}  {step['text']}"
    return steps


def _expression(node: Value, names: dict) -> str:
    """`node`'s operation in its parents' names (`x * w`), from the table of operations."""
    try:
        return operation(node.op).expression([names[p] for p in node.parents])
    except (KeyError, IndexError, ValueError):  # (a row this version of the table lacks)
        return node.op
