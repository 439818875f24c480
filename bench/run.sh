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
    printf '\n  }\n}\n'
} > bench/results.json.tmp && mv bench/results.json.tmp bench/results.json

echo "================================================================ summary (-O0 vs -O2, 2 threads)"
echo "| graph | batch | -O0 median ms | -O2 median ms | speed-up | paired p10-p90 | verdict | arena -O0 -> -O2 | max rel diff | outputs | other load |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
cat "$OUT/summary.md" 2>/dev/null
echo
echo "ties: differences under ~15% are noise on this shared machine; took $(( $(date +%s) - start )) s"
echo "wrote bench/results.json"
if [ -f "$OUT/failed" ]; then
    echo "FAILED: $(tr '\n' ' ' < "$OUT/failed")"
    rm -f "$OUT/failed"
    exit 1
fi
exit $status
