"""Backprop in the browser: one self-contained page that replays a real backward pass.

    page = autograd.page(root)          # Python runs the pass (the core's chain rule)
    page.save("neuron.html")            # one HTML file: no network, opens from file://
    page                                # in Jupyter: shown inline, in an iframe of its own

`python -m autograd web "tanh(x*w + b)" x=2 w=-3 b=6.88 -o neuron.html` writes the same.

The page is a recording: the graph as the pictures draw it (laid out now, by the renderer the
pictures use, so the reader's browser needs nothing), every step of the step-through (the core's
`chain_rule` at one node, with its arithmetic as the REPL prints it), every node's gradient
after each step, and each node's explanation (the sum over paths, as `explain` writes it). The
page's script only replays those numbers: next and previous step, play and pause, a scrub bar,
reset, the arrow keys and space; click a value to see its paths; a quiz mode. The link keeps
the state: `#step=5` opens at step 5, `#step=end` at the finished pass, `#mode=quiz` in the
quiz. Labels are user text: the data sits in a JSON block with `<` escaped, and the script only
ever writes text (`textContent`), never markup.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from .draw import RENDER_TIMEOUT, draw, find_renderer, scope_of
from .files import atomic_write
from .graph import topological_order
from .show import show
from .steps import backward_steps, explain, node_names
from .value import Value


class Page:
    """A recorded backward pass as one HTML page: `html` (the text), `save(path)`, and
    `_repr_html_` for Jupyter (an iframe, so its script and styles never touch the notebook)."""

    def __init__(self, text: str, title: str) -> None:
        self.html, self.title = text, title

    def save(self, path: str | os.PathLike) -> Path:
        """Write the page (atomically); returns the path."""
        return atomic_write(Path(path), self.html)

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" title="{html.escape(self.title)}"'
            ' style="width: 100%; height: 640px; border: 1px solid #ccc"></iframe>'
        )

    def __repr__(self) -> str:
        return f"<backprop page of {self.title}: {len(self.html):,} bytes>"


def page(root: Value, title: str | None = None, max_paths: int = 3) -> Page:
    """Record `root`'s backward pass (from leaves at 0; every grad is put back afterwards) and
    return it as a page."""
    data, svg = record(root, max_paths=max_paths)
    return frames_page([(data, svg, "")], title or data["title"])


def record(
    root: Value, max_paths: int = 3, mistakes: bool = True, **drawing: Any
) -> tuple[dict, str]:
    """`root`'s backward pass, recorded for a page: (the data its script replays, the SVG of
    the graph, drawn by `autograd.draw(root, **drawing)`). With `parameters=False` among the
    drawing options, the parameters (folded into their neurons' boxes) are left out of the
    page's table and paths too; `mistakes=False` leaves out the classic mistakes' replays."""
    if not isinstance(root, Value):
        raise TypeError(f"page() needs a Value, got {type(root).__name__}")
    order = topological_order(root)
    if any(type(node.data) is not float for node in order):
        raise ValueError("page() shows scalar graphs; draw one sample's graph of a batch")
    names = node_names(root, order)
    ids = {node: f"n{k}" for k, node in enumerate(order)}
    folded = drawing.get("parameters", True) is False
    shown = [n for n in order if (n.parents or n.label) and not (folded and _parameter(n))]
    saved = [(node, node.grad) for node in order]
    try:
        for node in order:
            node.grad = 0.0
        paths = {ids[n]: str(explain(root, n, max_paths=max_paths)) for n in shown}
        steps = backward_steps(root)
        start = {ids[n]: _grad(n) for n in shown}
        recorded = [_step(step, ids, folded) for step in steps]
        svg = _svg(draw(root, max_nodes=max(150, len(order)), **drawing).source)
    finally:
        for node, grad in saved:
            node.grad = grad
    data = {
        "title": names[root],
        "root": ids[root],
        "nodes": [
            {"id": ids[n], "name": names[n], "data": show(n.data), "leaf": not n.parents}
            for n in shown
        ],
        "start": start,
        "steps": recorded,
        "mistakes": {
            "overwrite": _mistaken(root, order, ids, names, overwrite=True) if mistakes else [],
            "recursive": _mistaken(root, order, ids, names, overwrite=False) if mistakes else [],
        },
        "paths": paths,
    }
    return data, svg


def frames_page(frames: list[tuple], title: str) -> Page:
    """A page of several recorded passes (one per optimizer step of a training run, say):
    each frame is (its recorded data, its SVG, its extra HTML: parameter table, pictures),
    and optionally a fourth: (data, SVG) of the same pass drawn with every node (the
    neurons' parameters too), which a checkbox expands the picture to."""
    graphs = "".join(
        f'<div class="frame" id="frame{k}"{"" if k == 0 else " hidden"}>{frame[1]}</div>'
        + (f'<div class="frame" id="full{k}" hidden>{frame[3][1]}</div>' if len(frame) > 3 else "")
        for k, frame in enumerate(frames)
    )
    extras = "".join(
        f'<div class="extra" id="extra{k}"{"" if k == 0 else " hidden"}>{frame[2]}</div>'
        for k, frame in enumerate(frames)
    )
    recorded = [{**f[0], "full": f[3][0] if len(f) > 3 else None} for f in frames]
    data = json.dumps({"title": title, "frames": recorded})
    return Page(
        _TEMPLATE.replace("%TITLE%", html.escape(title))
        .replace("%DATA%", data.replace("<", "\\u003c"))
        .replace("%SVG%", graphs)
        .replace("%EXTRAS%", extras),
        title,
    )


def _parameter(node: Value) -> bool:
    """A parameter as the pictures fold it: a leaf labelled inside a scope (`L1.N3.w2`)."""
    return not node.parents and bool(scope_of(node))


def _grad(node: Value) -> str:
    return show(node.grad)


def _step(step: Any, ids: dict, folded: bool = False) -> dict:
    """One step: its node, its text (as the REPL prints it), each edge's numbers for the quiz,
    and the grads it changed. `folded`: the edges into parameters are left out (a line says
    how many), as the picture folds the parameters into their neurons."""
    if folded:
        kept = tuple(e for e in step.edges if not _parameter(e.parent))
        hidden = len(step.edges) - len(kept)
        step = dataclasses.replace(step, edges=kept)
        text = str(step) + (f"\n  (and its {hidden} parameters' gradients)" if hidden else "")
    else:
        text = str(step)
    formulas = [
        f"d{step.name}/d{e.parent_name} = {e.formula}" for e in step.edges if not e.constant
    ]
    if formulas:  # the local derivatives' formulas, from the table of operations
        text += "\n  where " + ", ".join(dict.fromkeys(formulas))
    edges = []
    seen: dict[Value, int] = {}
    for edge in step.edges:
        if edge.constant:
            continue
        edges.append(
            {
                "parent": ids[edge.parent],
                "name": edge.parent_name,
                "after": float(edge.grad_after),
                "local": float(edge.local),
                "upstream": float(step.grad),
                "before": float(edge.grad_after - edge.contribution),
                "formula": edge.formula,
                "again": edge.parent in seen,
            }
        )
        seen[edge.parent] = 1
    return {
        "node": ids[step.node],
        "text": text,
        "edges": edges,
        "grads": {ids[e.parent]: _grad(e.parent) for e in step.edges},  # what this step changed
    }


def _mistaken(root: Value, order: list, ids: dict, names: dict, overwrite: bool) -> list[dict]:
    """The pass as a classic bug computes it, step by step, on plain numbers (the graph is not
    touched): `overwrite`, `parent.grad = local * grad` instead of `+=` (a reused node keeps
    only its last path); else a recursive backward without a topological order, each node
    passing on what it holds the moment a child reaches it."""
    grad = {n: 0.0 for n in order}
    grad[root] = 1.0
    steps: list[dict] = []

    def record(node: Value, parents: list) -> None:
        lines = [
            f"  {names[p]}.grad {'=' if overwrite else '+='} {names[node]}.grad * "
            f"d{names[node]}/d{names[p]} -> {names[p]}.grad = {show(grad[p])}"
            for p in parents
        ]
        steps.append(
            {
                "node": ids[node],
                "text": f"{names[node]}:\n" + "\n".join(lines),
                "edges": [],
                "grads": {ids[p]: show(grad[p]) for p in parents},
            }
        )

    if overwrite:
        from .graph import backward_order

        for node in backward_order(root):
            for parent, local in zip(node.parents, node.local_grads):
                grad[parent] = local * grad[node]
            record(node, list(node.parents))
    else:
        stack = [(root, 1.0)]
        while stack and len(steps) < 4 * len(order):  # (it can repeat itself a lot)
            node, incoming = stack.pop()
            if not node.parents:
                continue
            for parent, local in zip(node.parents, node.local_grads):
                grad[parent] += local * incoming
            record(node, list(node.parents))
            stack.extend((p, grad[p]) for p in reversed(node.parents))
    return steps


def _svg(source: str) -> str:
    """The graph laid out now, as inline SVG (no renderer: the DOT source, shown as text)."""
    renderer = find_renderer()
    if renderer is None:
        return f"<pre>{html.escape(source)}</pre>"
    done = subprocess.run(
        [renderer.path, "-Kdot", "-Tsvg"],
        input=source.encode(),
        capture_output=True,
        timeout=RENDER_TIMEOUT,
        check=False,
    )
    text = done.stdout.decode("utf-8", errors="replace")
    start = text.find("<svg")
    if done.returncode != 0 or start < 0:
        return f"<pre>{html.escape(source)}</pre>"
    svg = re.sub(r"<!--.*?-->", "", text[start:], flags=re.S)
    svg = re.sub(r' (font-family|font-size|text-anchor)="[^"]*"', "", svg)  # (the page's CSS)
    svg = re.sub(_GEOMETRY, _tenths, svg)
    return re.sub(r">\s+<", "><", svg)


# Coordinates to a tenth of a point, in the geometry's attributes only (never a shown number).
_GEOMETRY = r'\b(points|d|x|y|cx|cy|rx|ry|width|height|transform|viewBox)="([^"]*)"'


def _tenths(match: re.Match) -> str:
    return match[1] + '="' + re.sub(r"(\d\.\d)\d+", r"\1", match[2]) + '"'


_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>backprop: %TITLE%</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; display: flex; height: 100vh; }
#graph { flex: 1 1 60%; overflow: auto; border-right: 1px solid #ddd; }
#graph svg { max-width: 100%; height: auto; }
#side { flex: 1 1 40%; padding: 10px 14px; overflow: auto; }
#controls button, #controls select { margin: 2px; }
#scrub { width: 100%; }
pre { white-space: pre-wrap; background: #f7f7f7; padding: 8px; font-size: 12.5px; }
#graph text { font: 11px Helvetica, Arial, sans-serif; text-anchor: middle; }
.current polygon, .current ellipse { fill: #ffe082; }
.reading polygon { fill: #d7ecff; }
.hot path { stroke: #d32f2f; stroke-width: 2px; }
.quiz input { width: 8em; }
.right { color: #2e7d32; } .wrong { color: #c62828; }
table { border-collapse: collapse; } td, th { padding: 1px 8px; text-align: left; }
</style>
</head>
<body>
<div id="graph">%SVG%</div>
<div id="side">
  <h3 id="title"></h3>
  <div id="controls">
    <button id="reset" title="Home">reset</button>
    <button id="prev" title="left arrow">&#x25C0; prev</button>
    <button id="play" title="space">&#x25B6; play</button>
    <button id="next" title="right arrow">next &#x25B6;</button>
    <select id="speed"><option value="1500">slow</option><option value="700" selected>normal</option><option value="250">fast</option></select>
    <label><input type="checkbox" id="quizmode"> quiz</label>
    <label id="expandlabel" hidden><input type="checkbox" id="expand"> every parameter</label>
    <select id="pass" title="replay the pass as a classic bug computes it">
      <option value="true">the engine's pass</option>
      <option value="overwrite">mistake: = instead of +=</option>
      <option value="recursive">mistake: no topological order</option>
    </select>
    <input type="range" id="scrub" min="0" value="0">
  </div>
  <p id="where"></p>
  <pre id="step"></pre>
  <div id="quiz" class="quiz"></div>
  <p id="score"></p>
  <table id="grads"><thead><tr><th>value</th><th>data</th><th>grad</th></tr></thead><tbody></tbody></table>
  <div id="frames" hidden>
    <button id="prevframe">&#x25C0; optimizer step</button>
    <span id="frame"></span>
    <button id="nextframe">optimizer step &#x25B6;</button>
  </div>
  <div id="extras">%EXTRAS%</div>
  <h4>paths (click a value in the graph)</h4>
  <pre id="paths"></pre>
</div>
<script type="application/json" id="recording">%DATA%</script>
<script>
"use strict";
const ALL = JSON.parse(document.getElementById("recording").textContent);
const $ = (id) => document.getElementById(id);
let frame = 0, R = ALL.frames[0], steps = R.steps, last = steps.length;
let at = 0, timer = null, quiz = false, score = 0, asked = 0, truth = {};
let byTitle = {}, rows = {};
$("title").textContent = "backprop of " + ALL.title;
function load(f) {
  frame = Math.max(0, Math.min(ALL.frames.length - 1, f));
  const full = $("expand").checked && ALL.frames[frame].full;
  R = full || ALL.frames[frame];
  for (let k = 0; k < ALL.frames.length; k++) {
    $("frame" + k).hidden = k !== frame || Boolean(full);
    if ($("full" + k)) $("full" + k).hidden = k !== frame || !full;
    $("extra" + k).hidden = k !== frame;
  }
  $("expandlabel").hidden = !ALL.frames[frame].full;
  byTitle = {};
  for (const g of $((full ? "full" : "frame") + frame).querySelectorAll("g.node, g.edge")) {
    const t = g.querySelector("title");
    if (t) byTitle[t.textContent] = g;
    if (g.classList.contains("node") && t) g.addEventListener("click", () => { if (R.paths[t.textContent]) $("paths").textContent = R.paths[t.textContent]; });
  }
  rows = {};
  const body = $("grads").tBodies[0];
  body.textContent = "";
  for (const n of R.nodes) {
    const tr = document.createElement("tr");
    for (const text of [n.name, n.data, ""]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    tr.dataset.id = n.id;
    rows[n.id] = tr.lastChild;
    body.appendChild(tr);
  }
  const which = $("pass").value;
  steps = which === "true" ? R.steps : R.mistakes[which];
  last = steps.length;
  $("scrub").max = String(last);
  truth = gradsAt(R.steps.length, R.steps);
  $("frames").hidden = ALL.frames.length < 2;
  $("pass").hidden = !R.mistakes.overwrite.length;
  $("frame").textContent = "optimizer step " + (frame + 1) + " of " + ALL.frames.length;
  $("paths").textContent = R.paths[(R.nodes.find((n) => n.leaf) || {}).id || R.root] || "";
}
function gradsAt(k, which) {
  const grads = Object.assign({}, R.start);
  for (let j = 0; j < k; j++) Object.assign(grads, (which || steps)[j].grads);
  return grads;
}
function reached(id, k) {
  if (id === R.root) return true;
  for (let j = 0; j < k; j++) if (id in steps[j].grads) return true;
  return false;
}
function setGradText(id, text) {
  const g = byTitle[id];
  if (!g) return;
  for (const t of g.querySelectorAll("text")) {
    if (t.textContent.startsWith("grad ")) t.textContent = "grad " + text;
  }
}
function render() {
  const grads = gradsAt(at);
  const mistaken = steps !== R.steps;
  const right = mistaken && steps.length === R.steps.length ? gradsAt(at, R.steps) : truth;
  for (const n of R.nodes) {
    const shown = reached(n.id, at) ? grads[n.id] : "\u00b7";
    rows[n.id].textContent = shown;
    const parts = mistaken && reached(n.id, at) && (at === last || right !== truth) && shown !== right[n.id];
    rows[n.id].className = parts ? "wrong" : "";
    rows[n.id].title = parts ? "the engine's: " + right[n.id] : "";
    setGradText(n.id, shown + (parts ? " (not " + right[n.id] + ")" : ""));
  }
  for (const g of document.querySelectorAll(".current, .reading, .hot")) g.classList.remove("current", "reading", "hot");
  $("scrub").value = String(at);
  $("where").textContent = at === 0 ? "before the pass: d root/d root = 1" : "step " + at + " of " + last + (at === last ? " (the finished pass)" : "");
  $("quiz").textContent = "";
  if (at < last) {
    const s = steps[at];
    for (const id of [s.node, s.node + "op"]) if (byTitle[id]) byTitle[id].classList.add("current");
    for (const e of s.edges) {
      if (byTitle[e.parent]) byTitle[e.parent].classList.add("reading");
      const edge = byTitle[e.parent + "->" + s.node + "op"];
      if (edge) edge.classList.add("hot");
    }
    $("step").textContent = quiz ? s.text.split("\n")[0] + "\n  (your turn: each parent's new grad)" : "next: " + s.text;
    if (quiz) askQuiz(s);
  } else {
    $("step").textContent = "done: every gradient is d " + R.title + "/d value";
  }
  const inFrame = ALL.frames.length > 1 ? "&frame=" + (frame + 1) : "";
  history.replaceState(null, "", "#step=" + (at === last ? "end" : at) + (quiz ? "&mode=quiz" : "") + inFrame);
}
function askQuiz(s) {
  for (const e of s.edges) {
    const line = document.createElement("div");
    const label = document.createElement("span");
    label.textContent = e.name + ".grad = ";
    const input = document.createElement("input");
    input.dataset.parent = e.parent;
    const check = document.createElement("button");
    check.textContent = "check";
    const reveal = document.createElement("button");
    reveal.textContent = "reveal";
    const said = document.createElement("span");
    check.onclick = () => {
      const v = parseFloat(input.value);
      asked++;
      if (close(v, e.after)) {
        score++;
        said.className = "right";
        said.textContent = " right";
      } else {
        said.className = "wrong";
        said.textContent = " " + hint(v, e);
      }
      $("score").textContent = "score: " + score + " of " + asked;
    };
    reveal.onclick = () => { input.value = String(e.after); said.className = ""; said.textContent = " (" + e.name + ".grad = " + e.after + ")"; };
    for (const el of [label, input, check, reveal, said]) line.appendChild(el);
    $("quiz").appendChild(line);
  }
}
function close(a, b) { return Number.isFinite(a) && Math.abs(a - b) <= 1e-3 * Math.max(1, Math.abs(b)); }
function hint(v, e) {
  const product = e.local * e.upstream;
  if (e.before !== 0 && close(v, product)) return "not quite: += here, " + e.name + ".grad already holds " + e.before + " from another path";
  if (close(v, e.upstream)) return "not quite: times the local derivative " + e.formula + " = " + e.local;
  if (close(v, e.local)) return "not quite: times the upstream gradient " + e.upstream;
  return "not quite: new grad = old grad + upstream grad * local derivative (" + e.before + " + " + e.upstream + " * " + e.local + ")";
}
function go(k) { at = Math.max(0, Math.min(last, k)); render(); }
function play() {
  if (timer) { clearInterval(timer); timer = null; $("play").textContent = "\u25B6 play"; return; }
  if (at === last) go(0);
  $("play").textContent = "\u23F8 pause";
  timer = setInterval(() => { if (at >= last) play(); else go(at + 1); }, Number($("speed").value));
}
$("next").onclick = () => go(at + 1);
$("prev").onclick = () => go(at - 1);
$("reset").onclick = () => go(0);
$("play").onclick = play;
$("scrub").oninput = () => go(Number($("scrub").value));
$("quizmode").onchange = () => { quiz = $("quizmode").checked; render(); };
$("pass").onchange = () => { load(frame); go(Math.min(at, last)); };
$("expand").onchange = () => { load(frame); go(Math.min(at, last)); };
$("prevframe").onclick = () => { load(frame - 1); go(Math.min(at, last)); };
$("nextframe").onclick = () => { load(frame + 1); go(Math.min(at, last)); };
document.addEventListener("keydown", (ev) => {
  if (ev.target.tagName === "INPUT" && ev.target.type !== "range" && ev.target.type !== "checkbox") return;
  if (ev.key === "ArrowRight") go(at + 1);
  else if (ev.key === "ArrowLeft") go(at - 1);
  else if (ev.key === " ") { ev.preventDefault(); play(); }
  else if (ev.key === "Home") go(0);
  else if (ev.key === "End") go(last);
});
function fromLink() {
  const state = {};
  for (const part of location.hash.replace(/^#/, "").split("&")) {
    const m = /^(step|mode|frame)=([A-Za-z0-9]{1,12})$/.exec(part);
    if (m) state[m[1]] = m[2];
  }
  if (/^[0-9]+$/.test(state.frame || "")) load(parseInt(state.frame, 10) - 1);
  if (state.mode === "quiz") { quiz = true; $("quizmode").checked = true; }
  if (state.step === "end") at = last;
  else if (/^[0-9]+$/.test(state.step || "")) at = Math.min(last, parseInt(state.step, 10));
}
load(0);
fromLink();
render();
</script>
</body>
</html>
"""
