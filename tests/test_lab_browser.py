"""The live lab in headless Chromium (chromium, chromedriver and selenium; skipped without them
unless REQUIRE_BROWSER is set), against a server started here on 127.0.0.1 on a free port."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import headless_chromium

import nn
from autograd import Value, lab
from autograd.expression import parse


@pytest.fixture(scope="module")
def browser():
    driver = headless_chromium(1300, 900)
    yield driver
    driver.quit()


@pytest.fixture
def server():
    running = lab.serve("127.0.0.1", 0)
    yield running
    running.stop()


def wait_for(condition, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if condition():
                return True
        except Exception:  # noqa: BLE001 (an element being redrawn)
            pass
        time.sleep(0.05)
    return condition()


def open_lab(browser, server):
    browser.get(server.url)
    assert wait_for(lambda: browser.execute_script("return document.body.dataset.ready") == "yes")
    return browser


def text(browser, id_):
    return browser.find_element("id", id_).text


def only_session(server):
    (session,) = server.sessions.values()
    return session


def severe_console_errors(browser):
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_the_page_loads_with_the_lab(browser, server):
    open_lab(browser, server)
    assert browser.title == "backprop lab"
    assert text(browser, "step-count") == "0"
    assert wait_for(lambda: text(browser, "points-count") == "100")
    assert not browser.find_element("id", "message").is_displayed()
    assert browser.find_element("id", "data").get_attribute("value") == "moons"
    assert severe_console_errors(browser) == []


def test_without_the_token_the_page_is_refused(browser, server):
    browser.get(f"http://127.0.0.1:{server.port}/")
    assert "403" in browser.find_element("tag name", "body").text
    assert "token" in browser.find_element("tag name", "body").text


def test_play_advances_the_steps_and_the_loss_falls_and_pause_stops_it(browser, server):
    open_lab(browser, server)
    browser.find_element("id", "play").click()
    assert wait_for(lambda: int(text(browser, "step-count")) > 5)
    first_loss = float(text(browser, "loss-value"))
    assert wait_for(lambda: int(text(browser, "step-count")) > 200)
    assert wait_for(lambda: float(text(browser, "loss-value")) < first_loss)
    browser.find_element("id", "pause").click()
    assert wait_for(lambda: text(browser, "status") == "paused")
    stopped = int(text(browser, "step-count"))
    time.sleep(0.5)
    assert int(text(browser, "step-count")) == stopped == only_session(server).steps
    assert not only_session(server).running


def test_a_click_adds_a_point_of_the_chosen_class(browser, server):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import Select

    open_lab(browser, server)
    assert wait_for(lambda: text(browser, "points-count") == "100")
    Select(browser.find_element("id", "mode")).select_by_value("add:1")
    plot = browser.find_element("id", "plot")
    # 40 px right and 60 px up of the plot's centre
    ActionChains(browser).move_to_element_with_offset(plot, 40, -60).click().perform()
    assert wait_for(lambda: text(browser, "points-count") == "101")
    session = only_session(server)
    x0, x1, y0, y1 = session.bounds
    width = plot.size["width"]
    x, y = session.X[-1]
    assert session.labels[-1] == 1
    assert x == pytest.approx((x0 + x1) / 2 + 40 / width * (x1 - x0), abs=2 * (x1 - x0) / width)
    assert y == pytest.approx((y0 + y1) / 2 + 60 / width * (y1 - y0), abs=2 * (y1 - y0) / width)


def test_the_traced_step_through_shows_backwards_grads(browser, server):
    from selenium.webdriver.support.ui import Select

    open_lab(browser, server)
    browser.find_element("id", "step").click()
    assert wait_for(lambda: text(browser, "step-count") == "1")
    Select(browser.find_element("id", "trace-grain")).select_by_value("neuron")
    browser.find_element("id", "trace-start").click()
    assert wait_for(lambda: text(browser, "trace-where").startswith("step 0 of "))
    browser.find_element("id", "trace-end").click()
    shown = browser.execute_script(
        "const rows = document.querySelectorAll('#trace-grads tbody tr');"
        "return Object.fromEntries([...rows].map((r) => [r.dataset.name, Number(r.dataset.grad)]));"
    )

    session = only_session(server)  # the same network and point, backward() here
    copy = nn.MLP.from_weights(
        session.model.weight_arrays(), session.model.bias_arrays(), session.model.activations
    )
    k = session.traced
    out = copy([Value(float(session.X[k, 0]), "x1"), Value(float(session.X[k, 1]), "x2")])
    loss_fn, _ = nn.losses.get_loss("hinge")
    loss_fn([out], np.where(session.labels[k : k + 1] > 0, 1.0, -1.0)).backward()
    (gW, gb) = lab.parameter_grads(copy)[0]
    expected = {}
    for layer, (gW, gb) in enumerate(lab.parameter_grads(copy), start=1):
        for j, row in enumerate(gW, start=1):
            expected.update({f"L{layer}.N{j}.w{i}": g for i, g in enumerate(row, start=1)})
        expected.update({f"L{layer}.N{j}.b": g for j, g in enumerate(gb, start=1)})
    assert {name: shown[name] for name in expected} == expected
    assert any(v != 0 for v in expected.values())
    assert browser.find_elements("css selector", "#trace-graph svg g.node")
    last = browser.execute_script("return lab.trace.steps[lab.trace.steps.length - 1].name")
    assert marked(browser, "trace-graph")["now"] == [last]  # a neuron of the first layer
    assert last.startswith("L1.N")
    row = browser.find_element("css selector", '#trace-grads tr[data-name="L1.N1.w1"]')
    browser.execute_script("arguments[0].scrollIntoView()", row)
    row.click()
    assert wait_for(lambda: text(browser, "trace-explain").startswith("d loss/d L1.N1.w1: "))


def test_a_slider_in_the_expression_lab_updates_the_grads_to_backwards(browser, server):
    from selenium.webdriver.common.keys import Keys

    open_lab(browser, server)
    browser.find_element("id", "tab-expression").click()
    assert wait_for(lambda: browser.find_element("id", "grad-w").get_attribute("data-value"))
    slider = browser.find_element("id", "slider-x")
    slider.send_keys(Keys.ARROW_RIGHT * 5)
    x = float(slider.get_attribute("value"))
    assert x == pytest.approx(1.05)
    values = {"x": x, "w": 1.0, "b": 1.0}
    root = parse("tanh(x*w + b)").evaluate(values)
    root.backward()
    expected = {leaf.label: leaf.grad for leaf in _leaves(root)}

    def shown():
        return {n: float(text_of(browser, f"grad-{n}")) for n in values}

    assert wait_for(lambda: shown() == expected), (shown(), expected)
    assert float(text(browser, "expr-value")) == pytest.approx(root.data, rel=1e-3)
    assert "/d x: the chain rule sums" in text(browser, "expr-explain")
    # step 1 is the root's node (v3 = tanh(v2)): marked in the picture, its parent v2 too
    browser.find_element("id", "expr-next").click()
    assert wait_for(lambda: marked(browser, "expr-graph") == {"now": ["v3"], "parent": ["v2"]})


def test_a_hostile_expression_shows_a_message_and_the_page_lives_on(browser, server):
    open_lab(browser, server)
    browser.find_element("id", "tab-expression").click()
    box = browser.find_element("id", "expr")
    box.clear()
    box.send_keys("__import__('os').system('ls')")
    assert wait_for(lambda: text(browser, "message").startswith("expression: "))
    box.clear()
    box.send_keys("x*y")
    assert wait_for(lambda: browser.find_elements("id", "grad-y"))
    assert wait_for(lambda: not browser.find_element("id", "message").is_displayed())
    value = browser.find_element("id", "box-x")
    value.clear()
    value.send_keys("two\n")
    assert wait_for(lambda: text(browser, "message") == "x must be a number, got 'two'")
    value.clear()
    value.send_keys("2\n")
    assert wait_for(lambda: text_of(browser, "grad-y") == "2")


def text_of(browser, id_):
    return browser.find_element("id", id_).get_attribute("data-value")


def _leaves(root):
    from autograd.graph import leaves

    return [leaf for leaf in leaves(root) if leaf.label in ("x", "w", "b")]


def test_a_stopped_server_is_said_in_the_page(browser, server):
    open_lab(browser, server)
    assert wait_for(lambda: text(browser, "status") in ("connected", "paused"))
    server.stop()
    assert wait_for(lambda: text(browser, "message").startswith("lost the connection"))
    assert wait_for(lambda: text(browser, "status") == "disconnected")


def test_the_settings_live_in_the_link(browser, server):
    fragment = "#data=spiral&hidden=8,4&activation=tanh&loss=cross_entropy&optimizer=adam&lr=0.01"
    browser.get(server.url + fragment + "&l2=0&seed=3")
    assert wait_for(lambda: browser.execute_script("return document.body.dataset.ready") == "yes")
    config = only_session(server).config
    assert config == {
        "data": "spiral",
        "hidden": [8, 4],
        "activation": "tanh",
        "loss": "cross_entropy",
        "optimizer": "adam",
        "lr": 0.01,
        "l2": 0.0,
        "seed": 3,
    }
    lr = browser.find_element("id", "lr")
    lr.clear()
    lr.send_keys("0.2\t")
    assert wait_for(lambda: "lr=0.2&" in browser.current_url)
    assert browser.current_url.split("#")[0] == server.url


def test_a_link_with_bad_settings_opens_the_default_lab_and_says_why(browser, server):
    browser.get(server.url + "#data=moons&hidden=999")
    assert wait_for(lambda: browser.execute_script("return document.body.dataset.ready") == "yes")
    assert "the link's settings were refused" in text(browser, "message")
    assert "1 to 32 neurons" in text(browser, "message")
    assert only_session(server).config == lab.DEMOS["moons"]


def marked(browser, graph):
    return browser.execute_script(
        "const box = document.getElementById(arguments[0]);"
        "const names = (c) => [...box.querySelectorAll('g.node.' + c)]"
        ".map((g) => g.querySelector('text').textContent);"
        "return {now: names('now'), parent: names('parent')};",
        graph,
    )


def test_a_picture_is_shown_with_nothing_active_left_in_it(browser, server):
    open_lab(browser, server)
    hostile = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        ' onload="window.hit = 1" width="10" height="10"><script>window.hit = 2</script>'
        '<g class="node" onclick="window.hit = 3"><text>x</text></g>'
        '<a xlink:href="javascript:window.hit = 4"><text>y</text></a>'
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">z</div></foreignObject></svg>'
    )
    left = browser.execute_script(
        "const box = document.getElementById('expr-graph');"
        "showSvg(box, arguments[0]);"
        "box.querySelector('g.node').dispatchEvent(new Event('click'));"
        "return [box.innerHTML, window.hit === undefined];",
        hostile,
    )
    html, untouched = left
    assert untouched
    for active in ("onload", "onclick", "<script", "javascript:", "foreignObject", "href"):
        assert active not in html
    assert "<text>x</text>" in html


def in_frame(browser, script, *args):
    """Run `script` in the lab's frame of the static page, then come back to the lab."""
    browser.switch_to.frame(browser.find_element("id", "trace-page"))
    try:
        return browser.execute_script(script, *args)
    finally:
        browser.switch_to.default_content()


def frame_ready(browser, title_part):
    return wait_for(
        lambda: in_frame(
            browser,
            "return document.body.dataset.ready === 'yes' && document.title.includes(arguments[0])",
            title_part,
        ),
        timeout=20,
    )


def grads_in_frame(browser):
    return in_frame(
        browser,
        "const out = {};"
        "for (const r of document.querySelectorAll('#grads tbody tr')) {"
        "  const c = r.querySelectorAll('td'); out[c[0].textContent] = c[2].textContent; }"
        "return out;",
    )


def shown_of(shown, wanted):
    return {name: shown.get(name) for name in wanted}


def test_the_traced_points_step_through_and_quiz_in_the_lab_at_both_grains(browser, server):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    from autograd.show import show

    browser.get("about:blank")  # (the last test's lab page stops polling its stopped server)
    browser.get_log("browser")  # (what earlier tests left in the log)
    open_lab(browser, server)
    browser.find_element("id", "step").click()
    assert wait_for(lambda: text(browser, "step-count") == "1")
    Select(browser.find_element("id", "trace-grain")).select_by_value("neuron")
    browser.find_element("id", "trace-page-open").click()  # one click: traced, its page shown
    assert wait_for(lambda: text(browser, "trace-where").startswith("step 0 of "))
    k = only_session(server).traced  # (the point the first network is least sure of)
    assert frame_ready(browser, f"point {k} at step 1 of the lab's moons, at neuron grain")
    # a sandboxed frame: its script runs, but it cannot reach the lab's page (nor its token)
    assert in_frame(browser, "return String(window.origin)") == "null"
    assert (
        in_frame(browser, "try { return parent.document.title; } catch (e) { return 'refused'; }")
        == "refused"
    )

    # The engine here: the same network (after one step) and point, its pass step by step
    session = only_session(server)
    model = session.model
    copy = nn.MLP.from_weights(model.weight_arrays(), model.bias_arrays(), model.activations)
    k = session.traced
    out = copy([Value(float(session.X[k, 0]), "x1"), Value(float(session.X[k, 1]), "x2")])
    loss_fn, _ = nn.losses.get_loss("hinge")
    loss = loss_fn([out], np.where(session.labels[k : k + 1] > 0, 1.0, -1.0))
    steps = list(loss.backward_steps())  # (runs the pass: every grad is set)
    first = next(e for e in steps[0].edges if not e.constant)

    # The quiz in the lab's frame: step 1's first question, answered with the engine's number
    browser.switch_to.frame(browser.find_element("id", "trace-page"))
    try:
        browser.find_element("id", "quizmode").click()
        assert wait_for(lambda: browser.find_elements("css selector", "#quiz > div"))
        question = browser.find_elements("css selector", "#quiz > div")[0]
        assert first.parent_name in question.text
        box = question.find_element("css selector", "input")
        box.send_keys(repr(first.grad_after))
        question.find_element("xpath", ".//button[text()='check']").click()
        said = question.find_element("css selector", ".said").text
        assert said.startswith("right"), said
        assert browser.find_element("id", "score").text.startswith("score: 1 of 1")
        # the whole pass, every parameter: the page's grads read back
        browser.find_element("id", "quizmode").click()
        browser.find_element("id", "expand").click()
        browser.find_element("tag name", "body").send_keys(Keys.END)
    finally:
        browser.switch_to.default_content()
    expected = {}
    for layer, (gW, gb) in enumerate(lab.parameter_grads(copy), start=1):
        for j, row in enumerate(gW, start=1):
            expected.update({f"L{layer}.N{j}.w{i}": g for i, g in enumerate(row, start=1)})
        expected.update({f"L{layer}.N{j}.b": g for j, g in enumerate(gb, start=1)})
    assert any(g != 0 for g in expected.values())
    want = {name: show(g) for name, g in expected.items()}
    assert wait_for(lambda: shown_of(grads_in_frame(browser), want) == want)

    # Layer grain: the same point, a box per layer, each expanding to its neurons
    Select(browser.find_element("id", "trace-grain")).select_by_value("layer")
    assert wait_for(
        lambda: len(browser.find_elements("css selector", "#trace-layers .layerbox")) == 3
    )
    boxes = browser.find_elements("css selector", "#trace-layers .layerbox")
    assert boxes[0].find_element("css selector", ".head").text == "L1 = relu(X L1.W^T + L1.b)"
    neurons = boxes[0].find_element("css selector", "table.neurons")
    assert not neurons.is_displayed()
    button = boxes[0].find_element("css selector", "button.expand")
    browser.execute_script("arguments[0].scrollIntoView()", button)
    button.click()
    assert neurons.is_displayed()
    rows = browser.execute_script(
        "return [...arguments[0].querySelectorAll('tr[data-name]')].map((r) =>"
        " [r.dataset.name, JSON.parse(r.cells[6].dataset.value)])",
        neurons,
    )
    assert len(rows) == 16
    for name, gw in rows:  # each neuron's weights' grads: the neuron grain's, to the last bits
        for i, g in enumerate(gw, start=1):
            assert g == pytest.approx(expected[f"{name}.w{i}"], rel=1e-12, abs=1e-15)
    # the frame follows the grain: the layer-grain page, its matrices as backward() has them
    assert frame_ready(browser, "at layer grain")
    in_frame(browser, "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'End'}))")
    layered = nn.MLP.from_weights(model.weight_arrays(), model.bias_arrays(), model.activations)
    X = np.array([[float(session.X[k, 0]), float(session.X[k, 1])]])
    loss_fn(layered(X), np.where(session.labels[k : k + 1] > 0, 1.0, -1.0)).backward()
    want = {
        "L1.W": show(layered.layers[0].W.grad),
        "L2.b": show(layered.layers[1].b.grad),
        "L3.W": show(layered.layers[2].W.grad),
    }
    assert wait_for(lambda: shown_of(grads_in_frame(browser), want) == want)
    # its quiz: at the last layer's step, one entry of L3.W.grad and of L3.b.grad is asked
    assert "answer one entry of each W.grad and b.grad" in text(browser, "trace-page-title")
    in_frame(browser, "document.getElementById('quizmode').click()")
    for key in ("Home", "ArrowRight"):  # step 1 (the loss's node) done: step 2 is L3's
        in_frame(browser, f"document.dispatchEvent(new KeyboardEvent('keydown', {{key: '{key}'}}))")
    asked = in_frame(
        browser, "return [...document.querySelectorAll('#quiz label')].map((l) => l.textContent)"
    )
    assert [a.split("[")[0] for a in asked] == ["L3.W.grad", "L3.b.grad"], asked
    assert asked[1] == "L3.b.grad[0] (L3.N1.b.grad at neuron grain) = "
    in_frame(browser, "document.getElementById('quizmode').click()")
    # another point traced: the pass shown is gone, and one click shows the new point's
    session.set_traced(3)
    assert wait_for(lambda: browser.execute_script("return lab.frame.traced === 3"))
    browser.find_element("id", "trace-page-open").click()
    assert frame_ready(browser, "point 3 at step 1 of the lab's moons, at layer grain")
    assert text(browser, "trace-point").startswith("point 3 at ")
    assert severe_console_errors(browser) == []


def test_the_traced_points_layer_grain_pass_follows_training_live(browser, server):
    open_lab(browser, server)
    # with nothing clicked, the traced point's graph at layer grain: a box per layer
    assert wait_for(
        lambda: len(browser.find_elements("css selector", "#trace-layers .layerbox")) == 3
    )
    browser.find_element("id", "play").click()
    seen = set()

    def followed():
        seen.add(browser.execute_script("return lab.trace && lab.trace.at_step"))
        return len(seen - {None, 0}) >= 3

    assert wait_for(followed)  # the pass of three steps or more, training on
    assert only_session(server).running
    browser.find_element("id", "pause").click()
    assert wait_for(lambda: text(browser, "status") == "paused")
    session = only_session(server)
    assert wait_for(lambda: browser.execute_script("return lab.trace.at_step") == session.steps)
    model = session.model  # the paused network: the sample's layer-grain backward() here
    copy = nn.MLP.from_weights(model.weight_arrays(), model.bias_arrays(), model.activations)
    k = session.traced
    loss_fn, _ = nn.losses.get_loss("hinge")
    X = session.X[k : k + 1]
    loss_fn(copy(X), np.where(session.labels[k : k + 1] > 0, 1.0, -1.0)).backward()
    shown = browser.execute_script(
        "const out = {};"
        "for (const tr of document.querySelectorAll('#trace-layers table.matrices tr'))"
        "  out[tr.dataset.name] = JSON.parse(tr.cells[2].dataset.value);"
        "return out;"
    )
    for k, layer in enumerate(copy.layers, start=1):
        np.testing.assert_allclose(shown[f"L{k}.W.grad"], layer.W.grad, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(shown[f"L{k}.W"], layer.W.data, rtol=0, atol=0)


def test_the_expressions_step_through_and_quiz_in_the_lab(browser, server):
    from autograd.show import show

    open_lab(browser, server)
    browser.find_element("id", "tab-expression").click()
    assert wait_for(lambda: browser.find_element("id", "grad-w").get_attribute("data-value"))
    browser.find_element("id", "expr-page-open").click()

    def ready():
        return browser.execute_script(
            "const f = document.getElementById('expr-page').contentDocument;"
            "return f === null ? 'sandboxed' : 'reachable'"
        )

    assert ready() == "sandboxed"  # the lab cannot reach into it, nor it into the lab
    browser.switch_to.frame(browser.find_element("id", "expr-page"))
    try:
        assert wait_for(
            lambda: browser.execute_script("return document.body.dataset.ready") == "yes"
        )
        root = parse("tanh(x*w + b)").evaluate({"x": 1.0, "w": 1.0, "b": 1.0})
        steps = list(root.backward_steps())
        browser.find_element("id", "quizmode").click()
        question = browser.find_elements("css selector", "#quiz > div")[0]
        box = question.find_element("css selector", "input")
        box.send_keys(repr(steps[0].edges[0].grad_after))
        question.find_element("xpath", ".//button[text()='check']").click()
        assert question.find_element("css selector", ".said").text.startswith("right")
        browser.find_element("id", "quizmode").click()
        browser.execute_script("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'End'}))")
        shown = browser.execute_script(
            "const out = {};"
            "for (const r of document.querySelectorAll('#grads tbody tr')) {"
            "  const c = r.querySelectorAll('td'); out[c[0].textContent] = c[2].textContent; }"
            "return out;"
        )
    finally:
        browser.switch_to.default_content()
    assert {n: shown[n] for n in ("x", "w", "b")} == {
        leaf.label: show(leaf.grad) for leaf in _leaves(root)
    }


def test_the_speed_menu_sets_the_labs_speed(browser, server):
    from selenium.webdriver.support.ui import Select

    open_lab(browser, server)
    assert (
        Select(browser.find_element("id", "speed")).first_selected_option.get_attribute("value")
        == only_session(server).speed
        == "normal"
    )
    Select(browser.find_element("id", "speed")).select_by_value("slow")
    assert wait_for(lambda: only_session(server).speed == "slow")
