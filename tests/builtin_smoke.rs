mod common;
use common::*;
use gpuasync::*;

#[test]
fn smoke() {
    let ex = executor();
    let mut rng = Rng::new(7);
    let (m, n, k) = (67usize, 45usize, 33usize);
    let a: Vec<f32> = rng.f32s(m * k);
    let b: Vec<f32> = rng.f32s(k * n);
    let c0: Vec<f32> = rng.f32s(m * n);
    let (ba, bb, bc) = (buffer(&ex, a.len() * 4), buffer(&ex, b.len() * 4), buffer(&ex, c0.len() * 4));
    let g = Builtin::gemm(DType::F32, false, false, m as u64, n as u64, k as u64, 1.5,
        Operand { buffer: ba, offset: 0, ld: m as u64 }, Operand { buffer: bb, offset: 0, ld: k as u64 }, 0.5,
        Operand { buffer: bc, offset: 0, ld: m as u64 });
    let mut out = vec![0f32; m * n];
    let t = ex.submit(&[Op::Write { buffer: ba, offset: 0, data: bytes(&a) }, Op::Write { buffer: bb, offset: 0, data: bytes(&b) },
        Op::Write { buffer: bc, offset: 0, data: bytes(&c0) }, Op::Builtin(&g), read_op(bc, 0, &mut out)], SubmitFlags::default()).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    let mut worst = 0f64;
    for j in 0..n { for i in 0..m {
        let mut s = 0f64; for l in 0..k { s += a[i + l*m] as f64 * b[l + j*k] as f64; }
        let want = 1.5 * s + 0.5 * c0[i + j*m] as f64;
        worst = worst.max((out[i + j*m] as f64 - want).abs());
    }}
    println!("gemm worst {worst}");
    assert!(worst < 1e-4);
    let x: Vec<f32> = rng.f32s(100_003);
    let bx = buffer(&ex, x.len() * 4);
    let br = buffer(&ex, 16);
    let mut r = [0f32; 4];
    let ops = [Op::Write { buffer: bx, offset: 0, data: bytes(&x) },
        Op::Builtin(&Builtin::reduce(BuiltinKind::Sum, DType::F32, x.len() as u64, bx, bx, Operand { buffer: br, offset: 0, ld: 0 })),
        Op::Builtin(&Builtin::reduce(BuiltinKind::Dot, DType::F32, x.len() as u64, bx, bx, Operand { buffer: br, offset: 1, ld: 0 })),
        Op::Builtin(&Builtin::reduce(BuiltinKind::Nrm2, DType::F32, x.len() as u64, bx, bx, Operand { buffer: br, offset: 2, ld: 0 })),
        Op::Builtin(&Builtin::reduce(BuiltinKind::Amax, DType::F32, x.len() as u64, bx, bx, Operand { buffer: br, offset: 3, ld: 0 })),
        read_op(br, 0, &mut r)];
    let t = ex.submit(&ops, SubmitFlags::default()).unwrap();
    assert!(ex.wait(t, u64::MAX).unwrap());
    let s: f64 = x.iter().map(|&v| v as f64).sum();
    let d: f64 = x.iter().map(|&v| v as f64 * v as f64).sum();
    let am = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    println!("sum {} {s}; dot {} {d}; nrm2 {} {}; amax {} {am}", r[0], r[1], r[2], d.sqrt(), r[3]);
    assert_clean(&ex);
}
