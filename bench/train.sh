#!/bin/sh
# bench/train.sh -- `make bench-train`: training throughput (examples/s) of
# bench/train_lenet.g and bench/train_mlp.g (build/trainbench on the .gb the
# Makefile compiles) next to PyTorch's on the same networks, batch sizes,
# loss, optimizer and thread count (bench/train_torch.py), alternating the
# two for several rounds in one run; prints each round and the medians.
# Without PyTorch it times ours and says how to install PyTorch (exit 0).
# Usage: sh bench/train.sh [BUILD_DIR]
# Environment: ROUNDS (default 5), THREADS (default 2), TRAIN_CONFIGS (below),
# PYTHON (a python3
# with torch; default: the first of python3, /usr/bin/python3 that has it),
# TORCH_BLAS_DIR (a folder with another libblas.so.3, e.g. OpenBLAS: PyTorch
# is then timed a second time with it on LD_LIBRARY_PATH, in the same rounds).
BUILD=${1:-build}
TB="$BUILD/trainbench"
GBDIR="$BUILD/bench-train"
OUT="$BUILD/bench-train/out"
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-2}
# Both sides use OpenMP (ours via the session's n_threads, PyTorch via
# torch.set_num_threads); this pins any pool that reads the variable too.
OMP_NUM_THREADS=$THREADS
export OMP_NUM_THREADS

# model  batch  warmup  timed steps (about 1-2 s of ours each; a run stops timing
# after $MAX_SECONDS, default 3, so a slow peer takes fewer steps); $TRAIN_CONFIGS
# replaces the list (lines of the same four fields)
CONFIGS=${TRAIN_CONFIGS:-"lenet 64 20 200
lenet 256 5 50
mlp 64 20 1500
mlp 256 10 600"}
MAX_SECONDS=${MAX_SECONDS:-3}

mkdir -p "$OUT"
RES="$OUT/results.txt"
: > "$RES"
status=0
start=$(date +%s)

PY=""
for p in ${PYTHON:-} python3 /usr/bin/python3; do
    if "$p" -c 'import torch' 2>/dev/null; then
        PY=$p
        break
    fi
done

SIDES="ours"
if [ -n "$PY" ]; then
    SIDES="ours torch"
    if [ -n "${TORCH_BLAS_DIR:-}" ]; then
        if [ -e "$TORCH_BLAS_DIR/libblas.so.3" ]; then
            SIDES="ours torch torchblas"
        else
            echo "train.sh: TORCH_BLAS_DIR=$TORCH_BLAS_DIR holds no libblas.so.3; ignored" >&2
        fi
    fi
fi

echo "bench-train: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //'), $(nproc) cores;" \
     "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); $(date -u +%Y-%m-%dT%H:%M:%SZ)"
if [ -n "$PY" ]; then
    echo "  $THREADS threads on both sides; $ROUNDS rounds, ours and PyTorch alternating (each run a fresh"
else
    echo "  $THREADS threads; $ROUNDS rounds of ours only: PyTorch is not installed (each run a fresh"
fi
echo "  process: warmup steps, then timed steps); random batches of Fashion-MNIST shape (8 in turn);"
echo "  softmax cross-entropy (mean), SGD lr 0.01 momentum 0.9; examples/s = timed steps * batch / their time"
if [ -n "$PY" ]; then
    echo "  PyTorch: $("$PY" -c 'import torch; print(torch.__version__)') ($PY)"
fi

# run SIDE ROUND MODEL BATCH WARMUP STEPS: one timed process, its RESULT line
# to $RES (sh has no locals: run_* names only)
run() {
    case $1 in
    ours) run_out=$("$TB" "$GBDIR/train_$3.gb" --batch "$4" --threads "$THREADS" --warmup "$5" --steps "$6" --max-seconds "$MAX_SECONDS") ;;
    torch) run_out=$("$PY" bench/train_torch.py "$3" --batch "$4" --threads "$THREADS" --warmup "$5" --steps "$6" --max-seconds "$MAX_SECONDS") ;;
    torchblas) run_out=$(LD_LIBRARY_PATH="$TORCH_BLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
                      "$PY" bench/train_torch.py "$3" --batch "$4" --threads "$THREADS" --warmup "$5" --steps "$6" --max-seconds "$MAX_SECONDS") ;;
    esac
    run_res=$(printf '%s\n' "$run_out" | grep '^RESULT ')
    if [ -z "$run_res" ]; then
        echo "  FAILED: $1 $3 batch $4" >&2
        echo "$1 $3 $4" >> "$OUT/failed"
        return
    fi
    echo "round=$2 side=$1 net=$3 $run_res" >> "$RES"
}

# the loss at the first steps, ours vs PyTorch, from the same weights and batches
if [ -n "$PY" ]; then
    echo
    echo "loss check: the same initial weights and batches (trainbench --check, replayed by train_torch.py --check)"
    for m in $(echo "$CONFIGS" | awk '{print $1}' | uniq); do
        rm -rf "$OUT/check_$m"
        if "$TB" "$GBDIR/train_$m.gb" --batch 64 --threads "$THREADS" --check "$OUT/check_$m" --check-steps 5 > /dev/null \
           && "$PY" bench/train_torch.py "$m" --threads "$THREADS" --check "$OUT/check_$m" > "$OUT/check_$m.txt"; then
            grep '^CHECK' "$OUT/check_$m.txt" | sed 's/^/  /'
        else
            cat "$OUT/check_$m.txt" 2>/dev/null
            echo "  FAIL: $m: losses of ours and PyTorch disagree (or a run failed)"
            status=1
        fi
    done
fi

echo
rm -f "$OUT/failed"
round=1
while [ "$round" -le "$ROUNDS" ]; do
    echo "$CONFIGS" | while read -r m b w s; do
        # rotate which side goes first, so that none always follows the other
        order=$(echo "$SIDES" | awk -v k="$round" '{ for (i = 0; i < NF; i++) printf "%s ", $((i + k) % NF + 1) }')
        for side in $order; do
            run "$side" "$round" "$m" "$b" "$w" "$s"
        done
    done
    printf '  round %d of %d done\n' "$round" "$ROUNDS"
    round=$((round + 1))
done
[ -f "$OUT/failed" ] && status=1

# The tables, from the RESULT lines: every round, then medians over rounds
# (ratio = median over rounds of ours / PyTorch in the same round).
awk -v threads="$THREADS" -v sides="$SIDES" '
function field(name,   i, kv) {
    for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
    return ""
}
function median(list,   v, n, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) { t = v[i] + 0; for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    if (n == 0) return -1
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function minmax(list,   v, n, i, lo, hi) {
    n = split(list, v, " ")
    lo = hi = v[1] + 0
    for (i = 2; i <= n; i++) { if (v[i] + 0 < lo) lo = v[i] + 0; if (v[i] + 0 > hi) hi = v[i] + 0 }
    return sprintf("%.2f-%.2fx", lo, hi)
}
{
    r = field("round"); s = field("side"); key = field("net") " " field("batch")
    if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
    eps[key, r, s] = field("examples_per_s"); ms[key, r, s] = field("median_step_ms")
    o = field("other_load") + 0; if (o < 0) unknown[key, r] = 1; else if (o > load[key, r]) load[key, r] = o
    if (s != "ours" && field("blas") != "") blas[s] = field("blas")
    if (r + 0 > nr) nr = r + 0
}
function cell(v) { return v == "" ? "-" : sprintf("%.0f", v) }
function ratio(a, b) { return a == "" || b == "" || b == 0 ? "" : a / b }
END {
    ns = split(sides, side, " ")
    name["ours"] = "ours"; name["torch"] = "PyTorch"; name["torchblas"] = "PyTorch, TORCH_BLAS_DIR"
    for (i = 2; i <= ns; i++) if (side[i] in blas) name[side[i]] = "PyTorch (" blas[side[i]] " BLAS)"
    hdr = "| model | batch | threads |"; sep = "| --- | --- | --- |"
    for (i = 1; i <= ns; i++) { hdr = hdr " " name[side[i]] " examples/s |"; sep = sep " --- |" }
    for (i = 2; i <= ns; i++) { hdr = hdr " ours/" name[side[i]] " |"; sep = sep " --- |" }
    print "every round (examples/s; step ms = median step of each run; other load: the most that other"
    print "processes used of the machine during a timed run of that row and round, from /proc/stat):"
    print "| round " hdr " step ms | other load |"
    print "| --- " sep " --- | --- |"
    for (k = 1; k <= nk; k++) for (r = 1; r <= nr; r++) {
        split(keys[k], kb, " "); line = "| " r " | " kb[1] " | " kb[2] " | " threads " |"; st = ""
        for (i = 1; i <= ns; i++) {
            line = line " " cell(eps[keys[k], r, side[i]]) " |"
            st = st (i > 1 ? " / " : "") (ms[keys[k], r, side[i]] == "" ? "-" : sprintf("%.3g", ms[keys[k], r, side[i]]))
        }
        for (i = 2; i <= ns; i++) {
            q = ratio(eps[keys[k], r, "ours"], eps[keys[k], r, side[i]])
            line = line " " (q == "" ? "-" : sprintf("%.2fx", q)) " |"
        }
        print line " " st " | " ((keys[k], r) in unknown && load[keys[k], r] == 0 ? "?" : sprintf("%.0f%%", 100 * load[keys[k], r])) " |"
    }
    print ""
    print "medians over " nr " rounds (ratio: median of the per-round ratios, then their range; loaded: rounds"
    print "in which other processes used over 10% of the machine during a timed run of that row):"
    print hdr " ratio range | loaded |"
    print sep " --- | --- |"
    for (k = 1; k <= nk; k++) {
        split(keys[k], kb, " "); line = "| " kb[1] " | " kb[2] " | " threads " |"; rng = ""; mo = 0
        for (i = 1; i <= ns; i++) {
            l = ""
            for (r = 1; r <= nr; r++) if (eps[keys[k], r, side[i]] != "") l = l " " eps[keys[k], r, side[i]]
            line = line " " (l == "" ? "-" : sprintf("%.0f", median(l))) " |"
        }
        for (i = 2; i <= ns; i++) {
            l = ""
            for (r = 1; r <= nr; r++) {
                q = ratio(eps[keys[k], r, "ours"], eps[keys[k], r, side[i]])
                if (q != "") l = l " " q
            }
            line = line " " (l == "" ? "-" : sprintf("**%.2fx**", median(l))) " |"
            rng = rng (rng == "" ? "" : ", ") (l == "" ? "-" : minmax(l))
        }
        for (r = 1; r <= nr; r++) if (load[keys[k], r] > 0.10) mo++
        print line " " (rng == "" ? "-" : rng) " | " mo " of " nr " |"
    }
    for (i = 2; i <= ns; i++)
        if (blas[side[i]] == "reference")
            printf "\nnote: %s ran its Linear layers on the reference BLAS (netlib libblas3, one thread, no SIMD\n" \
                   "kernels): Debian builds torch with BLAS_INFO=generic. With OpenBLAS (apt-get install\n" \
                   "libopenblas0-openmp, or TORCH_BLAS_DIR=<its openblas-openmp folder>) PyTorch is much faster.\n", name[side[i]]
}' "$RES"

echo
if [ -z "$PY" ]; then
    echo "PyTorch is not installed (no python3 here can import torch): apt-get install python3-torch"
    echo "(or PYTHON=/path/to/python3-with-torch make bench-train), then run make bench-train again"
fi
echo "ratio > 1: ours trains faster; differences under ~15% are noise on this shared machine;" \
     "took $(( $(date +%s) - start )) s"
if [ -f "$OUT/failed" ]; then
    echo "FAILED: $(tr '\n' ';' < "$OUT/failed")"
    rm -f "$OUT/failed"
fi
exit $status
