# A LeNet-style CNN for Fashion-MNIST (28x28 grayscale, 10 classes), trained
# in the graph: two 3x3 convolutions with max pooling, two linear layers,
# softmax cross-entropy on integer labels, Adam.
#
#   graphc compile samples/fashion_cnn.g -o fashion_cnn.gb
#   D=/usr/share/datasets/fashion-mnist      # Debian package dataset-fashion-mnist
#   graphrun train fashion_cnn.gb --epochs 5 --batch 64 --seed 1 \
#     --data images=$D/train-images-idx3-ubyte.gz --data labels=$D/train-labels-idx1-ubyte.gz \
#     --test-data images=$D/t10k-images-idx3-ubyte.gz --test-data labels=$D/t10k-labels-idx1-ubyte.gz \
#     --checkpoint fashion_cnn.gbc --logdir runs/fashion_cnn
module FashionCNN(num_classes=10) {
  conv1 = Conv2d(1, 32, 3, padding=1)     # -> 32x28x28, pooled to 32x14x14
  conv2 = Conv2d(32, 64, 3, padding=1)    # -> 64x14x14, pooled to 64x7x7
  fc1 = Linear(3136, 128)
  fc2 = Linear(128, num_classes)
  forward(x) {
    h = max_pool2d(relu(conv1(x)), kernel=2)
    h = max_pool2d(relu(conv2(h)), kernel=2)
    h = reshape(h, [0, -1])               # [N, 64, 7, 7] -> [N, 3136]
    h = relu(fc1(h))
    return fc2(h)
  }
}

graph fashion_cnn {
  input images: f32[N, 1, 28, 28]         # pixels scaled to [0, 1]
  input labels: i32[N]                    # class indices 0..9

  model = FashionCNN()
  logits = model(images)
  loss = cross_entropy(logits, labels)    # mean over the batch, log-sum-exp stable

  output logits
  train loss with adam(lr=0.001)
}
