# bench/train_lenet.g -- training benchmark graph (make bench-train): the
# LeNet-5 style CNN of samples/lenet.g on 1x28x28 images (conv5x5 pad 2 6ch,
# max pool 2, conv5x5 16ch, max pool 2, fc 400-120-84-10, ReLU), softmax
# cross-entropy (mean) with integer labels, SGD lr 0.01 momentum 0.9.
# The same network in PyTorch: bench/train_torch.py.
graph train_lenet {
  input images: f32[N, 1, 28, 28]
  input labels: i32[N]
  conv1 = Conv2d(1, 6, 5, padding=2)
  conv2 = Conv2d(6, 16, 5)
  fc1 = Linear(400, 120)
  fc2 = Linear(120, 84)
  fc3 = Linear(84, 10)
  h = max_pool2d(relu(conv1(images)), kernel=2)     # [N, 6, 14, 14]
  h = max_pool2d(relu(conv2(h)), kernel=2)          # [N, 16, 5, 5]
  h = reshape(h, [0, -1])                           # [N, 400]
  h = relu(fc2(relu(fc1(h))))
  logits = fc3(h)
  loss = cross_entropy(logits, labels)
  output logits, loss
  train loss with sgd(lr=0.01, momentum=0.9)
}
