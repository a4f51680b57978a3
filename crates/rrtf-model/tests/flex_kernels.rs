//! The multi-threaded and uninitialised-output paths of the vendored burn-flex
//! (`vendor/burn-flex`, see its `VENDORED.md`) against plain loops written here.
//!
//! Those paths only run for tensors of at least 32K elements and with more than one rayon
//! thread, which the model fixtures (tiny) and a one-core CI machine would not reach: every
//! check below runs inside a 4-thread rayon pool on tensors above the threshold, and the
//! matmuls run right after the same-sized buffers were filled with NaN and freed, so output
//! memory that a kernel failed to write would show up as NaN.

use burn::tensor::{Tensor, TensorData};
use rrtf_model::Device;

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn tensor<const D: usize>(v: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v, shape), &Device::flex())
}

fn data<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// Allocate and free NaN-filled buffers of `n` floats, so the allocator hands the next
/// allocations of that size back dirty.
fn dirty(n: usize) {
    for _ in 0..4 {
        let t = tensor(vec![f32::NAN; n], [n]);
        drop(data(t));
    }
}

fn in_pool(f: impl FnOnce() + Send) {
    rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap()
        .install(f)
}

/// `a [b, m, k] x c [b, k, n]` with f64 accumulation.
fn naive_matmul(a: &[f32], c: &[f32], b: usize, m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut out = vec![0f32; b * m * n];
    for bi in 0..b {
        for i in 0..m {
            for j in 0..n {
                let s: f64 = (0..k)
                    .map(|p| a[(bi * m + i) * k + p] as f64 * c[(bi * k + p) * n + j] as f64)
                    .sum();
                out[(bi * m + i) * n + j] = s as f32;
            }
        }
    }
    out
}

fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: element {i} is {g}, expected {w}"
        );
    }
}

#[test]
fn matmul_writes_every_output_element() {
    in_pool(|| {
        // (batch, m, k, n): one large 2-D product (gemm's own threads), a batch of small ones
        // (one matrix per rayon task), a batch of large ones, matrix-vector shapes and k = 0.
        for (b, m, k, n) in [
            (1, 300, 200, 170),
            (16, 40, 30, 60),
            (2, 190, 64, 210),
            (1, 1, 500, 300),
            (1, 400, 300, 1),
            (3, 200, 0, 190),
        ] {
            let a = values(b * m * k, 1);
            let c = values(b * k * n, 2);
            let want = naive_matmul(&a, &c, b, m, k, n);
            dirty(b * m * n);
            let got = if b == 1 {
                data(tensor(a, [m, k]).matmul(tensor(c, [k, n])))
            } else {
                data(tensor(a, [b, m, k]).matmul(tensor(c, [b, k, n])))
            };
            assert_close(&got, &want, 1e-4, &format!("matmul {b}x{m}x{k}x{n}"));
        }
    });
}

#[test]
fn broadcast_and_strided_binary_ops_match_a_loop() {
    in_pool(|| {
        let (r, c) = (300, 700);
        let x = values(r * c, 3);
        let row = values(c, 4);
        let col = values(r, 5);
        // [r, c] + [c]: a broadcast row.
        let got = data(tensor(x.clone(), [r, c]) + tensor(row.clone(), [c]).unsqueeze::<2>());
        let want: Vec<f32> = (0..r * c).map(|i| x[i] + row[i % c]).collect();
        assert_eq!(got, want, "[r, c] + [1, c]");
        // [r, c] * [r, 1]: a broadcast column.
        let got = data(tensor(x.clone(), [r, c]) * tensor(col.clone(), [r, 1]));
        let want: Vec<f32> = (0..r * c).map(|i| x[i] * col[i / c]).collect();
        assert_eq!(got, want, "[r, c] * [r, 1]");
        // A transposed (strided) lhs minus a dense rhs, in a 3-D nest.
        let y = values(r * c, 6);
        let got = data(tensor(x.clone(), [r, c]).transpose() - tensor(y.clone(), [c, r]));
        let want: Vec<f32> = (0..c * r)
            .map(|i| {
                let (j, k) = (i / r, i % r);
                x[k * c + j] - y[i]
            })
            .collect();
        assert_eq!(got, want, "transposed lhs - rhs");
        // A dense (unique, so updated in place) lhs plus a transposed rhs: the tiled path.
        let got = data(tensor(x.clone(), [r, c]) + tensor(y.clone(), [c, r]).transpose());
        let want: Vec<f32> = (0..r * c)
            .map(|i| {
                let (k, j) = (i / c, i % c);
                x[i] + y[j * r + k]
            })
            .collect();
        assert_eq!(got, want, "lhs + transposed rhs");
        let z = values(4 * r * c, 7);
        let got = data(tensor(z.clone(), [4, r, c]) + tensor(x.clone(), [r, c]).unsqueeze::<3>());
        let want: Vec<f32> = (0..4 * r * c).map(|i| z[i] + x[i % (r * c)]).collect();
        assert_eq!(got, want, "[4, r, c] + [1, r, c]");
    });
}

#[test]
fn reductions_fills_and_copies_match_a_loop() {
    in_pool(|| {
        let (r, c) = (400, 1000);
        let x = values(r * c, 8);
        // Sum over rows (dim 0): each column summed in row order, exactly as a loop does.
        let got = data(tensor(x.clone(), [r, c]).sum_dim(0));
        let want: Vec<f32> = (0..c)
            .map(|j| (0..r).fold(0f32, |s, i| s + x[i * c + j]))
            .collect();
        assert_eq!(got, want, "sum_dim(0)");
        // Sum over columns (dim 1): SIMD partial sums, so compare against f64.
        let got = data(tensor(x.clone(), [r, c]).sum_dim(1));
        let want: Vec<f32> = (0..r)
            .map(|i| x[i * c..(i + 1) * c].iter().map(|&v| v as f64).sum::<f64>() as f32)
            .collect();
        assert_close(&got, &want, 1e-5, "sum_dim(1)");
        // Softmax over rows.
        let got = data(burn::tensor::activation::softmax(
            tensor(x.clone(), [r, c]),
            1,
        ));
        let mut want = Vec::with_capacity(r * c);
        for i in 0..r {
            let row = &x[i * c..(i + 1) * c];
            let max = row.iter().fold(f32::MIN, |m, &v| m.max(v));
            let sum: f64 = row.iter().map(|&v| ((v - max) as f64).exp()).sum();
            want.extend(row.iter().map(|&v| (((v - max) as f64).exp() / sum) as f32));
        }
        assert_close(&got, &want, 1e-5, "softmax");
        // Rows longer than the kernel's zero-then-write group (64K elements).
        let (r2, c2) = (3, 70_001);
        let w = values(r2 * c2, 9);
        let got = data(burn::tensor::activation::softmax(
            tensor(w.clone(), [r2, c2]),
            1,
        ));
        for i in 0..r2 {
            let row = &w[i * c2..(i + 1) * c2];
            let max = row.iter().fold(f32::MIN, |m, &v| m.max(v));
            let sum: f64 = row.iter().map(|&v| ((v - max) as f64).exp()).sum();
            for (j, &v) in row.iter().enumerate() {
                let want = ((v - max) as f64).exp() / sum;
                let g = got[i * c2 + j] as f64;
                assert!(
                    (g - want).abs() <= 1e-5 * want + 1e-12,
                    "long softmax row {i} col {j}: {g} vs {want}"
                );
            }
        }
        // Zeros, full and a copy of a shared buffer, after dirty memory.
        dirty(r * c);
        let dev = Device::flex();
        assert!(
            data(Tensor::<2>::zeros([r, c], &dev))
                .iter()
                .all(|&v| v == 0.0)
        );
        assert!(
            data(Tensor::<2>::full([r, c], 2.5, &dev))
                .iter()
                .all(|&v| v == 2.5)
        );
        let t = tensor(x.clone(), [r, c]);
        let shared = t.clone();
        assert_eq!(data(t), x, "into_data of a shared tensor");
        drop(shared);
    });
}
