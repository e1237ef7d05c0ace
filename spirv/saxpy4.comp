#version 450
// y = a * x + y over vec4s, grid-stride (n4 = n / 4 vec4 elements).
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer X { vec4 x[]; };
layout(set = 0, binding = 1) buffer Y { vec4 y[]; };
layout(push_constant) uniform Params { float a; uint n4; } p;
void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n4; i += stride) {
        y[i] = p.a * x[i] + y[i];
    }
}
