graph g {
  input images: f32[N, 3, 32, 32]
  conv = Conv2d(1, 8, 3)
  output y = conv(images)
}
