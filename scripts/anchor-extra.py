"""CUDA anchors for gpuasync's built-in kernels that ../shared/anchors does not
measure: cuBLAS DGEMM 4096^3, fp16/bf16 GEMM 8192^3 (tensor cores, fp32
accumulation), and sum / dot bandwidth over 2^28 fp32. Same method as
cuda_anchor.py: CUDA events, median of repeats after warm-up.

    python3 scripts/anchor-extra.py
"""
import statistics
import torch

torch.backends.cuda.matmul.allow_tf32 = False
dev = torch.device("cuda")
print("device:", torch.cuda.get_device_name(0))


def ev_time(fn, reps=20, warm=3):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    return statistics.median(ts)  # ms


rows = []
m = 4096
A = torch.randn(m, m, device=dev, dtype=torch.float64)
B = torch.randn(m, m, device=dev, dtype=torch.float64)
ms = ev_time(lambda: A @ B, reps=10)
rows.append((f"dgemm fp64 {m}^3 (cuBLAS)", 2 * m**3 / ms / 1e9, "TFLOP/s"))
del A, B
for dtype, name in [(torch.float16, "fp16"), (torch.bfloat16, "bf16")]:
    m = 8192
    A = torch.randn(m, m, device=dev, dtype=dtype)
    B = torch.randn(m, m, device=dev, dtype=dtype)
    ms = ev_time(lambda: A @ B, reps=10)
    rows.append((f"gemm {name} {m}^3 (cuBLAS, tensor cores)", 2 * m**3 / ms / 1e9, "TFLOP/s"))
    del A, B
n = 1 << 28
x = torch.randn(n, device=dev)
y = torch.randn(n, device=dev)
ms = ev_time(lambda: x.sum())
rows.append(("sum 2^28 fp32 (torch.sum)", 4 * n / ms / 1e6, "GB/s"))
ms = ev_time(lambda: torch.dot(x, y))
rows.append(("dot 2^28 fp32 (torch.dot)", 8 * n / ms / 1e6, "GB/s"))
# Both directions of the bus at once: pinned host memory, one stream per
# direction, against each direction alone (the transfer bound of a pipeline
# whose uploads and downloads overlap).
import time
nbytes = 256 << 20
h_up = torch.empty(nbytes, dtype=torch.uint8).pin_memory()
h_down = torch.empty(nbytes, dtype=torch.uint8).pin_memory()
d_up = torch.empty(nbytes, dtype=torch.uint8, device=dev)
d_down = torch.empty(nbytes, dtype=torch.uint8, device=dev)
s_up, s_down = torch.cuda.Stream(), torch.cuda.Stream()
def wall(fn, reps=10):
    times = []
    for i in range(reps + 2):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)
def up():
    with torch.cuda.stream(s_up):
        d_up.copy_(h_up, non_blocking=True)
def down():
    with torch.cuda.stream(s_down):
        h_down.copy_(d_down, non_blocking=True)
def both():
    up()
    down()
t_up, t_down, t_both = wall(up), wall(down), wall(both)
rows.append(("pinned H2D 256 MiB alone (wall)", nbytes / t_up / 1e9, "GB/s"))
rows.append(("pinned D2H 256 MiB alone (wall)", nbytes / t_down / 1e9, "GB/s"))
rows.append(("pinned H2D + D2H 256 MiB each, at once (wall)", 2 * nbytes / t_both / 1e9, "GB/s both ways"))
print()
for r in rows:
    print(f"{r[0]:45s} {r[1]:12.2f} {r[2]}")
