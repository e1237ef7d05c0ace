#version 450
// variants: f32 f64
// Arithmetic ceiling for the benchmark: each invocation runs 8 independent
// chains of 16 * `iters` fused multiply-adds (2 flops each) and writes one
// value, so that nothing is optimised away. Sixteen rounds per loop trip keep
// the loop's own instructions to about 2% of the stream.
// Flops = groups * 256 * iters * 16 * 8 * 2.
#ifdef DOUBLE
#define T double
#else
#define T float
#endif
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) writeonly buffer Out { T o[]; };
layout(push_constant) uniform Params { T a; T b; uint iters; } p;
void main() {
    T x0 = T(gl_GlobalInvocationID.x) * T(1e-9);
    T x1 = x0 + T(1), x2 = x0 + T(2), x3 = x0 + T(3), x4 = x0 + T(4), x5 = x0 + T(5), x6 = x0 + T(6), x7 = x0 + T(7);
    for (uint i = 0u; i < p.iters; i++) {
        for (int u = 0; u < 16; u++) {
            x0 = fma(x0, p.a, p.b); x1 = fma(x1, p.a, p.b); x2 = fma(x2, p.a, p.b); x3 = fma(x3, p.a, p.b);
            x4 = fma(x4, p.a, p.b); x5 = fma(x5, p.a, p.b); x6 = fma(x6, p.a, p.b); x7 = fma(x7, p.a, p.b);
        }
    }
    o[gl_GlobalInvocationID.x] = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;
}
