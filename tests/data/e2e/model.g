# An independent end-to-end check (tests/gen_samples_ref.py made every .npy
# here with NumPy): params loaded from .npy files, matmul, relu, broadcasting
# add, softmax, conv2d, pooling, reshape, and a module used twice.
module Dense(n_in, n_out, wfile, bfile) {
  param w: f32[n_in, n_out] = load(wfile)
  param b: f32[n_out] = load(bfile)
  forward(x) { return x @ w + b }
}

graph e2e {
  input images: f32[N, 2, 8, 8]
  param k: f32[4, 2, 3, 3] = load("conv_w.npy")
  param kb: f32[4] = load("conv_b.npy")
  h = relu(conv2d(images, k, kb, padding=1))        # [N, 4, 8, 8]
  h = max_pool2d(h, kernel=2)                       # [N, 4, 4, 4]
  h = avg_pool2d(h, kernel=2)                       # [N, 4, 2, 2]
  flat = reshape(h, [0, -1])                        # [N, 16]
  d1 = Dense(16, 16, "d1_w.npy", "d1_b.npy")
  d2 = Dense(16, 16, "d2_w.npy", "d2_b.npy")
  z = d2(relu(d1(flat))) + flat                     # a module used twice, residual add
  probs = softmax(z, axis=1)
  output probs, z
}
