# The two-layer net with its weights made by initializers.
graph two_layer_net {
  input x: f32[N, 1000]
  input y: f32[N, 10]
  param w1: f32[1000, 100] = normal(std=0.01, seed=1)
  param w2: f32[100, 10] = glorot_uniform(seed=2)
  h      = relu(x @ w1)
  y_pred = h @ w2
  loss   = sum((y_pred - y) ** 2)
  output y_pred, loss
}
