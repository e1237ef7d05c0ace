#version 450
// A test kernel whose workgroup memory is sized by a specialization constant:
// one workgroup reverses the first N elements of `a` into `b` through shared
// memory (tests/errors.rs: N past the device's limit must be refused).
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint N = 64;
layout(std430, binding = 0) readonly buffer In { uint a[]; };
layout(std430, binding = 1) writeonly buffer Out { uint b[]; };
shared uint s[N];

void main() {
    uint t = gl_LocalInvocationID.x;
    for (uint i = t; i < N; i += 64) {
        s[i] = a[i];
    }
    barrier();
    for (uint i = t; i < N; i += 64) {
        b[i] = s[N - 1 - i];
    }
}
