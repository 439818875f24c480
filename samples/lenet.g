# A LeNet-5 style CNN for 1x28x28 images: two 5x5 convolutions with max
# pooling, then three fully connected layers (400-120-84-10).
module LeNet(num_classes=10) {
  conv1 = Conv2d(1, 6, 5, padding=2)      # -> 6x28x28, pooled to 6x14x14
  conv2 = Conv2d(6, 16, 5)                # -> 16x10x10, pooled to 16x5x5
  fc1 = Linear(400, 120)
  fc2 = Linear(120, 84)
  fc3 = Linear(84, num_classes)
  forward(x) {
    h = max_pool2d(relu(conv1(x)), kernel=2)
    h = max_pool2d(relu(conv2(h)), kernel=2)
    h = reshape(h, [0, -1])               # [N, 16, 5, 5] -> [N, 400]
    h = relu(fc1(h))
    h = relu(fc2(h))
    return fc3(h)
  }
}

graph lenet {
  input images: f32[N, 1, 28, 28]
  model = LeNet()
  logits = model(images)
  output logits, classes = argmax(logits, axis=1)
}
