# Convolution, pooling, flatten and a linear head, with a symbolic batch.
graph cnn {
  input images: f32[N, 1, 28, 28]
  conv = Conv2d(1, 4, 5, padding=2)
  h = max_pool2d(relu(conv(images)), kernel=2)
  h = avg_pool2d(h, kernel_size=2, stride=2)
  h = flatten(h)
  fc = Linear(196, 10)
  output logits = fc(h), probs = softmax(fc(h), dim=1)
}
