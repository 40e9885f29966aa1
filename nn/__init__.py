"""nn: neurons, layers and MLPs built only from autograd Values."""
