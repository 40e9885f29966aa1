"""The classic from-scratch networks, reproduced on the autograd engine.

`python -m demos` lists them; `python -m demos NAME [flags]` runs one.
"""

# name -> (module, one-line description). Each module has `main(argv) -> int`.
DEMOS: dict[str, tuple[str, str]] = {
    "neuron": ("demos.neuron", "one tanh neuron: forward, backward, every gradient printed"),
}
