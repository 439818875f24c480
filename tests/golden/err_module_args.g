graph g {
  input x: f32[N, 4]
  fc = Linear(4)
  output y = fc(x)
}
