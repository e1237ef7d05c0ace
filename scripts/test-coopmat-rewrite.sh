#!/usr/bin/env bash
# Tests of scripts/spirv-coopmat-khr.py's split of a matrix type used as both A
# and B (tests/spirv/coopmat_rewrite.comp), checked with tools/spirv-val (built
# by scripts/test.sh first): the split modules are valid; a fragment used as
# both A and B, or a B fragment made by arithmetic, is refused; and, so that the validator's verdict means
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

refused() {  # case, expected message
    glslc --target-env=vulkan1.3 -O "-D$1" -o "$tmp/$1-nv.spv" "$src"
    if python3 scripts/spirv-coopmat-khr.py "$tmp/$1-nv.spv" "$tmp/$1.spv" 2>"$tmp/$1.err"; then
        fail "$1: the rewrite did not refuse it"
    fi
    grep -q "$2" "$tmp/$1.err" || fail "$1: wrong message: $(cat "$tmp/$1.err")"
}
refused SAME "used both as A and as B"
refused SCALED "comes from opcode"

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
echo "cooperative-matrix rewrite: split modules valid, an A-and-B and a computed B fragment refused, wrong uses rejected"
