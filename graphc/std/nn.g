# graphc/std/nn.g -- the standard modules, written in the graphc language and
# compiled into graphc (always available, like torch.nn). Param names, shapes
# and default initializers follow PyTorch, so weights exported from PyTorch
# load one to one: Linear.weight is [out_features, in_features].

module Linear(in_features, out_features) {
  param weight: f32[out_features, in_features] = kaiming_uniform(a=2.23606797749979)
  param bias: f32[out_features] = uniform(low=-1 / in_features ** 0.5, high=1 / in_features ** 0.5)
  forward(x) {
    return matmul(x, weight, trans_b=true) + bias
  }
}

# Conv2d with square kernels; padding is symmetric.
module Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1) {
  param weight: f32[out_channels, in_channels / groups, kernel_size, kernel_size] = kaiming_uniform(a=2.23606797749979)
  param bias: f32[out_channels] = uniform(low=-1 / (in_channels / groups * kernel_size * kernel_size) ** 0.5,
                                          high=1 / (in_channels / groups * kernel_size * kernel_size) ** 0.5)
  forward(x) {
    return conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
  }
}

# Inference batch norm over channel axis 1 with the running statistics.
module BatchNorm2d(num_features, eps=0.00001) {
  param weight: f32[num_features] = ones()
  param bias: f32[num_features] = zeros()
  param running_mean: f32[num_features] = zeros() frozen
  param running_var: f32[num_features] = ones() frozen
  forward(x) {
    return batch_norm(x, weight, bias, running_mean, running_var, eps=eps)
  }
}

# Normalises over the last dimension (of size normalized_shape).
module LayerNorm(normalized_shape, eps=0.00001) {
  param weight: f32[normalized_shape] = ones()
  param bias: f32[normalized_shape] = zeros()
  forward(x) {
    return layer_norm(x, weight, bias, axis=-1, eps=eps)
  }
}

module ReLU() {
  forward(x) { return relu(x) }
}

module GELU(approximate="none") {
  forward(x) { return gelu(x, approximate=approximate) }
}

module Sigmoid() {
  forward(x) { return sigmoid(x) }
}

module Tanh() {
  forward(x) { return tanh(x) }
}

module Softmax(dim=-1) {
  forward(x) { return softmax(x, axis=dim) }
}

module Flatten(start_dim=1, end_dim=-1) {
  forward(x) { return flatten(x, start_dim=start_dim, end_dim=end_dim) }
}

module MaxPool2d(kernel_size, stride=0, padding=0) {
  forward(x) { return max_pool2d(x, kernel=kernel_size, stride=stride, padding=padding) }
}

module AvgPool2d(kernel_size, stride=0, padding=0) {
  forward(x) { return avg_pool2d(x, kernel=kernel_size, stride=stride, padding=padding) }
}

module Dropout(p=0.5) {
  forward(x) { return dropout(x, p=p) }
}

module Identity() {
  forward(x) { return x }
}
