# An elementwise chain over a flat vector: y = gelu(x*a + b) * sigmoid(x) +
# tanh(x*0.5), 8 elementwise ops. a and b are compile-time scalars (shape [],
# they take x's dtype f32). At -O2 the fuse_ew pass turns the 8 ops into one
# fused_elementwise node that reads x once and writes y once, tile by tile
# (graphc compile samples/ew_chain.g --report shows the rewrite).
# Try it at 4M elements: graphrun ew_chain.gb --random-inputs --batch 4194304 --repeat 50
graph ew_chain {
  input x: f32[N]
  const a = 1.5
  const b = 0.25
  output y = gelu(x * a + b) * sigmoid(x) + tanh(x * 0.5)
}
