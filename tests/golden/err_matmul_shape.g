graph g {
  input x: f32[N, 1000]
  param w1: f32[1000, 100] = normal(std=0.01)
  param w2: f32[10, 100] = normal(std=0.01)
  h = relu(x @ w1)
  y = h @ w2
  output y
}
