module Empty(n) {
  param w: f32[n] = zeros()
}
graph g {
  input x: f32[N, 4]
  m = Empty(4)
  output y = x
}
