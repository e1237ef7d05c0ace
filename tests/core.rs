mod common;
use common::*;
use gpuasync::Op;

#[test]
fn probe() {
    let ex = executor();
    let k = kernel(&ex, "lcg");
    let n = 1usize << 16;
    let b = buffer(&ex, n * 4);
    for iters in [100u32, 100, 1000, 1000, 2000, 8000, 1] {
        let p = [n as u32, iters];
        let start = std::time::Instant::now();
        let t = ex.submit(&[Op::Dispatch { kernel: k, buffers: &[b], push_constants: bytes(&p), groups: groups(n, 64) }], TIMED).unwrap();
        let submitted = start.elapsed();
        ex.wait(t, u64::MAX).unwrap();
        let tm = ex.timing(t).unwrap();
        eprintln!("iters {iters}: submit {:?} total {:?} gpu {} ns", submitted, start.elapsed(), tm.gpu_ns());
    }
    eprintln!("{:?}", ex.device_info());
    assert_clean(&ex);
}
