graph g {
  input x: f32[N, 16, 5, 5]
  a = reshape(x, [0, -1])
  b = reshape(x, [0, 7, -1])
  output a, b
}
