# import of a module library (relative to this file), which imports another
import "lib/blocks.g"
import "lib/blocks.g"      # a second import of the same file is a no-op
graph imported {
  input x: f32[N, 8]
  block = MLPBlock(8, 16)
  output y = block(x)
}
