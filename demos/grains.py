"""The bridge between the two grains: the matrix form of backprop is the scalar chain rule summed.

One small network, one batch, one loss, built twice by the same engine:

- at neuron grain, one graph per sample, every number a Value; `explain` lists, for one
  weight w_ji, every path from the loss down to it: one path per sample s, through neuron j,
  whose product of local derivatives is S_sj x_si (S_sj: the gradient reaching neuron j's
  pre-activation in sample s);
- at layer grain, each layer one node; the layer's rule gives W.grad = S^T X at once.

The demo prints both, and each sample's path beside its term of (S^T X)_ji: the same numbers.
It writes, under out/grains/, both graphs (neuron.svg, the weight's paths marked; layer.svg)
and a page of each backward pass (neuron.html, layer.html), for a slide or a class.

    python -m demos grains
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import autograd
import nn
from autograd.draw import RendererNotFoundError


def run(seed: int = 0, samples: int = 3, neuron: int = 2, weight: int = 1) -> dict:
    """Build both graphs and return what the demo prints (the numbers the tests check)."""
    rng = np.random.default_rng(seed)
    model = nn.MLP(2, [3, 1], activation="tanh", seed=seed)
    X = rng.normal(size=(samples, 2))
    y = rng.normal(size=samples)
    j, i = neuron - 1, weight - 1  # L1.N{neuron}.w{weight} is entry (j, i) of L1.W

    # layer grain: loss = mse(L2(L1(X))), three nodes and the loss
    layer_loss = nn.mse(model(X), y)
    model.zero_grad()
    layer_loss.backward()
    layer_grad = float(model.layers[0].W.grad[j, i])
    first = layer_loss.parents[0].parents[0]  # the node L1 = tanh(X L1.W^T + L1.b)
    S = first.local_grads[1].shares.S  # S = G * tanh'(Z), what L1's rule for W multiplies
    terms = S[:, j] * X[:, i]  # (S^T X)_ji = sum over samples of S_sj X_si

    # neuron grain: one graph per sample, every number a Value
    model.zero_grad()
    neuron_loss = nn.mse([model(list(row)) for row in X], y)
    neuron_loss.label = "loss"
    w = model.layers[0].neurons[j].w[i]
    explanation = autograd.explain(neuron_loss, w, max_paths=samples)
    neuron_loss.backward()
    return {
        "model": model,
        "layer_loss": layer_loss,
        "neuron_loss": neuron_loss,
        "weight": w.label,
        "layer_grad": layer_grad,
        "neuron_grad": w.grad,
        "explanation": explanation,
        "paths": [path.product for path in explanation.paths],
        "terms": terms.tolist(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demos grains",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seed", type=int, default=0, help="weights and data")
    parser.add_argument("--samples", type=int, default=3, help="samples in the batch (1 to 50)")
    parser.add_argument("--out", type=Path, default=Path("out") / "grains", help="where files go")
    parser.add_argument("--no-pictures", action="store_true", help="write no files")
    args = parser.parse_args(argv)
    if not 1 <= args.samples <= 50:
        parser.error("--samples must be between 1 and 50")
    found = run(args.seed, args.samples)
    w = found["weight"]
    print(f"MLP(2, [3, 1]) tanh, {args.samples} samples, loss = mse; the weight {w}")
    print("  (entry (1, 0) of L1.W: neuron 2's weight 1)\n")
    print("layer grain: the graph is", _ops(found["layer_loss"]))
    print("  L1.W.grad = S^T X (S = L1.grad * tanh'(Z), one row per sample)")
    print(f"  d loss/d {w} = (S^T X)[1, 0] = {found['layer_grad']!r}\n")
    print(f"neuron grain: one graph per sample, {_count(found['neuron_loss'])} nodes; explain:")
    lines = str(found["explanation"]).splitlines()
    first = lines.index(next(line for line in lines if line.startswith("path 1:")))
    print("  " + "\n  ".join(lines[1:2] + lines[first : first + 4]))
    print("  ... (one path per sample, each through L1.N2 of that sample's graph)\n")
    print("  sample s   path product (neuron grain)   S[s,1] * X[s,0] (layer grain)")
    for s, (path, term) in enumerate(zip(found["paths"], found["terms"])):
        print(f"  {s:>8}   {path!r:>27}   {term!r}")
    print(f"\n  sum over paths = {found['neuron_grad']!r}")
    print(f"  (S^T X)[1, 0]  = {found['layer_grad']!r}")
    difference = abs(found["neuron_grad"] - found["layer_grad"])
    print(f"  difference {difference:.1e}: the matrix rule is the chain rule summed over samples")
    if not args.no_pictures:
        print()
        for path, note in pictures(found, args.out):
            print(f"wrote {path}" + (f" ({note})" if note else ""))
    return 0 if difference <= 1e-12 * max(1.0, abs(found["layer_grad"])) else 1


def pictures(found: dict, out: Path) -> list[tuple[Path, str]]:
    """Both graphs and a page of each backward pass under `out`: [(path, note)]."""
    out.mkdir(parents=True, exist_ok=True)
    w, samples = found["weight"], len(found["paths"])
    neuron_loss, layer_loss = found["neuron_loss"], found["layer_loss"]
    layer_loss.label = "loss"
    graphs = [
        (neuron_loss, "neuron.svg", f"neuron grain: {samples} samples, the paths to {w} marked",
         {"highlight": [w, "loss"]}),
        (layer_loss, "layer.svg", "layer grain: each layer one node", {}),
    ]  # fmt: skip
    written = []
    for root, name, title, options in graphs:
        try:
            written.append((autograd.render(root, out / name, title=title, **options), ""))
        except RendererNotFoundError:  # the .dot source was written instead
            written.append((out / Path(name).with_suffix(".dot"), "no Graphviz renderer found"))
    for root, name, title, opens in [
        (neuron_loss, "neuron.html", f"neuron grain: the chain rule, {samples} samples", w),
        (layer_loss, "layer.html", "layer grain: the same pass, a layer per step", "L1.W"),
    ]:  # (each page opens on the paths to the weight the bridge is about)
        page = autograd.page(root, title=title, paths_of=opens)
        written.append((page.save(out / name), ""))
    return written


def _ops(root: autograd.Value) -> str:
    return " -> ".join(node.op for node in reversed(autograd.graph.backward_order(root)))


def _count(root: autograd.Value) -> int:
    return len(autograd.topological_order(root))


if __name__ == "__main__":
    raise SystemExit(main())
