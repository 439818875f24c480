# bench/lenet.g -- benchmark graph: LeNet-5 style CNN on 1x28x28 images:
# conv5x5 (pad 2) 6, max pool 2, conv5x5 16, max pool 2, fc 400-120-84-10.
# Run at batch 64: graphbench bench/lenet.g --batch 64
graph lenet {
  input images: f32[N, 1, 28, 28]
  conv1 = Conv2d(1, 6, 5, padding=2)
  conv2 = Conv2d(6, 16, 5)
  fc1 = Linear(400, 120)
  fc2 = Linear(120, 84)
  fc3 = Linear(84, 10)
  h = max_pool2d(relu(conv1(images)), kernel=2)     # [N, 6, 14, 14]
  h = max_pool2d(relu(conv2(h)), kernel=2)          # [N, 16, 5, 5]
  h = reshape(h, [0, -1])                           # [N, 400]
  h = relu(fc2(relu(fc1(h))))
  output logits = fc3(h)
}
