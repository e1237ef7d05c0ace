#version 450
// F16 or BF16 -> F32, exactly: c[c_off + i] = a[a_off + i] for i < n, the
// f32 built from the 16-bit value's fields in integer arithmetic and stored
// as bits (no float operation, so no device flushes a subnormal or quiets a
// NaN: binary16 subnormals become f32 normals, a NaN keeps its sign and
// payload, shifted into the f32 fraction). One invocation per element.

layout(local_size_x = 256) in;

layout(constant_id = 0) const bool BF16 = false;

layout(std430, binding = 0) readonly buffer A { uint a[]; };
layout(std430, binding = 1) writeonly buffer C { uint c[]; };

layout(push_constant) uniform Push {
    uint n;
    uint a_off;
    uint c_off;
} p;

uint from_f16(uint h) {
    uint sign = (h & 0x8000u) << 16;
    uint e = (h >> 10) & 0x1Fu;
    uint mant = h & 0x3FFu;
    if (e == 0x1Fu) {
        return sign | 0x7F800000u | (mant << 13); // infinity, or NaN with its payload
    }
    if (e != 0u) {
        return sign | ((e + 112u) << 23) | (mant << 13);
    }
    if (mant == 0u) {
        return sign; // signed zero
    }
    // Subnormal: mant 2^-24 = 1.f 2^(msb - 24), normal in f32.
    int msb = findMSB(mant);
    uint shift = uint(10 - msb);
    return sign | ((113u - shift) << 23) | (((mant << shift) & 0x3FFu) << 13);
}

void main() {
    uint stride = gl_NumWorkGroups.x * 256u;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        uint h = p.a_off + i;
        uint bits = (a[h >> 1] >> ((h & 1u) * 16u)) & 0xFFFFu;
        c[p.c_off + i] = BF16 ? bits << 16 : from_f16(bits);
    }
}
