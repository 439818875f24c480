graph g {
  input x: f32[N, 4]
  a = gelu(x, approximate="fast")
  b = sum(x, axis="rows")
  c = clip(x, 0, 1, 2)
  output a, b, c
}
