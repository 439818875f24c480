# An MLP for Fashion-MNIST trained with SGD + Nesterov momentum; the learning
# rate is an input, so graphrun train can schedule it:
#
#   graphc compile samples/fashion_mlp.g -o fashion_mlp.gb
#   D=/usr/share/datasets/fashion-mnist
#   graphrun train fashion_mlp.gb --epochs 10 --batch 64 --lr 0.05 --lr-schedule cosine \
#     --data images=$D/train-images-idx3-ubyte.gz --data labels=$D/train-labels-idx1-ubyte.gz \
#     --test-data images=$D/t10k-images-idx3-ubyte.gz --test-data labels=$D/t10k-labels-idx1-ubyte.gz
graph fashion_mlp {
  input images: f32[N, 1, 28, 28]
  input labels: i32[N]
  input lr: f32                           # fed every step (--lr, --lr-schedule)

  net = Sequential(
    Flatten(),
    Linear(784, 256), relu,
    Linear(256, 128), relu,
    Linear(128, 10)
  )
  logits = net(images)
  loss = cross_entropy(logits, labels)

  output logits
  train loss with sgd(lr=lr, momentum=0.9, nesterov=true, weight_decay=0.0001)
}
