# bench/two_layer.g -- benchmark graph: the two-layer net of the peer table,
# relu(x @ w1) @ w2, 1000-100-10 without biases, inference only.
# Run at batch 64: graphbench bench/two_layer.g --batch 64
graph two_layer {
  input x: f32[N, 1000]
  param w1: f32[1000, 100] = normal(std=0.03, seed=1)
  param w2: f32[100, 10]   = normal(std=0.1, seed=2)
  output y = relu(x @ w1) @ w2
}
