"""draw(): the Digraph's content, options, and rendered SVG/PNG files."""

import os
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from examples import neuron

import autograd
from autograd import Value, draw, render
from autograd.draw import RendererNotFoundError, find_renderer

draw_module = sys.modules["autograd.draw"]
RENDERER = find_renderer()
needs_renderer = pytest.mark.skipif(RENDERER is None, reason="no Graphviz renderer installed")


def tiny_mlp():
    xs = [Value(1.0, "x1"), Value(-2.0, "x2")]
    hidden = [
        autograd.linear(
            [Value(0.1 * (j + i + 1), f"L1.N{j}.w{i}") for i in range(2)],
            xs,
            Value(0.1, f"L1.N{j}.b"),
            "relu",
        )
        for j in range(3)
    ]
    out = autograd.linear(
        [Value(0.3 - 0.2 * i, f"L2.N0.w{i}") for i in range(3)], hidden, Value(0.0, "L2.N0.b")
    )
    loss = (out - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    return loss


def edges_of(source: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*(\w+) -> (\w+)", source, flags=re.M)


def test_values_operations_and_local_derivatives_are_in_the_source():
    o, x, w, b, n = neuron()
    g = draw(o)
    src = g.source
    assert "rankdir=LR" in src
    for name in ["x", "w", "b", "n", "o"]:
        assert f"{{{name} | data" in src
    assert "grad 1.0" in src  # o.grad
    assert "label=tanh" in src and 'label="*"' in src
    local = 1 - o.data**2  # d tanh/d n, computed here
    assert re.search(rf'label="?{round(local, 4)}"?[\] ]', src)
    # 5 value->op edges (x, w into *, v1, b into +, n into tanh) and 3 op->value edges
    assert len(edges_of(src)) == 8


def test_options_hide_grads_and_edge_labels_and_show_formulas():
    o, *_ = neuron()
    plain = draw(o, grads=False, local_grads=False).source
    assert "grad " not in plain.replace("digraph autograd", "")
    assert not re.search(r"-> \w+ \[label", plain)
    with_formulas = draw(o, formulas=True).source
    assert "1 - tanh(n)^2 = 0.5" in with_formulas
    assert "rankdir=TB" in draw(o, rankdir="TB").source


def test_a_plus_a_is_two_edges():
    a = Value(1.5, "a")
    y = a + a
    y.label = "y"
    src = draw(y).source
    a_id = re.search(r"(\w+) \[label=\"\{a \|", src).group(1)
    assert sum(1 for s, _ in edges_of(src) if s == a_id) == 2


def test_same_graph_draws_the_same_way_twice():
    assert draw(tiny_mlp()).source == draw(tiny_mlp()).source


def test_highlight_marks_the_nodes_and_the_path_between_them_only():
    o, x, w, b, n = neuron()
    src = draw(o, highlight=[w, o]).source
    lines = {m.group(1): m.group(0) for m in re.finditer(r"^\s*(\w+) \[label=.*$", src, re.M)}

    def line_of(name):
        return next(v for v in lines.values() if f"{{{name} |" in v)

    assert "fillcolor" in line_of("w") and "fillcolor" in line_of("o")
    assert "penwidth=2" in line_of("n")  # on the path w -> v1 -> n -> o
    assert "#d32f2f" not in line_of("x") and "#d32f2f" not in line_of("b")
    with pytest.raises(ValueError, match="no node named"):
        draw(o, highlight=["nope"])


def test_clusters_follow_label_prefixes():
    src = draw(tiny_mlp()).source
    assert src.count("subgraph cluster_") == 1 + 3 + 1 + 1  # L1, L1.N0-2, L2, L2.N0
    for name in ["label=L1", 'label="L1.N0"', "label=L2"]:
        assert name in src
    assert "subgraph cluster_" not in draw(tiny_mlp(), clusters=False).source


def test_parameters_false_folds_each_neurons_parameters_into_its_box():
    loss = tiny_mlp()
    full, folded = draw(loss).source, draw(loss, parameters=False).source
    # no parameter box and no edge from one; inputs, neurons and the loss stay
    assert "L1.N0.w0" in full and "L1.N0.w0" not in folded and "L2.N0.b" not in folded
    for name in ["x1", "x2", "loss"]:
        assert f"{{{name} |" in folded, name
    assert 'label="L1.N0"' in folded and 'label="L2.N0"' in folded  # the neurons' boxes
    assert folded.count("3 parameters") == 3  # two weights and a bias per hidden neuron
    assert folded.count("4 parameters") == 1  # three weights and a bias in the output neuron
    # 2 inputs x 3 hidden + 3 hidden x 1 output edges into neurons; 16 parameter edges gone
    assert len(edges_of(full)) - len(edges_of(folded)) == 3 * 3 + 4
    # a neuron without a bias reads a constant 0: folded too, and not counted as a parameter
    xs = [Value(1.0, "x1"), Value(2.0, "x2")]
    out = autograd.linear([Value(0.5, "N.w1"), Value(-1.0, "N.w2")], xs, 0.0, "tanh")
    out.label = "N"
    src = draw(out, parameters=False).source
    assert "2 parameters" in src and "data 0" not in src
    assert len(edges_of(src)) == 3  # x1 -> op, x2 -> op, op -> N


def test_large_graph_is_collapsed():
    loss = tiny_mlp()
    full = draw(loss)
    small = draw(loss, max_nodes=8)
    assert "values)" in small.source  # scope boxes such as "L1 (12 values)"
    assert small.source.count("[label=") < full.source.count("[label=")
    chain = Value(1.0, "c0")
    for _ in range(300):
        chain = chain * 1.01
    cut = draw(chain, max_nodes=20, clusters=False).source
    assert "more values" in cut
    assert cut.count("shape=record") <= 20


@needs_renderer
def test_svg_file_is_valid_xml_with_the_labels(tmp_path):
    o, *_ = neuron()
    path = render(o, tmp_path / "neuron.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for label in ["x", "w", "b", "n", "o", "tanh", "data 2.0"]:
        assert label in text
    assert [p.name for p in tmp_path.iterdir()] == ["neuron.svg"]  # no temporary files left


@needs_renderer
def test_png_file_has_the_signature_and_a_sane_size(tmp_path):
    path = render(tiny_mlp(), tmp_path / "mlp.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert 200 < width < 10_000 and 100 < height < 10_000
    assert len(data) > 5_000


@needs_renderer
def test_notebook_display_gives_svg():
    o, *_ = neuron()
    bundle = draw(o)._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


def test_pdf_with_graphviz_pure_is_a_clear_error(tmp_path, monkeypatch):
    fake = draw_module.Renderer("/nonexistent/graphviz-pure", "graphviz-pure")
    monkeypatch.setattr(draw_module, "find_renderer", lambda: fake)
    o, *_ = neuron()
    with pytest.raises(ValueError, match="cannot write PDF"):
        render(o, tmp_path / "n.pdf")


def test_without_a_renderer_the_dot_source_is_written_and_the_error_says_how(tmp_path, monkeypatch):
    monkeypatch.setattr(draw_module, "find_renderer", lambda: None)
    o, *_ = neuron()
    with pytest.raises(RendererNotFoundError, match="pip install graphviz-pure"):
        render(o, tmp_path / "n.svg")
    dot = tmp_path / "n.dot"
    assert dot.exists() and "tanh" in dot.read_text()
    assert not (tmp_path / "n.svg").exists()


def test_dot_output_needs_no_renderer(tmp_path, monkeypatch):
    monkeypatch.setattr(draw_module, "find_renderer", lambda: None)
    o, *_ = neuron()
    path = render(o, tmp_path / "n.gv")
    assert path.read_text().startswith("digraph")


def test_renderer_discovery_prefers_system_dot_then_graphviz_pure(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pure = bin_dir / "graphviz-pure"
    pure.write_text("#!/bin/sh\n")
    pure.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_renderer() == draw_module.Renderer(str(pure), "graphviz-pure")
    dot = bin_dir / "dot"
    dot.write_text("#!/bin/sh\n")
    dot.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert find_renderer() == draw_module.Renderer(str(dot), "dot")
    pure.unlink()
    dot.unlink()
    assert find_renderer() is None


def test_importing_autograd_does_not_import_graphviz():
    code = "import sys, autograd; print('graphviz' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.split() == ["False", "False"]


@needs_renderer
def test_labels_with_record_special_characters_are_escaped(tmp_path):
    a, b = Value(1.0, "a|b{c}<d>"), Value(2.0, 'q"uote & amp')
    y = a * b + Value(3.0, "back\\slash")
    y.label = "y"
    path = render(y, tmp_path / "weird.svg")
    texts = [t.text for t in ET.parse(path).getroot().iter() if t.tag.endswith("text")]
    for label in ["a|b{c}<d>", 'q"uote & amp', "back\\slash", "y"]:
        assert label in texts


def test_written_files_get_ordinary_permissions(tmp_path, monkeypatch):
    monkeypatch.setattr(draw_module, "find_renderer", lambda: None)
    old = os.umask(0o022)
    try:
        path = render(Value(1.0, "a") * 2.0, tmp_path / "g.dot")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_parameters_false_keeps_unlabelled_number_inputs_and_orders_neurons_naturally():
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [12, 1], seed=0)
    out = model([0.3, -0.2])  # plain numbers: the network makes one input node for each
    out.backward()
    src = draw(out, parameters=False).source
    for name in ["x1", "x2"]:  # drawn (not folded like a bias-free neuron's 0), once each
        ids = re.findall(r"(n\d+) \[label=\"\{" + name + r" \|", src)
        assert len(ids) == 1, name
        assert len(re.findall(rf"\b{ids[0]} -> ", src)) == 12  # read by all 12 hidden neurons
    numbers = [int(n) for n in re.findall(r'label="L1\.N(\d+)" style', src)]
    assert numbers == list(range(1, 13))  # clusters in natural order: N2 before N10


def test_grads_are_left_off_while_every_one_is_zero_and_the_title_says_so():
    a = Value(2.0, "a")
    b = a * a
    b.label = "b"
    before = draw(b).source
    assert "| grad " not in before and "(every grad is 0.0: not shown)" in before
    assert "| grad 0.0}" in draw(b, grads=True).source  # asked for: shown as they are
    b.backward()
    after = draw(b, title="x squared").source
    assert "{a | data 2.0 | grad 4.0}" in after and "{b | data 4.0 | grad 1.0}" in after
    assert "not shown" not in after
    # a pass from another root: a node whose own grad is 0.0 (a dead relu) is drawn with all
    x, w = Value(-1.0, "x"), Value(2.0, "w")
    h = x * w
    h.label = "h"
    (h.relu() + w).backward()
    part = draw(h).source
    assert "{h | data -2.0 | grad 0.0}" in part and "{w | data 2.0 | grad 1.0}" in part
    assert "not shown" not in part
