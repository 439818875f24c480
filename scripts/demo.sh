#!/bin/sh
# scripts/demo.sh BUILD -- the main job on the bundled samples: compile each
# sample, inspect it, run it on random input with graphrun and time it; then
# show the IR of one sample and what a broken model file gets.
set -eu
B=${1:-build}
OUT=$B/demo
mkdir -p "$OUT"
for s in two_layer_net mlp lenet resnet_block ew_chain; do
    [ -f "samples/$s.g" ] || continue
    echo "== samples/$s.g"
    "$B/graphc" compile "samples/$s.g" -o "$OUT/$s.gb"
    "$B/graphc" inspect "$OUT/$s.gb" | sed -n '1,12p'
    "$B/graphrun" "$OUT/$s.gb" --random-inputs --batch 16 --output-dir "$OUT/$s.out" --repeat 20
    echo
done
echo "== the C API (samples/embed.c) on the MLP"
"$B/embed_example" "$OUT/mlp.gb"
echo
echo "== the IR of samples/two_layer_net.g"
"$B/graphc" compile samples/two_layer_net.g --emit ir
echo
D=/usr/share/datasets/fashion-mnist
echo "== training samples/fashion_mlp.g on Fashion-MNIST (400 steps), then freezing it"
"$B/graphc" compile samples/fashion_mlp.g -o "$OUT/fashion_mlp.gb"
rm -f "$OUT/fashion_mlp.gbc"
"$B/graphrun" train "$OUT/fashion_mlp.gb" --steps 400 --batch 64 --lr 0.05 --seed 1 --log-every 100 \
    --data images=$D/train-images-idx3-ubyte.gz --data labels=$D/train-labels-idx1-ubyte.gz \
    --test-data images=$D/t10k-images-idx3-ubyte.gz --test-data labels=$D/t10k-labels-idx1-ubyte.gz \
    --checkpoint "$OUT/fashion_mlp.gbc" --logdir "$OUT/runs"
"$B/graphc" inspect "$OUT/fashion_mlp.gbc" | sed -n '1,4p'
"$B/graphc" freeze "$OUT/fashion_mlp.gb" "$OUT/fashion_mlp.gbc" -o "$OUT/fashion_mlp_frozen.gb"
"$B/graphc" inspect "$OUT/fashion_mlp_frozen.gb" | sed -n '1,8p'
echo
echo "== a model file with three mistakes (tests/golden/err_three_errors.g)"
if "$B/graphc" compile tests/golden/err_three_errors.g -o "$OUT/bad.gb"; then
    echo "demo: the broken model compiled" >&2
    exit 1
fi
echo "demo: done"
