// The lab's page: every number it shows comes from the engine in the server's process.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const CLASS_COLOURS = ["#3b6fd4", "#e0603a", "#3aa55a", "#9c27b0", "#795548"];
const POSITIVE = [33, 102, 172], NEGATIVE = [178, 24, 43];
const $ = (id) => document.getElementById(id);

const lab = {
  session: null,
  frame: null,        // the newest frame shown
  points: null,       // {X, y}: frames leave them out when they have not changed
  dataVersion: -1,
  pending: null,      // the newest frame not yet drawn (older ones are dropped)
  trace: null,        // the traced sample's steps
  traceAt: 0,
  events: null,
  connected: false,   // the event stream is open
};

// ------------------------------------------------------------------------------------------
// Talking to the server: every error becomes a message in the page

function showMessage(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
}

function withToken(path, params) {
  const query = new URLSearchParams(Object.assign({ token: TOKEN }, params || {}));
  return path + "?" + query.toString();
}

async function api(path, body, keepMessage) {
  // keepMessage: a request the page makes by itself (the live pass) leaves the message shown
  let response;
  try {
    response = await fetch(withToken(path), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
  } catch (error) {
    showMessage("the lab server did not answer (is it still running?)");
    throw error;
  }
  let data;
  try {
    data = await response.json();
  } catch (error) {
    data = { error: "the server's answer was not JSON (status " + response.status + ")" };
  }
  if (!response.ok || data.error) {
    showMessage(data.error || "the server refused (status " + response.status + ")");
    throw new Error(data.error);
  }
  if (!keepMessage) showMessage("");
  return data;
}

function quietly(promise) {
  promise.catch(() => {});  // the message is already in the page
}

// ------------------------------------------------------------------------------------------
// Frames

function takeFrame(frame) {
  // Frames come from the event stream and from the answers to requests, so one may be older
  // than one already taken: its points are kept if they are the newest, the rest dropped.
  if (frame.points && frame.data_version >= lab.dataVersion) {
    lab.points = frame.points;
    lab.dataVersion = frame.data_version;
  }
  const newest = lab.pending || lab.frame;
  if (newest && frame.version < newest.version) return;
  if (!lab.pending) requestAnimationFrame(drawPending);
  lab.pending = frame;  // only the newest frame is drawn, at the browser's next paint
}

function drawPending() {
  const frame = lab.pending;
  lab.pending = null;
  if (!frame) return;
  lab.frame = frame;
  $("step-count").textContent = frame.step;
  $("loss-value").textContent = frame.loss === null ? "–" : show(frame.loss);
  $("accuracy").textContent = frame.accuracy === null ? "–" : (100 * frame.accuracy).toFixed(1) + "%";
  $("points-count").textContent = lab.points ? lab.points.y.length : 0;
  if (lab.connected) $("status").textContent = frame.running ? "training" : "paused";
  if (document.activeElement !== $("lr")) $("lr").value = frame.lr;
  if (frame.speed && document.activeElement !== $("speed")) $("speed").value = frame.speed;
  if (frame.message) showMessage(frame.message);
  configToLink(frame.config);
  setModes(frame.classes);
  drawPlot(frame);
  drawCurve(frame);
  drawWeights(frame);
  showTracedPoint(frame);
}

function show(x) {
  if (typeof x === "string") return x;  // inf, -inf, nan
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-3 ? x.toExponential(3) : x.toPrecision(4);
}

function openEvents() {
  if (lab.events) lab.events.close();
  const events = new EventSource(withToken("/api/events", { session: lab.session }));
  events.onmessage = (event) => takeFrame(JSON.parse(event.data));
  events.onerror = () => {
    lab.connected = false;
    $("status").textContent = "disconnected";
    showMessage(events.readyState === EventSource.CLOSED
      ? "lost the connection to the lab server: this lab was closed; reload the page"
      : "lost the connection to the lab server (was it stopped?); trying again…");
  };
  events.onopen = () => {
    lab.connected = true;
    $("status").textContent = "connected";
    if ($("message").textContent.startsWith("lost the connection")) showMessage("");
  };
  lab.events = events;
}

// ------------------------------------------------------------------------------------------
// The plot: decision boundary, points, the traced point

function plotScale(frame) {
  const canvas = $("plot");
  const [x0, x1, y0, y1] = frame.bounds;
  return {
    px: (x) => ((x - x0) / (x1 - x0)) * canvas.width,
    py: (y) => canvas.height - ((y - y0) / (y1 - y0)) * canvas.height,
    dataX: (px) => x0 + (px / canvas.width) * (x1 - x0),
    dataY: (py) => y0 + ((canvas.height - py) / canvas.height) * (y1 - y0),
    perPixel: (x1 - x0) / canvas.width,
  };
}

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const gridCanvas = document.createElement("canvas");

function drawPlot(frame) {
  const canvas = $("plot"), ctx = canvas.getContext("2d");
  const n = frame.grid.n;
  gridCanvas.width = gridCanvas.height = n;  // one pixel a cell, then stretched
  const grid = gridCanvas.getContext("2d"), image = grid.createImageData(n, n);
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      const cell = row * n + col;
      const rgb = hexToRgb(CLASS_COLOURS[frame.grid.cls[cell] % CLASS_COLOURS.length]);
      const alpha = 0.12 + 0.3 * frame.grid.conf[cell];
      const k = 4 * ((n - 1 - row) * n + col);  // grid rows go up in y
      for (let c = 0; c < 3; c++) image.data[k + c] = Math.round(255 * (1 - alpha) + rgb[c] * alpha);
      image.data[k + 3] = 255;
    }
  }
  grid.putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(gridCanvas, 0, 0, canvas.width, canvas.height);
  if (!lab.points) return;
  const s = plotScale(frame);
  lab.points.X.forEach(([x, y], k) => {
    ctx.beginPath();
    ctx.arc(s.px(x), s.py(y), 4, 0, 2 * Math.PI);
    ctx.fillStyle = CLASS_COLOURS[lab.points.y[k] % CLASS_COLOURS.length];
    ctx.fill();
    ctx.strokeStyle = "#222";
    ctx.lineWidth = 1;
    ctx.stroke();
  });
  if (frame.traced !== null && lab.points.X[frame.traced]) {
    const [x, y] = lab.points.X[frame.traced];
    ctx.beginPath();
    ctx.arc(s.px(x), s.py(y), 9, 0, 2 * Math.PI);
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 2.5;
    ctx.stroke();
  }
}

function drawCurve(frame) {
  const canvas = $("curve"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const losses = frame.losses.filter((v) => typeof v === "number");
  ctx.fillStyle = "#555";
  ctx.font = "11px sans-serif";
  ctx.fillText("loss per step", 6, 12);
  if (losses.length < 2) return;
  const top = Math.max(...losses), bottom = Math.min(0, ...losses);
  const w = canvas.width - 10, h = canvas.height - 24;
  ctx.beginPath();
  losses.forEach((v, k) => {
    const x = 5 + (k / (losses.length - 1)) * w;
    const y = 18 + h - ((v - bottom) / (top - bottom || 1)) * h;
    if (k === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.strokeStyle = "#d32f2f";
  ctx.lineWidth = 1.5;
  ctx.stroke();
  ctx.fillText(show(top), canvas.width - 60, 12);
}

// ------------------------------------------------------------------------------------------
// Weights and gradients, coloured by sign

function signColour(v, scale) {
  if (typeof v !== "number" || !scale) return "rgb(230,230,230)";
  const t = Math.min(1, Math.abs(v) / scale);
  const base = v >= 0 ? POSITIVE : NEGATIVE;
  return "rgb(" + base.map((c) => Math.round(255 - (255 - c) * t)).join(",") + ")";
}

function drawMatrix(canvas, W, b, cell) {
  const rows = W.length, cols = W[0].length + (b ? 1 : 0);
  const width = cols * cell + (b ? 3 : 0), height = rows * cell;
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, width, height);
  const all = W.flat().concat(b || []).filter((v) => typeof v === "number");
  const scale = all.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-12);
  W.forEach((row, j) => {
    row.forEach((v, i) => {
      ctx.fillStyle = signColour(v, scale);
      ctx.fillRect(i * cell, j * cell, cell - 1, cell - 1);
    });
    if (b) {
      ctx.fillStyle = signColour(b[j], scale);
      ctx.fillRect(W[0].length * cell + 3, j * cell, cell - 1, cell - 1);
    }
  });
  canvas.title = "largest |entry| " + show(scale);
}

function drawWeights(frame) {
  const box = $("weights");
  const shape = frame.layers.map((l) => l.W.length + "x" + l.W[0].length).join(",");
  if (box.dataset.shape !== shape) {  // new canvases only when the network changes
    box.textContent = "";
    frame.layers.forEach((layer, k) => {
      const div = document.createElement("div");
      div.className = "layer";
      const label = document.createElement("div");
      label.textContent = "L" + (k + 1) + ": " + layer.W.length + " neurons × " + layer.W[0].length + " inputs";
      div.appendChild(label);
      div.appendChild(document.createElement("canvas"));
      div.appendChild(document.createElement("canvas"));
      box.appendChild(div);
    });
    box.dataset.shape = shape;
  }
  frame.layers.forEach((layer, k) => {
    const [weights, grads] = box.children[k].querySelectorAll("canvas");
    const cell = Math.max(3, Math.min(10, Math.floor(160 / (layer.W[0].length + 1))));
    drawMatrix(weights, layer.W, layer.b, cell);
    drawMatrix(grads, layer.gW, layer.gb, cell);
  });
}

// ------------------------------------------------------------------------------------------
// Clicks on the plot: add, remove, trace

function setModes(classes) {
  const select = $("mode");
  if (select.dataset.classes === String(classes)) return;
  const chosen = select.value;
  select.textContent = "";
  const options = [];
  for (let c = 0; c < classes; c++) options.push(["add:" + c, "adds a point of class " + c]);
  options.push(["remove", "removes the point"], ["trace", "traces the point"]);
  for (const [value, text] of options) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = text;
    select.appendChild(option);
  }
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
  select.dataset.classes = String(classes);
}

function onPlotClick(event) {
  if (!lab.frame) return;
  const canvas = $("plot"), rect = canvas.getBoundingClientRect();
  const px = ((event.clientX - rect.left) / rect.width) * canvas.width;
  const py = ((event.clientY - rect.top) / rect.height) * canvas.height;
  const s = plotScale(lab.frame);
  const body = { session: lab.session, x: s.dataX(px), y: s.dataY(py) };
  const mode = $("mode").value;
  if (mode.startsWith("add:")) {
    body.op = "add";
    body.cls = Number(mode.slice(4));
  } else {
    body.op = mode;
    body.radius = 10 * s.perPixel;  // (a point within 10 pixels of the click)
  }
  quietly(api("/api/points", body).then((r) => takeFrame(r.frame)));
}

// ------------------------------------------------------------------------------------------
// The traced point's backward pass, step by step

function showTracedPoint(frame) {
  const k = frame.traced;
  $("trace-page-open").disabled = k === null;
  if (k === null || !lab.points || !lab.points.X[k]) {
    $("trace-point").textContent = "no point traced: choose 'traces the point' and click one";
    return;
  }
  const [x, y] = lab.points.X[k];
  $("trace-point").textContent = "point " + k + " at (" + show(x) + ", " + show(y) + "), class " + lab.points.y[k] +
    (lab.trace ? "; the steps below are of training step " + lab.trace.at_step : "");
}

async function startTrace() {
  await api("/api/control", { session: lab.session, action: "pause" }).then((r) => takeFrame(r.frame));
  const grain = $("trace-grain").value;
  lab.trace = await api("/api/trace", { session: lab.session, grain });
  $("trace-explain").hidden = true;
  lab.traceAt = 0;
  showSvg($("trace-graph"), lab.trace.svg);
  showLayers(lab.trace.layers);
  $("trace-note").textContent = "the sample's own loss (an L2 penalty does not depend on the sample and is left out); " +
    (grain === "layer"
      ? "a box per layer: its rule with the shapes that multiply; each layer's neurons below are a view of the same numbers"
      : "a box per neuron, its weights and bias folded in");
  const link = pageLink();
  $("trace-page-link").href = link;
  $("trace-page-link").hidden = false;
  setDownloads();
  if (!$("trace-page-box").hidden) openTracePage();  // (the page of the new pass)
  showTraceStep();
}

function pageLink() {
  // The static page of the pass just traced, made by the server (autograd.page) from the numbers
  // it traced; `pass` only names the pass, so a new one is loaded fresh.
  const trace = lab.trace;
  return withToken("/api/trace/page", {
    session: lab.session, grain: trace.grain, pass: trace.point + "-" + trace.at_step,
  });
}

function wantsLive() {
  // While training runs (and once more when it stops), the traced point's layer-grain pass
  // follows the newest step; a pass the student is stepping through is left alone.
  const frame = lab.frame, trace = lab.trace;
  if (!frame || !lab.session || frame.traced === null || live.busy) return false;
  if (!$("trace-live").checked || $("trace-grain").value !== "layer") return false;
  if (!trace) return true;
  if (!trace.live && !frame.running) return false;
  return trace.at_step !== frame.step || trace.point !== frame.traced || trace.grain !== "layer";
}

const live = { busy: false };

function liveTrace() {
  if (!wantsLive()) return;
  live.busy = true;
  api("/api/trace", { session: lab.session, grain: "layer", live: true }, true)
    .then((trace) => {
      if (lab.trace && !lab.trace.live && !lab.frame.running) return;  // a step-through began
      lab.trace = trace;
      lab.traceAt = trace.steps.length;  // the pass done: every grad
      showSvg($("trace-graph"), null);
      showLayers(trace.layers);
      $("trace-note").textContent = "live: the traced point's pass at the newest training step, a box per layer " +
        "(its neurons below are a view of the same numbers); pause and step through it for its steps, its picture and its page";
      showTraceStep();
    })
    .catch(() => {})
    .finally(() => { live.busy = false; });
}

function traceIsStale() {
  // The server keeps the numbers of the last step-through until the point, the data or the
  // network changes (frame.trace); the pass shown here is that one, or it is gone.
  const kept = lab.frame && lab.frame.trace, trace = lab.trace;
  return !trace || trace.live || !kept || kept.point !== trace.point || kept.step !== trace.at_step || kept.grain !== trace.grain;
}

async function openStepThrough() {
  // One click: the traced point's pass (traced again if the one shown is gone), its page shown.
  if (traceIsStale()) await startTrace();
  openTracePage();
}

function openTracePage() {
  if (!lab.trace) return;
  const trace = lab.trace;
  $("trace-page-title").textContent = "Point " + trace.point + "'s backward pass at training step " + trace.at_step +
    ", at " + trace.grain + " grain: step through it" +
    (trace.grain === "neuron" ? ", or tick quiz and answer each gradient" : ", or tick quiz and answer one entry of each W.grad and b.grad");
  $("trace-page-box").hidden = false;
  const link = new URL(pageLink(), location.href).href;
  if ($("trace-page").src !== link) $("trace-page").src = link;  // (not loaded twice)
}

function showNumbers(x) {
  // A number, or a matrix (nested lists) as its shape and rows.
  if (!Array.isArray(x)) return typeof x === "number" || typeof x === "string" ? show(x) : String(x);
  if (!Array.isArray(x[0])) return "[" + x.map(show).join(", ") + "]";
  return x.length + "x" + x[0].length + " [" + x.map((row) => "[" + row.map(show).join(", ") + "]").join(", ") + "]";
}

function matrixText(x) {
  // A matrix one row a line (a vector on one line).
  if (!Array.isArray(x)) return show(x);
  const rows = Array.isArray(x[0]) ? x : [x];
  return rows.map((row) => row.map((v) => show(v).padStart(10)).join(" ")).join("\n");
}

function shapeOf(x) {
  if (!Array.isArray(x)) return "1";
  return Array.isArray(x[0]) ? x.length + "x" + x[0].length : String(x.length);
}

function cell(tr, text, value) {
  const td = document.createElement("td");
  td.textContent = text;
  if (value !== undefined) td.dataset.value = JSON.stringify(value);  // the exact numbers sent
  tr.appendChild(td);
  return td;
}

function showLayers(layers) {
  // The layer-grain graph's layer nodes: the rule, the matrices with their shapes and numbers,
  // and a button that expands a layer into its neurons (the same numbers, one neuron a row).
  // The same layers again (a live pass) update their numbers in place: what is expanded stays.
  const box = $("trace-layers");
  box.hidden = !layers;
  if (!layers) { box.textContent = ""; box.dataset.shape = ""; return; }
  const shape = layers.map((l) => l.name + ":" + l.shape.join("x") + ":" + shapeOf(l.W)).join(",");
  if (box.dataset.shape !== shape) buildLayers(box, layers);
  box.dataset.shape = shape;
  layers.forEach((layer, k) => {
    const div = box.children[k];
    div.querySelector(".head").textContent = layer.head;
    const values = [layer.out, layer.grad, layer.W, layer.gW];
    if (layer.b !== null) values.push(layer.b, layer.gb);
    div.querySelectorAll("table.matrices tr").forEach((tr, r) => {
      setCell(tr.cells[2], matrixText(values[r]), values[r]);
    });
    div.querySelectorAll("table.neurons tr[data-name]").forEach((tr, j) => {
      const neuron = layer.neurons[j];
      setCell(tr.cells[1], show(neuron.out), neuron.out);
      setCell(tr.cells[2], show(neuron.grad), neuron.grad);
      setCell(tr.cells[3], neuron.b === null ? "–" : show(neuron.b), neuron.b);
      setCell(tr.cells[4], neuron.gb === null ? "–" : show(neuron.gb), neuron.gb);
      setCell(tr.cells[5], "[" + neuron.w.map(show).join(", ") + "]", neuron.w);
      setCell(tr.cells[6], "[" + neuron.gw.map(show).join(", ") + "]", neuron.gw);
    });
  });
}

function setCell(td, text, value) {
  td.textContent = text;
  td.dataset.value = JSON.stringify(value);  // the exact numbers sent
}

function buildLayers(box, layers) {
  box.textContent = "";
  for (const layer of layers) {
    const div = document.createElement("div");
    div.className = "layerbox";
    div.dataset.name = layer.name;
    const head = document.createElement("div");
    head.className = "head";
    div.appendChild(head);
    const table = document.createElement("table");
    table.className = "matrices";
    const rows = [
      [layer.name + " (its output)", layer.out],
      [layer.name + ".grad", layer.grad],
      [layer.name + ".W", layer.W],
      [layer.name + ".W.grad", layer.gW],
    ];
    if (layer.b !== null) rows.push([layer.name + ".b", layer.b], [layer.name + ".b.grad", layer.gb]);
    for (const [name, value] of rows) {
      const tr = document.createElement("tr");
      tr.dataset.name = name;
      cell(tr, name);
      cell(tr, shapeOf(value));
      cell(tr, "").className = "matrix";
      table.appendChild(tr);
    }
    div.appendChild(table);
    const expand = document.createElement("button");
    expand.className = "expand";
    const count = layer.neurons.length;
    expand.textContent = "▸ its " + count + " neurons";
    div.appendChild(expand);
    const neurons = document.createElement("table");
    neurons.className = "neurons";
    neurons.hidden = true;
    const header = document.createElement("tr");
    for (const title of ["neuron", "out", "grad", "b", "b.grad", "w", "w.grad"]) {
      const th = document.createElement("th");
      th.textContent = title;
      header.appendChild(th);
    }
    neurons.appendChild(header);
    for (const neuron of layer.neurons) {
      const tr = document.createElement("tr");
      tr.dataset.name = neuron.name;
      cell(tr, neuron.name);
      for (let c = 0; c < 6; c++) cell(tr, "");
      neurons.appendChild(tr);
    }
    div.appendChild(neurons);
    expand.addEventListener("click", () => {
      neurons.hidden = !neurons.hidden;
      expand.textContent = (neurons.hidden ? "▸ its " : "▾ its ") + count + " neurons";
    });
    box.appendChild(div);
  }
}

function showTraceStep() {
  const trace = lab.trace;
  if (!trace) return;
  const shown = trace.steps.slice(0, lab.traceAt);
  const grads = new Map();
  for (const step of shown) {
    for (const edge of step.edges) if (!edge.constant) grads.set(edge.parent, edge.grad_after);
  }
  const current = shown[shown.length - 1];
  $("trace-where").textContent = "step " + lab.traceAt + " of " + trace.total + (trace.cut ? " (the first " + trace.steps.length + " sent)" : "");
  markStep($("trace-graph"), current);
  for (const box of $("trace-layers").querySelectorAll(".layerbox")) {
    box.classList.toggle("now", Boolean(current) && box.dataset.name === current.name);
  }
  $("trace-text").textContent = current ? current.text : "loss = " + show(trace.loss) + ": press ▶ for the first step (the loss node's)";
  const touched = new Set(current ? current.edges.map((e) => e.parent) : []);
  const body = $("trace-grads").querySelector("tbody");
  body.textContent = "";
  for (const [name, grad] of grads) {
    const tr = document.createElement("tr");
    if (touched.has(name)) tr.className = "now";
    for (const text of [name, showNumbers(grad)]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    tr.dataset.name = name;
    tr.dataset.grad = Array.isArray(grad) ? JSON.stringify(grad) : String(grad);  // the exact numbers sent
    tr.addEventListener("click", () => explainTraced(name));
    body.appendChild(tr);
  }
}

function explainTraced(name) {
  const body = { session: lab.session, name };
  if (lab.trace) body.grain = lab.trace.grain;
  quietly(api("/api/explain", body).then((r) => {
    $("trace-explain").textContent = r.text;
    $("trace-explain").hidden = false;
  }));
}

function forgetTrace() {
  // The network changed: the pass shown (and its page) is of a network that is gone.
  lab.trace = null;
  $("trace-page-box").hidden = true;
  $("trace-page").removeAttribute("src");
  $("trace-page-link").hidden = true;
}

function moveTrace(delta) {
  if (!lab.trace) return;
  lab.traceAt = Math.max(0, Math.min(lab.trace.steps.length, lab.traceAt + delta));
  showTraceStep();
}

// ------------------------------------------------------------------------------------------
// Settings and controls

function fillSelect(id, names) {
  const select = $(id);
  select.textContent = "";
  for (const name of names) {
    const option = document.createElement("option");
    option.value = option.textContent = name;
    select.appendChild(option);
  }
}

function showConfig(config) {
  for (const key of ["data", "activation", "loss", "optimizer", "seed", "l2", "lr"]) $(key).value = config[key];
  $("hidden").value = config.hidden.join(",");
}

function readConfig() {
  return {
    data: $("data").value,
    hidden: $("hidden").value,
    activation: $("activation").value,
    loss: $("loss").value,
    optimizer: $("optimizer").value,
    lr: $("lr").value,
    l2: $("l2").value,
    seed: $("seed").value,
  };
}

function control(action) {
  quietly(api("/api/control", { session: lab.session, action }).then((r) => takeFrame(r.frame)));
}

function setDownloads() {
  for (const what of ["page", "model", "csv"]) {
    $("save-" + what).href = withToken("/api/download/" + what, { session: lab.session });
  }
  $("save-page").href = withToken("/api/download/page", { session: lab.session, grain: $("trace-grain").value });
}

// ------------------------------------------------------------------------------------------
// The expression lab

const expr = { busy: false, again: false, result: null, at: 0, values: {}, page: null };

function exprRequest() {
  if (expr.busy) { expr.again = true; return; }
  expr.busy = true;
  const body = { session: lab.session, text: $("expr").value, values: expr.values };
  api("/api/expression", body)
    .then(showExpression)
    .catch(() => {})
    .finally(() => {
      expr.busy = false;
      if (expr.again) { expr.again = false; exprRequest(); }
    });
}

function showExpression(result) {
  expr.result = result;
  $("expr-value").textContent = show(result.value);
  const body = $("vars").querySelector("tbody");
  const names = [...body.querySelectorAll("tr")].map((tr) => tr.dataset.name);
  if (names.join(",") !== result.variables.join(",")) {
    body.textContent = "";
    for (const name of result.variables) body.appendChild(variableRow(name, result.values[name]));
  }
  for (const name of result.variables) {
    $("grad-" + name).textContent = show(result.grads[name]);
    $("grad-" + name).dataset.value = String(result.grads[name]);  // the exact number sent
    if (!(name in expr.values)) expr.values[name] = result.values[name];  // (never older ones)
  }
  showSvg($("expr-graph"), result.svg);
  const graph = { session: lab.session, text: $("expr").value, values: JSON.stringify(result.values) };
  $("save-expression").href = withToken("/api/download/expression", graph);
  expr.page = withToken("/api/expression/page", graph);
  if (!$("expr-page-box").hidden) openExpressionPage();  // (the page follows the graph)
  const chosen = $("explain-var").value;
  fillSelect("explain-var", result.variables);
  if (result.variables.includes(chosen)) $("explain-var").value = chosen;
  showExplanation();
  $("expr-note").textContent = result.svg_note || (result.nodes + " values in the graph");
  expr.at = Math.min(expr.at, result.steps.length);
  showExprStep();
}

function openExpressionPage() {
  // The static page of the current graph (made by the server, autograd.page), in its frame.
  if (!expr.page) return;
  $("expr-page-title").textContent = "The step-through of " + $("expr").value + " at these values: tick quiz to answer each gradient";
  $("expr-page-box").hidden = false;
  const link = new URL(expr.page, location.href).href;
  if ($("expr-page").src !== link) $("expr-page").src = link;
}

function showSvg(box, svg) {
  // The server's picture, parsed as SVG and stripped of anything active (scripts, foreign
  // objects, event attributes, links out); the page's policy runs no inline script anyway.
  box.textContent = "";
  box.hidden = !svg;
  if (!svg) return;
  const parsed = new DOMParser().parseFromString(svg, "image/svg+xml").documentElement;
  if (parsed.nodeName !== "svg") return;
  for (const bad of parsed.querySelectorAll("script, foreignObject, iframe, a")) bad.remove();
  for (const element of [parsed, ...parsed.querySelectorAll("*")]) {
    for (const attribute of [...element.attributes]) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith("on") || name.endsWith("href")) element.removeAttribute(attribute.name);
    }
  }
  parsed.removeAttribute("width");
  parsed.removeAttribute("height");
  box.appendChild(document.importNode(parsed, true));
}

function markStep(box, step) {
  // The step's node in the picture (its first text is its name), and its parents shown there.
  const nodes = box.querySelectorAll("g.node");
  const parents = new Set(step ? step.edges.map((e) => e.parent) : []);
  for (const node of nodes) {
    const label = node.querySelector("text");
    const name = label ? label.textContent : "";
    node.classList.toggle("now", Boolean(step) && name === step.name);
    node.classList.toggle("parent", parents.has(name));
  }
}

function showExplanation() {
  const name = $("explain-var").value;
  $("expr-explain").textContent = expr.result && name ? expr.result.explanations[name] : "";
}

function variableRow(name, value) {
  const tr = document.createElement("tr");
  tr.dataset.name = name;
  const label = document.createElement("td");
  label.textContent = name;
  const slider = document.createElement("input");
  slider.type = "range";
  const reach = Math.max(5, Math.ceil(2 * Math.abs(Number(value)) || 0));
  slider.min = -reach; slider.max = reach; slider.step = 0.01;
  slider.value = value;
  slider.id = "slider-" + name;
  const box = document.createElement("input");
  box.type = "text";
  box.value = value;
  box.id = "box-" + name;
  const grad = document.createElement("td");
  grad.id = "grad-" + name;
  slider.addEventListener("input", () => {
    box.value = slider.value;
    expr.values[name] = Number(slider.value);
    exprRequest();
  });
  box.addEventListener("change", () => {
    expr.values[name] = box.value;  // the server says if it is not a number
    const number = Number(box.value);
    if (Number.isFinite(number)) {
      const reach = Math.ceil(2 * Math.abs(number));
      if (reach > Number(slider.max)) { slider.min = -reach; slider.max = reach; }
      slider.value = number;
    }
    exprRequest();
  });
  for (const element of [label, slider, box, grad]) {
    if (element.tagName === "TD") { tr.appendChild(element); continue; }
    const td = document.createElement("td");
    td.appendChild(element);
    tr.appendChild(td);
  }
  return tr;
}

function showExprStep() {
  const result = expr.result;
  if (!result) return;
  const step = result.steps[expr.at - 1];
  markStep($("expr-graph"), step);
  $("expr-where").textContent = "step " + expr.at + " of " + result.total;
  $("expr-step").textContent = step ? step.text : "out = " + show(result.value) + ": press ▶ for the first step";
}

// ------------------------------------------------------------------------------------------
// Start

function switchTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
  $("training").hidden = name !== "training";
  $("expression").hidden = name !== "expression";
  if (name === "expression" && !expr.result) exprRequest();
}

// The settings live in the link's fragment (#data=moons&hidden=16,16&...): a link opens the
// same lab (the token stays in the query, the fragment is never sent to a server).
const CONFIG_KEYS = ["data", "hidden", "activation", "loss", "optimizer", "lr", "l2", "seed"];

function configFromLink() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (!fragment.has("data")) return null;
  const config = {};
  for (const key of CONFIG_KEYS) if (fragment.has(key)) config[key] = fragment.get(key);
  return config;
}

function configToLink(config) {
  const fragment = new URLSearchParams();
  for (const key of CONFIG_KEYS) {
    fragment.set(key, Array.isArray(config[key]) ? config[key].join(",") : String(config[key]));
  }
  const text = fragment.toString();
  if (location.hash.slice(1) !== text) {
    history.replaceState(null, "", location.pathname + location.search + "#" + text);
  }
}

async function newSession() {
  const linked = configFromLink();
  if (linked) {
    try {
      return await api("/api/session", { config: linked });
    } catch (error) {
      // the message says what was wrong with the link's settings; open the default lab
      const message = $("message").textContent;
      const created = await api("/api/session", {});
      showMessage("the link's settings were refused: " + message);
      return created;
    }
  }
  const demo = new URLSearchParams(location.search).get("demo");
  return api("/api/session", demo ? { demo } : {});
}

async function start() {
  const created = await newSession();
  lab.session = created.session;
  const limits = created.limits;
  fillSelect("data", limits.datasets);
  fillSelect("activation", limits.activations);
  fillSelect("loss", limits.losses);
  fillSelect("optimizer", limits.optimizers);
  showConfig(created.frame.config);
  setDownloads();
  takeFrame(created.frame);
  openEvents();
  document.body.dataset.ready = "yes";
}

for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => switchTab(tab.dataset.tab));
$("play").addEventListener("click", () => control("play"));
$("pause").addEventListener("click", () => control("pause"));
$("step").addEventListener("click", () => control("step"));
$("reset").addEventListener("click", () => { forgetTrace(); control("reset"); });
$("apply").addEventListener("click", () => {
  forgetTrace();
  quietly(api("/api/config", { session: lab.session, config: readConfig() }).then((r) => takeFrame(r.frame)));
});
$("lr").addEventListener("change", () => {
  quietly(api("/api/lr", { session: lab.session, lr: $("lr").value }));
});
$("speed").addEventListener("change", () => {
  quietly(api("/api/speed", { session: lab.session, speed: $("speed").value }));
});
$("plot").addEventListener("click", onPlotClick);
$("trace-start").addEventListener("click", () => quietly(startTrace()));
$("trace-prev").addEventListener("click", () => moveTrace(-1));
$("trace-next").addEventListener("click", () => moveTrace(1));
$("trace-end").addEventListener("click", () => moveTrace(1e9));
$("trace-grain").addEventListener("change", () => {
  setDownloads();
  if (lab.trace && !lab.trace.live) {
    quietly(startTrace());  // the same point's step-through, at the other grain
  } else if (lab.trace) {
    // the live pass is at layer grain: at neuron grain, the step-through waits for a pause
    lab.trace = null;
    showLayers(null);
    $("trace-text").textContent = "";
    $("trace-grads").querySelector("tbody").textContent = "";
    $("trace-where").textContent = "";
    $("trace-note").textContent = "at neuron grain: press 'step through its backward pass' (it pauses training)";
  }
});
$("trace-page-open").addEventListener("click", () => quietly(openStepThrough()));
$("expr").addEventListener("input", () => exprRequest());
$("explain-var").addEventListener("change", showExplanation);
$("expr-page-open").addEventListener("click", openExpressionPage);
$("expr-prev").addEventListener("click", () => { expr.at = Math.max(0, expr.at - 1); showExprStep(); });
$("expr-next").addEventListener("click", () => {
  if (expr.result) expr.at = Math.min(expr.result.steps.length, expr.at + 1);
  showExprStep();
});
window.addEventListener("beforeunload", () => { if (lab.events) lab.events.close(); });
setInterval(liveTrace, 250);  // (one request at a time, at most 4 a second)
quietly(start());
