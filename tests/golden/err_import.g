import "lib/no_such_library.g"
graph g {
  input x: f32[N, 4]
  output y = x
}
