graph g {
  input x: f32[N, 4, 6]
  a = x[:, 4]
  b = x[:, 1, 2, 3]
  output a, b
}
