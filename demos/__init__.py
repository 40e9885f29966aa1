"""The classic from-scratch networks, reproduced on the autograd engine.

`python -m demos` lists them; `python -m demos NAME [flags]` runs one. Each demo trains with its
tutorial's original settings (flags change them; `--quick` reduces them), checks the engine
against the tutorial's vectorized NumPy form from the same initial weights, and writes its
pictures under `out/NAME/`.
"""

# name -> (module, one-line description). Each module has `main(argv) -> int`.
DEMOS: dict[str, tuple[str, str]] = {
    "neuron": ("demos.neuron", "one tanh neuron: forward, backward, every gradient printed"),
    "xor": ("demos.xor", "XOR with one hidden layer: 2-2-1 tanh/sigmoid, cross-entropy"),
    "two_layer": ("demos.two_layer", "the two-layer network as a class: 3-4-1 sigmoid, no biases"),
    "perceptron": (
        "demos.perceptron",
        "one sigmoid neuron: OR with and without a bias, the virus case study",
    ),
    "deep": ("demos.deep", "an L-layer net on synthetic weather: L2, mini-batches, momentum, Adam"),
    "blobs": ("demos.blobs", "two Gaussian blobs: 2-4-1 ReLU/sigmoid, 10,000 iterations"),
    "moons": ("demos.moons", "the flagship: MLP(2,[16,16,1]) on moons, hinge loss, 100% accuracy"),
    "spiral": ("demos.spiral", "three classes: the CS231n spiral, softmax cross-entropy, AdamW"),
    "yinyang": ("demos.yinyang", "three classes: yin, yang and the dots, cross-entropy, AdamW"),
    "digits": ("demos.digits", "ten classes: 8x8 handwritten digits, train and test"),
    "gpt": ("demos.gpt", "a tiny GPT of Values on first names: attention, training, sampling"),
    "grains": ("demos.grains", "the bridge: one weight's paths at neuron grain are S^T X's terms"),
    "mistakes": (
        "demos.mistakes",
        "the classic bugs of a hand-written backward, and what catches them",
    ),
}

#: The demos whose data ships in the `data` extra (pip install -e ".[data]"); the list says so.
DATA_EXTRA = {"digits", "gpt"}
