"use strict";
// The page's player: it decodes the recording (written by autograd/page.py), draws the graph,
// and replays the recorded numbers. Every number it shows was written by Python, as the REPL
// shows it; the script never formats a number, never builds markup from data (textContent
// only) and never evaluates anything it reads.
(() => {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const FONT = '"Helvetica Neue", Helvetica, Arial, "Liberation Sans", sans-serif';
  const FONT_PX = 12, LINE = 14, PAD = 7, MARGIN = 8;
  const FIT_MAX = 3, ZOOM_MAX = 8;
  const READABLE = 0.8; // the least zoom at which a box's 12px text reads (about 10px)
  const VIRTUAL_MAX = 3000; // bends for long edges at most (beyond: long edges drawn as curves)
  const DOT = "\u00b7";

  async function decode(text) {
    // the recording: JSON, deflated, in base64 (so that no answer is readable in the page)
    const bytes = Uint8Array.from(atob(text.trim()), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return JSON.parse(await new Response(stream).text());
  }
  const num = (v) => (typeof v === "number" ? v : v === "inf" ? Infinity : v === "-inf" ? -Infinity : NaN);
  let ALL = null;

  // ---- state ---------------------------------------------------------------------------------
  let frame = 0, R = null, which = "true", steps = [], last = 0;
  let at = 0, timer = null, quiz = false, selected = null;
  let firstTouch = {}, finalTrue = {}, truth = {}, enginePass = null;
  let rows = {}, drawing = null, view = null, suppressClick = false;
  let traced = null, grain = "layer", opened = ""; // a training page: the traced sample, the grain
  const answers = new Map(); // one entry per question: its score is settled by the first answer

  // ---- text measure (the same font as the drawing's CSS) -------------------------------------
  const ctx = document.createElement("canvas").getContext("2d");
  const widths = new Map();
  function measure(text, bold) {
    const key = (bold ? "b" : "n") + text;
    let w = widths.get(key);
    if (w === undefined) {
      ctx.font = (bold ? "bold " : "") + FONT_PX + "px " + FONT;
      w = ctx.measureText(text).width;
      widths.set(key, w);
    }
    return w;
  }

  // ---- the recorded numbers -------------------------------------------------------------------
  function gradsAt(k, list) {
    const grads = Object.assign({}, R.start);
    for (let j = 0; j < k; j++) Object.assign(grads, list[j].grads);
    return grads;
  }
  function touches(list) {
    const first = {}, final = {};
    list.forEach((s, j) => {
      for (const id in s.grads) {
        if (!(id in first)) first[id] = j + 1;
        final[id] = j + 1;
      }
    });
    return [first, final];
  }
  const reached = (id, k) => id === R.root || (id in firstTouch && firstTouch[id] <= k);

  const BOX_TEXT = 24; // a matrix in a box: its first numbers (the table has the rest)
  function clip(text) {
    if (text.length <= BOX_TEXT) return text;
    let cut = text.lastIndexOf(", ", BOX_TEXT - 3);
    if (cut < 12) cut = BOX_TEXT - 3;
    return text.slice(0, cut) + ", \u2026";
  }

  // ---- layout: layered, left to right or top to bottom ----------------------------------------
  const CELL_GAP = 12;
  function boxes(compact) {
    // Each value's box: rows of cells, each cell sized for the widest text it will show in this
    // pass. Tall: name, data, grad on rows of their own; compact: data and grad side by side.
    const mistaken = which !== "true";
    const widest = (list) => {
      const out = {};
      for (const [id, text] of list) if (!(id in out) || measure(text) > measure(out[id])) out[id] = text;
      return out;
    };
    const grads = [];
    for (const id in R.start) grads.push([id, clip("grad " + R.start[id])]);
    for (const s of steps) for (const id in s.grads) grads.push([id, clip("grad " + s.grads[id])]);
    const grad = widest(grads);
    const engines = [];
    if (mistaken) for (const s of [{ grads: R.start }, ...R.steps]) for (const id in s.grads) engines.push([id, "engine: " + s.grads[id]]);
    const engine = widest(engines);
    return R.nodes.map((n) => {
      const cell = (text, cls, bold) => ({ text, cls, bold, w: Math.ceil(measure(text, bold)) });
      const data = cell(clip("data " + n.data), "data");
      const g = n.tracked ? cell(grad[n.id] || "grad " + DOT, "grad") : cell("constant", "const");
      const rows = [[cell(n.head, "head", true)]];
      if (n.params) rows.push([cell("+" + n.params + (n.params > 1 ? " parameters" : " parameter"), "params")]);
      if (n.layer && ALL.training && views().neuron) rows.push([cell("click: its neurons \u25B8", "params")]);
      else if (n.params && ALL.training && R === views().neuron && views().full) rows.push([cell("click: its weights \u25B8", "params")]);
      if (compact) rows.push([data, g]);
      else rows.push([data], [g]);
      if (mistaken && n.tracked) rows.push([cell(engine[n.id] || "", "engine")]);
      let w = 0;
      for (const row of rows) w = Math.max(w, row.reduce((sum, c) => sum + c.w, 0) + CELL_GAP * (row.length - 1));
      return { rows, w: w + 2 * PAD, h: rows.length * LINE + PAD };
    });
  }

  function ranks(n, edges) {
    const parents = Array.from({ length: n }, () => []), children = Array.from({ length: n }, () => []);
    for (const e of edges) {
      parents[e.to].push(e.from);
      children[e.from].push(e.to);
    }
    // longest path from the leaves, then every node pulled as near its readers as it can go
    const rank = new Array(n).fill(0);
    for (let v = 0; v < n; v++) for (const p of parents[v]) rank[v] = Math.max(rank[v], rank[p] + 1);
    for (let v = n - 1; v >= 0; v--) {
      if (!children[v].length) continue;
      let m = Infinity;
      for (const c of children[v]) m = Math.min(m, rank[c]);
      rank[v] = m - 1;
    }
    const low = rank.reduce((a, b) => Math.min(a, b), Infinity);
    return rank.map((r) => r - (Number.isFinite(low) ? low : 0));
  }

  function inversions(a) {
    let count = 0;
    const sort = (lo, hi) => {
      if (hi - lo < 2) return;
      const mid = (lo + hi) >> 1;
      sort(lo, mid);
      sort(mid, hi);
      const merged = [];
      let i = lo, j = mid;
      while (i < mid && j < hi) {
        if (a[j] < a[i]) { merged.push(a[j++]); count += mid - i; } else merged.push(a[i++]);
      }
      while (i < mid) merged.push(a[i++]);
      while (j < hi) merged.push(a[j++]);
      for (let k = 0; k < merged.length; k++) a[lo + k] = merged[k];
    };
    sort(0, a.length);
    return count;
  }

  function place(layer, desired, size, gap) {
    // Centres in the layer's order, as near `desired` as they can be (least squares) with each
    // box clear of the next: the pool-adjacent-violators algorithm, linear in the layer.
    const m = layer.length, off = new Float64Array(m);
    for (let i = 1; i < m; i++) off[i] = off[i - 1] + (size[layer[i - 1]] + size[layer[i]]) / 2 + gap(layer[i - 1], layer[i]);
    const value = [], weight = [], count = [];
    for (let i = 0; i < m; i++) {
      let v = desired[i] - off[i], w = 1, c = 1;
      while (value.length && value[value.length - 1] > v) {
        const pw = weight.pop();
        v = (v * w + value.pop() * pw) / (w + pw);
        w += pw;
        c += count.pop();
      }
      value.push(v); weight.push(w); count.push(c);
    }
    const out = new Float64Array(m);
    let i = 0;
    for (let b = 0; b < value.length; b++) for (let k = 0; k < count[b]; k++, i++) out[i] = value[b] + off[i];
    return out;
  }

  function layout(sizes, edges, rank, dir) {
    const n = sizes.length, lr = dir === "LR";
    const along = sizes.map((s) => (lr ? s.h : s.w)), across = sizes.map((s) => (lr ? s.w : s.h));
    const depth = rank.reduce((a, b) => Math.max(a, b), 0) + 1;
    const layers = Array.from({ length: depth }, () => []);
    const itemRank = rank.slice(), size = along.slice(), up = [], down = [];
    for (let v = 0; v < n; v++) { layers[rank[v]].push(v); up.push([]); down.push([]); }
    let bends = 0;
    for (const e of edges) bends += rank[e.to] - rank[e.from] - 1;
    const virtual = bends <= VIRTUAL_MAX;
    const chains = edges.map((e) => {
      const chain = [e.from];
      if (virtual) for (let r = rank[e.from] + 1; r < rank[e.to]; r++) {
        const v = itemRank.length;
        itemRank.push(r); size.push(6); up.push([]); down.push([]);
        layers[r].push(v);
        chain.push(v);
      }
      chain.push(e.to);
      for (let k = 0; k + 1 < chain.length; k++) {
        if (itemRank[chain[k + 1]] === itemRank[chain[k]] + 1) {
          down[chain[k]].push(chain[k + 1]);
          up[chain[k + 1]].push(chain[k]);
        }
      }
      return chain;
    });
    const items = itemRank.length, pos = new Float64Array(items);
    const number = () => layers.forEach((l) => l.forEach((v, k) => { pos[v] = k; }));
    const crossings = () => {
      let total = 0;
      for (let r = 0; r + 1 < depth; r++) {
        const pairs = [];
        for (const v of layers[r]) for (const w of down[v]) pairs.push([pos[v], pos[w]]);
        pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        total += inversions(pairs.map((p) => p[1]));
      }
      return total;
    };
    // order within ranks: barycentres, sweeping up and down; the best order found is kept
    number();
    let best = layers.map((l) => l.slice()), fewest = crossings();
    const mean = (list, of) => { let s = 0; for (const v of list) s += of[v]; return s / list.length; };
    for (let sweep = 0; sweep < 8 && fewest > 0; sweep++) {
      const upward = sweep % 2 === 0;
      for (let k = 1; k < depth; k++) {
        const layer = layers[upward ? k : depth - 1 - k];
        const key = new Map();
        for (const v of layer) {
          const near = upward ? up[v] : down[v];
          key.set(v, near.length ? mean(near, pos) : pos[v]);
        }
        layer.sort((a, b) => key.get(a) - key.get(b) || pos[a] - pos[b]);
        layer.forEach((v, i) => { pos[v] = i; });
      }
      const c = crossings();
      if (c < fewest) { fewest = c; best = layers.map((l) => l.slice()); }
    }
    best.forEach((l, r) => { layers[r] = l; });
    number();
    // positions along the ranks: each box near the mean of its neighbours, never overlapping
    const boxGap = lr ? 14 : 18;
    const gap = (a, b) => (a >= n || b >= n ? 6 : boxGap);
    const centre = new Float64Array(items);
    for (const layer of layers) {
      const c = place(layer, layer.map(() => 0), size, gap);
      layer.forEach((v, i) => { centre[v] = c[i]; });
    }
    for (let round = 0; round < 16; round++) {
      for (let k = 0; k < depth; k++) {
        const layer = layers[round % 2 === 0 ? k : depth - 1 - k];
        const desired = layer.map((v) => {
          const near = up[v].concat(down[v]);
          return near.length ? mean(near, centre) : centre[v];
        });
        const c = place(layer, desired, size, gap);
        layer.forEach((v, i) => { centre[v] = c[i]; });
      }
    }
    // edges: ports spread along the sides in the order the edges come and go (no crossing at a
    // box; one node's two edges from the same value in operand order), bends through ranks
    const point = (a, b) => (lr ? [a, b] : [b, a]);
    const inputs = Array.from({ length: n }, () => []), outputs = Array.from({ length: n }, () => []);
    edges.forEach((e, k) => { inputs[e.to].push(k); outputs[e.from].push(k); });
    const portIn = new Array(edges.length), portOut = new Array(edges.length);
    for (let v = 0; v < n; v++) {
      const before = (k) => centre[chains[k][chains[k].length - 2]];  // where an edge comes from
      inputs[v].sort((p, q) => before(p) - before(q) || edges[p].i - edges[q].i);
      inputs[v].forEach((k, j) => { portIn[k] = (j + 1) / (inputs[v].length + 1); });
      const next = (k) => centre[chains[k][1]];
      outputs[v].sort((p, q) => next(p) - next(q));
      outputs[v].forEach((k, j) => { portOut[k] = 0.2 + 0.6 * (j + 1) / (outputs[v].length + 1); });
    }
    // top to bottom, the labels on one side of a box would run into each other: each next one
    // (in port order, right side; reversed, left side) a line higher
    const lift = new Array(edges.length).fill(0);
    if (!lr) for (let v = 0; v < n; v++) {
      const labelled = inputs[v].filter((k) => edges[k].label);
      const right = labelled.filter((k) => portIn[k] >= 0.5), left = labelled.filter((k) => portIn[k] < 0.5).reverse();
      for (const side of [left, right]) side.forEach((k, j) => { lift[k] = j; });
    }
    // across the ranks: each rank as deep as its deepest box, gaps wide enough for the labels
    const extent = new Float64Array(depth), room = new Float64Array(depth);
    for (let v = 0; v < n; v++) extent[rank[v]] = Math.max(extent[rank[v]], across[v]);
    edges.forEach((e, k) => {  // (top to bottom: a line more for each label stacked below it)
      const r = rank[e.to] - 1;
      if (r >= 0 && e.label) room[r] = Math.max(room[r], lr ? measure(e.label) + 18 : 24 + 15 * lift[k]);
    });
    const start = new Float64Array(depth);
    for (let r = 1; r < depth; r++) start[r] = start[r - 1] + extent[r - 1] + Math.max(lr ? 40 : 24, room[r - 1]);
    const nodes = sizes.map((s, v) => {
      const a = start[rank[v]] + (extent[rank[v]] - across[v]) / 2, b = centre[v] - along[v] / 2;
      return lr ? { x: a, y: b, w: s.w, h: s.h } : { x: b, y: a, w: s.w, h: s.h };
    });
    const paths = edges.map((e, k) => {
      const from = nodes[e.from], to = nodes[e.to];
      const pts = [];
      pts.push(lr ? [from.x + from.w, from.y + from.h * portOut[k]] : [from.x + from.w * portOut[k], from.y + from.h]);
      for (const v of chains[k].slice(1, -1)) {
        pts.push(point(start[itemRank[v]], centre[v]));
        pts.push(point(start[itemRank[v]] + extent[itemRank[v]], centre[v]));
      }
      const end = lr ? [to.x - 1, to.y + to.h * portIn[k]] : [to.x + to.w * portIn[k], to.y - 1];
      pts.push(end);
      let d = "M" + pts[0][0].toFixed(1) + "," + pts[0][1].toFixed(1);
      for (let j = 0; j + 1 < pts.length; j++) {
        const [x0, y0] = pts[j], [x1, y1] = pts[j + 1];
        const c0 = lr ? [x0 + (x1 - x0) / 2, y0] : [x0, y0 + (y1 - y0) / 2];
        const c1 = lr ? [x1 - (x1 - x0) / 2, y1] : [x1, y1 - (y1 - y0) / 2];
        d += " C" + [c0, c1, [x1, y1]].map((p) => p[0].toFixed(1) + "," + p[1].toFixed(1)).join(" ");
      }
      // the label beside the arrowhead, on the side away from the box's middle (so that the
      // labels of a node's operands stand apart, each at its own edge)
      const [ex, ey0] = end, w = measure(e.label || "");
      const ey = ey0 - 15 * (lift[k] || 0); // (labels on one side of a box: stacked)
      const label = lr
        ? { x: ex - 5, y: ey - 4, anchor: "end", box: [ex - 5 - w, ey - 16, w, 16] }
        : portIn[k] < 0.5
          ? { x: ex - 4, y: ey - 6, anchor: "end", box: [ex - 4 - w, ey - 18, w, 16] }
          : { x: ex + 4, y: ey - 6, anchor: "start", box: [ex + 4, ey - 18, w, 16] };
      return { d, label };
    });
    // the bounding box, then everything moved to start at the margin
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    const grow = (x, y, w, h) => { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + w); y1 = Math.max(y1, y + h); };
    for (const b of nodes) grow(b.x, b.y, b.w, b.h);
    paths.forEach((p, k) => {
      if (edges[k].label) grow(...p.label.box);
    });
    if (!nodes.length) { x0 = y0 = 0; x1 = y1 = 1; }
    const dx = MARGIN - x0, dy = MARGIN - y0;
    return {
      dir,
      w: x1 - x0 + 2 * MARGIN,
      h: y1 - y0 + 2 * MARGIN,
      dx, dy, nodes, paths,
    };
  }

  // ---- the drawing ----------------------------------------------------------------------------
  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function prepare() {
    // what the drawing needs for this frame and pass: edges, ranks, box sizes in both styles
    const index = {};
    R.nodes.forEach((n, k) => { index[n.id] = k; });
    const edges = R.edges.filter((e) => e.from in index && e.to in index)
      .map((e) => ({ from: index[e.from], to: index[e.to], i: e.i, label: e.local, fromId: e.from, toId: e.to }));
    const sizes = { tall: boxes(false), compact: boxes(true) };
    return { sizes, edges, rank: ranks(R.nodes.length, edges), layouts: {} };
  }

  function paneSize() {
    const pane = $("graph");
    return [Math.max(1, pane.clientWidth), Math.max(1, pane.clientHeight)];
  }
  const fitScale = (L, W, H) => Math.min(W / L.w, H / L.h, FIT_MAX);

  const CHOICES = ["LR tall", "TB tall", "LR compact", "TB compact"];

  function choose(P) {
    // the drawing that reads largest in this pane: tall boxes unless compact ones read larger
    // by more than a tenth; at the largest zoom "fit" allows, the one that fills the pane most
    const [W, H] = paneSize();
    let best = null, bestScore = -1;
    for (const choice of CHOICES) {
      if (!P.layouts[choice]) {
        const [dir, style] = choice.split(" ");
        P.layouts[choice] = layout(P.sizes[style], P.edges, P.rank, dir);
        P.layouts[choice].style = style;
      }
      const L = P.layouts[choice], s = fitScale(L, W, H);
      const score = (s >= FIT_MAX ? FIT_MAX + (L.w * L.h * s * s) / (W * H) : s) / (L.style === "compact" ? 1.1 : 1);
      if (score > bestScore * 1.02) { best = choice; bestScore = score; }
    }
    return best;
  }

  function draw(P, choice) {
    const L = P.layouts[choice], dir = L.dir, sizes = P.sizes[L.style];
    const holder = $("frame" + frame);
    holder.textContent = "";
    const svg = el("svg", {
      class: "graphview",
      role: "group",
      "aria-label": "the graph of " + R.title + ": " + R.nodes.length + " values; click a value for its paths",
      preserveAspectRatio: "xMinYMin meet",
    }, holder);
    const defs = el("defs", {}, svg);
    for (const id of ["arrow", "arrowhot"]) {
      const m = el("marker", { id, viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "8", markerHeight: "8", markerUnits: "userSpaceOnUse", orient: "auto" }, defs);
      el("path", { d: "M0,0 L10,5 L0,10 z" }, m);
    }
    const root = el("g", { transform: "translate(" + L.dx.toFixed(1) + "," + L.dy.toFixed(1) + ")" }, svg);
    const edgeLayer = el("g", {}, root), labelLayer = el("g", {}, root), nodeLayer = el("g", {}, root);
    const edges = {};
    const constant = new Set(R.nodes.filter((n) => !n.tracked).map((n) => n.id));
    P.edges.forEach((e, k) => {
      // (an edge from a constant grey, as the pictures draw it: nothing flows there)
      const g = el("g", { class: constant.has(e.fromId) ? "edge constant" : "edge" }, edgeLayer);
      const path = el("path", { d: L.paths[k].d, "marker-end": "url(#arrow)" }, g);
      let label = null;
      if (e.label) {
        const at = L.paths[k].label, [bx, by, bw, bh] = at.box;
        el("rect", { class: "labelbg", x: (bx - 2).toFixed(1), y: (by + 1).toFixed(1), width: (bw + 4).toFixed(1), height: (bh - 1).toFixed(1), rx: "3" }, labelLayer);
        label = el("text", { x: at.x.toFixed(1), y: at.y.toFixed(1), "text-anchor": at.anchor, class: "label" }, labelLayer);
        label.textContent = e.label;
      }
      const key = e.fromId + ">" + e.toId;
      (edges[key] = edges[key] || []).push({ g, path, label });
    });
    const items = {};
    R.nodes.forEach((n, k) => {
      const b = L.nodes[k], size = sizes[k];
      const cls = ["node", n.leaf ? "leaf" : "", n.id === R.root ? "root" : ""].filter(Boolean).join(" ");
      const g = el("g", { class: cls + (n.layer ? " layer" : ""), transform: "translate(" + b.x.toFixed(1) + "," + b.y.toFixed(1) + ")", tabindex: "0", role: "button", "aria-label": n.name, "data-id": n.id }, nodeLayer);
      el("rect", { class: "box", width: b.w.toFixed(1), height: b.h.toFixed(1), rx: "4" }, g);
      const texts = {}, room = {};
      size.rows.forEach((row, j) => {
        let x = PAD;
        row.forEach((c, i) => {
          const t = el("text", { class: c.cls, x: String(x), y: String(PAD / 2 + 12 + j * LINE) }, g);
          t.textContent = c.cls === "grad" ? "grad " + DOT : c.cls === "engine" ? "" : c.text;
          texts[c.cls] = t;
          room[c.cls] = i + 1 < row.length ? c.w : b.w - PAD - x;
          x += c.w + CELL_GAP;
        });
      });
      const opens = ALL.training && (n.layer ? grain === "layer" && views().neuron : n.params && R === views().neuron && views().full);
      const open = () => (!opens ? select(n.id) : n.layer ? expandLayer(n.layer) : expandNeuron(n.name));
      g.addEventListener("click", () => { if (!suppressClick) open(); });
      g.addEventListener("keydown", (ev) => { if (ev.key === "Enter") open(); });
      if (opened && n.name.startsWith(opened + ".")) g.classList.add("opened");
      items[n.id] = { g, box: b, grad: texts.grad, engine: texts.engine, room };
    });
    drawing = { svg, P, choice, L, edges, items, lit: [] };
    listen(svg);
  }

  function relayout(refit) {
    if (!drawing) return;
    const choice = choose(drawing.P);
    if (choice !== drawing.choice) { draw(drawing.P, choice); render(); }
    if (refit) fit(); else setView(view.x, view.y, view.s);
  }

  // ---- the view: pan and zoom by the viewBox ----------------------------------------------------
  function setView(x, y, s) {
    const [W, H] = paneSize();
    view = Object.assign(view || {}, { x, y, s });
    drawing.svg.setAttribute("viewBox", [x, y, W / s, H / s].map((v) => v.toFixed(2)).join(" "));
  }
  function fit() {
    if (!drawing) return;
    const [W, H] = paneSize(), L = drawing.L, s = fitScale(L, W, H);
    setView((L.w - W / s) / 2, (L.h - H / s) / 2, s);
    view.fitted = true;
  }
  function closer(id) {
    // a graph too large to read at "fit" opens at a readable zoom on `id` (the root, where the
    // pass starts); the view follows the pass from there, and "fit" shows the whole graph
    const item = drawing && drawing.items[id];
    if (!item || !view || view.s >= READABLE) return;
    const [W, H] = paneSize(), L = drawing.L, b = item.box, w = W / READABLE, h = H / READABLE;
    // centred on it, but no farther out than the drawing's edge (the root is at one end)
    const within = (at, span, size) => (size > span ? Math.min(Math.max(at, 0), size - span) : (size - span) / 2);
    const x = within(b.x + L.dx + b.w / 2 - w / 2, w, L.w), y = within(b.y + L.dy + b.h / 2 - h / 2, h, L.h);
    setView(x, y, READABLE);
    view.fitted = false;
  }
  function zoomAt(px, py, factor) {
    if (!drawing || !view) return;
    const [W, H] = paneSize();
    const least = Math.min(0.5 * fitScale(drawing.L, W, H), 0.5);
    const s = Math.min(ZOOM_MAX, Math.max(least, view.s * factor));
    const gx = view.x + px / view.s, gy = view.y + py / view.s;
    setView(gx - px / s, gy - py / s, s);
    view.fitted = false;
  }
  function pan(dx, dy) {
    if (!drawing || !view) return;
    setView(view.x - dx / view.s, view.y - dy / view.s, view.s);
    view.fitted = false;
  }
  function follow(id) {
    // keep a node in view as the pass moves (only when zoomed in: at "fit" all is in view)
    const item = drawing && drawing.items[id];
    if (!item || !view) return;
    const [W, H] = paneSize(), L = drawing.L, b = item.box;
    const x = b.x + L.dx, y = b.y + L.dy, m = 12 / view.s;
    const inside = x - m >= view.x && y - m >= view.y && x + b.w + m <= view.x + W / view.s && y + b.h + m <= view.y + H / view.s;
    if (!inside) setView(x + b.w / 2 - W / (2 * view.s), y + b.h / 2 - H / (2 * view.s), view.s);
  }

  function listen(svg) {
    const pointers = new Map();
    let dragging = false, pinch = null;
    const spread = () => {
      const [a, b] = [...pointers.values()];
      return { d: Math.hypot(a.x - b.x, a.y - b.y), x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    };
    svg.addEventListener("pointerdown", (ev) => {
      if (ev.button > 0) return;
      pointers.set(ev.pointerId, { x: ev.clientX, y: ev.clientY, x0: ev.clientX, y0: ev.clientY });
      if (pointers.size === 2) pinch = spread();
    });
    svg.addEventListener("pointermove", (ev) => {
      const p = pointers.get(ev.pointerId);
      if (!p) return;
      if (pointers.size === 1) {
        if (!dragging && Math.hypot(ev.clientX - p.x0, ev.clientY - p.y0) < 5) return;
        if (!dragging) {
          dragging = true;
          svg.classList.add("dragging");
          try { svg.setPointerCapture(ev.pointerId); } catch (e) { /* (a pointer already gone) */ }
        }
        pan(ev.clientX - p.x, ev.clientY - p.y);
        p.x = ev.clientX; p.y = ev.clientY;
      } else if (pointers.size === 2 && pinch) {
        p.x = ev.clientX; p.y = ev.clientY;
        const now = spread(), r = svg.getBoundingClientRect();
        dragging = true;
        if (pinch.d > 0) zoomAt(now.x - r.left, now.y - r.top, now.d / pinch.d);
        pan(now.x - pinch.x, now.y - pinch.y);
        pinch = now;
      }
    });
    const end = (ev) => {
      if (!pointers.delete(ev.pointerId)) return;
      if (pointers.size < 2) pinch = null;
      if (pointers.size === 0 && dragging) {
        dragging = false;
        svg.classList.remove("dragging");
        suppressClick = true;
        setTimeout(() => { suppressClick = false; }, 0);
      }
    };
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
    svg.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const r = svg.getBoundingClientRect(), unit = ev.deltaMode === 1 ? 0.05 : ev.deltaMode === 2 ? 1 : 0.002;
      zoomAt(ev.clientX - r.left, ev.clientY - r.top, Math.exp(-ev.deltaY * unit));
    }, { passive: false });
  }
  const zoomCentre = (factor) => { const [W, H] = paneSize(); zoomAt(W / 2, H / 2, factor); };
  $("zoomin").onclick = () => zoomCentre(1.25);
  $("zoomout").onclick = () => zoomCentre(0.8);
  $("fit").onclick = () => relayout(true);
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => { if (view) relayout(view.fitted); }, 60);
  });

  // ---- loading a frame and a pass ---------------------------------------------------------------
  function load(f) {
    frame = Math.max(0, Math.min(ALL.frames.length - 1, f));
    const v = views();
    R = ($("expand").checked && v.full) || (grain === "neuron" && v.neuron) || v.layer;
    for (let k = 0; k < ALL.frames.length; k++) {
      $("frame" + k).hidden = k !== frame;
      if (k !== frame) $("frame" + k).textContent = "";
      $("extra" + k).hidden = k !== frame;
    }
    $("expandlabel").hidden = !v.full;
    if (ALL.training) trainingPanel(v);
    const replays = R.mistakes.overwrite.length > 0;
    $("pass").hidden = !replays;
    if (!replays) which = "true";
    $("pass").value = which;
    $("passnote").textContent = R.mistakesNote || "";
    steps = which === "true" ? R.steps : R.mistakes[which];
    last = steps.length;
    [firstTouch] = touches(steps);
    finalTrue = touches(R.steps)[1];
    truth = gradsAt(R.steps.length, R.steps);
    enginePass = which !== "true" && steps.length === R.steps.length; // step for step comparable
    $("scrub").max = String(last);
    $("frames").hidden = ALL.frames.length < 2;
    $("frame").textContent = ALL.training
      ? "optimizer step " + ALL.frames[frame].step + " of the run's " + ALL.training.run + " (recorded step " + (frame + 1) + " of " + ALL.frames.length + ")"
      : "optimizer step " + (frame + 1) + " of " + ALL.frames.length;
    $("title").textContent = "backprop of " + ALL.title + (ALL.frames.length > 1 ? ": " + R.title : "");
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
      tr.addEventListener("click", () => select(n.id));
      rows[n.id] = { tr, cell: tr.lastChild };
      body.appendChild(tr);
    }
    const P = prepare();
    draw(P, choose(P));
    fit();
    closer(R.root);
    selected = null;
    const first = R.nodes.find((n) => n.leaf && n.tracked);
    showPaths(R.opens && R.paths[R.opens] ? R.opens : first ? first.id : R.root);
  }

  // ---- a training page: the traced sample, the grain, the run's pictures and numbers ----------
  function views() {
    // the recordings of this frame (a training page: of the traced sample, by grain)
    const base = ALL.frames[frame];
    if (!ALL.training) return { layer: base, full: base.full };
    const samples = base.samples;
    if (!(traced in samples)) traced = String(ALL.training.default);
    return samples[traced];
  }
  function setGrain(g, layerName) {
    const end = at === last;
    grain = g;
    opened = layerName || "";
    if (g === "layer") $("expand").checked = false;
    load(frame);
    go(end ? last : 0);
    if (opened) focusOpened();
  }
  function focusOpened() {
    // the view closer on what was opened (a layer's neurons, a neuron's weights), if the
    // whole graph at "fit" shows them smaller
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const n of R.nodes) {
      const item = drawing.items[n.id];
      if (!item || !n.name.startsWith(opened + ".")) continue;
      const b = item.box;
      x0 = Math.min(x0, b.x); y0 = Math.min(y0, b.y); x1 = Math.max(x1, b.x + b.w); y1 = Math.max(y1, b.y + b.h);
    }
    if (!Number.isFinite(x0)) return;
    const [W, H] = paneSize(), L = drawing.L, pad = 40;
    const s = Math.min(W / (x1 - x0 + 2 * pad), H / (y1 - y0 + 2 * pad), FIT_MAX);
    if (s <= fitScale(L, W, H) * 1.05) return;
    setView((x0 + x1) / 2 + L.dx - W / (2 * s), (y0 + y1) / 2 + L.dy - H / (2 * s), s);
    view.fitted = false;
  }
  function expandLayer(name) { setGrain("neuron", name); }
  function expandNeuron(name) {
    // a neuron opened into its weights: the view of every parameter, its own lit
    $("expand").checked = true;
    setGrain("neuron", name);
  }
  function trace(s) {
    const end = at === last;
    traced = String(s);
    load(frame);
    go(end ? last : 0);
  }
  // a training page's panels: page_training.js, put in place of the next line by page.py
  /* %TRAINING% */

  // ---- what is shown at a step --------------------------------------------------------------------
  const passName = () => (which === "overwrite" ? "mistake (= instead of +=): " : which === "recursive" ? "mistake (no topological order): " : "");
  function render() {
    const grads = gradsAt(at, steps);
    const engine = which === "true" ? null : enginePass ? gradsAt(at, R.steps) : truth;
    const compare = engine && !quiz && (enginePass || at === last);
    for (const n of R.nodes) {
      const on = reached(n.id, at);
      const shown = !n.tracked ? "constant" : on ? grads[n.id] : DOT;
      const wrong = Boolean(compare && on && n.tracked && shown !== engine[n.id]);
      const cell = rows[n.id].cell, said = shown + (wrong ? " (engine: " + engine[n.id] + ")" : "");
      if (cell.textContent !== said) cell.textContent = said;
      if (cell.className !== (wrong ? "wrong" : "")) cell.className = wrong ? "wrong" : "";
      const item = drawing.items[n.id];
      if (item && item.grad) {
        setText(item.grad, clip("grad " + shown), item.room.grad);
        item.g.classList.toggle("wrongnode", wrong);
        if (item.engine) setText(item.engine, wrong ? "engine: " + engine[n.id] : "", item.room.engine);
      }
    }
    for (const undo of drawing.lit.splice(0)) undo();
    $("scrub").value = String(at);
    const now = quiz ? (at < last ? steps[at] : null) : at > 0 ? steps[at - 1] : null;
    if (now) highlight(now);
    else if (!quiz && at === 0 && drawing.items[R.root]) light(drawing.items[R.root].g, "current");
    let where;
    if (!last) where = "nothing to step: " + R.title + " is a leaf (d " + R.title + "/d " + R.title + " = 1)";
    else if (at === last) where = "after step " + last + " of " + last + ": the finished pass";
    else if (quiz) where = "now: step " + (at + 1) + " of " + last + " (your turn)";
    else if (at === 0) where = "before step 1 of " + last + ": " + R.title + ".grad = 1";
    else where = "after step " + at + " of " + last;
    $("where").textContent = passName() + where;
    $("quiz").textContent = "";
    if (quiz && now && R.noQuiz) {
      $("step").textContent = now.text;
      $("quiz").textContent = R.noQuiz;
    } else if (quiz && now && !now.edges.length) {
      $("step").textContent = now.text;
      $("quiz").textContent = "(nothing to answer at this step: press next)";
    } else if (quiz && now) {
      $("step").textContent = now.head + "\n  your turn: each parent's grad after this step";
      askQuiz(now);
    } else if (now) {
      $("step").textContent = now.text;
    } else if (at === 0 && last) {
      $("step").textContent = "the pass starts at the root: " + R.title + ".grad = d " + R.title + "/d " + R.title + " = 1. Next: step 1.";
    } else {
      $("step").textContent = "done: every gradient is d " + R.title + "/d value";
      if (quiz && last) $("quiz").textContent = "the pass is finished: nothing is left to ask (the quiz asks step k + 1 at #step=k&mode=quiz; prev goes back)";
    }
    if (now) follow(now.node);
    showScore();
    if (selected) showPaths(selected);
    const state = "#step=" + (at === last ? "end" : at) + (quiz ? "&mode=quiz" : "") + (which !== "true" ? "&pass=" + which : "") + (ALL.frames.length > 1 ? "&frame=" + (frame + 1) : "") + (ALL.training ? "&sample=" + traced + (grain === "neuron" ? "&grain=neuron" + (opened ? "&layer=" + opened : "") : "") : "");
    try { history.replaceState(null, "", state); } catch (e) { /* (a page shown where the link cannot change) */ }
  }

  function setText(t, text, room) {
    // the text, squeezed to its box if the reader's font runs wider than the one measured
    if (t.textContent === text) return;
    t.textContent = text;
    t.removeAttribute("textLength");
    t.removeAttribute("lengthAdjust");
    if (text && measure(text) > room + 0.5) {
      t.setAttribute("textLength", room.toFixed(1));
      t.setAttribute("lengthAdjust", "spacingAndGlyphs");
    }
  }

  function light(element, cls) {
    // a highlight, undone at the next render (only what was lit is touched again)
    element.classList.add(cls);
    drawing.lit.push(() => element.classList.remove(cls));
  }
  function highlight(s) {
    const item = drawing.items[s.node];
    if (item) light(item.g, "current");
    const parents = new Set(s.edges.map((e) => e.parent));
    for (const id of Object.keys(s.grads)) parents.add(id);
    for (const id of parents) {
      if (drawing.items[id]) light(drawing.items[id].g, "reading");
      for (const e of drawing.edges[id + ">" + s.node] || []) {
        light(e.g, "hot");
        e.path.setAttribute("marker-end", "url(#arrowhot)");
        drawing.lit.push(() => e.path.setAttribute("marker-end", "url(#arrow)"));
        if (e.label) light(e.label, "hot");
      }
    }
  }

  // ---- paths (the sum over paths of one gradient) -------------------------------------------------
  function select(id) {
    if (drawing && drawing.items[selected]) drawing.items[selected].g.classList.remove("selected");
    if (rows[selected]) rows[selected].tr.classList.remove("selected");
    selected = id;
    if (drawing && drawing.items[id]) drawing.items[id].g.classList.add("selected");
    if (rows[id]) rows[id].tr.classList.add("selected");
    showPaths(id);
  }
  function nameOf(id) {
    const node = R.nodes.find((n) => n.id === id);
    return node ? node.name : id;
  }
  function showPaths(id) {
    const name = nameOf(id);
    if (quiz && !(which === "true" ? (finalTrue[id] || 0) <= at : at === last)) {
      $("paths").textContent = "(in the quiz, the paths to " + name + " show once its gradient is final: " + (which === "true" ? "after step " + finalTrue[id] : "at the end of this pass") + ")";
      return;
    }
    const kept = Object.keys(R.paths).length;
    $("paths").textContent = R.paths[id] || "(the paths to " + name + " are not in this page: it keeps the explanations of " + kept + " of its " + R.nodes.length + " values, each a walk of the whole graph. In Python: root.explain(\"" + name + "\"))";
  }

  // ---- the quiz ------------------------------------------------------------------------------------
  const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
  const ACCEPTED = "a decimal (-0.5, .5, 1e-3), a fraction (1/2, -3/4), inf, -inf or nan";
  function parseAnswer(text) {
    // a number as a student writes it; anything else is null ("not a number"), never evaluated
    const t = text.trim().replace(/\u2212/g, "-");
    if (/^[+]?(inf|infinity)$/i.test(t)) return Infinity;
    if (/^-(inf|infinity)$/i.test(t)) return -Infinity;
    if (/^nan$/i.test(t)) return NaN;
    const parts = t.split("/");
    if (parts.length === 2) {
      const [a, b] = parts.map((p) => p.trim());
      if (!DECIMAL.test(a) || !DECIMAL.test(b) || Number(b) === 0) return null;
      return Number(a) / Number(b);
    }
    return parts.length === 1 && DECIMAL.test(t) ? Number(t) : null;
  }
  function close(v, target, e) {
    // right to the digits the page shows: each shown factor's rounding, and a thousandth
    const a = num(target);
    if (Number.isNaN(a)) return Number.isNaN(v);
    if (!Number.isFinite(a) || !Number.isFinite(v)) return v === a;
    const part = (key) => {
      const x = num(e[key]), s = Number(e.shown[key]);
      return Number.isFinite(x) && Number.isFinite(s) ? Math.abs(x - s) : 0;
    };
    const u = Math.abs(num(e.upstream)), l = Math.abs(num(e.local)), b = Math.abs(num(e.before));
    const scale = Math.abs(a) + (Number.isFinite(b) ? b : 0) + (Number.isFinite(u * l) ? u * l : 0);
    const slack = u * part("local") + l * part("upstream") + part("before") + part("after");
    return Math.abs(v - a) <= 1e-3 * scale + (Number.isFinite(slack) ? slack : 0) + 1e-12 * Math.abs(a);
  }
  function nudge(v, e, node) {
    // which factor is off, in words (no numbers: those come on a second miss or a reveal)
    const b = num(e.before), u = num(e.upstream), l = num(e.local), p = num(e.prior);
    const near = (x) => close(v, x, e);
    const x = e.name, d = "d" + node + "/d" + x;
    if (which === "overwrite" && b !== 0 && near(b + u * l))
      return "this pass is the bug: = puts " + node + ".grad * " + d + " in " + x + ".grad and drops what it held";
    if (which === "recursive" && num(e.engine) !== u && near(b + num(e.engine) * l))
      return "the bug passes on what " + node + " holds when it is reached, not its finished gradient: use " + node + ".grad as the bug has it now";
    if (which !== "overwrite" && b !== 0 && near(u * l)) {
      if (e.twice && b !== p) return "a missed path: " + node + " reads " + x + " twice, and this edge adds to what the other one put in " + x + ".grad";
      return "= for +=: " + x + ".grad already holds a gradient from another path; the chain rule adds to it";
    }
    if (e.twice && b !== p && near(p + u * l)) return "a missed path: " + node + " reads " + x + " twice, and this edge adds to what the other one put in " + x + ".grad";
    const base = which === "overwrite" ? 0 : b;
    if (near(base + u) || near(u)) return "the local derivative is off: multiply " + node + ".grad by " + d + ", the number on the edge " + x + " \u2192 " + node;
    if (near(base + u * num(e.data)) && num(e.data) !== l) return "the local derivative is off: " + d + " is the number on the edge " + x + " \u2192 " + node + ", not " + x + "'s own data";
    if (near(base + l) || near(l)) return "the upstream gradient is off: multiply " + d + " by " + node + ".grad, what the chain rule brought to " + node;
    if (near(-(base + u * l)) || near(base - u * l)) return "a sign is off: check the signs of " + node + ".grad and of " + d;
    return x + ".grad " + (which === "overwrite" ? "=" : "+=") + " " + node + ".grad * " + d + ", with the numbers on the page";
  }
  function nudgeEntry(v, e, node) {
    // one entry of a layer's W.grad or b.grad: the neuron grain's product inside S^T X
    const b = num(e.before), u = num(e.upstream), l = num(e.local), g = num(e.grad);
    const near = (x) => close(v, x, e);
    const x = e.name + ".grad" + e.entry, S = e.upstreamName, X = e.localName, bias = X === "1";
    const rule = x + " += " + (bias ? S + " (b's input is 1)" : S + " * " + X) + ", where S = " + node + ".grad * act'(z), entry by entry";
    if (!near(b + u * l) && (near(-(b + u * l)) || near(b - u * l))) return "a sign is off: check the signs of " + S + (bias ? "" : " and " + X);
    if (b !== 0 && near(u * l)) return "= for +=: " + x + " already holds what another node that reads it put there (the L2 penalty, in a loss with one); the chain rule adds to it";
    if (!bias && num(e.output) !== l && (near(b + u * num(e.output)) || near(u * num(e.output)))) return "use " + X + ", the input this weight multiplies, not " + node + "'s own output";
    if (g !== u && (near(b + g * l) || near(g * l))) return "S is " + node + ".grad times the activation's slope act'(z), entry by entry: use " + S + ", not " + node + ".grad alone";
    if (!bias && Math.abs(l) !== 1 && (near(b + u) || near(u))) return "multiply " + S + " by " + X + ", the input this weight multiplies";
    if (!bias && Math.abs(u) !== 1 && (near(b + l) || near(l))) return "multiply " + X + " by " + S + ", this neuron's entry of S";
    return rule;
  }
  function questionKey(k) {
    return [frame, traced, $("expand").checked && views().full ? "full" : R === views().neuron ? "neuron" : "", which, at, k].join("/");
  }
  function askQuiz(s) {
    const node = nameOf(s.node);
    s.edges.forEach((e, k) => {
      const key = questionKey(k);
      const explain = e.explain || lineOf(s, e, k);
      const line = document.createElement("div");
      const label = document.createElement("label");
      const entry = e.entry ? e.entry + (e.neuron ? " (" + e.neuron + ".grad at neuron grain)" : "") : "";
      label.textContent = e.name + ".grad" + entry + (e.twice ? " after operand " + e.operand : "") + " = ";
      const input = document.createElement("input");
      input.dataset.parent = e.parent;
      input.setAttribute("autocomplete", "off");
      label.appendChild(input);
      const check = document.createElement("button");
      check.textContent = "check";
      const reveal = document.createElement("button");
      reveal.textContent = "reveal";
      const said = document.createElement("span");
      said.className = "said";
      const st = answers.get(key);
      if (st) {
        input.value = st.value;
        said.className = "said " + st.cls;
        said.textContent = st.said;
      }
      const known = () => {
        // answered right or revealed: the graph shows that parent's grad after this edge, as
        // the pass would (a matrix's entry is asked alone: its box keeps the matrix's "·")
        const item = drawing.items[e.parent];
        if (e.entry || !e.shown) return;
        if (item && item.grad) setText(item.grad, clip("grad " + e.shown.after), item.room.grad);
        if (rows[e.parent]) rows[e.parent].cell.textContent = e.shown.after;
      };
      const tell = (cls, text) => {
        const state = answers.get(key);
        state.value = input.value;
        state.cls = cls;
        state.said = text;
        said.className = "said " + cls;
        said.textContent = text;
        if (cls === "right" || state.revealed) known();
        showScore();
      };
      if (st && (st.cls === "right" || st.revealed)) known(); // (the step drawn again)
      check.onclick = () => {
        const v = parseAnswer(input.value);
        if (v === null) {
          said.className = "said refused";
          said.textContent = "not a number (not counted): type " + ACCEPTED + (/^\s*-?\d*,\d+\s*$/.test(input.value) ? "; a point, not a comma, for decimals" : "");
          return;
        }
        if (!answers.has(key)) answers.set(key, { scored: false, right: false, tries: 0 });
        const state = answers.get(key);
        state.tries++;
        const ok = close(v, e.after, e);
        if (!state.scored) { state.scored = true; state.right = ok; }
        if (ok) tell("right", "right" + (state.right ? "" : " (the first answer counts: this question was missed)") + ": " + explain);
        else if (state.tries === 1 && !state.revealed) tell("wrong", "not quite: " + (e.entry ? nudgeEntry : nudge)(v, e, node));
        else tell("wrong", "not quite, the numbers: " + explain);
      };
      reveal.onclick = () => {
        if (!answers.has(key)) answers.set(key, { scored: false, right: false, tries: 0 });
        const state = answers.get(key);
        if (!state.scored) { state.scored = true; state.right = false; }
        state.revealed = true;
        input.value = e.shown.after;
        tell("", "revealed: " + explain);
      };
      input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") check.onclick(); });
      for (const x of [label, check, reveal, said]) line.appendChild(x);
      if (e.given) {
        const given = document.createElement("div");
        given.className = "given";
        given.textContent = "given: " + e.given;
        line.insertBefore(given, label);
      }
      $("quiz").appendChild(line);
    });
  }
  function lineOf(s, e, k) {
    // a question's own line of its step's text, where the recording leaves it there only (a
    // training page's, for size): the step's lines for this parent, in the order of its edges
    const lines = s.text.split("\n").map((l) => l.trim().split(/\s+/).join(" ")).filter((l) => l.startsWith(e.name + ".grad "));
    const before = s.edges.slice(0, k).filter((q) => q.name === e.name).length;
    return lines[before] || "";
  }
  function showScore() {
    let right = 0, scored = 0;
    for (const st of answers.values()) if (st.scored) { scored++; if (st.right) right++; }
    $("score").textContent = quiz || scored ? "score: " + right + " of " + scored + " (one point a question: the first answer counts, a reveal counts as missed)" : "";
  }

  // ---- controls ------------------------------------------------------------------------------------
  function go(k) {
    if (!R) return;
    at = Math.max(0, Math.min(last, k));
    render();
  }
  function play() {
    if (timer) { clearInterval(timer); timer = null; $("play").textContent = "\u25B6 play"; return; }
    if (at === last) go(0);
    $("play").textContent = "\u23F8 pause";
    timer = setInterval(() => { if (at >= last) play(); else go(at + 1); }, Number($("speed").value));
  }
  const reload = (f) => {
    if (!R) return;
    load(f === undefined ? frame : f);
    go(Math.min(at, last));
  };
  $("next").onclick = () => go(at + 1);
  $("prev").onclick = () => go(at - 1);
  $("reset").onclick = () => go(0);
  $("play").onclick = play;
  $("scrub").oninput = () => go(Number($("scrub").value));
  $("quizmode").onchange = () => { quiz = $("quizmode").checked; if (R) render(); };
  $("pass").onchange = () => { which = $("pass").value; reload(); };
  $("expand").onchange = () => reload();
  $("prevframe").onclick = () => reload(frame - 1);
  $("nextframe").onclick = () => reload(frame + 1);
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    if ((t.tagName === "INPUT" && t.type !== "range" && t.type !== "checkbox") || t.tagName === "SELECT" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "ArrowRight") go(at + 1);
    else if (ev.key === "ArrowLeft") go(at - 1);
    else if (ev.key === " ") { ev.preventDefault(); play(); }
    else if (ev.key === "Home") go(0);
    else if (ev.key === "End") go(last);
    else if (ev.key === "+" || ev.key === "=") zoomCentre(1.25);
    else if (ev.key === "-" || ev.key === "_") zoomCentre(0.8);
    else if (ev.key === "0") relayout(true);
  });
  function fromLink() {
    // the state the link names (what it leaves out: as a fresh page has it)
    const state = {};
    for (const part of location.hash.replace(/^#/, "").split("&")) {
      const m = /^(step|mode|frame|pass|sample|grain|layer)=([A-Za-z0-9]{1,12})$/.exec(part);
      if (m) state[m[1]] = m[2];
    }
    which = state.pass === "overwrite" || state.pass === "recursive" ? state.pass : "true";
    frame = /^[0-9]+$/.test(state.frame || "") ? parseInt(state.frame, 10) - 1 : 0;
    quiz = state.mode === "quiz";
    $("quizmode").checked = quiz;
    if (ALL.training) {
      traced = /^[0-9]+$/.test(state.sample || "") && ALL.training.samples.includes(Number(state.sample)) ? state.sample : String(ALL.training.default);
      grain = state.grain === "neuron" ? "neuron" : "layer";
      opened = grain === "neuron" ? state.layer || "" : "";
    }
    load(frame);
    if (state.step === "end") at = last;
    else at = /^[0-9]+$/.test(state.step || "") ? Math.min(last, parseInt(state.step, 10)) : 0;
  }
  // a link changed in the address bar, or followed to this open page (the page's own steps
  // replace the link without this event)
  window.addEventListener("hashchange", () => {
    if (!ALL) return;
    if (timer) play(); // (stopped)
    fromLink();
    render();
  });
  const started = typeof DecompressionStream === "function"
    ? decode($("recording").textContent)
    : Promise.reject(new Error("no DecompressionStream"));
  started.then((all) => {
    ALL = all;
    fromLink();
    render();
    document.body.dataset.ready = "yes";
  }, (error) => {
    $("where").textContent = "This browser cannot open the page's recording (" + error.message + "): it needs Chrome 80, Firefox 113, Safari 16.4 or newer.";
    document.body.dataset.ready = "no";
  });
})();
