"""A tiny GPT of Values on first names: attention, trained here, and stepped through.

`nn.gpt.GPT` with the widely used settings (embedding 16, 4 heads, 1 layer, context 16: 4,192
parameters) trains for 1,000 steps of one name each (Adam, lr 0.01 decaying linearly to 0) on
the first names of the 1990 US census that the `names` package ships (5,163 names; 4,647 to
train, 516 held out, split seed 0; needs the `data` extra: pip install -e ".[data]"). It prints
the loss as it goes, the held-out loss beside the uniform and bigram baselines, and a few
sampled names, and writes under `out/gpt/`:

    loss.png       the training loss, the held-out loss, the uniform and bigram baselines
    attention.png  each head's attention over a sampled name (row t: what position t reads)
    graph.svg      the graph of one position's loss, collapsed by block (emb, L1.attn.h0, ...)
    layers.svg     the graph a training step runs at layer grain: a node per layer (--grain layer)
    head.html      one attention head's backward pass at one position, to step through

It trains at layer grain: a name is read at once, one node per layer on T x D arrays
(`autograd.layer` for the projections and the MLP, `autograd.sequence`'s embedding, RMSNorm and
causal attention rows, `batch_loss` for the cross-entropy): about 30 nodes a step, the same loss
and gradients as the neuron grain to 1e-12 (tests/test_gpt_layer.py). The pictures and the page
are drawn at neuron grain, every number a Value, from the same matrices. `--grain neuron` trains
at neuron grain, each projection neuron and each dot product inside attention one node
(`autograd.linear`); `--plain` builds each of `*` and a sum instead (the same numbers, about
five times the nodes, slower again).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import autograd
import nn.gpt as gpt

from . import common

NAME = "gpt"
DEFAULTS = {"steps": 1000, "lr": 0.01, "seed": 0}
QUICK = {"steps": 20}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m demos gpt", description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=DEFAULTS["steps"], help="training steps (names)")
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="Adam's first learning rate")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="weights and name order")
    p.add_argument("--n-embd", type=int, default=16, help="embedding size")
    p.add_argument("--n-head", type=int, default=4, help="attention heads")
    p.add_argument("--n-layer", type=int, default=1, help="layers")
    p.add_argument("--block-size", type=int, default=16, help="context length")
    p.add_argument("--grain", choices=("layer", "neuron"), default="layer",
                   help="train a node per layer (default) or per neuron")  # fmt: skip
    p.add_argument("--plain", action="store_true", help="neuron grain, neurons of * and sum")
    p.add_argument("--temperature", type=float, default=0.5, help="sampling temperature")
    p.add_argument("--samples", type=int, default=10, help="names to sample")
    p.add_argument("--every", type=int, default=100, help="print the loss every N steps")
    p.add_argument("--out", type=Path, default=Path("out") / NAME, help="where pictures go")
    p.add_argument("--held-out", type=int, default=0, help="losses on N held-out names (0: all)")
    p.add_argument("--no-pictures", action="store_true", help="write no files")
    p.add_argument("--quick", action="store_true", help=f"{QUICK['steps']} steps (for tests)")
    args = p.parse_args(argv)
    if args.quick:
        args.steps = QUICK["steps"]
    if args.plain:
        args.grain = "neuron"
    if args.steps < 1:
        p.error(f"--steps must be at least 1, got {args.steps}")
    if args.held_out < 0:
        p.error(f"--held-out must be 0 (all) or more, got {args.held_out}")
    if not args.temperature > 0:
        p.error(f"--temperature must be positive, got {args.temperature}")
    return args


def run(args: argparse.Namespace) -> dict:
    """Train, evaluate, sample and (unless --no-pictures) draw. Returns the numbers."""
    start, cpu = time.perf_counter(), time.process_time()
    names = gpt.load_names()
    train_names, held_out = gpt.split_names(names, held_out=0.1, seed=0)
    held_out = held_out[: args.held_out] if args.held_out else held_out
    config = gpt.GPTConfig(
        n_embd=args.n_embd,
        n_head=args.n_head,
        n_layer=args.n_layer,
        block_size=args.block_size,
        fused=not args.plain,
        grain=args.grain,
    )
    model = gpt.GPT(config, seed=args.seed)
    grain = {
        "layer": "layer grain (a node per layer)",
        "neuron": "plain neurons (* and sum)" if args.plain else "fused neurons (autograd.linear)",
    }[args.grain]
    print(
        f"{len(names):,} first names (1990 US census, the `names` package): "
        f"{len(train_names):,} to train, {len(held_out):,} held out"
    )
    print(
        f"GPT: embedding {config.n_embd}, {config.n_head} heads, {config.n_layer} layer(s), "
        f"context {config.block_size}, {len(model.parameters()):,} parameters, {grain}"
    )
    print(f"{args.steps} steps of one name each, Adam lr {args.lr} decaying linearly to 0")
    trained, trained_cpu = time.perf_counter(), time.process_time()
    history = gpt.train(model, train_names, args.steps, lr=args.lr, seed=args.seed,
                        every=args.every)  # fmt: skip
    trained, trained_cpu = time.perf_counter() - trained, time.process_time() - trained_cpu
    held = gpt.mean_loss(model, held_out)
    bigram = gpt.bigram_loss(train_names, held_out)
    uniform = gpt.uniform_loss()
    print(
        f"trained in {trained:.1f} s ({1000 * trained / args.steps:.1f} ms a step; "
        f"{trained_cpu:.1f} s of CPU)"
    )
    print(f"held-out loss {held:.4f} per token   (bigram {bigram:.4f}, uniform {uniform:.4f})")
    samples = [model.sample(args.temperature, seed=k)[0] for k in range(args.samples)]
    print(f"sampled (temperature {args.temperature}): {', '.join(samples)}")
    result = {"history": history, "held_out": held, "bigram": bigram, "uniform": uniform,
              "samples": samples, "train_seconds": trained}  # fmt: skip
    if not args.no_pictures:
        for path, note in pictures(model, history, held_out, result, args):
            print(f"wrote {path}{f'  ({note})' if note else ''}")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    result["seconds"] = seconds
    print(f"done in {seconds:.1f} s ({cpu:.1f} s of CPU)")
    return result


def pictures(model: gpt.GPT, history, held_out, result: dict, args) -> list[tuple[Path, str]]:
    """The files under args.out (four, and layers.svg at layer grain); [(path, note)]."""
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    written = []
    plt = common._pyplot()  # (None without the plots extra)
    if plt is None:
        written.append((out / "loss.png", "not drawn: matplotlib is missing (the plots extra)"))
    else:
        written.append((loss_plot(plt, history, result, out / "loss.png"), ""))
        name, cache = model.sample(args.temperature, seed=0)
        written.append((attention_plot(plt, name, cache, out / "attention.png"), ""))
    # one held-out name's position 2 (or its last), collapsed by block
    example = next(n for n in held_out if len(n) >= 3)
    tokens = gpt.encode(example)
    position = min(2, len(tokens) - 2, model.config.block_size - 1)
    saved = [(w, w.grad) for w in model.matrices()]  # (the pictures' passes put them back)
    loss_t = model.position_losses(tokens[: position + 2])[position]
    loss_t.backward()  # (so the picture shows the gradients)
    title = f"loss at position {position} of {example!r}, collapsed by block"
    # parameters=False: each neuron's weights (and the fused neurons' one shared zero bias,
    # read in every block) folded into it, so the boxes' edges are the blocks' own
    written.append(_render(loss_t, out / "graph.svg", title, gpt.blocks(loss_t), False))
    if model.config.grain == "layer":  # what a training step runs: a node per layer
        step = model.loss(tokens)
        step.backward()
        title = f"one training step on {example!r} at layer grain"
        written.append(_render(step, out / "layers.svg", title, True))
    for w, grad in saved:
        w.grad = grad
    root, _ = gpt.head_graph(model, tokens, position, layer=1, head=0)
    page = autograd.page(root, title=f"head 0 at position {position} of {example!r}")
    written.append((page.save(out / "head.html"), ""))
    return written


def _render(root, path: Path, title: str, clusters, parameters=True) -> tuple[Path, str]:
    try:
        options = {"max_nodes": 40, "clusters": clusters, "parameters": parameters}
        return autograd.render(root, path, title=title, **options), ""
    except RuntimeError as error:  # no renderer (the DOT source was written), or it failed
        return path.with_suffix(".dot"), str(error).splitlines()[0][:200]


def loss_plot(plt, history: list[float], result: dict, path: Path) -> Path:
    """Each step's loss (faint), its mean over 50 steps, the held-out loss, both baselines."""
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = range(1, len(history) + 1)
    ax.plot(steps, history, color="#bbbbbb", linewidth=0.6, label="loss of each step's name")
    window = min(50, len(history))
    smooth = [sum(history[max(0, k - window + 1) : k + 1]) / min(window, k + 1)
              for k in range(len(history))]  # fmt: skip
    ax.plot(steps, smooth, color="C0", label=f"mean of the last {window} steps")
    ax.axhline(result["uniform"], color="C3", linestyle=":", label="uniform (held out)")
    ax.axhline(result["bigram"], color="C2", linestyle="--", label="bigram (held out)")
    ax.plot([len(history)], [result["held_out"]], "o", color="C1", label="GPT (held out)")
    ax.set_xlabel("step (one name each)")
    ax.set_ylabel("cross-entropy per token (nats)")
    ax.set_title("a GPT of Values on first names")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def attention_plot(plt, name: str, cache: gpt.Cache, path: Path) -> Path:
    """Each head's attention weights over the sampled name: row t (the token read at t),
    column j <= t (how much position t reads position j); 0 above the diagonal (causal)."""
    heads = cache.weights[0]
    n = len(heads[0])
    tokens = ["."] + list(name)
    tokens = (tokens + ["."])[:n]  # the last row read the last letter and chose the end
    fig, axes = plt.subplots(1, len(heads), figsize=(3 * len(heads), 3.2))
    axes = list(axes) if len(heads) > 1 else [axes]
    for h, (ax, rows) in enumerate(zip(axes, heads)):
        grid = [row + [0.0] * (n - len(row)) for row in rows]
        ax.imshow(grid, cmap="Blues", vmin=0.0, vmax=1.0)
        ax.set_xticks(range(n), tokens)
        ax.set_yticks(range(n), tokens)
        ax.set_title(f"L1 head {h}")
        ax.set_xlabel("attends to")
    axes[0].set_ylabel("position reading")
    fig.suptitle(f"attention over the sampled name {name!r}")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        result = run(args)
    except ImportError as error:
        print(f"python -m demos gpt: {error}", file=sys.stderr)
        return 2
    return 0 if result["held_out"] == result["held_out"] else 1


if __name__ == "__main__":
    sys.exit(main())
