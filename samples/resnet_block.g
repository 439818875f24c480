# A small ResNet-style network: a stem convolution, two residual blocks (the
# same module instantiated twice, each with its own params), global average
# pooling and a linear classifier. Batch norm runs in inference mode.
module BasicBlock(channels) {
  conv1 = Conv2d(channels, channels, 3, padding=1)
  bn1 = BatchNorm2d(channels)
  conv2 = Conv2d(channels, channels, 3, padding=1)
  bn2 = BatchNorm2d(channels)
  forward(x) {
    h = relu(bn1(conv1(x)))
    h = bn2(conv2(h))
    return relu(h + x)                    # the residual connection
  }
}

graph resnet_block {
  input images: f32[N, 3, 32, 32]

  stem = Conv2d(3, 16, 3, padding=1)
  block1 = BasicBlock(16)
  block2 = BasicBlock(16)
  head = Linear(16, 10)

  h = relu(stem(images))
  h = block2(block1(h))
  pooled = flatten(global_avg_pool(h))    # [N, 16, 1, 1] -> [N, 16]
  logits = head(pooled)
  output logits
}
