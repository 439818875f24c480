graph g {
  input x: f16[N, 4]
  output y = x
}
