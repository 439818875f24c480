# three independent mistakes, all reported in one run
graph g {
  input x: f32[N, 4]
  param w: f32[4, 3] = normal(std=0.1)
  a = x @ w
  b = a + x
  c = softmax(a, axis=5)
  d = frobnicate(a)
  output a, b, c, d
}
