"""What the model files say when they cannot be loaded (JSON and safetensors alike), and the name
they both carry, in a module of its own so that each file format imports it, not the other."""

FORMAT = "backprop-lab/mlp"


class ModelFileError(ValueError):
    """A model file that cannot be loaded: malformed, truncated, edited or mismatched."""
