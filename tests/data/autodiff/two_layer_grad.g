# The two-layer network of samples/two_layer_net.g (smaller), with the
# gradients of its squared loss (sum and mean) w.r.t. both weights.
# Checked against tests/gen_autodiff_ref.py by tests/test_gc_autodiff.c.
graph two_layer_grad {
  input x: f32[N, 30]
  input y: f32[N, 10]
  param w1: f32[30, 20] = load("w1.npy")
  param w2: f32[20, 10] = load("w2.npy")

  h      = relu(x @ w1)
  y_pred = h @ w2
  loss   = sum((y_pred - y) ** 2)
  mse    = mean((y_pred - y) ** 2)
  gw1, gw2 = gradients(loss, [w1, w2])
  mw1, mw2 = gradients(mse, [w1, w2])
  output loss, gw1, gw2, mw1, mw2
}
