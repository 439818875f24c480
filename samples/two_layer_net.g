# The two-layer network: relu(x @ w1) @ w2 with a squared loss.
graph two_layer_net {
  input x: f32[N, 1000]              # N is a symbolic dimension, bound when the graph runs
  input y: f32[N, 10]

  param w1: f32[1000, 100] = normal(std=0.01, seed=1)
  param w2: f32[100, 10]   = load("w2.npy")      # path relative to the model file

  h      = relu(x @ w1)
  y_pred = h @ w2
  loss   = sum((y_pred - y) ** 2)

  output y_pred, loss
  train loss with sgd(lr=1e-5)       # graphrun train: forward, backward, update per step
}
