# bench/train_mlp.g -- training benchmark graph (make bench-train): the MLP of
# samples/mlp.g on 1x28x28 images (flatten, 784-256-128-10, ReLU), softmax
# cross-entropy (mean) with integer labels, SGD lr 0.01 momentum 0.9.
# The same network in PyTorch: bench/train_torch.py.
graph train_mlp {
  input images: f32[N, 1, 28, 28]
  input labels: i32[N]
  net = Sequential(
    Flatten(),
    Linear(784, 256), relu,
    Linear(256, 128), relu,
    Linear(128, 10)
  )
  logits = net(images)
  loss = cross_entropy(logits, labels)
  output logits, loss
  train loss with sgd(lr=0.01, momentum=0.9)
}
