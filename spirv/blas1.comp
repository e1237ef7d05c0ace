#version 450
// variants: f32 f64
// Built-in elementwise kernel (gpuasync_builtin: fill, copy, scale, axpy, add, mul):
//   z[zoff + i] = f(x[xoff + i], y[yoff + i]) for i < n.
// OP (specialization constant 0) picks f. Grid-stride, four independent
// elements per thread and step so each thread keeps four loads in flight.
#ifdef DOUBLE
#define T double
#else
#define T float
#endif
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint OP = 0;  // 0 fill, 1 copy, 2 scale, 3 axpy, 4 add, 5 mul
layout(set = 0, binding = 0) readonly buffer X { T x[]; };
layout(set = 0, binding = 1) readonly buffer Y { T y[]; };
layout(set = 0, binding = 2) writeonly buffer Z { T z[]; };
layout(push_constant) uniform Params { T alpha; uint n; uint xoff; uint yoff; uint zoff; } p;

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

void main() {
    // The host keeps n + 4 * stride below 2^32 (n <= 2^31, stride <= 2^22).
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint i = gl_GlobalInvocationID.x;
    for (; i + 3u * stride < p.n; i += 4u * stride) {
        T v0 = f(i), v1 = f(i + stride), v2 = f(i + 2u * stride), v3 = f(i + 3u * stride);
        z[p.zoff + i] = v0;
        z[p.zoff + i + stride] = v1;
        z[p.zoff + i + 2u * stride] = v2;
        z[p.zoff + i + 3u * stride] = v3;
    }
    for (; i < p.n; i += stride) {
        z[p.zoff + i] = f(i);
    }
}
