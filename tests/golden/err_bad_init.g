graph g {
  input x: f32[N, 4]
  param w: f32[4, 4] = gaussian(std=1)
  param v: f32[4, 4] = normal(sigma=1)
  output y = x @ w @ v
}
