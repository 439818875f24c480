# bench/resnet18.g -- benchmark graph: ResNet-18 as torchvision lays it out
# (7x7/2 stem without bias, BN, ReLU, 3x3/2 max pool, 4 stages of 2 basic
# blocks with 1x1/2 downsample convs, global average pool, fc 512-1000).
# BN statistics are random (not 0/1) so that folding BN is really checked.
# Run at batch 1: graphbench bench/resnet18.g --batch 1

# Inference batch norm with non-trivial running statistics.
module BN(n) {
  param weight: f32[n] = uniform(low=0.5, high=1.5)
  param bias: f32[n] = uniform(low=-0.1, high=0.1)
  param running_mean: f32[n] = uniform(low=-0.1, high=0.1) frozen
  param running_var: f32[n] = uniform(low=0.5, high=1.5) frozen
  forward(x) {
    return batch_norm(x, weight, bias, running_mean, running_var, eps=0.00001)
  }
}

# conv (no bias, as torchvision) followed by batch norm
module ConvBN(cin, cout, k, stride=1, padding=0) {
  param weight: f32[cout, cin, k, k] = kaiming_normal()
  bn = BN(cout)
  forward(x) {
    return bn(conv2d(x, weight, stride=stride, padding=padding))
  }
}

module BasicBlock(cin, cout, stride=1) {
  c1 = ConvBN(cin, cout, 3, stride, 1)
  c2 = ConvBN(cout, cout, 3, 1, 1)
  forward(x) {
    return relu(c2(relu(c1(x))) + x)
  }
}

module DownBlock(cin, cout, stride=2) {
  c1 = ConvBN(cin, cout, 3, stride, 1)
  c2 = ConvBN(cout, cout, 3, 1, 1)
  down = ConvBN(cin, cout, 1, stride, 0)
  forward(x) {
    return relu(c2(relu(c1(x))) + down(x))
  }
}

graph resnet18 {
  input images: f32[N, 3, 224, 224]
  stem = ConvBN(3, 64, 7, 2, 3)
  layer1_0 = BasicBlock(64, 64)
  layer1_1 = BasicBlock(64, 64)
  layer2_0 = DownBlock(64, 128)
  layer2_1 = BasicBlock(128, 128)
  layer3_0 = DownBlock(128, 256)
  layer3_1 = BasicBlock(256, 256)
  layer4_0 = DownBlock(256, 512)
  layer4_1 = BasicBlock(512, 512)
  fc = Linear(512, 1000)

  h = max_pool2d(relu(stem(images)), kernel=3, stride=2, padding=1)   # [N, 64, 56, 56]
  h = layer1_1(layer1_0(h))
  h = layer2_1(layer2_0(h))                                          # [N, 128, 28, 28]
  h = layer3_1(layer3_0(h))                                          # [N, 256, 14, 14]
  h = layer4_1(layer4_0(h))                                          # [N, 512, 7, 7]
  output logits = fc(flatten(global_avg_pool(h)))
}
