#!/bin/sh
# tests/run.sh BUILD TEST... -- runs each cmocka test binary and prints one
# summary line per binary and a total; exits non-zero if any test failed.
build=$1; shift
pass=0; fail=0; bad=""
for t in "$@"; do
    name=$(basename "$t")
    out=$("$t" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    p=${p:-0}; f=${f:-0}
    if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi
    pass=$((pass + p)); fail=$((fail + f))
    if [ $rc -ne 0 ]; then
        bad="$bad $name"
        printf '%s\n' "$out" | tail -40
        printf 'FAIL  %-28s %s passed, %s failed\n' "$name" "$p" "$f"
    else
        printf 'ok    %-28s %s passed\n' "$name" "$p"
    fi
done
echo "$build: $pass passed, $fail failed"
[ -z "$bad" ] || { echo "failing:$bad"; exit 1; }
