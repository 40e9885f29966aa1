  // ---- a training page's panels (page.py inserts this file into page.js's closure, for a
  // training run's page only): the run in words, the loss curve, the decision regions with the
  // traced samples to click, the choice of sample and grain, the parameter table by layer ----
  function add(parent, tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    parent.appendChild(e);
    return e;
  }
  function trainingPanel(v) {
    const T = ALL.training, F = ALL.frames[frame], box = $("training");
    box.hidden = false;
    box.textContent = "";
    add(box, "h2", "the run at optimizer step " + F.step + " of " + T.run);
    const pictures = add(box, "div", undefined, "pictures");
    lossChart(pictures, T, F);
    if (T.points && F.grid) boundary(pictures, T, F);
    // the traced sample
    const pick = add(box, "div", undefined, "samples");
    add(pick, "span", "traced sample: ");
    for (const s of T.samples) {
      const b = add(pick, "button", "sample " + s, "samplechoice");
      b.dataset.sample = String(s);
      b.setAttribute("aria-pressed", String(s) === traced ? "true" : "false");
      b.onclick = () => trace(s);
    }
    add(pick, "span", " (" + T.samplesNote + (T.points ? "; or click a circled point" : "") + ")", "note");
    // the grain
    const bar = add(box, "div", undefined, "grainbar");
    add(bar, "span", "view: ");
    for (const [g, label] of [["layer", "layers"], ["neuron", "neurons"]]) {
      const b = add(bar, "button", label);
      b.id = "grain" + g;
      const on = (g === "neuron") === (R === v.neuron || R === v.full);
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.disabled = g === "neuron" && !v.neuron;
      b.onclick = () => setGrain(g, "");
    }
    if (!v.neuron) add(bar, "span", " (this sample's neuron view is not kept at this step, to keep the page small: " + T.neuronsKept + ")", "note");
    else if (R === v.layer) add(bar, "span", " (click a layer's box to open it into its neurons)", "note");
    const about = add(box, "ul", undefined, "about");
    for (const line of T.about) add(about, "li", line);
    add(about, "li", "this step: learning rate " + F.lr + ", a batch of " + F.batch + ", batch loss " + F.loss + " before the step");
    paramTable(T, F);
  }
  function svgBox(parent, w, h, label) {
    const svg = el("svg", { viewBox: "0 0 " + w + " " + h, width: String(w), height: String(h), role: "img", "aria-label": label });
    parent.appendChild(svg);
    return svg;
  }
  function lossChart(parent, T, F) {
    const W = 192, H = 160, left = 52, right = 10, top = 10, bottom = 30;
    const values = T.historyValues.slice(0, F.step).map(num);
    const svg = svgBox(parent, W, H, "the batch loss at each step up to step " + F.step);
    svg.classList.add("losschart");
    const finite = values.filter(Number.isFinite);
    const all = T.historyValues.map(num).filter(Number.isFinite);
    if (!finite.length || !all.length) return;
    let lo = Math.min(...all), hi = Math.max(...all);
    if (hi === lo) hi = lo + 1;
    const n = T.historyValues.length;
    const x = (k) => left + (n > 1 ? (k / (n - 1)) * (W - left - right) : 0);
    const y = (v) => top + (1 - (v - lo) / (hi - lo)) * (H - top - bottom);
    el("rect", { x: String(left), y: String(top), width: String(W - left - right), height: String(H - top - bottom), class: "plotframe" }, svg);
    let d = "";
    values.forEach((v, k) => { if (Number.isFinite(v)) d += (d ? " L" : "M") + x(k).toFixed(1) + "," + y(v).toFixed(1); });
    el("path", { d, class: "curve" }, svg);
    for (const step of T.recorded) {
      if (step > F.step) continue;
      const v = num(T.historyValues[step - 1]);
      if (Number.isFinite(v)) el("circle", { cx: x(step - 1).toFixed(1), cy: y(v).toFixed(1), r: step === F.step ? "4.5" : "2.5", class: step === F.step ? "now" : "mark" }, svg);
    }
    const at = (text, px, py, anchor) => { const t = el("text", { x: String(px), y: String(py), "text-anchor": anchor }, svg); t.textContent = text; };
    const every = T.historyValues.map(num);
    at(T.history[every.indexOf(Math.max(...all))], left - 4, top + 10, "end");
    at(T.history[every.indexOf(Math.min(...all))], left - 4, H - bottom, "end");
    at("1", left, H - bottom + 14, "middle");
    at(String(n), W - right, H - bottom + 14, "middle");
    at("batch loss by step", (left + W - right) / 2, H - 4, "middle");
  }
  const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const REGIONS = ["#c6dbef", "#fcbba1", "#c7e9c0", "#dadaeb", "#fdd0a2", "#d9c3bc", "#f7c6e4", "#dddddd", "#ecedb0", "#bfeaf0"];
  function boundary(parent, T, F) {
    const P = T.points, size = 168, n = Math.round(Math.sqrt(F.grid.length));
    const svg = svgBox(parent, size, size, "the decision regions at step " + F.step + ", the traced sample circled; click a circled point to trace it");
    svg.classList.add("boundary");
    const cell = size / n;
    for (let r = 0; r < n; r++) {
      let c = 0;
      while (c < n) {
        const ch = F.grid[r * n + c];
        let e = c + 1;
        while (e < n && F.grid[r * n + e] === ch) e++;
        el("rect", { x: (c * cell).toFixed(2), y: (r * cell).toFixed(2), width: ((e - c) * cell + 0.5).toFixed(2), height: (cell + 0.5).toFixed(2), fill: REGIONS[parseInt(ch, 36) % REGIONS.length] }, svg);
        c = e;
      }
    }
    const [x0, y0, x1, y1] = P.box;
    const px = (x) => ((x - x0) / (x1 - x0)) * size, py = (y) => (1 - (y - y0) / (y1 - y0)) * size;
    P.xy.forEach(([a, b], k) => el("circle", { cx: px(a).toFixed(1), cy: py(b).toFixed(1), r: P.xy.length > 400 ? "1.4" : "2.2", fill: COLOURS[P.class[k] % COLOURS.length], class: "point" }, svg));
    for (const s of T.samples) {
      const [a, b] = P.xy[s];
      const on = String(s) === traced;
      const g = el("g", { class: "candidate" + (on ? " traced" : ""), "data-sample": String(s), role: "button", tabindex: "0", "aria-label": "sample " + s + (on ? " (traced)" : "") }, svg);
      el("circle", { cx: px(a).toFixed(1), cy: py(b).toFixed(1), r: on ? "8" : "6", class: "ring" }, g);
      el("circle", { cx: px(a).toFixed(1), cy: py(b).toFixed(1), r: "12", class: "hit" }, g);
      const t = el("text", { x: (px(a) + 10).toFixed(1), y: (py(b) - 8).toFixed(1) }, g);
      t.textContent = String(s);
      g.addEventListener("click", () => trace(s));
      g.addEventListener("keydown", (ev) => { if (ev.key === "Enter") trace(s); });
    }
  }
  const openLayers = new Set(); // the table's layers a reader opened stay open from step to step
  function paramTable(T, F) {
    const box = $("paramtable");
    box.hidden = false;
    box.textContent = "";
    add(box, "h2", "parameters at step " + F.step + " (folded by layer)");
    add(box, "p", "each parameter's value before the step, its gradient on the step's batch (the loss the optimizer minimizes, penalty included) and the update the optimizer made", "note");
    for (const group of T.layers) {
      const details = add(box, "details");
      details.dataset.layer = group.layer;
      add(details, "summary", group.layer + ": " + group.names.length + " parameters");
      const fill = () => {
        if (details.querySelector("table")) return;
        const table = add(details, "table", undefined, "params");
        const head = add(table, "tr");
        for (const h of ["parameter", "value", "grad (batch)", "update"]) add(head, "th", h);
        group.names.forEach((name, j) => {
          const k = group.start + j, tr = add(table, "tr");
          for (const text of [name, F.table[0][k], F.table[1][k], F.table[2][k]]) add(tr, "td", text);
        });
      };
      details.addEventListener("toggle", () => {
        if (details.open) { openLayers.add(group.layer); fill(); } else openLayers.delete(group.layer);
      });
      if (openLayers.has(group.layer)) { details.open = true; fill(); }
    }
  }
