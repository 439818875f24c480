graph g {
  input x: f32[N, 4]
  a, b = relu(x)
  output a
}
