"""A training page shows the run that happened: the demo's own optimizer (schedule, L2,
momentum, Adam's moments, mini-batches), its updates equal to the demo's own training step for
step; it opens at layer grain and a layer opens into its neurons (the same numbers as the
engine's); a click on a boundary point traces another sample, one that still has a loss."""

from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn
from autograd.show import show
from demos import common, deep, moons
from tests.test_page import browser, open_page, recording, severe, table, text  # noqa: F401


def moons_page(tmp_path, steps: int = 100):
    """The moons demo's page as the demo writes it (its optimizer, schedule and L2)."""
    X, labels = nn.data.moons(100, 0.1, seed=1337)
    y = labels * 2.0 - 1.0
    path = common.backprop_page(
        tmp_path / "moons" / "backprop.html",
        moons.make_model(1337),
        X,
        y,
        "hinge",
        1.0,
        0,
        run=steps,
        optimizer=lambda ps: nn.optim.SGD(
            ps, lr=1.0, lr_schedule=lambda k: moons.learning_rate(k, steps)
        ),
        loss_of=lambda m, Xb, yb: moons.engine_loss(m, common.batch(Xb), common.column(yb))[0],
        settings="loss: mean hinge + L2",
    )
    return path, X, y


def numbers(net):
    """Every parameter one number at a time, in the page's table order."""
    return [p for layer in net.layers for n in layer.neurons for p in n.parameters()]


def moons_twin(steps: int):
    """The moons demo's own training loop (demos.common.train's lines), step by step: yields
    (step, the numbers before it, the update it made, its lr, the net before the step)."""
    X, labels = nn.data.moons(100, 0.1, seed=1337)
    y = labels * 2.0 - 1.0
    net = moons.make_model(1337)
    inputs, targets = common.batch(X), common.column(y)
    optimizer = nn.optim.SGD(
        net.parameters(), lr=1.0, lr_schedule=lambda k: moons.learning_rate(k, steps)
    )
    for k in range(1, steps + 1):
        loss, _ = moons.engine_loss(net, inputs, targets)
        optimizer.zero_grad()
        loss.backward()
        before = np.array([p.data for p in numbers(net)])
        snapshot = [p.data for p in net.parameters()]
        optimizer.step()
        yield k, before, np.array([p.data for p in numbers(net)]) - before, optimizer.lr, snapshot


def test_the_recorded_updates_are_the_demos_own_optimizers_step_for_step(browser, tmp_path):  # noqa: F811
    from selenium.webdriver.support.ui import WebDriverWait

    from demos.moons import make_model

    path, X, y = moons_page(tmp_path)
    page_text = path.read_text()
    data = recording(page_text)
    training = data["training"]
    recorded = training["recorded"]
    assert recorded[0] == 1 and recorded[-1] == 100 and len(recorded) == 5  # across the run
    about = " ".join(training["about"])
    assert "SGD(lr 1, a learning-rate schedule" in about and "L2" in about  # said on the page
    assert "every step sees all 100 samples" in about
    twin = {k: (before, update, lr) for k, before, update, lr, _ in moons_twin(100)}
    names = [p.label for p in numbers(make_model(1337))]
    open_page(browser, path, "#step=end")
    for j, step in enumerate(recorded):
        before, update, lr = twin[step]
        frame = data["frames"][j]
        assert frame["step"] == step and frame["lr"] == f"{lr:.4g}"  # the schedule's lr
        assert [float(v) for v in frame["table"][0]] == pytest.approx(before, rel=1e-5)
        assert [float(u) for u in frame["table"][2]] == pytest.approx(update, rel=1e-5, abs=1e-12)
        # the page, as a student reads it: the table of layer L3, opened
        assert text(browser, "frame").startswith(f"optimizer step {step} of the run's 100")
        if j == 0:  # (opened once, it stays open from step to step)
            summary = "#paramtable details[data-layer=L3] summary"
            browser.find_element("css selector", summary).click()
        assert browser.execute_script(
            "return document.querySelector('#paramtable details[data-layer=L3]').open"
        )
        rows = WebDriverWait(browser, 10).until(  # (the table fills on `toggle`, a task later)
            lambda b: b.execute_script(
                "return [...document.querySelectorAll('#paramtable details[data-layer=L3] tr')]"
                ".slice(1).map((r) => [...r.children].map((c) => c.textContent))"
            )
        )
        start = names.index("L3.N1.w1")
        assert [r[0] for r in rows] == names[start:]
        shown_updates = [float(r[3]) for r in rows]
        assert shown_updates == pytest.approx(update[start:], rel=1e-5, abs=1e-12)
        browser.find_element("id", "nextframe").click()
    assert not severe(browser)


def test_the_page_object_keeps_the_exact_updates_of_adamw_and_of_mini_batches(tmp_path):
    # AdamW (the multi-class demos): the page's updates are the optimizer's, bit for bit
    X, y = nn.data.spiral(20, classes=3, noise=0.2, seed=0)
    make = lambda: nn.MLP(2, [6, 3], activation="relu", seed=0)  # noqa: E731
    model = make()
    page = nn.training_page(
        model,
        X,
        y,
        "cross_entropy",
        nn.optim.AdamW(model.parameters(), lr=0.02, weight_decay=1e-4),
        5,
        0,
        run=30,
    )
    twin = make()
    optimizer = nn.optim.AdamW(twin.parameters(), lr=0.02, weight_decay=1e-4)
    from autograd.layers import batch_loss

    expected = {}
    for k in range(1, 31):
        loss = batch_loss("cross_entropy", twin(common.batch(X)), common.batch(y.astype(float)))
        optimizer.zero_grad()
        loss.backward()
        before = np.array([p.data for p in numbers(twin)])
        optimizer.step()
        expected[k] = np.array([p.data for p in numbers(twin)]) - before
    for step, update in zip(page.training["steps"], page.training["updates"]):
        assert np.array_equal(update, expected[step]), step
    assert "AdamW(lr 0.02, betas (0.9, 0.999), eps 1e-08, weight decay 0.0001)" in " ".join(
        recording(page.html)["training"]["about"]
    )
    # mini-batches and momentum (the deep demo's options): each step's own batch
    options = deep.Options(iterations=12, lr=0.05, batch_size=64, momentum=0.9, l2=0.7)
    Xd, yd = deep.make_weather(200, 7)
    (Xd,), _, _ = deep.standardise(Xd)
    start = deep.initial_weights(deep.LAYERS, options.seed)
    plan = deep.batches(len(Xd), options)
    net = deep.build(start, deep.LAYERS)
    page = nn.training_page(
        net,
        Xd,
        yd,
        "bce",
        deep.optimizer_for(net.parameters(), options),
        4,
        0,
        run=12,
        loss_of=lambda m, Xb, yb: deep.engine_cost(
            m, common.batch(Xb), common.column(yb), options.l2, len(yb)
        ),
        batches=plan,
    )
    twin = deep.build(start, deep.LAYERS)
    optimizer = deep.optimizer_for(twin.parameters(), options)
    expected = {}
    for k, idx in enumerate(plan, start=1):
        cost = deep.engine_cost(
            twin, common.batch(Xd[idx]), common.column(yd[idx]), options.l2, len(idx)
        )
        optimizer.zero_grad()
        cost.backward()
        before = np.array([p.data for p in numbers(twin)])
        optimizer.step()
        expected[k] = np.array([p.data for p in numbers(twin)]) - before
    assert page.training["steps"] == [1, 2, 5, 12]
    for step, update in zip(page.training["steps"], page.training["updates"]):
        assert np.array_equal(update, expected[step]), step
    frames = recording(page.html)["frames"]
    assert [f["batch"] for f in frames] == [len(plan[s - 1]) for s in page.training["steps"]]


def test_a_layer_opens_into_its_neurons_with_the_engines_numbers(browser, tmp_path):  # noqa: F811
    path, X, y = moons_page(tmp_path, steps=10)
    data = recording(path.read_text())
    frame = 2  # the third recorded step
    step = data["frames"][frame]["step"]
    traced = data["training"]["default"]
    open_page(browser, path, f"#step=end&frame={frame + 1}")
    drawn = "return [...document.querySelectorAll('#graph .node')].map((g) => g.ariaLabel)"
    assert {"L1", "L2", "L3", "loss"} <= set(browser.execute_script(drawn))  # layer grain
    assert "L1.N1" not in browser.execute_script(drawn)
    # the engine, at this step's parameters: the traced sample's loss at layer grain
    snapshot = next(s for k, *_, s in moons_twin(10) if k == step)
    net = moons.make_model(1337)
    for p, a in zip(net.parameters(), snapshot):
        p.data = a
    out = net(autograd.Value(X[traced : traced + 1], "x", requires_grad=False), grain="layer")
    loss = nn.losses.hinge(out, np.array([y[traced]]))
    loss.backward()
    L1 = next(n for n in autograd.topological_order(loss) if n.label == "L1")
    shown = table(browser)
    assert shown["L1"] == [show(L1.data), show(L1.grad)]  # the layer's box: the engine's numbers
    edges = browser.execute_script(
        "return [...document.querySelectorAll('#graph .label')].map((t) => t.textContent)"
    )
    assert "S^T x (16x2 = (1x16)^T 1x2)" in edges  # the matrix rule on its edge, with shapes
    browser.execute_script(  # a click on the layer's box opens it into its neurons
        "document.querySelector('#graph .node[aria-label=L1]')"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )
    assert "grain=neuron" in browser.execute_script("return location.hash")
    names = browser.execute_script(drawn)
    assert "L1.N1" in names and "L2.N16" in names
    assert browser.execute_script("return document.querySelectorAll('#graph .opened').length") == 16
    shown = table(browser)
    for entry in autograd.layers.neurons(L1, 0):  # the neuron grain's view of the same numbers
        data_shown, grad_shown = shown[entry.label]
        assert float(data_shown) == pytest.approx(entry.data, rel=1e-3, abs=1e-9)
        assert float(grad_shown) == pytest.approx(entry.grad, rel=1e-3, abs=1e-9)
    browser.find_element("id", "grainlayer").click()  # and back to one box per layer
    assert "L1.N1" not in browser.execute_script(drawn)
    assert not severe(browser)


def test_a_click_on_a_boundary_point_traces_that_sample(browser, tmp_path):  # noqa: F811
    path, X, y = moons_page(tmp_path, steps=10)
    data = recording(path.read_text())
    samples, first = data["training"]["samples"], data["training"]["default"]
    assert 3 <= len(samples) <= 5
    open_page(browser, path, "#step=end&frame=5")
    circles = browser.execute_script(
        "return [...document.querySelectorAll('svg.boundary .candidate')]"
        ".map((g) => g.dataset.sample)"
    )
    assert circles == [str(s) for s in samples]  # every candidate circled on the picture
    other = next(s for s in samples if s != first)
    browser.find_element("css selector", f"svg.boundary .candidate[data-sample='{other}']").click()
    assert f"sample={other}" in browser.execute_script("return location.hash")
    assert f"sample {other}'s loss at optimizer step 10" in text(browser, "title")
    twin = {k: s for k, *_, s in moons_twin(10)}
    for frame in data["frames"]:  # a loss at every recorded step, as the page says
        net = moons.make_model(1337)
        for p, a in zip(net.parameters(), twin[frame["step"]]):
            p.data = a
        score = nn.predict(net, X[other : other + 1])[0]
        assert 1.0 - y[other] * score > 0.0
    net = moons.make_model(1337)
    for p, a in zip(net.parameters(), twin[10]):
        p.data = a
    own = max(0.0, 1.0 - y[other] * nn.predict(net, X[other : other + 1])[0])
    assert table(browser)["loss"][0] == show(own)  # the traced sample's own loss, at step 10
    assert browser.execute_script(
        "return document.querySelector('svg.boundary .candidate.traced').dataset.sample"
    ) == str(other)
    assert not severe(browser)


PAGES = ("xor", "two_layer", "perceptron", "deep", "blobs", "moons", "spiral", "yinyang", "digits")
MAX_PAGE = 1_500_000  # bytes: a page a teacher can hand to a class


@pytest.mark.parametrize("name", PAGES)
def test_each_demos_page_is_at_most_one_and_a_half_megabytes(name, tmp_path, monkeypatch):
    """Each demo's backprop.html as `python -m demos NAME --quick` writes it (its other pictures
    skipped, for time): the page's size does not grow with the run (5 recorded steps, the neuron
    views within a budget), only the loss curve's numbers do, up to 2000 steps."""
    import importlib

    from demos import DEMOS

    write = common.write_pictures
    monkeypatch.setattr(
        common,
        "write_pictures",
        lambda result, out, pictures: write(
            result, out, {k: v for k, v in pictures.items() if k == "backprop.html"}
        ),
    )
    module = importlib.import_module(DEMOS[name][0])
    status = module.main(["--quick", "--out", str(tmp_path), "--every", "0"])
    if name == "digits" and not (tmp_path / "backprop.html").exists():
        pytest.skip("the digits demo needs the data extra")
    assert status == 0
    page = tmp_path / "backprop.html"
    size = page.stat().st_size
    assert size <= MAX_PAGE, f"{name}: {size:,} bytes"
    training = recording(page.read_text())["training"]
    assert training["about"][0].startswith("optimizer: ")  # it says how the run trains


def test_the_quiz_works_in_a_training_pages_neuron_view(browser, tmp_path):  # noqa: F811
    """The neuron view's questions carry no line of their own (for size): the page takes it
    from the step's text, and the answers are checked as on any page."""
    path, X, y = moons_page(tmp_path, steps=10)
    data = recording(path.read_text())
    traced = str(data["training"]["default"])
    first = data["frames"][0]["samples"][traced]["neuron"]["steps"][0]
    assert first["edges"] and "explain" not in first["edges"][0]
    question = first["edges"][0]
    open_page(browser, path, "#step=0&mode=quiz&frame=1&grain=neuron")
    line = browser.find_element("css selector", "#quiz > div")
    line.find_element("css selector", "input").send_keys("12345")
    line.find_element("xpath", ".//button[text()='reveal']").click()
    said = line.find_element("css selector", ".said").text
    own = [" ".join(t.split()) for t in first["text"].split("\n")]
    assert said == "revealed: " + next(t for t in own if t.startswith(question["name"] + ".grad "))
    assert not severe(browser)


def test_a_training_page_on_a_narrow_screen(browser, tmp_path):  # noqa: F811
    """At 400 px the graph is stacked over the panel, and the pictures fit the screen's width."""
    from tests.test_page import NARROW, WIDE, viewport

    path, X, y = moons_page(tmp_path, steps=10)
    viewport(browser, *NARROW)
    try:
        open_page(browser, path, "#step=end")
        boxes = browser.execute_script(
            "const r = (id) => document.getElementById(id).getBoundingClientRect();"
            "const p = [...document.querySelectorAll('.pictures svg')]"
            "  .map((s) => s.getBoundingClientRect());"
            "return {pane: r('graphpane'), side: r('side'),"
            "  right: Math.max(...p.map((b) => b.right)),"
            "  width: document.documentElement.clientWidth};"
        )
        assert boxes["pane"]["height"] >= 260 and boxes["side"]["top"] >= boxes["pane"]["bottom"]
        assert boxes["right"] <= boxes["width"]  # (no picture runs off the screen)
    finally:
        viewport(browser, *WIDE)
    assert not severe(browser)


def test_short_of_room_a_neuron_view_comes_without_its_quiz_and_says_so(
    browser,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    import nn.pages

    monkeypatch.setattr(nn.pages, "BUDGET", 64_000)  # (a page with room for a few views)
    X, y = nn.data.xor()
    model = nn.MLP(2, [3, 1], activation="tanh", output_activation="sigmoid", seed=1)
    page = nn.training_page(model, X, y, "bce", nn.optim.SGD(model.parameters(), lr=0.5), 3, 1)
    data = recording(page.html)
    kept = data["training"]["neuronsKept"]
    assert kept.startswith("kept for sample 1 at every step")  # the default sample's, with quiz
    assert "without their quiz and paths: sample 0 at steps 1" in kept
    views = data["frames"][0]["samples"]["0"]
    assert views["neuron"]["noQuiz"] and not views["neuron"]["paths"]
    assert "neuron" not in data["frames"][1]["samples"]["0"]  # (no room left for it)
    path = page.save(tmp_path / "short.html")
    open_page(browser, path, "#step=1&mode=quiz&frame=1&sample=0&grain=neuron")
    assert text(browser, "quiz").startswith("(this view keeps no quiz, to keep the page small")
    browser.find_element("id", "nextframe").click()  # step 2: no neuron view of sample 0
    assert not browser.find_element("id", "grainneuron").is_enabled()
    assert "not kept at this step" in browser.find_element("css selector", ".grainbar").text
    assert not severe(browser)
