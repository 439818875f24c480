module Act() {
  forward(x) { return gelu(x, approximate="tanh") }
}
