"""The page's drawing, read at any size: it fills its pane (text at least 12 px at "fit" for a
neuron, wide and on a 400 px phone, and for a ~30-value network at 1280x800), zoom and pan
change the view and "fit" brings it back, the current value stays in view as the pass moves,
a whole box takes a click, and every text fits its box (the mistakes' passes too)."""

from __future__ import annotations

import pytest
import test_page
from test_page import NARROW, WIDE, neuron, open_page, text, viewport

import autograd
from autograd import Value

# The drawing's geometry as the reader sees it: the pane, the drawing's bounding box, and the
# smallest text on screen (its font size times the zoom the SVG is drawn at).
GEOMETRY = """
const pane = document.getElementById('graph').getBoundingClientRect();
const svg = document.querySelector('#graph svg');
const drawn = svg.querySelector('g').getBoundingClientRect();
let smallest = Infinity;
for (const t of svg.querySelectorAll('text')) {
  if (!t.textContent) continue;
  smallest = Math.min(smallest, parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a);
}
const side = document.getElementById('side').getBoundingClientRect();
return {pane: [pane.left, pane.top, pane.width, pane.height],
        drawn: [drawn.left, drawn.top, drawn.width, drawn.height],
        side: [side.left, side.top], smallest, viewBox: svg.getAttribute('viewBox')};
"""

browser = test_page.browser  # (a fixture: one browser for this module)


def network():
    """A two-input, two-hidden-neuron network and its squared loss at neuron grain: 29 values."""
    x = [Value(0.5, "x1"), Value(-1.5, "x2")]
    weights = iter([0.69, 0.52, -0.16, -0.48, 0.02, -0.19])
    hidden = []
    for j in (1, 2):
        total = x[0] * Value(next(weights), f"L1.N{j}.w1")
        total = total + x[1] * Value(next(weights), f"L1.N{j}.w2")
        h = (total + Value(0.1, f"L1.N{j}.b")).tanh()
        h.label = f"L1.N{j}"
        hidden.append(h)
    total = hidden[0] * Value(next(weights), "L2.N1.w1") + hidden[1] * Value(0.3, "L2.N1.w2")
    out = (total + Value(-0.2, "L2.N1.b")).tanh()
    out.label = "o"
    loss = (out - Value(1.0, "y")) ** 2
    loss.label = "loss"
    return loss


def geometry(browser) -> dict:
    return browser.execute_script(GEOMETRY)


@pytest.fixture
def wide(browser):
    viewport(browser, *WIDE)
    yield browser
    viewport(browser, *WIDE)


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["1280x800", "400x850"])
def test_a_neuron_fills_its_pane_and_reads_at_12px_at_fit(browser, tmp_path, size):
    path = autograd.page(neuron()[3]).save(tmp_path / "neuron.html")
    viewport(browser, *size)
    try:
        g = geometry(open_page(browser, path, "#step=1"))
    finally:
        viewport(browser, *WIDE)
    _, _, pane_w, pane_h = g["pane"]
    _, _, w, h = g["drawn"]
    assert max(w / pane_w, h / pane_h) > 0.85  # fitted to the pane's width or height
    assert w * h > 0.5 * pane_w * pane_h  # and covering most of it
    assert g["smallest"] >= 12
    if size == NARROW:  # the graph stacked over the panel, the full width of the screen
        assert pane_w == NARROW[0] and g["side"][1] >= g["pane"][1] + pane_h - 1
        assert pane_h > 0.6 * NARROW[1]


def test_a_30_value_network_reads_at_12px_at_fit(wide, tmp_path):
    loss = network()
    assert len(autograd.topological_order(loss)) == 29
    path = autograd.page(loss).save(tmp_path / "network.html")
    g = geometry(open_page(wide, path))
    assert g["smallest"] >= 12


def test_a_network_at_layer_grain_reads_at_12px_at_fit(wide, tmp_path):
    import numpy as np

    import nn

    model = nn.MLP(2, [16, 16, 1], seed=1)  # the moons demo's network: 12 values at layer grain
    out = model(Value(np.array([[0.98, -0.07]]), "x", requires_grad=False))
    loss = nn.losses.hinge(out, np.array([-1.0]))
    assert len(autograd.topological_order(loss)) == 12
    path = autograd.page(loss).save(tmp_path / "layers.html")
    g = geometry(open_page(wide, path))
    assert g["smallest"] >= 12


def view(browser) -> list[float]:
    return [float(v) for v in geometry(browser)["viewBox"].split()]


def test_zoom_and_pan_change_the_view_and_fit_brings_it_back(wide, tmp_path):
    from selenium.webdriver import ActionChains
    from selenium.webdriver.common.actions.wheel_input import ScrollOrigin

    path = autograd.page(network()).save(tmp_path / "network.html")
    open_page(wide, path)
    fitted = view(wide)
    wide.find_element("id", "zoomin").click()
    zoomed = view(wide)
    assert zoomed[2] == pytest.approx(fitted[2] / 1.25, rel=1e-3)  # the buttons zoom
    wide.find_element("id", "zoomout").click()
    assert view(wide)[2] == pytest.approx(fitted[2], rel=1e-3)
    svg = wide.find_element("css selector", "#graph svg")
    origin = ScrollOrigin.from_element(svg, 0, 0)
    ActionChains(wide).scroll_from_origin(origin, 0, -300).perform()  # the wheel zooms in
    wheeled = view(wide)
    assert wheeled[2] < 0.8 * fitted[2]
    ActionChains(wide).move_to_element_with_offset(svg, 10, 10).click_and_hold().move_by_offset(
        80, 60
    ).release().perform()  # a drag pans, at the same zoom
    dragged = view(wide)
    assert dragged[2] == pytest.approx(wheeled[2], rel=1e-6)
    scale = geometry(wide)["pane"][2] / dragged[2]
    assert dragged[0] == pytest.approx(wheeled[0] - 80 / scale, abs=0.5)
    assert dragged[1] == pytest.approx(wheeled[1] - 60 / scale, abs=0.5)
    pinch = """
    const svg = document.querySelector('#graph svg'), r = svg.getBoundingClientRect();
    const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
    const send = (type, id, dx) => svg.dispatchEvent(new PointerEvent(type, {pointerId: id,
      pointerType: 'touch', isPrimary: id === 1, clientX: cx + dx, clientY: cy, bubbles: true}));
    send('pointerdown', 1, -20); send('pointerdown', 2, 20);
    for (let k = 1; k <= 5; k++) {
      send('pointermove', 1, -20 - 8 * k); send('pointermove', 2, 20 + 8 * k);
    }
    send('pointerup', 1, -60); send('pointerup', 2, 60);
    """
    wide.execute_script(pinch)  # two fingers apart: about three times as close
    pinched = view(wide)
    assert pinched[2] == pytest.approx(dragged[2] / 3, rel=0.05)
    wide.find_element("id", "fit").click()
    assert view(wide) == pytest.approx(fitted, abs=0.05)
    assert text(wide, "where").startswith("before step 1")  # no click reached a value: no step


def test_the_current_value_stays_in_view_as_the_pass_moves(wide, tmp_path):
    from selenium.webdriver.common.keys import Keys

    path = autograd.page(network()).save(tmp_path / "network.html")
    open_page(wide, path)
    for _ in range(6):
        wide.find_element("id", "zoomin").click()  # about 4x: most of the graph out of view
    body = wide.find_element("tag name", "body")
    inside = """
    const pane = document.getElementById('graph').getBoundingClientRect();
    const box = document.querySelector('#graph .node.current .box').getBoundingClientRect();
    return box.left >= pane.left && box.top >= pane.top && box.right <= pane.right
      && box.bottom <= pane.bottom;
    """
    moved = set()
    for _ in range(17):
        body.send_keys(Keys.ARROW_RIGHT)
        assert wide.execute_script(inside)
        moved.add(tuple(view(wide)[:2]))
    assert len(moved) > 3  # the view followed the pass


def test_a_graph_too_large_to_read_at_fit_opens_readable_on_the_root(wide, tmp_path):
    """About 300 values (a GPT head's size): at "fit" its text would be a few pixels high, so
    the page opens at a readable zoom on the root, the pass's first node, and follows the
    pass from there; "fit" still shows the whole graph."""
    from selenium.webdriver.common.keys import Keys

    xs = [Value(0.01 * k, f"x{k}") for k in range(100)]
    loss = autograd.sum([(x * x).tanh() for x in xs])  # 301 values
    loss.label = "loss"
    path = autograd.page(loss).save(tmp_path / "big.html")
    g = geometry(open_page(wide, path))
    assert g["smallest"] >= 9  # readable, where "fit" would draw it at a few pixels
    inside = """
    const pane = document.getElementById('graph').getBoundingClientRect();
    const box = document.querySelector('#graph .node.current .box').getBoundingClientRect();
    return box.left >= pane.left && box.top >= pane.top && box.right <= pane.right
      && box.bottom <= pane.bottom;
    """
    assert wide.execute_script(inside)  # the root, lit as where the pass starts
    body = wide.find_element("tag name", "body")
    for _ in range(40):
        body.send_keys(Keys.ARROW_RIGHT)
        assert wide.execute_script(inside)
    wide.find_element("id", "fit").click()
    assert geometry(wide)["smallest"] < 9  # the whole graph, at "fit"


def test_a_whole_box_takes_a_click(wide, tmp_path):
    from selenium.webdriver import ActionChains

    x, w, b, out = neuron()
    path = autograd.page(out).save(tmp_path / "neuron.html")
    open_page(wide, path)
    for name in ("w", "v1", "b"):
        box = wide.find_element("css selector", f'#graph .node[aria-label="{name}"] .box')
        size = box.size
        # the box's bottom right corner: no text there, only the box's fill
        ActionChains(wide).move_to_element_with_offset(
            box, size["width"] / 2 - 4, size["height"] / 2 - 4
        ).click().perform()
        node = next(n for n in autograd.topological_order(out) if _name(out, n) == name)
        assert text(wide, "paths") == str(autograd.explain(out, node, max_paths=3))


def _name(root, node) -> str:
    return autograd.steps.node_names(root)[node]


ENGINE_LINES = "return [...document.querySelectorAll('#graph .engine')].map((t) => t.textContent)"


def test_every_text_fits_its_box_in_every_pass(wide, tmp_path):
    from selenium.webdriver.support.ui import Select

    from demos import mistakes

    path = autograd.page(mistakes.graph()[2]).save(tmp_path / "mistakes.html")
    open_page(wide, path)
    overflow = """
    const out = [];
    for (const g of document.querySelectorAll('#graph .node')) {
      const box = g.querySelector('.box').getBoundingClientRect();
      for (const t of g.querySelectorAll('text')) {
        const r = t.getBoundingClientRect();
        if (t.textContent && (r.left < box.left - 0.5 || r.right > box.right + 0.5))
          out.push(t.textContent);
      }
    }
    return out;
    """
    seen = set()
    for choice in ("true", "overwrite", "recursive"):
        Select(wide.find_element("id", "pass")).select_by_value(choice)
        last = int(wide.execute_script("return document.getElementById('scrub').max"))
        for k in range(last + 1):
            wide.execute_script(
                f"const s = document.getElementById('scrub'); s.value = {k};"
                "s.dispatchEvent(new Event('input'));"
            )
            assert wide.execute_script(overflow) == []
            seen.update(wide.execute_script(ENGINE_LINES))
    assert any(s.startswith("engine: ") for s in seen)  # the mistakes' boxes said what differs


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["1280x800", "400x850"])
def test_no_edge_label_lies_under_a_box(browser, tmp_path, size):
    """A layer-grain network's rules (`S^T 1 (2 = column sums of 1x2)`) are long: the gap
    between ranks makes room for every label stacked at a box, so none is drawn under one."""
    import numpy as np

    import nn

    model = nn.MLP(2, [2, 1], activation="tanh", seed=0)
    loss = nn.mse(model(np.array([[1.0, -2.0]])), np.array([0.5]))
    path = autograd.page(loss).save(tmp_path / "layers.html")
    viewport(browser, *size)
    try:
        open_page(browser, path, "#step=end")
        overlaps = browser.execute_script(
            """
            const boxes = [...document.querySelectorAll('#graph .node .box')]
              .map((b) => b.getBoundingClientRect());
            const out = [];
            for (const t of document.querySelectorAll('#graph text.label')) {
              if (!t.textContent) continue;
              const r = t.getBoundingClientRect();
              for (const b of boxes)
                if (r.left < b.right - 1 && b.left < r.right - 1 && r.top < b.bottom - 1
                    && b.top < r.bottom - 1) out.push(t.textContent);
            }
            return out;
            """
        )
    finally:
        viewport(browser, *WIDE)
    assert overlaps == []
