# bench/mlp.g -- benchmark graph: MLP 784-1024-1024-10 with ReLU (PyTorch
# Linear layers, biases included), inference.
# Run at batch 128: graphbench bench/mlp.g --batch 128
graph mlp {
  input x: f32[N, 784]
  net = Sequential(
    Linear(784, 1024), relu,
    Linear(1024, 1024), relu,
    Linear(1024, 10)
  )
  output logits = net(x)
}
