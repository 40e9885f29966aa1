"""A small GPT of Values: a character-level language model of names, every number a `Value`.

The model reads a name one letter at a time and, at each position t, predicts the next letter:

    x      = rmsnorm(wte[token_t] + wpe[t])                      embeddings (a row each)
    for each layer:
      x    = x + Wo concat_h(attention_h(rmsnorm(x)))            causal self-attention
      x    = x + W2 relu(W1 rmsnorm(x))                          the MLP
    logits = W_lm x                                              one score per letter
    loss_t = -log softmax(logits)[next]                          cross-entropy,
           = logsumexp(logits) - logits[next]                    computed so: two nodes

Attention of head h at position t, over the positions j <= t seen so far (kept in a `Cache`):

    q = Wq_h x_t,  k_j = Wk_h x_j,  v_j = Wv_h x_j
    s_j = (q . k_j) / sqrt(d),  a = softmax(s),  out = sum_j a_j v_j      (d: the head's size)

Every parameter is a leaf `Value` labelled by its block, so the tools can group the graph:
`emb.wte[3][5]`, `emb.wpe[0][5]`, `L1.attn.h0.wq[2][5]` (row 2 of W_q belongs to head 0),
`L1.attn.wo[..]`, `L1.mlp.fc1[..]`, `L1.mlp.fc2[..]`, `lm_head.w[..]`; `autograd.draw` boxes
them by those dotted prefixes (`blocks(root)` puts every other node in a block too). The heads'
values are labelled as well: `L1.attn.h0.q@3[1]` is entry 1 of head 0's query at position 3,
`L1.attn.h0.s@3[0]` its score for position 0, `L1.attn.h0.a@3[0]` how much position 3 attends
to 0, `L1.attn.h0.lse@3` the softmax's logsumexp, `L1.attn.h0.out@3[1]` the head's output.

`GPTConfig(fused=True)` makes each projection's output neuron, and each dot product inside
attention, one node (`autograd.linear`: the same numbers; fewer nodes, so faster); the default
builds each of `*` and a sum.

**Two grains, one set of numbers.** Each matrix is one Value holding an array (`model.weights`:
`emb.wte`, `L1.attn.wq`, ...), and each of its numbers a leaf `autograd.Entry` (`model.params`)
whose `data` and `grad` are that entry's. `GPTConfig(grain="layer")` (or `model.loss(tokens,
grain="layer")`) reads the whole name at once, a handful of nodes on T x D arrays
(`autograd.sequence`), with the same loss and gradients:

    X      = rmsnorm(embedding(wte, tokens) + embedding(wpe, 0..T-1))
    for each layer:
      X    = X + layer(causal_attention(layer(N, Wq), layer(N, Wk), layer(N, Wv)), Wo),
                                                                       N = rmsnorm(X)
      X    = X + layer(layer(rmsnorm(X), W1, relu), W2)
    loss   = batch_loss("cross_entropy", layer(X, W_lm), next tokens)

>>> config = GPTConfig(n_embd=8, n_head=2, n_layer=1, block_size=8)
>>> model = GPT(config, seed=0)
>>> loss = model.loss(encode("ada"))
>>> loss.backward()
>>> len(model.parameters())
1264
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

import autograd
from autograd import Entry, Value, logsumexp, no_grad, softmax
from autograd import sequence as seq
from autograd.layers import batch_loss

LETTERS = "abcdefghijklmnopqrstuvwxyz"
BOS = len(LETTERS)  # token 26: the start and the end of every name
VOCAB_SIZE = len(LETTERS) + 1
ZERO = Value(0.0, requires_grad=False)  # the bias of a fused neuron (these have none)


# ---------------------------------------------------------------------------------------------
# Data: names as tokens


def encode(name: str) -> list[int]:
    """A name as tokens, with BOS at both ends: "ada" -> [26, 0, 3, 0, 26]."""
    unknown = sorted(set(name) - set(LETTERS))
    if unknown:
        raise ValueError(f"encode: {name!r} has letters outside a-z: {''.join(unknown)!r}")
    return [BOS] + [LETTERS.index(ch) for ch in name] + [BOS]


def decode(tokens: Sequence[int]) -> str:
    """Tokens back to letters (BOS dropped)."""
    return "".join(LETTERS[t] for t in tokens if t != BOS)


def load_names() -> list[str]:
    """The first names of the 1990 US census (5,163 distinct, lower case, sorted), as the
    `names` package ships them inside its distribution (`names/dist.female.first` and
    `names/dist.male.first`); nothing is downloaded. Needs the `data` extra."""
    from importlib import resources

    try:
        folder = resources.files("names")
    except ImportError as error:
        raise ImportError(
            'the first names ship in the `names` package, the data extra: pip install -e ".[data]"'
        ) from error
    found = set()
    for file in ("dist.female.first", "dist.male.first"):
        for line in folder.joinpath(file).read_text().splitlines():
            if line.strip():
                found.add(line.split()[0].lower())
    return sorted(found)


def split_names(names: Sequence[str], held_out: float = 0.1, seed: int = 0):
    """(train, held_out): the names shuffled with `seed`, the last `held_out` share held out."""
    shuffled = list(names)
    random.Random(seed).shuffle(shuffled)
    n_held = max(1, round(len(shuffled) * held_out))
    return shuffled[:-n_held], shuffled[-n_held:]


# ---------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class GPTConfig:
    """The sizes: n_embd (the width of x), n_head (n_embd is split into heads of n_embd/n_head),
    n_layer, block_size (the longest context), vocab_size; std of the initial weights; fused:
    each neuron of a projection, and each dot product of attention, one `autograd.linear` node
    instead of its `*` and sum nodes (the same numbers, fewer nodes); grain: "neuron" (every
    number a Value, one position at a time) or "layer" (the name at once, a node per layer)."""

    n_embd: int = 16
    n_head: int = 4
    n_layer: int = 1
    block_size: int = 16
    vocab_size: int = VOCAB_SIZE
    std: float = 0.08
    fused: bool = False
    grain: str = "neuron"

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        check_grain(self.grain)

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head


GRAINS = ("neuron", "layer")


def check_grain(grain: str) -> str:
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; choose one of {', '.join(GRAINS)}")
    return grain


Matrix = list[list[Value]]


def weight(rows: int, cols: int, std: float, rng: random.Random, name: str, label):
    """A rows x cols matrix drawn from N(0, std^2), entry by entry: one Value holding the
    array (labelled `name`), and its entries as leaf `Entry`s labelled label(r, c)."""
    drawn = [[rng.gauss(0.0, std) for _ in range(cols)] for _ in range(rows)]
    whole = Value(np.array(drawn), name)
    entries = [[Entry(whole, r * cols + c, label(r, c)) for c in range(cols)] for r in range(rows)]
    return whole, entries


@dataclass
class Cache:
    """What attention at later positions reads: each layer's keys and values so far (one vector
    per position), and, for the pictures, each head's attention weights (floats) per position."""

    keys: list[list[list[Value]]]
    values: list[list[list[Value]]]
    weights: list[list[list[list[float]]]] = field(default_factory=list)

    @classmethod
    def empty(cls, config: GPTConfig) -> Cache:
        layers = range(config.n_layer)
        heads = range(config.n_head)
        return cls(
            [[] for _ in layers], [[] for _ in layers], [[[] for _ in heads] for _ in layers]
        )


class GPT:
    """The parameters and the forward pass: `weights` (name -> a Value holding the matrix) and
    `params` (name -> its entries, leaf Values, row by row); one position at a time at neuron
    grain (`forward`), the whole name at once at layer grain (`sequence_logits`)."""

    def __init__(self, config: GPTConfig | None = None, seed: int = 0) -> None:
        self.config = config = config or GPTConfig()
        rng = random.Random(seed)
        d, std, hs = config.n_embd, config.std, config.head_size
        self.weights: dict[str, Value] = {}
        self.params: dict[str, Matrix] = {}

        def add(key: str, rows: int, cols: int, name: str, label) -> None:
            self.weights[key], self.params[key] = weight(rows, cols, std, rng, name, label)

        add("wte", config.vocab_size, d, "emb.wte", lambda r, c: f"emb.wte[{r}][{c}]")
        add("wpe", config.block_size, d, "emb.wpe", lambda r, c: f"emb.wpe[{r}][{c}]")
        for layer in range(1, config.n_layer + 1):
            block = f"L{layer}"
            for w in ("wq", "wk", "wv"):  # row r belongs to head r // head_size
                name = lambda r, c, w=w, b=block: f"{b}.attn.h{r // hs}.{w}[{r}][{c}]"
                add(f"{block}.{w}", d, d, f"{block}.attn.{w}", name)
            add(f"{block}.wo", d, d, f"{block}.attn.wo", _label(f"{block}.attn.wo"))
            add(f"{block}.fc1", 4 * d, d, f"{block}.mlp.fc1", _label(f"{block}.mlp.fc1"))
            add(f"{block}.fc2", d, 4 * d, f"{block}.mlp.fc2", _label(f"{block}.mlp.fc2"))
        add("lm_head", config.vocab_size, d, "lm_head.w", _label("lm_head.w"))

    def parameters(self) -> list[Value]:
        """Every parameter, matrix by matrix, row by row."""
        return [p for rows in self.params.values() for row in rows for p in row]

    def matrices(self) -> list[Value]:
        """Every weight matrix as one Value (the same numbers as `parameters()`): what the
        optimizer updates at either grain."""
        return list(self.weights.values())

    def linear(self, w: Matrix, x: list[Value], label: str = "", relu: bool = False) -> list[Value]:
        """y = W x: y_i = sum_j W[i][j] x_j (no bias); relu(W x) with `relu`. Labelled `label[i]`
        when given."""
        if self.config.fused:
            activation = "relu" if relu else "linear"
            return _labelled([autograd.linear(row, x, ZERO, activation) for row in w], label)
        y = [autograd.sum([w_ij * x_j for w_ij, x_j in zip(row, x)]) for row in w]
        return _labelled([y_i.relu() for y_i in y] if relu else y, label)

    def forward(self, token: int, position: int, cache: Cache) -> list[Value]:
        """The logits for the token after `token` at `position`, reading (and adding to) the
        cache of earlier positions' keys and values."""
        c = self.config
        if not 0 <= position < c.block_size:
            raise ValueError(f"position {position} is outside the context (0..{c.block_size - 1})")
        tok, pos = self.params["wte"][token], self.params["wpe"][position]
        x = rmsnorm([t + p for t, p in zip(tok, pos)])
        for layer in range(1, c.n_layer + 1):
            x = add(x, self.attention(layer, rmsnorm(x), position, cache))
            x = add(x, self.mlp(layer, rmsnorm(x)))
        return self.linear(self.params["lm_head"], x, f"lm_head.logit@{position}")

    def attention(self, layer: int, x: list[Value], t: int, cache: Cache) -> list[Value]:
        """Multi-head causal self-attention at position t: each head attends to positions 0..t
        (the cache holds only those), the heads' outputs are concatenated and projected by Wo."""
        c, block = self.config, f"L{layer}"
        q = self.linear(self.params[f"{block}.wq"], x)
        k = self.linear(self.params[f"{block}.wk"], x)
        v = self.linear(self.params[f"{block}.wv"], x)
        cache.keys[layer - 1].append(k)
        cache.values[layer - 1].append(v)
        for i, x_i in enumerate(x):
            x_i.label = f"{block}.attn.x@{t}[{i}]"
        heads: list[Value] = []
        for h in range(c.n_head):
            part = slice(h * c.head_size, (h + 1) * c.head_size)
            prefix = f"{block}.attn.h{h}"
            keys = [k_j[part] for k_j in cache.keys[layer - 1]]
            values = [v_j[part] for v_j in cache.values[layer - 1]]
            out, a, scores = attend(q[part], keys, values, fused=c.fused)
            label_head(prefix, t, q=q[part], k=k[part], v=v[part], s=scores, a=a, out=out)
            cache.weights[layer - 1][h].append([a_j.data for a_j in a])
            heads.extend(out)
        return self.linear(self.params[f"{block}.wo"], heads)

    def mlp(self, layer: int, x: list[Value]) -> list[Value]:
        """W2 relu(W1 x): 4 n_embd hidden neurons."""
        hidden = self.linear(self.params[f"L{layer}.fc1"], x, relu=True)
        return self.linear(self.params[f"L{layer}.fc2"], hidden)

    def position_losses(self, tokens: Sequence[int]) -> list[Value]:
        """loss_t = -log softmax(z)[y] = logsumexp(z) - z[y], with z the logits at position t
        and y = tokens[t + 1], for t < min(len(tokens) - 1, block_size). d loss_t/d z_j =
        softmax(z)_j - [j == y]: the logsumexp node's local derivatives are the softmax."""
        cache = Cache.empty(self.config)
        n = min(len(tokens) - 1, self.config.block_size)
        losses = []
        for t in range(n):
            logits = self.forward(tokens[t], t, cache)
            loss_t = logsumexp(logits) - logits[tokens[t + 1]]
            loss_t.label = f"loss@{t}"
            losses.append(loss_t)
        return losses

    def loss(self, tokens: Sequence[int], grain: str | None = None) -> Value:
        """The mean of the positions' cross-entropies: (1/n) sum_t loss_t, at the config's grain
        (or `grain`): neuron grain, a graph of scalar Values; layer grain, one node per layer."""
        if check_grain(grain or self.config.grain) == "layer":
            targets = np.array(tokens[1 : len(self.sequence_inputs(tokens)) + 1])
            loss = batch_loss("cross_entropy", self.sequence_logits(tokens), targets)
            loss.label = "loss"
            return loss
        losses = self.position_losses(tokens)
        return autograd.sum(losses) / len(losses)

    def sequence_inputs(self, tokens: Sequence[int]) -> list[int]:
        """The tokens read: the first min(len(tokens) - 1, block_size)."""
        return list(tokens[: min(len(tokens) - 1, self.config.block_size)])

    def sequence_logits(self, tokens: Sequence[int], weights: list | None = None) -> Value:
        """Layer grain: the logits at every position read (T x vocab), one node per layer,
        position t attending to 0..t. `weights`, if a list, receives each layer's attention
        weights ([layer][head][t]: position t's distribution over 0..t)."""
        c, w = self.config, self.weights
        ids = self.sequence_inputs(tokens)
        if not ids:
            raise ValueError("a name of at least one token and its successor is needed")
        tok = seq.embedding(w["wte"], ids, "emb.tok")
        pos = seq.embedding(w["wpe"], list(range(len(ids))), "emb.pos")
        x = seq.rmsnorm(_named(tok + pos, "emb.sum"), "emb.x")
        for layer_number in range(1, c.n_layer + 1):
            block = f"L{layer_number}"
            n = seq.rmsnorm(x, f"{block}.attn.x")
            q, k, v = (autograd.layer(n, w[f"{block}.{m}"]) for m in ("wq", "wk", "wv"))
            q.label, k.label, v.label = f"{block}.attn.q", f"{block}.attn.k", f"{block}.attn.v"
            heads = seq.attention(q, k, v, c.n_head, f"{block}.attn.heads")
            if weights is not None:
                weights.append(seq.attention_weights(heads))
            x = x + _named(autograd.layer(heads, w[f"{block}.wo"]), f"{block}.attn.out")
            x.label = f"{block}.attn.residual"  # x + the attention's output
            hidden = autograd.layer(
                seq.rmsnorm(x, f"{block}.mlp.x"), w[f"{block}.fc1"], None, "relu"
            )
            hidden.label = f"{block}.mlp.hidden"
            x = x + _named(autograd.layer(hidden, w[f"{block}.fc2"]), f"{block}.mlp.out")
            x.label = f"{block}.mlp.residual"  # x + the MLP's output
        return _named(autograd.layer(x, w["lm_head"]), "lm_head.logits")

    def sample(self, temperature: float = 0.5, seed: int = 0) -> tuple[str, Cache]:
        """A new name: from BOS, draw each next token from softmax(logits / temperature) until
        BOS or the end of the context. The same seed gives the same name. Returns the name and
        the cache (with the attention weights of every head at every position). At neuron grain
        whatever the config's (one position at a time, reading the cache; the same numbers)."""
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        rng = random.Random(seed)
        cache = Cache.empty(self.config)
        token, out = BOS, []
        with no_grad():
            for t in range(self.config.block_size):
                logits = [z.data / temperature for z in self.forward(token, t, cache)]
                top = max(logits)
                weights = [math.exp(z - top) for z in logits]
                token = rng.choices(range(self.config.vocab_size), weights=weights)[0]
                if token == BOS:
                    break
                out.append(token)
        return decode(out), cache


def _named(node: Value, label: str) -> Value:
    node.label = label
    return node


def _labelled(y: list[Value], label: str) -> list[Value]:
    if label:
        for i, y_i in enumerate(y):
            y_i.label = f"{label}[{i}]"
    return y


def _label(prefix: str):
    return lambda r, c: f"{prefix}[{r}][{c}]"


def add(x: list[Value], y: list[Value]) -> list[Value]:
    """The residual connection: x_i + y_i."""
    return [x_i + y_i for x_i, y_i in zip(x, y)]


def rmsnorm(x: list[Value], eps: float = 1e-5) -> list[Value]:
    """y_i = x_i / sqrt(mean_j x_j^2 + eps): the vector scaled to a root mean square of 1."""
    mean_square = autograd.sum_of_squares(x) / len(x)
    scale = (mean_square + eps) ** -0.5
    return [x_i * scale for x_i in x]


def attend(
    q: list[Value], keys: list[list[Value]], values: list[list[Value]], fused: bool = False
) -> tuple[list[Value], list[Value], list[Value]]:
    """One head: s_j = (q . k_j) / sqrt(d), a = softmax(s), out_i = sum_j a_j v_j[i].
    Returns (out, a, s). Each a_j = exp(s_j - logsumexp(s)) reads every score through the one
    logsumexp node: that is how the positions are coupled in the backward pass. `fused`: each
    dot product q . k_j and each sum_j a_j v_j[i] is one `autograd.linear` node."""
    scale = 1.0 / math.sqrt(len(q))
    columns = [[v_j[i] for v_j in values] for i in range(len(q))]  # column i: v_0[i] .. v_t[i]
    if fused:
        scores = [autograd.linear(q, k_j, ZERO) * scale for k_j in keys]
        a = softmax(scores)
        out = [autograd.linear(a, column, ZERO) for column in columns]
    else:
        scores = [autograd.sum([q_i * k_i for q_i, k_i in zip(q, k_j)]) * scale for k_j in keys]
        a = softmax(scores)
        out = [autograd.sum([a_j * v for a_j, v in zip(a, column)]) for column in columns]
    return out, a, scores


def label_head(prefix: str, t: int, **vectors: list[Value]) -> None:
    """Name a head's values at position t: `label_head("L1.attn.h0", 3, q=q)` labels q[i]
    `L1.attn.h0.q@3[i]`. Inside the softmax of `a`: its logsumexp node becomes `...lse@3` and
    the shifted scores z_j = s_j - max (max a constant) `...z@3[j]`."""
    for name, vector in vectors.items():
        for i, node in enumerate(vector):
            node.label = f"{prefix}.{name}@{t}[{i}]"
    for j, a_j in enumerate(vectors.get("a", ())):  # a_j = exp(z_j - lse), z_j = s_j - max
        inner = a_j.parents[0] if a_j.parents else None
        if inner is None or len(inner.parents) != 2 or inner.parents[1].op != "logsumexp":
            return  # (a softmax built another way: its inner values stay unnamed)
        z_j, lse = inner.parents
        lse.label = f"{prefix}.lse@{t}"
        if z_j.parents and z_j.op == "-" and z_j not in vectors.get("s", ()):
            z_j.label = f"{prefix}.z@{t}[{j}]"


# ---------------------------------------------------------------------------------------------
# Training


class Adam:
    """Adam over a list of Values, with the learning rate decaying linearly to 0:

        lr_k = lr (1 - k / steps)
        m = b1 m + (1 - b1) g,   v = b2 v + (1 - b2) g^2
        p -= lr_k (m / (1 - b1^(k+1))) / (sqrt(v / (1 - b2^(k+1))) + eps)

    b1 = 0.85 and b2 = 0.99 (the single-file GPT's choice for a thousand short steps). A Value
    may hold a number or a whole matrix (`GPT.matrices()`): the same formula entry by entry, so
    the same numbers either way."""

    def __init__(
        self, params: list[Value], lr: float, steps: int, betas=(0.85, 0.99), eps: float = 1e-8
    ) -> None:
        self.params, self.lr, self.steps = params, lr, steps
        self.b1, self.b2 = betas
        self.eps = eps
        self.m = [0.0] * len(params)
        self.v = [0.0] * len(params)
        self.k = 0

    def rate(self) -> float:
        """lr_k = lr (1 - k / steps)."""
        return self.lr * (1.0 - self.k / self.steps)

    def step(self) -> None:
        """One update of every parameter from its grad; then every grad is set back to 0."""
        b1, b2, eps = self.b1, self.b2, self.eps
        fix1, fix2 = 1.0 - b1 ** (self.k + 1), 1.0 - b2 ** (self.k + 1)
        step = self.rate() / fix1  # lr_k m_hat = (lr_k / fix1) m
        m, v = self.m, self.v
        for i, p in enumerate(self.params):
            g = p.grad
            m[i] = m_i = b1 * m[i] + (1.0 - b1) * g
            v[i] = v_i = b2 * v[i] + (1.0 - b2) * g * g
            p.data = _frozen(p.data - step * m_i / (_sqrt(v_i / fix2) + eps))
            p.grad = 0.0
        self.k += 1


def _sqrt(x):
    """math.sqrt of a number, NumPy's of an array (both correctly rounded: the same numbers)."""
    return math.sqrt(x) if type(x) is float else np.sqrt(x)


def _frozen(x):
    """A new array made read-only (as a Value's data is); a number as it is."""
    if type(x) is not float:
        x.flags.writeable = False
    return x


def train(model: GPT, names: Sequence[str], steps: int, lr: float = 0.01, seed: int = 0,
          every: int = 0, report=print) -> list[float]:  # fmt: skip
    """`steps` steps of one name each (the names shuffled with `seed`, in turn): loss (at the
    config's grain), backward, one Adam step (over the matrices: the same numbers at both
    grains). Returns every step's loss; prints one line every `every` steps (0: none)."""
    order = list(names)
    random.Random(seed).shuffle(order)
    opt = Adam(model.matrices(), lr=lr, steps=steps)
    history = []
    with autograd.gc_paused():  # a training loop makes many nodes: spare it the collector
        for k in range(steps):
            loss = model.loss(encode(order[k % len(order)]))
            loss.backward()
            opt.step()
            history.append(loss.data)
            if every and (k + 1) % every == 0:
                recent = history[-every:]
                report(f"step {k + 1:5d}  loss {sum(recent) / len(recent):.4f}")
    return history


def mean_loss(model: GPT, names: Sequence[str]) -> float:
    """The cross-entropy per predicted token over `names` (every position of every name), at
    the config's grain."""
    total, count = 0.0, 0
    with no_grad():
        for name in names:
            tokens = encode(name)
            if model.config.grain == "layer":  # the mean over the name's positions, times them
                n = len(model.sequence_inputs(tokens))
                total += model.loss(tokens).data * n
                count += n
                continue
            losses = model.position_losses(tokens)
            total += math.fsum(loss.data for loss in losses)
            count += len(losses)
    return total / count


def bigram_loss(train_names: Sequence[str], held_out: Sequence[str], alpha: float = 1.0) -> float:
    """The bigram baseline: P(b | a) = (count(a b) + alpha) / (count(a) + alpha V), counted on
    the train names (BOS at both ends); its cross-entropy per token on the held-out names."""
    V = VOCAB_SIZE
    counts = [[alpha] * V for _ in range(V)]
    for name in train_names:
        tokens = encode(name)
        for a, b in zip(tokens, tokens[1:]):
            counts[a][b] += 1
    totals = [sum(row) for row in counts]
    total, count = 0.0, 0
    for name in held_out:
        tokens = encode(name)
        for a, b in zip(tokens, tokens[1:]):
            total -= math.log(counts[a][b] / totals[a])
            count += 1
    return total / count


def uniform_loss() -> float:
    """The uniform baseline: every token equally likely, -log(1/V) = log V per token."""
    return math.log(VOCAB_SIZE)


# ---------------------------------------------------------------------------------------------
# Blocks, for the pictures


def blocks(root: Value):
    """A function node -> block for `autograd.draw(root, clusters=blocks(root))`: a labelled
    node's block is its label's dotted prefix (`L1.attn.h0.q@3[1]` -> `L1.attn.h0`); a node
    that reads parameters is in their block (a neuron of W_o in `L1.attn`); any other node is
    in the block of its newest parent (a residual sum joins the block it adds). A leaf that is
    not a parameter (a constant such as `max` or `0.5`) joins the block of its readers if they
    are all in one block, and no block if they are not (the fused model's one zero bias, read
    in every block): put in one of them, it would draw as an edge from that block to the others.
    """
    order = autograd.topological_order(root)
    index = {node: k for k, node in enumerate(order)}
    scope: dict[Value, str] = {}
    for node in order:
        if not node.parents and not (node.label and node.requires_grad):
            continue  # a constant or an unnamed leaf: placed with its readers below
        if node.label:
            scope[node] = node.label.rpartition(".")[0]
        else:
            read = [p for p in node.parents if p.label and not p.parents and p.requires_grad]
            if read:
                scope[node] = scope[read[0]]
            else:
                made = [p for p in node.parents if p in scope] or [node]
                scope[node] = scope.get(max(made, key=index.__getitem__), "")
    readers: dict[Value, set[str]] = {}
    for node in order:
        for parent in node.parents:
            if parent not in scope:
                readers.setdefault(parent, set()).add(scope[node])
    for leaf, where in readers.items():
        scope[leaf] = where.pop() if len(where) == 1 else ""
    return lambda node: scope.get(node, "")


# ---------------------------------------------------------------------------------------------
# One head at one position, as a small graph of its own


def head_graph(model: GPT, tokens: Sequence[int], position: int, layer: int = 1, head: int = 0):
    """One attention head's part in the loss at `position`, as a small graph whose only
    parameters are that head's rows of W_q (everything else a constant at its value):

        q = Wq_h x_t,  s_j = q . k_j / sqrt(d),  a = softmax(s),  out = sum_j a_j v_j
        root = sum_i g_i out_i,   g_i = d loss_t / d out_i  (from the whole model: constants)

    In a one-layer model the loss at t reads W_q only through q at t, so d root / d Wq_h is
    d loss_t / d Wq_h of the whole model. Returns (root, wq): wq the head's rows of W_q as new
    leaves at the model's values, labelled like the model's (`L1.attn.h0.wq[0][5]`)."""
    c = model.config
    part = slice(head * c.head_size, (head + 1) * c.head_size)
    prefix = f"L{layer}.attn.h{head}"
    loss_t = model.position_losses(tokens[: position + 2])[position]
    named = {node.label: node for node in autograd.topological_order(loss_t) if node.label}
    saved = [(p, p.grad) for p in model.parameters()]
    loss_t.backward()
    g = [named[f"{prefix}.out@{position}[{i}]"].grad for i in range(c.head_size)]
    for p, grad in saved:
        p.grad = grad

    def constants(name: str, j: int, size: int) -> list[Value]:
        nodes = [named[f"{name}@{j}[{i}]"] for i in range(size)]
        return [Value(node.data, node.label, requires_grad=False) for node in nodes]

    x = constants(f"L{layer}.attn.x", position, c.n_embd)
    keys = [constants(f"{prefix}.k", j, c.head_size) for j in range(position + 1)]
    values = [constants(f"{prefix}.v", j, c.head_size) for j in range(position + 1)]
    wq = [[Value(w.data, w.label) for w in row] for row in model.params[f"L{layer}.wq"][part]]
    q = [autograd.sum([w * x_j for w, x_j in zip(row, x)]) for row in wq]
    out, a, scores = attend(q, keys, values)
    label_head(prefix, position, q=q, s=scores, a=a, out=out)
    root = autograd.sum([o * g_i for o, g_i in zip(out, g)])
    root.label = f"{prefix}.part_of_loss@{position}"
    return root, wq
