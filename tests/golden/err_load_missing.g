graph g {
  input x: f32[N, 4]
  param w: f32[4, 4] = load("no_such_file.npy")
  output y = x @ w
}
