#version 450
// Bandwidth ceiling for kernels that read two arrays (dot): each invocation
// sums x[i] * y[i] over its grid-stride share of vec4s (plain arithmetic) and
// writes one vec4. The benchmark launches it like the built-in reductions
// (1024 workgroups of 256).
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer X { vec4 x[]; };
layout(set = 0, binding = 1) readonly buffer Y { vec4 y[]; };
layout(set = 0, binding = 2) writeonly buffer Dst { vec4 partial[]; };
layout(push_constant) uniform Params { uint n4; } p;
void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    vec4 acc = vec4(0.0);
    for (uint i = gl_GlobalInvocationID.x; i < p.n4; i += stride) {
        acc += x[i] * y[i];
    }
    partial[gl_GlobalInvocationID.x] = acc;
}
