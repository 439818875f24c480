# bench/transformer.g -- benchmark graph: one post-norm transformer encoder
# block (d=256, 4 heads of 64, ffn 1024, GELU, LayerNorm), sequence 128.
# Heads are split with reshape/transpose and use batched matmuls.
# Run at batch 8: graphbench bench/transformer.g --batch 8
module Attention(d, heads, seq) {
  q_proj = Linear(d, d)
  k_proj = Linear(d, d)
  v_proj = Linear(d, d)
  out_proj = Linear(d, d)
  forward(x) {
    q = transpose(reshape(q_proj(x), [0, seq, heads, d / heads]), [0, 2, 1, 3])  # [N, h, s, dh]
    k = transpose(reshape(k_proj(x), [0, seq, heads, d / heads]), [0, 2, 1, 3])
    v = transpose(reshape(v_proj(x), [0, seq, heads, d / heads]), [0, 2, 1, 3])
    scores = matmul(q, k, trans_b=true) * (1 / (d / heads) ** 0.5)             # [N, h, s, s]
    ctx = matmul(softmax(scores, axis=-1), v)                                   # [N, h, s, dh]
    ctx = reshape(transpose(ctx, [0, 2, 1, 3]), [0, seq, d])                     # [N, s, d]
    return out_proj(ctx)
  }
}

module EncoderBlock(d, heads, ffn, seq) {
  attn = Attention(d, heads, seq)
  norm1 = LayerNorm(d)
  ff1 = Linear(d, ffn)
  ff2 = Linear(ffn, d)
  norm2 = LayerNorm(d)
  forward(x) {
    h = norm1(x + attn(x))
    return norm2(h + ff2(gelu(ff1(h))))
  }
}

graph transformer {
  input x: f32[N, 128, 256]
  block = EncoderBlock(256, 4, 1024, 128)
  output y = block(x)
}
