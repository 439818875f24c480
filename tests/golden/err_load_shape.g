graph g {
  input x: f32[N, 100]
  param w: f32[100, 12] = load("../../samples/w2.npy")
  output y = x @ w
}
