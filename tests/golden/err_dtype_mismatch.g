graph g {
  input x: f32[N, 4]
  input k: i32[N, 4]
  y = x + k
  output y
}
