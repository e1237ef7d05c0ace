#!/usr/bin/env bash
# Tests of scripts/spirv-coopmat-khr.py's split of a matrix type used as both A
# and B (tests/spirv/coopmat_rewrite.comp), checked with tools/spirv-val (built
# by scripts/test.sh first): the split modules are valid; a fragment used as
# both A and B is refused; and, so that the validator's verdict means
# something, a module whose multiply-add takes A and B in the wrong roles is
# invalid.
set -euo pipefail
cd "$(dirname "$0")/.."
val=target/spirv-val/release/spirv-val
src=tests/spirv/coopmat_rewrite.comp
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for case in PLAIN BRANCH; do
    scripts/compile-spirv.sh "$src" "$tmp/$case.spv" @khr "-D$case"
    "$val" "$tmp/$case.spv" >/dev/null || fail "$case: the rewritten module is invalid"
done

glslc --target-env=vulkan1.3 -O -DSAME -o "$tmp/same-nv.spv" "$src"
if python3 scripts/spirv-coopmat-khr.py "$tmp/same-nv.spv" "$tmp/same.spv" 2>"$tmp/same.err"; then
    fail "SAME: a fragment used as both A and B was rewritten"
fi
grep -q "used both as A and as B" "$tmp/same.err" || fail "SAME: wrong message: $(cat "$tmp/same.err")"

# The multiply-add's A and B swapped: each operand then has the other role's
# type, as after a rewrite that assigned the roles wrongly.
python3 - "$tmp/PLAIN.spv" "$tmp/swapped.spv" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
w = list(struct.unpack(f"<{len(data) // 4}I", data))
i, swapped = 5, 0
while i < len(w):
    n, op = w[i] >> 16, w[i] & 0xFFFF
    if op == 4459:  # OpCooperativeMatrixMulAddKHR: type, result, A, B, C
        w[i + 3], w[i + 4] = w[i + 4], w[i + 3]
        swapped += 1
    i += n
assert swapped == 1, swapped
open(sys.argv[2], "wb").write(struct.pack(f"<{len(w)}I", *w))
PY
if "$val" "$tmp/swapped.spv" >/dev/null 2>"$tmp/swapped.err"; then
    fail "the validator accepted a multiply-add with A and B of the wrong uses"
fi
grep -q "must be A Type" "$tmp/swapped.err" || fail "swapped: unexpected validator message: $(cat "$tmp/swapped.err")"
echo "cooperative-matrix rewrite: split modules valid, an A-and-B fragment refused, wrong uses rejected"
