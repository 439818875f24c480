graph g {
  input x: f32[N, 4]
  y = relu(x)
}
