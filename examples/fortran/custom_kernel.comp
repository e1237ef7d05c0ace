#version 450
// A user's own kernel (shared by examples/fortran/custom_kernel.f90 and
// examples/c/custom_kernel.c): evaluate the quadratic y[i] = a*x[i]^2 + b*x[i] + c.
// CMake compiles it to SPIR-V with glslc at build time:
//   glslc --target-env=vulkan1.3 -O -o custom_kernel.spv custom_kernel.comp
layout(local_size_x = 128) in;
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
// Push constants: a small struct set per dispatch (a bind(c) type in Fortran).
layout(push_constant) uniform Quadratic { float a; float b; float c; uint n; } q;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < q.n) {
        float v = x[i];
        y[i] = (q.a * v + q.b) * v + q.c;
    }
}
