graph g {
  input x: f32[N, 4]
  y = relu(x
  z = (x + ) * 2
  w = x +
  v = x $ 2
  output y
}
