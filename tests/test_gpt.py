"""The GPT of Values (`nn.gpt`) against independent oracles: a GPT written here the way the
widely read single file writes it (plain functions over lists of Values, `sum()` from 0,
`max(v.data for v in ...)`, `-probs[t].log()`), central differences, and the tools."""

from __future__ import annotations

import math
import os
import random
import re

import pytest

import autograd
import nn.gpt as gpt
from autograd import Value

TINY = gpt.GPTConfig(n_embd=8, n_head=2, n_layer=2, block_size=8)


# ---------------------------------------------------------------------------------------------
# Bring your own: a GPT as a learner writes it, on this engine's Value unchanged


def byo_linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]


def byo_softmax(logits):
    max_val = max(val.data for val in logits)
    exps = [(val - max_val).exp() for val in logits]
    total = sum(exps)
    return [e / total for e in exps]


def byo_rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def byo_gpt(token_id, pos_id, keys, values, state, n_layer, n_head):
    tok_emb = state["wte"][token_id]
    pos_emb = state["wpe"][pos_id]
    x = [t + p for t, p in zip(tok_emb, pos_emb)]
    x = byo_rmsnorm(x)
    head_dim = len(x) // n_head
    for li in range(n_layer):
        x_residual = x
        x = byo_rmsnorm(x)
        q = byo_linear(x, state[f"layer{li}.attn_wq"])
        k = byo_linear(x, state[f"layer{li}.attn_wk"])
        v = byo_linear(x, state[f"layer{li}.attn_wv"])
        keys[li].append(k)
        values[li].append(v)
        x_attn = []
        for h in range(n_head):
            hs = h * head_dim
            q_h = q[hs : hs + head_dim]
            k_h = [ki[hs : hs + head_dim] for ki in keys[li]]
            v_h = [vi[hs : hs + head_dim] for vi in values[li]]
            attn_logits = [
                sum(q_h[j] * k_h[t][j] for j in range(head_dim)) / head_dim**0.5
                for t in range(len(k_h))
            ]
            attn_weights = byo_softmax(attn_logits)
            head_out = [
                sum(attn_weights[t] * v_h[t][j] for t in range(len(v_h))) for j in range(head_dim)
            ]
            x_attn.extend(head_out)
        x = byo_linear(x_attn, state[f"layer{li}.attn_wo"])
        x = [a + b for a, b in zip(x, x_residual)]
        x_residual = x
        x = byo_rmsnorm(x)
        x = byo_linear(x, state[f"layer{li}.mlp_fc1"])
        x = [xi.relu() for xi in x]
        x = byo_linear(x, state[f"layer{li}.mlp_fc2"])
        x = [a + b for a, b in zip(x, x_residual)]
    return byo_linear(x, state["lm_head"])


def byo_loss(tokens, state, n_layer, n_head, block_size):
    n = min(block_size, len(tokens) - 1)
    keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
    losses = []
    for pos_id in range(n):
        token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
        logits = byo_gpt(token_id, pos_id, keys, values, state, n_layer, n_head)
        probs = byo_softmax(logits)
        losses.append(-probs[target_id].log())
    return (1 / n) * sum(losses)


OUR_NAMES = {"wq": "attn_wq", "wk": "attn_wk", "wv": "attn_wv", "wo": "attn_wo",
             "fc1": "mlp_fc1", "fc2": "mlp_fc2"}  # fmt: skip


def byo_state(model: gpt.GPT) -> dict:
    """The single file's state dict, new leaves holding the nn.gpt model's weights."""
    copy = lambda name: [[Value(p.data) for p in row] for row in model.params[name]]
    state = {"wte": copy("wte"), "wpe": copy("wpe"), "lm_head": copy("lm_head")}
    for li in range(model.config.n_layer):
        for ours, theirs in OUR_NAMES.items():
            state[f"layer{li}.{theirs}"] = copy(f"L{li + 1}.{ours}")
    return state


def pairs(model: gpt.GPT, state: dict) -> list[tuple[Value, Value]]:
    """(the nn.gpt parameter, the single file's) in one order."""
    out = []
    for name, rows in model.params.items():
        if name.startswith("L"):
            layer, ours = name.split(".")
            theirs = OUR_NAMES[ours]
            other = state[f"layer{int(layer[1:]) - 1}.{theirs}"]
        else:
            other = state[name]
        for row, other_row in zip(rows, other):
            out.extend(zip(row, other_row))
    return out


def byo_of(config: gpt.GPTConfig, name: str, seed: int = 0):
    model = gpt.GPT(config, seed=seed)
    state = byo_state(model)
    c = config
    return (
        model,
        state,
        lambda: byo_loss(gpt.encode(name), state, c.n_layer, c.n_head, c.block_size),
    )


# ---------------------------------------------------------------------------------------------
# Gradients


@pytest.mark.parametrize("fused", [False, True])
def test_engine_gpt_equals_the_single_file_model(fused):
    """Same weights, same name: the loss and every gradient agree to 1e-12."""
    config = gpt.GPTConfig(n_embd=8, n_head=2, n_layer=2, block_size=8, fused=fused)
    model, state, byo = byo_of(config, "isabella")  # 9 positions: the context (8) cuts it
    ours = model.loss(gpt.encode("isabella"))
    ours.backward()
    theirs = byo()
    theirs.backward()
    assert ours.data == pytest.approx(theirs.data, abs=1e-12)
    together = pairs(model, state)
    assert len(together) == len(model.parameters())
    assert max(abs(p.grad - q.grad) for p, q in together) < 1e-12
    assert sum(abs(p.grad) for p, _ in together) > 1.0  # (not all zero)


def test_single_file_model_against_central_differences():
    """The single-file model's gradients, on this Value, against (f(w+e) - f(w-e)) / 2e for
    24 parameters drawn at random."""
    model, state, byo = byo_of(TINY, "emma")
    loss = byo()
    loss.backward()
    leaves = [q for _, q in pairs(model, state)]
    rng = random.Random(1)
    eps = 1e-6
    for leaf in rng.sample(leaves, 24):
        analytic = leaf.grad
        old = leaf.data
        leaf.data = old + eps
        plus = byo().data
        leaf.data = old - eps
        minus = byo().data
        leaf.data = old
        numeric = (plus - minus) / (2 * eps)
        assert analytic == pytest.approx(numeric, abs=1e-7, rel=1e-5)


def test_gradcheck_on_one_heads_queries():
    """autograd.gradcheck on the engine's GPT: the loss as a function of head 0's W_q rows."""
    config = gpt.GPTConfig(n_embd=4, n_head=2, n_layer=1, block_size=4)
    model = gpt.GPT(config, seed=3)
    rows = model.params["L1.wq"][:2]  # head 0's rows
    inputs = {f"w{r}_{c}": w.data for r, row in enumerate(rows) for c, w in enumerate(row)}

    def loss(**w):
        for r, row in enumerate(rows):
            for c in range(len(row)):
                model.params["L1.wq"][r][c] = w[f"w{r}_{c}"]
        return model.loss(gpt.encode("bob"))

    report = autograd.gradcheck(loss, inputs)
    assert report.passed and len(report.rows) == 8


# ---------------------------------------------------------------------------------------------
# The model's behaviour


def test_attention_is_causal():
    """The logits at position t do not change when a later token changes."""
    model = gpt.GPT(TINY, seed=0)
    a = model.position_losses(gpt.encode("anna"))
    b = model.position_losses(gpt.encode("anne"))
    # positions 0..3 read tokens BOS a n n: equal; position 3 predicts the last letter
    assert [x.data for x in a[:3]] == [x.data for x in b[:3]]
    assert a[3].data != b[3].data


def test_attention_weights_are_a_distribution_over_the_past():
    model = gpt.GPT(TINY, seed=0)
    _, cache = model.sample(temperature=1.0, seed=4)
    for layer in cache.weights:
        for head in layer:
            for t, row in enumerate(head):
                assert len(row) == t + 1 and math.fsum(row) == pytest.approx(1.0, abs=1e-12)


def test_sampling_is_deterministic_with_a_seed():
    model = gpt.GPT(TINY, seed=0)
    first = [model.sample(temperature=0.8, seed=s)[0] for s in range(8)]
    again = [model.sample(temperature=0.8, seed=s)[0] for s in range(8)]
    assert first == again
    assert len(set(first)) > 1  # the seed matters
    assert all(set(name) <= set(gpt.LETTERS) and len(name) <= TINY.block_size for name in first)
    with pytest.raises(ValueError, match="temperature"):
        model.sample(temperature=0.0)


def test_initial_weights_and_training_are_deterministic():
    names = ["emma", "olivia", "ava", "isabella", "sophia"]
    runs = []
    for _ in range(2):
        model = gpt.GPT(TINY, seed=5)
        runs.append(gpt.train(model, names, steps=6, lr=0.01, seed=2))
    assert runs[0] == runs[1]


def test_adam_decays_linearly_and_matches_the_formula():
    p = Value(1.0)
    opt = gpt.Adam([p], lr=0.1, steps=4)
    assert [opt.lr * (1 - k / 4) for k in range(4)] == pytest.approx([0.1, 0.075, 0.05, 0.025])
    p.grad = 2.0
    opt.step()  # first step: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps)
    assert p.data == pytest.approx(1.0 - 0.1 * 2.0 / (2.0 + 1e-8), abs=1e-15)
    assert p.grad == 0.0 and opt.rate() == pytest.approx(0.075)


def test_training_lowers_the_loss_on_a_tiny_list():
    names = ["anna", "hannah", "ava", "ada", "otto", "bob"] * 3
    model = gpt.GPT(gpt.GPTConfig(n_embd=8, n_head=2, n_layer=1, block_size=8), seed=0)
    before = gpt.mean_loss(model, names)
    gpt.train(model, names, steps=60, lr=0.02)
    assert gpt.mean_loss(model, names) < before - 0.5


def test_baselines_against_hand_counts():
    assert gpt.uniform_loss() == pytest.approx(math.log(27))
    # train "ab": bigrams BOS-a, a-b, b-BOS; add-one over 27 tokens
    # held out "a": BOS-a (2/28), a-BOS (1/28)
    expected = -(math.log(2 / 28) + math.log(1 / 28)) / 2
    assert gpt.bigram_loss(["ab"], ["a"]) == pytest.approx(expected, abs=1e-15)


def test_encode_decode():
    assert gpt.encode("ada") == [26, 0, 3, 0, 26]
    assert gpt.decode(gpt.encode("zoe")) == "zoe"
    with pytest.raises(ValueError, match="outside a-z"):
        gpt.encode("Zoë")


def needs_the_names_package() -> None:
    """Skip where the data extra is missing (and check the error says how to get it); in CI,
    where REQUIRE_DATA_EXTRA is set, a missing package fails instead."""
    try:
        import names  # noqa: F401
    except ImportError:
        if os.environ.get("REQUIRE_DATA_EXTRA"):
            raise
        with pytest.raises(ImportError, match=r'pip install -e "\.\[data\]"'):
            gpt.load_names()
        pytest.skip("the names package (the data extra) is not installed here")


def test_the_names_list_from_its_package():
    needs_the_names_package()
    names = gpt.load_names()
    assert len(names) == 5163 and names == sorted(set(names))
    assert {"mary", "james", "zoe"} <= set(names)
    assert all(set(name) <= set(gpt.LETTERS) for name in names)
    train, held = gpt.split_names(names)
    assert (len(train), len(held)) == (4647, 516) and not set(train) & set(held)
    assert gpt.split_names(names) == (train, held)


def test_about_4200_parameters_with_the_widely_used_settings():
    assert len(gpt.GPT(gpt.GPTConfig(), seed=0).parameters()) == 4192


# ---------------------------------------------------------------------------------------------
# The tools on a GPT graph


def test_steps_and_explain_on_the_gpt_graph():
    """Stepping the chain rule by hand ends at backward()'s grads; explain's total for one
    W_q entry is its grad, as a sum over paths through q, the scores and the softmax."""
    config = gpt.GPTConfig(n_embd=4, n_head=2, n_layer=1, block_size=4)
    model = gpt.GPT(config, seed=0)
    loss = model.loss(gpt.encode("al"))
    loss.backward()
    expected = {id(p): p.grad for p in model.parameters()}
    for p in model.parameters():
        p.grad = 0.0  # (leaves accumulate)
    steps = loss.backward_steps()
    for _ in steps:
        pass
    assert all(p.grad == pytest.approx(expected[id(p)], abs=1e-15) for p in model.parameters())
    w = model.params["L1.wq"][0][1]
    assert w.label == "L1.attn.h0.wq[0][1]"
    explanation = autograd.explain(loss, "L1.attn.h0.wq[0][1]")
    assert explanation.total == pytest.approx(w.grad, abs=1e-15)
    text = str(explanation)
    assert "L1.attn.h0.wq[0][1]" in text and "L1.attn.h0.q@" in text


def test_draw_collapses_the_graph_by_block():
    config = gpt.GPTConfig(n_embd=4, n_head=2, n_layer=1, block_size=4)
    model = gpt.GPT(config, seed=0)
    loss = model.position_losses(gpt.encode("al"))[1]
    drawing = autograd.draw(loss, max_nodes=40, clusters=gpt.blocks(loss))
    boxes = set(re.findall(r'box\d+ \[label="([^\n"]+)', drawing.source))
    assert boxes == {"emb", "L1.attn", "L1.attn.h0", "L1.attn.h1", "L1.mlp", "lm_head"}


def test_one_heads_graph_gives_the_models_gradient():
    """head_graph's small graph (W_q of one head the only parameters) gives the whole model's
    d loss_t / d W_q for that head's rows: the oracle is the model's own backward pass."""
    config = gpt.GPTConfig(n_embd=8, n_head=2, n_layer=1, block_size=8)
    model = gpt.GPT(config, seed=1)
    tokens, t = gpt.encode("mia"), 2
    root, wq = gpt.head_graph(model, tokens, t, head=1)
    root.backward()
    assert all(p.grad == 0.0 for p in model.parameters())  # the model's grads are left alone
    model.position_losses(tokens)[t].backward()
    rows = model.params["L1.wq"][4:8]
    for ours, theirs in zip(wq, rows):
        for a, b in zip(ours, theirs):
            assert a.label == b.label and a.grad == pytest.approx(b.grad, abs=1e-14)
    assert len(autograd.topological_order(root)) < 200


# ---------------------------------------------------------------------------------------------
# The demo, small


def demo_model(steps: int) -> gpt.GPT:
    """The demo's model after `steps` steps, trained here with nn.gpt's own functions (at
    layer grain, as the demo trains it)."""
    model = gpt.GPT(gpt.GPTConfig(fused=True, grain="layer"), seed=0)
    train, _ = gpt.split_names(gpt.load_names())
    gpt.train(model, train, steps, lr=0.01, seed=0)
    return model


def test_the_demo_trains_samples_and_writes_its_pictures(tmp_path, capsys):
    needs_the_names_package()
    pytest.importorskip("matplotlib")
    from demos import gpt as demo

    args = demo.parse(
        ["--steps", "3", "--samples", "2", "--held-out", "40", "--out", str(tmp_path)]
    )
    result = demo.run(args)
    out = capsys.readouterr().out
    assert "4,192 parameters" in out and "held-out loss" in out and "40 held out" in out
    assert "layer grain" in out
    train, held = gpt.split_names(gpt.load_names())  # the baselines on the same 40 names
    assert result["bigram"] == gpt.bigram_loss(train, held[:40])
    assert result["held_out"] == gpt.mean_loss(demo_model(3), held[:40])
    assert len(result["history"]) == 3 and len(result["samples"]) == 2
    assert result["uniform"] == pytest.approx(math.log(27))
    for name in ("loss.png", "attention.png", "head.html"):
        assert (tmp_path / name).stat().st_size > 1000
    for name in ("graph", "layers"):
        assert (tmp_path / f"{name}.svg").exists() or (tmp_path / f"{name}.dot").exists()


# ---------------------------------------------------------------------------------------------
# The attention lesson runs as written


def test_the_attention_lessons_sessions_print_what_they_show():
    """Every ```python block of docs/attention.md, run as one doctest session."""
    import doctest
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "attention.md").read_text()
    sessions = "\n".join(re.findall(r"```python\n(.*?)```", text, re.S))
    assert sessions.count(">>>") > 20
    test = doctest.DocTestParser().get_doctest(sessions, {}, "docs/attention.md", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_the_attention_lessons_printed_blocks_are_what_the_tools_print():
    """Its ```text blocks (a path of `explain`, a step of the step-through) are lines the
    tools print now for the lesson's own graph, word for word."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "attention.md").read_text()
    blocks = re.findall(r"```text\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    config = gpt.GPTConfig(n_embd=8, n_head=2, n_layer=1, block_size=8)
    model = gpt.GPT(config, seed=0)
    names = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper"]
    gpt.train(model, names, steps=100, lr=0.02)
    root, wq = gpt.head_graph(model, gpt.encode("emma"), position=2, head=0)
    printed = str(root.explain(wq[0][1], max_paths=2)).splitlines()
    printed += [line for step in root.backward_steps() for line in str(step).splitlines()]
    for block in blocks:
        for line in block.strip("\n").splitlines():
            assert line in printed, line
