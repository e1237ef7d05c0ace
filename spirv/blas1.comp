#version 450
// variants: f32 f64
// Built-in elementwise kernel (gpuasync_builtin: fill, copy, scale, axpy, add, mul):
//   z[zoff + i] = f(x[xoff + i], y[yoff + i]) for i < n.
// OP (specialization constant 0) picks f. Each buffer is bound twice, as
// scalars (bindings 0-2) and as 4-vectors (3-5): when the host finds every
// offset a multiple of 4 it passes n4 = n / 4 and the first 4 * n4 elements
// go through 16-byte (f32) or 32-byte (f64) loads and stores, the rest
// (and everything when n4 = 0) through scalars. Grid-stride loops.
#ifdef DOUBLE
#define T double
#define V4 dvec4
#else
#define T float
#define V4 vec4
#endif
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint OP = 0;  // 0 fill, 1 copy, 2 scale, 3 axpy, 4 add, 5 mul
layout(set = 0, binding = 0) readonly buffer X { T x[]; };
layout(set = 0, binding = 1) readonly buffer Y { T y[]; };
layout(set = 0, binding = 2) writeonly buffer Z { T z[]; };
layout(set = 0, binding = 3) readonly buffer X4 { V4 x4[]; };
layout(set = 0, binding = 4) readonly buffer Y4 { V4 y4[]; };
layout(set = 0, binding = 5) writeonly buffer Z4 { V4 z4[]; };
layout(push_constant) uniform Params { T alpha; uint n; uint xoff; uint yoff; uint zoff; uint n4; } p;

// A switch, not if-chains: spec-constant comparisons would become
// OpSpecConstantOp expressions that the reflection cannot evaluate.
T f(uint i) {
    switch (OP) {
    case 0: return p.alpha;
    case 1: return x[p.xoff + i];
    case 2: return p.alpha * x[p.xoff + i];
    case 3: return p.alpha * x[p.xoff + i] + y[p.yoff + i];
    case 4: return x[p.xoff + i] + y[p.yoff + i];
    default: return x[p.xoff + i] * y[p.yoff + i];
    }
}

// The same on 4-vector i (offsets are multiples of 4 here).
V4 f4(uint i) {
    uint xi = p.xoff / 4u + i, yi = p.yoff / 4u + i;
    switch (OP) {
    case 0: return V4(p.alpha);
    case 1: return x4[xi];
    case 2: return p.alpha * x4[xi];
    case 3: return p.alpha * x4[xi] + y4[yi];
    case 4: return x4[xi] + y4[yi];
    default: return x4[xi] * y4[yi];
    }
}

void main() {
    // The host keeps n + stride below 2^32 (n <= 2^31, stride <= 2^31).
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n4; i += stride) {
        z4[p.zoff / 4u + i] = f4(i);
    }
    for (uint i = 4u * p.n4 + gl_GlobalInvocationID.x; i < p.n; i += stride) {
        z[p.zoff + i] = f(i);
    }
}
