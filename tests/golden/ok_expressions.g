# Broadcasting, scalars taking the tensor's dtype, indexing and slicing,
# comparisons, where, multi-output split, integer inputs, reductions.
graph exprs {
  input x: f32[N, 4, 6]
  input idx: i64[3]
  const scale = 0.5
  const table: f32[2, 3] = [[1, 2, 3], [4, 5, 6]]
  a = x * scale + 1
  b = x[:, 1, 2:5]
  c = x[..., -1]
  d = x[:, ::2, :]
  m = where(x > 0, x, -x)
  p, q = split(x, [2, 4], axis=2)
  g = gather(table, idx, axis=1)
  s = mean(x, axis=[1, 2], keepdims=true)
  t = transpose(x, 1, 2)
  output a, b, c, d, m, p, q, g, s, t
}
