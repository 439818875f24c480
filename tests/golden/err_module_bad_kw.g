graph g {
  input x: f32[N, 4]
  fc = Linear(4, 2, bias_init=3)
  output y = fc(x)
}
