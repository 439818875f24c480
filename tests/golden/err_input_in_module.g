module M() {
  input x: f32[4]
  forward(x) { return x }
}
graph g {
  input x: f32[N, 4]
  m = M()
  output y = m(x)
}
