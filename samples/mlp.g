# An MLP for 28x28 grayscale images (MNIST / Fashion-MNIST shaped): flatten,
# two hidden ReLU layers built with Sequential, class probabilities.
graph mlp {
  input images: f32[N, 1, 28, 28]

  net = Sequential(
    Flatten(),
    Linear(784, 256), relu,
    Linear(256, 128), relu,
    Linear(128, 10)
  )

  logits = net(images)
  probs  = softmax(logits, axis=1)
  output logits, probs
}
