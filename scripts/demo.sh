#!/bin/sh
# scripts/demo.sh BUILD -- the main job on the bundled samples: compile each
# sample, inspect it, run it on random input with graphrun and time it.
set -eu
B=${1:-build}
OUT=$B/demo
mkdir -p "$OUT"
for s in two_layer_net mlp lenet resnet_block; do
    echo "== samples/$s.g"
    "$B/graphc" compile "samples/$s.g" -o "$OUT/$s.gb"
    "$B/graphc" inspect "$OUT/$s.gb" | sed -n '1,12p'
    "$B/graphrun" "$OUT/$s.gb" --random-inputs --batch 16 --output-dir "$OUT/$s.out" --repeat 20
    echo
done
