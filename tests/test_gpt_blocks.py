"""`nn.gpt.blocks()`: the graph of one position, collapsed by block as `demos gpt` draws it
(graph.svg, the parameters folded) and with the parameters drawn, has exactly the model's
block-to-block edges at either grain, fused or not. A constant read in several blocks (the
fused neurons' one shared zero bias) is in none of them: put in one, it drew as edges from
that block to every other (head 0 feeding heads 1-3, the MLP and lm_head)."""

from __future__ import annotations

import re

import pytest

import autograd
import nn.gpt as gpt
from autograd import Value
from autograd.draw import CONSTANT_SAYS


def architecture(n_layer: int, n_head: int) -> set[tuple[str, str]]:
    """The edges between blocks: emb -> L1.attn <-> each head, L1.attn -> L1.mlp (the residual
    sum is in L1.attn) -> L2.attn ... -> lm_head."""
    edges, before = set(), "emb"
    for layer in range(1, n_layer + 1):
        attn, mlp = f"L{layer}.attn", f"L{layer}.mlp"
        edges |= {(before, attn), (attn, mlp)}
        for h in range(n_head):
            edges |= {(attn, f"{attn}.h{h}"), (f"{attn}.h{h}", attn)}
        before = mlp
    return edges | {(before, "lm_head")}


def collapsed_edges(
    loss: Value, parameters: bool
) -> tuple[set[tuple[str, str]], set[str], set[str]]:
    """As the demo draws graph.svg (`parameters=False`), or with the parameters drawn: (edges
    between blocks, the blocks the root reads, the blocks each constant drawn on its own
    reads). Fails on any other drawn node or edge."""
    options = {"max_nodes": 40, "clusters": gpt.blocks(loss), "parameters": parameters}
    source = autograd.draw(loss, **options).source
    names = dict(re.findall(r'(box\d+) \[label="([^\n"]+)', source))
    root = f"n{autograd.topological_order(loss).index(loss)}"
    constants = set(re.findall(rf'(n\d+) \[label=[^\n]*tooltip="{CONSTANT_SAYS}"', source))
    between, into_root, from_constants = set(), set(), set()
    for source_id, target_id in re.findall(r"^\s*(\w+) -> (\w+)", source, re.M):
        if (source_id, target_id) == (f"{root}op", root):
            continue  # the root's operation node -> the root
        if source_id in constants:
            from_constants.add(names[target_id])  # (a KeyError if not into a block)
        elif target_id == f"{root}op":
            into_root.add(names[source_id])
        else:
            between.add((names[source_id], names[target_id]))
    return between, into_root, from_constants


MODELS = {  # (n_embd, n_head, n_layer, name, position)
    "1 layer, 2 heads": (4, 2, 1, "al", 1),
    "2 layers, 3 heads": (6, 3, 2, "bob", 2),
    "the demo's": (16, 4, 1, "ada", 2),
}


@pytest.mark.parametrize("fused", [False, True], ids=["plain", "fused"])
@pytest.mark.parametrize("grain", ["neuron", "layer"])
@pytest.mark.parametrize("model", MODELS)
def test_the_graph_collapsed_by_block_draws_the_architecture(model, grain, fused):
    n_embd, n_head, n_layer, name, position = MODELS[model]
    config = gpt.GPTConfig(n_embd=n_embd, n_head=n_head, n_layer=n_layer, block_size=8,
                           fused=fused, grain=grain)  # fmt: skip
    loss = gpt.GPT(config, seed=0).position_losses(gpt.encode(name))[position]
    expected = architecture(n_layer, n_head)
    for parameters in (False, True):  # as the demo draws it, and with every parameter
        between, into_root, from_constants = collapsed_edges(loss, parameters)
        assert between == expected  # none from a head to another head, the MLP or lm_head
        assert into_root == {"lm_head"}
        if parameters:  # the fused neurons' shared zero bias, drawn once, into real blocks
            assert from_constants <= {block for edge in expected for block in edge}
        else:  # the demo's picture: the blocks and their edges alone
            assert from_constants == set()


def test_a_constant_read_in_two_blocks_is_in_neither():
    """A leaf that is not a parameter (a constant, an unlabelled input) goes with its readers
    when they are all in one block, and in no block when they are not; parameters stay in
    their label's block."""
    c, d = Value(2.0, requires_grad=False), Value(3.0, requires_grad=False)
    x = Value(0.5)  # an unlabelled leaf that is not a parameter either
    a, b = Value(1.0, "A.w"), Value(1.5, "B.w")
    in_a, in_b = a * c, b * c
    only_a = (a * d) * x
    root = in_a + in_b + only_a + b * x
    block = gpt.blocks(root)
    assert [block(v) for v in (a, b, in_a, in_b, only_a)] == ["A", "B", "A", "B", "A"]
    assert block(d) == "A"  # read only in A
    assert block(c) == "" and block(x) == ""  # read in A and in B
