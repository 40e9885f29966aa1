from autograd import Value


def test_neuron_gradients_match_hand_computation():
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.8813735870195432, "b")
    o = (x * w + b).tanh()
    o.backward()
    local = 1 - o.data**2
    assert abs(w.grad - local * 2.0) < 1e-12
    assert abs(x.grad - local * -3.0) < 1e-12
    assert abs(b.grad - local) < 1e-12
