"""One training step (forward and backward) of the small GPT, timed side by side in one run.

    python benchmarks/gpt.py                                          # the engine's rows
    python benchmarks/gpt.py --torch-python /tmp/torchvenv/bin/python # and PyTorch eager

Rows, all on the same weights (`nn.gpt.GPT(GPTConfig(), seed=0)`: embedding 16, 4 heads,
1 layer, context 16) and the same name:

- `classic Value`: the model written as the single file writes it (plain functions over lists
  of Values, `sum()` from 0, `-probs[t].log()`), on `benchmarks/plain_value.py`'s Value;
- `this Value`: the very same functions on `autograd.Value`, as a learner runs them (no
  context manager);
- `leanest Value`: the same functions on `benchmarks/lean_value.py`'s Value, one Python object
  per operation (parents and local derivatives in its slots, no tuples): how fast a scalar
  Value can be here (the issue asks the plain-written model for 3x the classic's speed);
- the first two again with Python's cyclic collector paused (`gc paused`): the collector's
  share of the step (it walks every live node at each full collection);
- `nn.gpt plain` / `nn.gpt fused`: the engine's own model at neuron grain, each neuron of `*`
  and a sum, or one `autograd.linear` node; `nn.gpt fused, gc paused`: as `nn.gpt.train` runs it;
- `nn.gpt layer grain`: the same model (the same matrices) read a name at a time, one node per
  layer (`GPTConfig(grain="layer")`: `autograd.layer` and the rows of `autograd.sequence`), as
  the demo trains it;
- `PyTorch eager`: the same model in float64, one thread, position by position with the same
  cache of keys and values, and `PyTorch eager, whole name`: the name at once with a causal mask
  (run with `--torch-python`; PyTorch is never a dependency).

Each row: the median of `--steps` steps (after one to warm up) of the forward pass and of the
backward pass, in wall time (or with `--cpu` this process's CPU time, steadier on a busy
machine); the gradients of every row are compared with the classic Value's. Ratios, not a
timed test. `--collector` adds, for the plain-written rows with the collector on, what it did in
a step: its collections of each generation and their time (`gc.callbacks`), where a full
collection (generation 2) walks every live node of the graph being built.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

NAME = "isabella"  # 8 letters: 9 positions
CLOCK = [
    time.perf_counter
]  # --cpu: time.process_time (this process's CPU time, for a busy machine)
MATRICES = ["wte", "wpe", "L1.wq", "L1.wk", "L1.wv", "L1.wo", "L1.fc1", "L1.fc2", "lm_head"]


# -- the model as the single file writes it (any Value class) -----------------------------------


def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]


def softmax(logits):
    max_val = max(val.data for val in logits)
    exps = [(val - max_val).exp() for val in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def forward(token_id, pos_id, keys, values, state, n_head=4):
    x = [t + p for t, p in zip(state["wte"][token_id], state["wpe"][pos_id])]
    x = rmsnorm(x)
    head_dim = len(x) // n_head
    x_residual = x
    x = rmsnorm(x)
    q, k, v = linear(x, state["L1.wq"]), linear(x, state["L1.wk"]), linear(x, state["L1.wv"])
    keys.append(k)
    values.append(v)
    x_attn = []
    for h in range(n_head):
        hs = h * head_dim
        q_h = q[hs : hs + head_dim]
        k_h = [ki[hs : hs + head_dim] for ki in keys]
        v_h = [vi[hs : hs + head_dim] for vi in values]
        logits = [sum(q_h[j] * k_t[j] for j in range(head_dim)) / head_dim**0.5 for k_t in k_h]
        weights = softmax(logits)
        x_attn.extend(sum(weights[t] * v_h[t][j] for t in range(len(v_h))) for j in range(head_dim))
    x = [a + b for a, b in zip(linear(x_attn, state["L1.wo"]), x_residual)]
    x_residual = x
    x = [xi.relu() for xi in linear(rmsnorm(x), state["L1.fc1"])]
    x = [a + b for a, b in zip(linear(x, state["L1.fc2"]), x_residual)]
    return linear(x, state["lm_head"])


def plain_loss(tokens, state, block_size=16):
    n = min(block_size, len(tokens) - 1)
    keys, values, losses = [], [], []
    for pos_id in range(n):
        probs = softmax(forward(tokens[pos_id], pos_id, keys, values, state))
        losses.append(-probs[tokens[pos_id + 1]].log())
    return (1 / n) * sum(losses)


# -- measuring -----------------------------------------------------------------------------------


def weights() -> dict[str, list[list[float]]]:
    import nn.gpt as gpt

    model = gpt.GPT(gpt.GPTConfig(), seed=0)
    return {name: [[p.data for p in row] for row in model.params[name]] for name in MATRICES}


def tokens() -> list[int]:
    import nn.gpt as gpt

    return gpt.encode(NAME)


COLLECTOR = [False]  # --collector: record the collector's work in each timed step


@contextlib.contextmanager
def collector_log(log: dict):
    """Inside, every collection adds to `log[generation]` = [count, seconds]."""
    started = [0.0]

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            entry = log.setdefault(info["generation"], [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - started[0]

    gc.callbacks.append(note)
    try:
        yield
    finally:
        gc.callbacks.remove(note)


def timed(make_loss, leaves, steps: int, reset=None) -> dict:
    """Median forward and backward ms over `steps` steps (after one), the node count and the
    first step's gradients (in `leaves`' order). `reset()` sets the gradients back to 0 (by
    default each of `leaves`'). With `--collector`, "collector": {generation: (collections,
    ms)} per timed step."""
    forward_ms, backward_ms, grads, log = [], [], None, {}
    for k in range(steps + 1):
        if reset is not None:
            reset()
        else:
            for p in leaves:
                p.grad = 0.0
        with collector_log(log) if COLLECTOR[0] and k else contextlib.nullcontext():
            start = CLOCK[0]()
            loss = make_loss()
            middle = CLOCK[0]()
            loss.backward()
            end = CLOCK[0]()
        if k == 0:
            grads = [p.grad for p in leaves]
        else:
            forward_ms.append(1e3 * (middle - start))
            backward_ms.append(1e3 * (end - middle))
        del loss
    f, b = statistics.median(forward_ms), statistics.median(backward_ms)
    per_step = {g: (n / steps, 1e3 * s / steps) for g, (n, s) in sorted(log.items())}
    return {"forward": f, "backward": b, "step": f + b, "grads": grads, "collector": per_step}


def state_of(value_class, w: dict) -> dict:
    """The single file's state dict: a `value_class` leaf for every weight."""
    return {name: [[value_class(x) for x in row] for row in rows] for name, rows in w.items()}


def plain_row(value_class, w: dict, token_ids: list[int], steps: int, paused=False) -> dict:
    """The plain-written model on `value_class`; `paused`: with Python's cyclic collector paused
    (`autograd.gc_paused()`, for the classic Value too), to show the collector's share."""
    state = state_of(value_class, w)
    leaves = [p for name in MATRICES for row in state[name] for p in row]
    import autograd

    with autograd.gc_paused() if paused else contextlib.nullcontext():
        row = timed(lambda: plain_loss(token_ids, state), leaves, steps)
    row["nodes"] = nodes(plain_loss(token_ids, state))
    return row


def nn_row(
    fused: bool, token_ids: list[int], steps: int, paused: bool = False, grain: str = "neuron"
) -> dict:
    import autograd
    import nn.gpt as gpt

    model = gpt.GPT(gpt.GPTConfig(fused=fused, grain=grain), seed=0)
    leaves = [p for name in MATRICES for row in model.params[name] for p in row]

    def reset() -> None:  # the matrices' gradients (each entry's is one of theirs)
        for matrix in model.matrices():
            matrix.grad = 0.0

    if paused:
        with autograd.gc_paused():
            row = timed(lambda: model.loss(token_ids), leaves, steps, reset)
    else:
        row = timed(lambda: model.loss(token_ids), leaves, steps, reset)
    row["nodes"] = nodes(model.loss(token_ids))
    return row


def nodes(root) -> int:
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(getattr(node, "parents", None) or getattr(node, "children", ()))
    return len(seen)


# -- PyTorch eager, in its own Python ------------------------------------------------------------


def torch_measure(w: dict, token_ids: list[int], steps: int, whole: bool = False) -> dict:
    """The same model in PyTorch eager (float64, one thread), position by position, or with
    `whole` the name at once (a causal mask; as the layer grain reads it)."""
    import torch

    torch.set_num_threads(1)
    params = {n: torch.tensor(w[n], dtype=torch.float64, requires_grad=True) for n in MATRICES}

    def norm(x):
        return x * (x.pow(2).mean() + 1e-5).rsqrt()

    def loss_of():
        keys, values, losses = [], [], []
        n = min(16, len(token_ids) - 1)
        for t in range(n):
            x = norm(params["wte"][token_ids[t]] + params["wpe"][t])
            residual = x
            x = norm(x)
            keys.append(params["L1.wk"] @ x)
            values.append(params["L1.wv"] @ x)
            q = (params["L1.wq"] @ x).view(4, -1)
            K = torch.stack(keys).view(len(keys), 4, -1).transpose(0, 1)  # heads x t x d
            V = torch.stack(values).view(len(values), 4, -1).transpose(0, 1)
            a = torch.softmax((K @ q.unsqueeze(-1)).squeeze(-1) / math.sqrt(q.shape[1]), -1)
            heads = (a.unsqueeze(1) @ V).reshape(-1)
            x = params["L1.wo"] @ heads + residual
            x = params["L1.fc2"] @ torch.relu(params["L1.fc1"] @ norm(x)) + x
            logits = params["lm_head"] @ x
            losses.append(-torch.log_softmax(logits, -1)[token_ids[t + 1]])
        return torch.stack(losses).mean()

    def whole_loss_of():
        n = min(16, len(token_ids) - 1)
        x = params["wte"][token_ids[:n]] + params["wpe"][:n]
        x = x * (x.pow(2).mean(-1, keepdim=True) + 1e-5).rsqrt()
        residual = x
        x = x * (x.pow(2).mean(-1, keepdim=True) + 1e-5).rsqrt()
        q, k, v = (
            (x @ params[m].T).view(n, 4, -1).transpose(0, 1) for m in ("L1.wq", "L1.wk", "L1.wv")
        )
        s = (q @ k.transpose(1, 2)) / math.sqrt(q.shape[2])
        s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), -math.inf)
        heads = (torch.softmax(s, -1) @ v).transpose(0, 1).reshape(n, -1)
        x = heads @ params["L1.wo"].T + residual
        h = x * (x.pow(2).mean(-1, keepdim=True) + 1e-5).rsqrt()
        x = torch.relu(h @ params["L1.fc1"].T) @ params["L1.fc2"].T + x
        logits = x @ params["lm_head"].T
        return torch.nn.functional.cross_entropy(logits, torch.tensor(token_ids[1 : n + 1]))

    if whole:
        loss_of = whole_loss_of
    forward_ms, backward_ms, grads = [], [], None
    for k in range(steps + 1):
        for p in params.values():
            p.grad = None
        start = CLOCK[0]()
        loss = loss_of()
        middle = CLOCK[0]()
        loss.backward()
        end = CLOCK[0]()
        if k == 0:
            grads = [g for n in MATRICES for g in params[n].grad.reshape(-1).tolist()]
        else:
            forward_ms.append(1e3 * (middle - start))
            backward_ms.append(1e3 * (end - middle))
    f, b = statistics.median(forward_ms), statistics.median(backward_ms)
    return {"forward": f, "backward": b, "step": f + b, "grads": grads,
            "version": torch.__version__}  # fmt: skip


def torch_row(
    python: str, w: dict, token_ids: list[int], steps: int, whole: bool = False
) -> dict | None:
    cpu = CLOCK[0] is time.process_time
    request = json.dumps(
        {"weights": w, "tokens": token_ids, "steps": steps, "cpu": cpu, "whole": whole}
    )
    try:
        done = subprocess.run([python, os.path.abspath(__file__), "--torch-only"], input=request,
                              capture_output=True, text=True, timeout=600, check=True)  # fmt: skip
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as error:
        print(f"(PyTorch skipped: {python} failed: {error})", file=sys.stderr)
        return None


# -- the table -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="one GPT training step, side by side")
    p.add_argument("--steps", type=int, default=10, help="timed steps per row (median)")
    p.add_argument("--torch-python", help="a Python that has torch, for the PyTorch row")
    p.add_argument("--cpu", action="store_true", help="time CPU time, not wall time")
    p.add_argument(
        "--collector", action="store_true", help="the collector's work in a plain-written step"
    )
    p.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.cpu:
        CLOCK[0] = time.process_time
    COLLECTOR[0] = args.collector
    if args.torch_only:
        request = json.loads(sys.stdin.read())
        if request["cpu"]:
            CLOCK[0] = time.process_time
        found = torch_measure(
            request["weights"], request["tokens"], request["steps"], request.get("whole", False)
        )
        print(json.dumps(found))
        return 0

    import lean_value
    import plain_value

    import autograd

    w, token_ids, steps = weights(), tokens(), args.steps
    rows = {}
    rows["classic Value, plain-written"] = plain_row(plain_value.Value, w, token_ids, steps)
    rows["this Value, plain-written"] = plain_row(autograd.Value, w, token_ids, steps)
    rows["leanest Value, plain-written"] = plain_row(lean_value.Value, w, token_ids, steps)
    rows["classic Value, plain, gc paused"] = plain_row(
        plain_value.Value, w, token_ids, steps, True
    )
    rows["this Value, plain, gc paused"] = plain_row(autograd.Value, w, token_ids, steps, True)
    rows["nn.gpt plain neurons"] = nn_row(False, token_ids, steps)
    rows["nn.gpt fused neurons"] = nn_row(True, token_ids, steps)
    rows["nn.gpt fused, gc paused"] = nn_row(True, token_ids, steps, paused=True)
    rows["nn.gpt layer grain"] = nn_row(True, token_ids, steps, grain="layer")
    if args.torch_python:
        for whole, kind in ((False, "eager"), (True, "eager, whole name")):
            found = torch_row(args.torch_python, w, token_ids, steps, whole)
            if found:
                rows[f"PyTorch {found['version']} {kind}"] = found

    classic = rows["classic Value, plain-written"]
    gc.collect()
    print(f"one step of the GPT (4,192 parameters) on {NAME!r} ({len(token_ids) - 1} positions), "
          f"median of {steps} ({'CPU' if args.cpu else 'wall'} time); "
          "ratio = the classic Value's step / the row's")  # fmt: skip
    print(f"{'row':<36} {'nodes':>7} {'forward':>9} {'backward':>9} {'step':>9} {'ratio':>7} "
          f"{'max |dg|':>8}")  # fmt: skip
    for name, row in rows.items():
        diff = max(abs(a - b) for a, b in zip(row["grads"], classic["grads"]))
        count = f"{row['nodes']:,}" if "nodes" in row else "-"
        print(
            f"{name:<36} {count:>7} {row['forward']:>7.1f}ms {row['backward']:>7.1f}ms "
            f"{row['step']:>7.1f}ms {classic['step'] / row['step']:>6.2f}x {diff:>8.1e}"
        )
    if args.collector:
        print("\nthe collector in one step (collector on): collections, ms, by generation")
        for name in list(rows)[:3]:
            work = rows[name]["collector"]
            shown = "   ".join(f"gen {g}: {n:5.1f} x, {ms:5.1f} ms" for g, (n, ms) in work.items())
            total = sum(ms for _, ms in work.values())
            print(f"{name:<36} {shown}   all: {total:5.1f} ms of {rows[name]['step']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
