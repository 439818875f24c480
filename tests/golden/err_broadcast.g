graph g {
  input x: f32[N, 4]
  param b: f32[3] = zeros()
  y = x + b
  output y
}
