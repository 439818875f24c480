#!/bin/sh
# bench/run.sh -- `make bench`: runs graphbench (-O0 vs -O2, 2 threads) on
# every benchmark graph at the batch sizes of shared/notes/cpu.md, prints
# each table and a summary, and writes bench/results.json (all graphs).
# Usage: sh bench/run.sh [BUILD_DIR]   (extra graphbench options: $GRAPHBENCH_ARGS)
BUILD=${1:-build}
GB="$BUILD/graphbench"
OUT="$BUILD/bench"
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT/summary.md"

# name  model  batch  warmup  runs
GRAPHS="two_layer bench/two_layer.g 64 50 2000
mlp bench/mlp.g 128 10 300
lenet bench/lenet.g 64 10 300
resnet18 bench/resnet18.g 1 3 60
transformer bench/transformer.g 8 5 100
ew_chain samples/ew_chain.g 4194304 5 100"

status=0
start=$(date +%s)
echo "$GRAPHS" | while read -r name model batch warmup runs; do
    echo "================================================================ $name"
    # shellcheck disable=SC2086
    "$GB" "$model" --threads 2 --batch "$batch" --warmup "$warmup" --runs "$runs" \
        --json "$OUT/$name.json" --summary "$OUT/summary.md" $GRAPHBENCH_ARGS || echo "$name" >> "$OUT/failed"
    echo
done
[ -f "$OUT/failed" ] && status=1

# The yardstick of fusion: the chain as one hand-written C loop, right after
# graphbench timed it; -O2's median over the loop's (2 threads each).
REFLINE=""
if [ -x "$BUILD/ew_chain_ref" ] && [ -f "$OUT/ew_chain.json" ]; then
    echo "================================================================ ew_chain vs a hand-written fused loop"
    "$BUILD/ew_chain_ref" 4194304 | tee "$OUT/ew_chain_ref.txt"
    o2=$(awk '/"O2": \{/ { f = 1 } f && /"median_ms"/ { gsub(/[",]/, ""); print $2; exit }' "$OUT/ew_chain.json")
    lib=$(awk '/libmvec/ && /2 threads/ { for (i = 1; i <= NF; i++) if ($i == "median") print $(i + 1) }' "$OUT/ew_chain_ref.txt")
    own=$(awk '/ew_math/ && /2 threads/ { for (i = 1; i <= NF; i++) if ($i == "median") print $(i + 1) }' "$OUT/ew_chain_ref.txt")
    if [ -n "$o2" ] && [ -n "$lib" ] && [ -n "$own" ]; then
        REFLINE=$(awk -v o2="$o2" -v lib="$lib" -v own="$own" 'BEGIN {
            printf "ew_chain at -O2: %.3f ms; the hand-written fused loop: %.3f ms with glibc libmvec math, %.3f ms with ops/ew_math.h (2 threads): -O2 takes %.2fx and %.2fx of their time (target: within 1.5x)", o2, lib, own, o2 / lib, o2 / own }')
        echo "$REFLINE"
        REFJSON=$(awk -v o2="$o2" -v lib="$lib" -v own="$own" 'BEGIN {
            printf "{\"o2_median_ms\": %s, \"libmvec_median_ms\": %s, \"ew_math_median_ms\": %s, \"o2_over_libmvec\": %.4f, \"o2_over_ew_math\": %.4f}", o2, lib, own, o2 / lib, o2 / own }')
    fi
    echo
fi

{
    printf '{\n  "date": "%s",\n  "commit": "%s",\n  "machine": "%s, %s cores",\n  "threads": 2,\n  "graphs": {' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')" "$(nproc 2>/dev/null || echo '?')"
    sep=""
    for name in two_layer mlp lenet resnet18 transformer ew_chain; do
        [ -f "$OUT/$name.json" ] || continue
        printf '%s\n    "%s": ' "$sep" "$name"
        sed '2,$s/^/    /' "$OUT/$name.json" | sed '$s/[[:space:]]*$//'
        sep=","
    done
    printf '\n  }'
    [ -n "${REFJSON:-}" ] && printf ',\n  "ew_chain_vs_hand_fused_loop": %s' "$REFJSON"
    printf '\n}\n'
} > bench/results.json.tmp && mv bench/results.json.tmp bench/results.json

echo "================================================================ summary (-O0 vs -O2, 2 threads)"
echo "| graph | batch | -O0 median ms | -O2 median ms | speed-up | paired p10-p90 | verdict | arena -O0 -> -O2 | max rel diff | outputs | other load |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
cat "$OUT/summary.md" 2>/dev/null
echo
[ -n "$REFLINE" ] && echo "$REFLINE" && echo
echo "ties: differences under ~15% are noise on this shared machine; took $(( $(date +%s) - start )) s"
echo "wrote bench/results.json"
if [ -f "$OUT/failed" ]; then
    echo "FAILED: $(tr '\n' ' ' < "$OUT/failed")"
    rm -f "$OUT/failed"
    exit 1
fi
exit $status
