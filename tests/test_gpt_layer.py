"""The GPT at layer grain (`autograd.sequence`'s rows, `layer`, `batch_loss`) against the same
model at neuron grain (every number a Value), central differences, and each row on its own."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

import autograd
import nn.gpt as gpt
from autograd import Value
from autograd import sequence as seq


def grads(model: gpt.GPT) -> list[np.ndarray]:
    """Each matrix's gradient as an array (zeros where none arrived)."""
    return [
        np.zeros(w.data.shape) if type(w.grad) is float else w.grad.copy() for w in model.matrices()
    ]


def zero(model: gpt.GPT) -> None:
    for w in model.matrices():
        w.grad = 0.0


def both_grains(model: gpt.GPT, tokens: list[int]):
    """(loss, gradients) at neuron grain, then at layer grain, of the same model."""
    out = []
    for grain in ("neuron", "layer"):
        zero(model)
        loss = model.loss(tokens, grain=grain)
        loss.backward()
        out.append((loss.data, grads(model)))
    zero(model)
    return out


def random_config(rng: random.Random, fused: bool) -> gpt.GPTConfig:
    n_head = rng.choice([1, 2, 3, 4])
    return gpt.GPTConfig(
        n_embd=n_head * rng.choice([1, 2, 3, 4]),
        n_head=n_head,
        n_layer=rng.choice([1, 2, 3]),
        block_size=rng.choice([1, 2, 5, 8, 12]),
        std=rng.choice([0.08, 0.3, 1.0]),
        fused=fused,
    )


def random_name(rng: random.Random) -> str:
    return "".join(rng.choice("abcde") for _ in range(rng.randint(1, 14)))  # repeats letters


@pytest.mark.parametrize("case", range(12))
def test_layer_grain_equals_neuron_grain_on_random_configs(case):
    """Loss and every parameter's gradient equal to 1e-12, on random sizes, weights and names
    (names longer than the context, letters read twice)."""
    rng = random.Random(case)
    config = random_config(rng, fused=case % 2 == 1)
    model = gpt.GPT(config, seed=case)
    tokens = gpt.encode(random_name(rng))
    (neuron_loss, neuron), (layer_loss, layer) = both_grains(model, tokens)
    assert layer_loss == pytest.approx(neuron_loss, abs=1e-12)
    assert [g.shape for g in neuron] == [g.shape for g in layer]
    assert max(float(np.abs(a - b).max()) for a, b in zip(neuron, layer)) < 1e-12
    assert sum(float(np.abs(g).sum()) for g in layer) > 0.1  # (not all zero)


def test_the_demos_model_at_both_grains():
    """The widely used settings (4,192 parameters) on a name longer than the context."""
    model = gpt.GPT(gpt.GPTConfig(fused=True), seed=0)
    (neuron_loss, neuron), (layer_loss, layer) = both_grains(model, gpt.encode("christopherson"))
    assert layer_loss == pytest.approx(neuron_loss, abs=1e-12)
    assert max(float(np.abs(a - b).max()) for a, b in zip(neuron, layer)) < 1e-12
    entries = model.parameters()  # the neuron grain's leaves read the same gradients
    model.loss(gpt.encode("christopherson"), grain="layer").backward()
    flat = np.concatenate([g.ravel() for g in layer])
    assert len(entries) == len(flat) == 4192
    assert all(p.grad == g for p, g in zip(entries, flat.tolist()))


def test_layer_grain_against_central_differences():
    """d loss / d w for 20 entries drawn from every matrix, against (f(w+e) - f(w-e)) / 2e."""
    config = gpt.GPTConfig(n_embd=6, n_head=3, n_layer=2, block_size=6, std=0.3, grain="layer")
    model = gpt.GPT(config, seed=7)
    tokens = gpt.encode("annabel")  # 8 tokens: the context (6) cuts it
    model.loss(tokens).backward()
    rng = random.Random(2)
    eps = 1e-6
    for name, rows in model.params.items():
        for _ in range(2):
            entry = rng.choice(rng.choice(rows))
            if name in ("wte", "wpe"):  # a row the name reads
                row = tokens[rng.randrange(6)] if name == "wte" else rng.randrange(6)
                entry = rows[row][rng.randrange(len(rows[row]))]
            analytic, old = entry.grad, entry.data
            entry.data = old + eps
            plus = model.loss(tokens).data
            entry.data = old - eps
            minus = model.loss(tokens).data
            entry.data = old
            assert analytic == pytest.approx((plus - minus) / (2 * eps), abs=1e-8, rel=1e-6)


def test_a_layer_grain_step_is_a_handful_of_nodes():
    model = gpt.GPT(gpt.GPTConfig(grain="layer"), seed=0)
    loss = model.loss(gpt.encode("isabella"))
    ops = [node.op for node in autograd.topological_order(loss) if node.parents]
    assert len(ops) == 17
    assert {"embedding", "rmsnorm(rows)", "causal_attention", "layer", "relu(layer)", "+"} < set(
        ops
    )
    assert ops[-1] == "cross_entropy" and loss.label == "loss"


# ---------------------------------------------------------------------------------------------
# Training: the same numbers at both grains


def test_training_at_layer_grain_follows_the_neuron_grain():
    names = ["emma", "olivia", "ava", "isabella", "sophia", "mia"]
    runs = {}
    for grain in ("neuron", "layer"):
        config = gpt.GPTConfig(n_embd=8, n_head=2, n_layer=1, block_size=8, grain=grain)
        model = gpt.GPT(config, seed=3)
        runs[grain] = (gpt.train(model, names, steps=12, lr=0.02, seed=1), model)
    (neuron_history, neuron), (layer_history, layer) = runs["neuron"], runs["layer"]
    assert layer_history == pytest.approx(neuron_history, abs=1e-11)
    for a, b in zip(neuron.matrices(), layer.matrices()):
        assert float(np.abs(a.data - b.data).max()) < 1e-11
    assert gpt.mean_loss(layer, names) == pytest.approx(gpt.mean_loss(neuron, names), abs=1e-12)


def test_adam_on_a_matrix_is_adam_on_its_entries():
    """One Adam over a matrix Value and one over its entries as scalars: bit for bit."""
    rng = np.random.default_rng(0)
    start, steps = rng.normal(size=(3, 4)), 5
    matrix = Value(start)
    scalars = [Value(x) for x in start.ravel().tolist()]
    whole, each = gpt.Adam([matrix], lr=0.1, steps=steps), gpt.Adam(scalars, lr=0.1, steps=steps)
    for _ in range(steps):
        g = rng.normal(size=(3, 4))
        matrix.grad = g.copy()
        for p, g_i in zip(scalars, g.ravel().tolist()):
            p.grad = g_i
        whole.step()
        each.step()
    assert matrix.data.ravel().tolist() == [p.data for p in scalars]
    assert not matrix.data.flags.writeable and matrix.grad == 0.0


# ---------------------------------------------------------------------------------------------
# Each row on its own


def central(f, arrays: list[np.ndarray], eps: float = 1e-6) -> list[np.ndarray]:
    """d f / d each entry of each array, by central differences."""
    out = []
    for a in arrays:
        g = np.zeros_like(a)
        for index in np.ndindex(a.shape):
            old = a[index]
            a[index] = old + eps
            plus = f()
            a[index] = old - eps
            minus = f()
            a[index] = old
            g[index] = (plus - minus) / (2 * eps)
        out.append(g)
    return out


def test_embedding_gathers_rows_and_scatter_adds_back():
    W = Value(np.arange(12.0).reshape(4, 3), "W")
    out = seq.embedding(W, [2, 0, 2], "tok")
    assert out.data.tolist() == [[6.0, 7.0, 8.0], [0.0, 1.0, 2.0], [6.0, 7.0, 8.0]]
    G = np.arange(9.0).reshape(3, 3)
    share = out.local_grads[0] * G
    assert share.tolist() == [[3.0, 4.0, 5.0], [0.0] * 3, [6.0, 8.0, 10.0], [0.0] * 3]
    assert out.op == "embedding" and not out.parents[1].requires_grad
    with pytest.raises(IndexError, match=r"0\.\.3"):
        seq.embedding(W, [4])
    with pytest.raises(ValueError, match="ints"):
        seq.embedding(W, [])


def check_row(make, arrays: list[np.ndarray], seed: int = 0) -> None:
    """The row's gradients (backward through `make`'s node, G random) against central
    differences of sum(node * G)."""
    rng = np.random.default_rng(seed)
    leaves = [Value(a.copy()) for a in arrays]
    node = make(*leaves)
    G = rng.normal(size=node.data.shape)
    shares = [rule * G for rule in node.local_grads[: len(leaves)]]

    def f() -> float:
        return float((make(*[Value(a) for a in arrays]).data * G).sum())

    for share, numeric in zip(shares, central(f, arrays)):
        assert share == pytest.approx(numeric, abs=1e-8)


def test_rmsnorm_row_against_central_differences_and_the_neuron_grain():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4, 6))
    check_row(lambda x: seq.rmsnorm(x), [X])
    rows = seq.rmsnorm(Value(X)).data
    for t in range(4):
        neuron = gpt.rmsnorm([Value(x) for x in X[t].tolist()])
        assert rows[t] == pytest.approx([v.data for v in neuron], abs=1e-15)


@pytest.mark.parametrize("heads", [1, 2, 3])
def test_attention_row_against_central_differences(heads):
    rng = np.random.default_rng(heads)
    Q, K, V = (rng.normal(size=(5, 6)) for _ in range(3))
    check_row(lambda q, k, v: seq.attention(q, k, v, heads), [Q, K, V], seed=heads)


def test_attention_row_is_the_neuron_grains_heads():
    """Each head's output at each position, and its weights, as nn.gpt.attend computes them
    from the cache of keys and values so far."""
    rng = np.random.default_rng(5)
    T, D, heads = 5, 6, 2
    Q, K, V = (rng.normal(size=(T, D)) for _ in range(3))
    node = seq.attention(Value(Q), Value(K), Value(V), heads)
    weights = seq.attention_weights(node)
    d = D // heads
    for h in range(heads):
        cols = slice(h * d, (h + 1) * d)
        for t in range(T):
            vec = lambda M, j, cols=cols: [Value(x) for x in M[j, cols].tolist()]
            out, a, _ = gpt.attend(
                vec(Q, t), [vec(K, j) for j in range(t + 1)], [vec(V, j) for j in range(t + 1)]
            )
            assert node.data[t, cols] == pytest.approx([o.data for o in out], abs=1e-14)
            assert weights[h][t] == pytest.approx([a_j.data for a_j in a], abs=1e-15)


def test_the_residual_add_of_two_sequences_is_the_ordinary_plus():
    a, b = Value(np.ones((2, 3)), "a"), Value(np.full((2, 3), 2.0), "b")
    total = a + b
    G = np.arange(6.0).reshape(2, 3)
    assert total.op == "+" and total.data.tolist() == [[3.0] * 3] * 2
    assert [(local * G).tolist() for local in total.local_grads] == [G.tolist()] * 2


def test_the_rows_refuse_bad_shapes():
    X = Value(np.ones((3, 4)))
    with pytest.raises(ValueError, match="heads must divide"):
        seq.attention(X, X, X, 3)
    with pytest.raises(ValueError, match="one shape"):
        seq.attention(X, X, Value(np.ones((3, 2))), 1)
    with pytest.raises(ValueError, match="T x D"):
        seq.rmsnorm(Value(np.ones(3)))
    with pytest.raises(ValueError, match="unknown grain"):
        gpt.GPTConfig(grain="tensor")


# ---------------------------------------------------------------------------------------------
# The model's behaviour at layer grain


def test_layer_grain_is_causal_and_its_weights_are_the_caches():
    config = gpt.GPTConfig(n_embd=8, n_head=2, n_layer=2, block_size=8)
    model = gpt.GPT(config, seed=0)
    a = model.sequence_logits(gpt.encode("anna")).data
    b = model.sequence_logits(gpt.encode("anne")).data
    assert a.shape == (5, 27) and (a[:4] == b[:4]).all()  # positions 0..3 read BOS a n n
    assert (a[4] != b[4]).any()
    weights: list = []
    model.sequence_logits(gpt.encode("anna"), weights=weights)
    cache = gpt.Cache.empty(config)
    for t, token in enumerate(gpt.encode("anna")[:5]):
        model.forward(token, t, cache)
    for layer_weights, cached in zip(weights, cache.weights):
        for head, cached_head in zip(layer_weights, cached):
            for row, cached_row in zip(head, cached_head):
                assert row == pytest.approx(cached_row, abs=1e-15)
                assert math.fsum(row) == pytest.approx(1.0, abs=1e-12)


def test_the_tools_read_a_layer_grain_graph():
    """backward_steps ends at backward()'s gradients; each step names its row."""
    config = gpt.GPTConfig(n_embd=4, n_head=2, n_layer=1, block_size=4, grain="layer")
    model = gpt.GPT(config, seed=0)
    loss = model.loss(gpt.encode("al"))
    loss.backward()
    expected = grads(model)
    zero(model)
    steps = list(loss.backward_steps())
    assert len(steps) == 17
    text = "\n".join(map(str, steps))
    assert "L1.attn.heads = causal_attention(L1.attn.q, L1.attn.k, L1.attn.v, heads)" in text
    for a, b in zip(expected, grads(model)):
        assert float(np.abs(a - b).max()) < 1e-15


def test_the_step_through_of_a_layer_grain_gpt_names_each_rules_gradient():
    """A GPT row's rule writes G for the gradient reaching its node; the step says whose."""
    import re

    model = gpt.GPT(
        gpt.GPTConfig(n_embd=4, n_head=2, n_layer=1, block_size=8, grain="layer"), seed=0
    )
    text = "\n".join(str(step) for step in model.loss(gpt.encode("ab")).backward_steps())
    assert "* r L1.mlp.x.grad - X r^3 (L1.mlp.x.grad . X) / D, each row" in text
    assert "scatter-add of emb.pos.grad's rows" in text
    assert not re.search(r"\bG\b", text)
