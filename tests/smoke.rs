mod common;
use common::*;
use gpuasync::Op;

#[test]
fn saxpy_smoke() {
    let ex = executor();
    let k = kernel(&ex, "saxpy");
    let mut rng = Rng::new(1);
    let n = 1000;
    let x = rng.f32s(n);
    let y = rng.f32s(n);
    let a = 1.5f32;
    let bx = buffer(&ex, n * 4);
    let by = buffer(&ex, n * 4);
    let mut out = vec![0f32; n];
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct P { a: f32, n: u32 }
    let p = P { a, n: n as u32 };
    let t = ex
        .submit(
            &[
                Op::Write { buffer: bx, offset: 0, data: bytes(&x) },
                Op::Write { buffer: by, offset: 0, data: bytes(&y) },
                Op::Dispatch { kernel: k, buffers: &[bx, by], push_constants: push(&p), groups: groups(n, 64) },
                read_op(by, 0, &mut out),
            ],
            TIMED,
        )
        .unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    for i in 0..n {
        assert_eq!(out[i], a * x[i] + y[i], "element {i}");
    }
    let timing = ex.timing(t).unwrap();
    eprintln!("{timing:?} gpu {} ns", timing.gpu_ns());
    ex.validation_canary().unwrap();
    assert!(ex.validation_message_count() > 0);
}
