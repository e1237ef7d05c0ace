#version 450
// F32 -> F16 or BF16: c[c_off + i] = round(a[a_off + i]) for i < n, to
// nearest with ties to even, in integer arithmetic (so the result is the same
// on every device, whatever its float conversion rounds like): overflow gives
// infinity, NaN stays a (quiet) NaN with its sign, f16 subnormals are exact.
// One invocation per 32-bit word of the output (two 16-bit elements); halves
// of the first and last words outside the range keep their old value.

layout(local_size_x = 256) in;

layout(constant_id = 0) const bool BF16 = false;

layout(std430, binding = 0) readonly buffer A { uint a[]; };
layout(std430, binding = 1) buffer C { uint c[]; };

layout(push_constant) uniform Push {
    uint n;
    uint a_off;
    uint c_off;
    uint words;
} p;

uint to_f16(uint x) {
    uint sign = (x >> 16) & 0x8000u;
    uint e = (x >> 23) & 0xFFu;
    uint mant = x & 0x7FFFFFu;
    if (e == 0xFFu) {
        return sign | 0x7C00u | (mant != 0u ? 0x200u | (mant >> 13) : 0u);
    }
    int exp = int(e) - 112; // the f16 biased exponent
    if (exp >= 31) {
        return sign | 0x7C00u;
    }
    if (exp <= 0) {
        // Subnormal in f16 (or zero): units of 2^-24 are m >> (14 - exp).
        if (exp < -10) {
            return sign; // below half the smallest subnormal
        }
        uint m = mant | 0x800000u;
        uint shift = uint(14 - exp);
        uint q = m >> shift;
        uint rem = m & ((1u << shift) - 1u);
        uint half_unit = 1u << (shift - 1u);
        if (rem > half_unit || (rem == half_unit && (q & 1u) != 0u)) {
            q++; // may become 0x400, the smallest normal: the right encoding
        }
        return sign | q;
    }
    uint q = (uint(exp) << 10) | (mant >> 13);
    uint rem = mant & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1u) != 0u)) {
        q++; // a carry into the exponent is right, up to infinity (0x7C00)
    }
    return sign | q;
}

uint to_bf16(uint x) {
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) {
        return (x >> 16) | 0x40u; // NaN: keep it one (quiet bit)
    }
    return (x + 0x7FFFu + ((x >> 16) & 1u)) >> 16;
}

void main() {
    uint stride = gl_NumWorkGroups.x * 256u;
    for (uint w = gl_GlobalInvocationID.x; w < p.words; w += stride) {
        uint word = (p.c_off >> 1) + w;
        uint r = 0u;
        uint keep = 0u;
        for (uint e = 0u; e < 2u; e++) {
            uint h = 2u * word + e;
            if (h >= p.c_off && h - p.c_off < p.n) {
                uint x = a[p.a_off + h - p.c_off];
                r |= (BF16 ? to_bf16(x) : to_f16(x)) << (16u * e);
            } else {
                keep |= 0xFFFFu << (16u * e);
            }
        }
        c[word] = keep != 0u ? (c[word] & keep) | r : r;
    }
}
