# A module instantiated twice (separate params, named hierarchically), a
# Sequential, calling the same instance twice (shared params), members.
module Block(d, hidden=8) {
  fc1 = Linear(d, hidden)
  fc2 = Linear(hidden, d)
  param gate: f32[d] = ones()
  forward(x) {
    h = relu(fc1(x))
    return x + fc2(h) * gate
  }
}

graph net {
  input x: f32[B, 4]
  b1 = Block(4)
  b2 = Block(4, hidden=16)
  head = Sequential(Linear(4, 3), tanh, Linear(3, 2))
  h = b2(b1(x))
  h2 = b1(h)
  output out = head(h2), w = b1.fc1.weight
}
