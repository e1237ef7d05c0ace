#version 450
// A registered-memory write done by the shader cores (experimental,
// GPUASYNC_UPLOAD_KERNEL; docs/async.md): `count` 16-byte words from `src` (the
// caller's registered host memory, read over the bus) to `dst` (the buffer),
// both bound at the write's ranges, grid-stride over however many workgroups
// the executor dispatches. On an H100, a copy kernel's upload beside a copy
// engine's download moved 73 GB/s both ways against 60 for two copy engines
// (tools/xfer-probe, docs/benchmarks.md).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Src { uvec4 src[]; };
layout(std430, binding = 1) writeonly buffer Dst { uvec4 dst[]; };
layout(push_constant) uniform Push { uint count; } p;

void main() {
    uint stride = gl_NumWorkGroups.x * 256u;
    for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
        dst[i] = src[i];
    }
}
