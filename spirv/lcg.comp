#version 450
// data[i] <- iterations steps of the LCG x = x * 1664525 + 1013904223 (mod 2^32).
// Exact in integers, so the host can check it; long enough to keep a device busy.
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) buffer Data { uint data[]; };
layout(push_constant) uniform Params { uint n; uint iterations; } p;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < p.n) {
        uint x = data[i];
        for (uint k = 0; k < p.iterations; ++k) {
            x = x * 1664525u + 1013904223u;
        }
        data[i] = x;
    }
}
