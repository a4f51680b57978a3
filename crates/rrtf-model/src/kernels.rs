//! Raw f32 kernels for the inference-only forward pass (`infer.rs`): a polynomial `exp`, softmax
//! over a causal prefix, LayerNorm, GELU, bias-folded matmuls through the `gemm` crate and causal
//! attention as stacked matmuls.
//!
//! Why not burn's ops: on the small shapes of a code model's inference (a few hundred rows of a
//! few hundred features) most of burn's time outside matmuls went to scalar libm `expf` in its
//! attention softmax, to materialising head transposes and q/k/v splits, and to one pass (and
//! one allocation) per element-wise op (six for the GELU). These kernels read q, k and v where the QKV projection wrote
//! them, fuse the element-wise work into the passes that must happen anyway, and vectorize `exp`.
//!
//! The element-wise kernels are plain loops written for LLVM's auto-vectorizer, compiled three
//! times (AVX-512, AVX2 + FMA, the x86-64 baseline) and chosen at run time, so the binary still
//! runs on any x86-64. Reductions accumulate in [`LANES`] independent lanes: LLVM does not
//! reorder a float sum by itself, so a single accumulator would stay scalar.

use std::mem::MaybeUninit;

use rayon::prelude::*;

/// Independent accumulators of the reductions (one AVX-512 register of f32).
const LANES: usize = 16;

/// Defines `$vis fn $name(args)` that runs `$body(args)` compiled for the best instruction set
/// this CPU has. `$body` must be `#[inline(always)]` so each copy is compiled with its features.
macro_rules! multiversion {
    ($(#[$doc:meta])* $vis:vis fn $name:ident => $body:ident($($arg:ident: $ty:ty),* $(,)?)
        $(-> $ret:ty)?) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the features `avx512` is compiled with were detected above.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the features `avx2` is compiled with were detected above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

/// `e^x` within ~2 ulp for `x` in [-87, 88] (Cephes' `expf`: `x = k ln 2 + r`, a degree-7
/// polynomial in `r`, `2^k` from the exponent bits), without branches or calls so that a loop
/// over it vectorizes. Inputs outside the range are clamped: below it the result is ~1e-38
/// instead of 0, which no caller here can tell from 0 (softmax and sigmoid add it to >= 1).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // 1.5 * 2^23: adding it rounds to an integer, held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    let k_int = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    e_r * f32::from_bits((k_int.wrapping_add(127) << 23) as u32)
}

#[inline(always)]
fn exp_prefix_body(row: &mut [f32], valid: usize) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = row[..valid].chunks_exact(LANES);
    for c in &mut chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = l.max(v);
        }
    }
    let max = chunks.remainder().iter().fold(
        lanes.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        |m, &v| m.max(v),
    );
    // The exp pass runs over whole vectors where the row has room: the masked scores it
    // covers past `valid` become -inf first (~1e-38 after `exp`, cleared below).
    let upto = valid.next_multiple_of(LANES).min(row.len());
    row[valid..upto].fill(f32::NEG_INFINITY);
    let mut sums = [0.0f32; LANES];
    let mut chunks = row[..upto].chunks_exact_mut(LANES);
    for c in &mut chunks {
        for (s, v) in sums.iter_mut().zip(c) {
            *v = exp(*v - max);
            *s += *v;
        }
    }
    let mut sum: f32 = sums.iter().sum();
    for v in chunks.into_remainder() {
        *v = exp(*v - max);
        sum += *v;
    }
    row[valid..].fill(0.0);
    sum
}

multiversion! {
    /// The unnormalised softmax of `row[..valid]` in place, `exp(x - max)`, and its sum;
    /// `row[valid..]` (the masked future) becomes 0.
    pub(crate) fn exp_prefix => exp_prefix_body(row: &mut [f32], valid: usize) -> f32
}

/// Keys per block of [`step_attention`]'s scores: accumulators held in registers.
const KEY_BLOCK: usize = 64;

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn step_attention_body(
    out: &mut [f32],
    q: &[f32],
    q_head_stride: usize,
    (kt, cap): (&[f32], usize),
    vs: &[f32],
    (heads, kv_heads, hd): (usize, usize, usize),
    scale: f32,
    scores: &mut [f32],
) {
    let row = kv_heads * hd;
    let keys = vs.len() / row;
    assert!(keys > 0 && keys <= cap, "step_attention: cache");
    assert!(kt.len() >= kv_heads * hd * cap, "step_attention: keys");
    assert!(
        scores.len() >= keys && out.len() == heads * hd,
        "step_attention: buffers"
    );
    let group = heads / kv_heads;
    for h in 0..heads {
        let kh = h / group;
        let qh = &q[h * q_head_stride..][..hd];
        // Key-major keys (`kt[kh][d][p]`): scores of KEY_BLOCK keys at a time, summed over d
        // in registers; no horizontal sums.
        let kt = &kt[kh * hd * cap..][..hd * cap];
        let mut p0 = 0;
        while p0 < keys {
            let n = KEY_BLOCK.min(keys - p0);
            let mut acc = [0.0f32; KEY_BLOCK];
            if n == KEY_BLOCK {
                for (d, &qd) in qh.iter().enumerate() {
                    let ks: &[f32; KEY_BLOCK] =
                        kt[d * cap + p0..][..KEY_BLOCK].try_into().expect("a block");
                    for (a, &k) in acc.iter_mut().zip(ks) {
                        *a += qd * k;
                    }
                }
            } else {
                for (d, &qd) in qh.iter().enumerate() {
                    for (a, &k) in acc.iter_mut().zip(&kt[d * cap + p0..][..n]) {
                        *a += qd * k;
                    }
                }
            }
            for (s, a) in scores[p0..p0 + n].iter_mut().zip(acc) {
                *s = a * scale;
            }
            p0 += n;
        }
        let inv = 1.0 / exp_prefix_body(scores, keys);
        // Position-major values: four keys at a time into four accumulators per 16 columns
        // (independent chains of multiply-adds), then summed.
        let o = &mut out[h * hd..][..hd];
        let full = keys / 4 * 4;
        for c0 in (0..hd).step_by(LANES) {
            let w = LANES.min(hd - c0);
            let mut acc = [[0.0f32; LANES]; 4];
            for p in (0..full).step_by(4) {
                for (u, acc) in acc.iter_mut().enumerate() {
                    let e = scores[p + u];
                    let v = &vs[(p + u) * row + kh * hd + c0..][..w];
                    for (a, &x) in acc.iter_mut().zip(v) {
                        *a += e * x;
                    }
                }
            }
            for (p, &e) in scores[..keys].iter().enumerate().skip(full) {
                let v = &vs[p * row + kh * hd + c0..][..w];
                for (a, &x) in acc[0].iter_mut().zip(v) {
                    *a += e * x;
                }
            }
            for (j, o) in o[c0..c0 + w].iter_mut().enumerate() {
                *o = ((acc[0][j] + acc[1][j]) + (acc[2][j] + acc[3][j])) * inv;
            }
        }
    }
}

multiversion! {
    /// Attention of one new position of one sequence (a decoding step): for each query head,
    /// `softmax(scale * q kᵀ) v` over every cached position, into `out` `[heads * hd]`. The
    /// query heads are at `q[h * q_head_stride..]`; keys key-major `kt[kv_heads][hd][cap]`
    /// (room for `cap` positions), values position-major `[keys, kv_heads, hd]` (this
    /// position's included; their length says how many keys there are); `scores` holds at
    /// least `keys` (rounded up to [`LANES`], the softmax runs over whole vectors). Plain
    /// loops: at one query row the gemm calls of [`causal_attention`] cost more than the
    /// arithmetic.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn step_attention => step_attention_body(
        out: &mut [f32],
        q: &[f32],
        q_head_stride: usize,
        keys: (&[f32], usize),
        vs: &[f32],
        dims: (usize, usize, usize),
        scale: f32,
        scores: &mut [f32],
    )
}

#[inline(always)]
fn layer_norm_body(x: &[f32], out: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let d = gamma.len();
    for (x, out) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        let mut lanes = [0.0f32; LANES];
        let mut chunks = x.chunks_exact(LANES);
        for c in &mut chunks {
            for (l, &v) in lanes.iter_mut().zip(c) {
                *l += v;
            }
        }
        let sum = lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>();
        let mean = sum / d as f32;
        // Two passes (deviations, not E[x²] − mean²): no cancellation when |mean| >> std.
        let mut lanes = [0.0f32; LANES];
        let mut chunks = x.chunks_exact(LANES);
        for c in &mut chunks {
            for (l, &v) in lanes.iter_mut().zip(c) {
                *l += (v - mean) * (v - mean);
            }
        }
        let sq = lanes.iter().sum::<f32>()
            + chunks
                .remainder()
                .iter()
                .map(|&v| (v - mean) * (v - mean))
                .sum::<f32>();
        let inv = 1.0 / (sq / d as f32 + eps).sqrt();
        for (((o, &v), &g), &b) in out.iter_mut().zip(x).zip(gamma).zip(beta) {
            *o = (v - mean) * inv * g + b;
        }
    }
}

multiversion! {
    fn layer_norm_rows => layer_norm_body(
        x: &[f32],
        out: &mut [f32],
        gamma: &[f32],
        beta: &[f32],
        eps: f32,
    )
}

/// Rows per parallel task of the row-wise kernels: enough work to outweigh a task hand-off.
const ROWS_PER_TASK: usize = 32;

/// LayerNorm of each row of `x` (`[rows, gamma.len()]`) into `out`, as PyTorch's (biased
/// variance, `eps` inside the square root).
pub(crate) fn layer_norm(x: &[f32], out: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let chunk = ROWS_PER_TASK * gamma.len();
    x.par_chunks(chunk)
        .zip(out.par_chunks_mut(chunk))
        .for_each(|(x, out)| layer_norm_rows(x, out, gamma, beta, eps));
}

#[inline(always)]
fn bias_gelu_tanh_body(x: &mut [f32], bias: &[f32]) {
    // x * sigmoid(2u), 2u = x (A + B x²): PyTorch's gelu(approximate="tanh"), rewritten.
    const A: f32 = 2.0 * 0.797_884_6;
    const B: f32 = A * 0.044_715;
    for row in x.chunks_exact_mut(bias.len()) {
        for (v, &b) in row.iter_mut().zip(bias) {
            let x = *v + b;
            *v = x / (1.0 + exp(-x * (A + B * x * x)));
        }
    }
}

multiversion! {
    fn bias_gelu_tanh_rows => bias_gelu_tanh_body(x: &mut [f32], bias: &[f32])
}

#[inline(always)]
fn gelu_tanh_with_grad_body(x: &[f32], y: &mut [MaybeUninit<f32>], dy: &mut [MaybeUninit<f32>]) {
    // y = x s, s = sigmoid(z), z = x (A + B x²) = 2u (as above);
    // dy/dx = s + x s (1 - s) dz/dx, dz/dx = A + 3 B x².
    const A: f32 = 2.0 * 0.797_884_6;
    const B: f32 = A * 0.044_715;
    for ((&x, y), dy) in x.iter().zip(y).zip(dy) {
        let x2 = x * x;
        let s = 1.0 / (1.0 + exp(-x * (A + B * x2)));
        y.write(x * s);
        dy.write(s + x * s * (1.0 - s) * (A + 3.0 * B * x2));
    }
}

multiversion! {
    fn gelu_tanh_with_grad_chunk => gelu_tanh_with_grad_body(
        x: &[f32],
        y: &mut [MaybeUninit<f32>],
        dy: &mut [MaybeUninit<f32>],
    )
}

/// GELU-tanh of every element of `x` and its derivative, `(gelu(x), gelu'(x))`, in one pass
/// on all threads (training: the derivative is what the backward pass multiplies by).
pub(crate) fn gelu_tanh_with_grad(x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    const CHUNK: usize = 1 << 14;
    let n = x.len();
    let (mut y, mut dy) = (Vec::with_capacity(n), Vec::with_capacity(n));
    x.par_chunks(CHUNK)
        .zip(y.spare_capacity_mut()[..n].par_chunks_mut(CHUNK))
        .zip(dy.spare_capacity_mut()[..n].par_chunks_mut(CHUNK))
        .for_each(|((x, y), dy)| gelu_tanh_with_grad_chunk(x, y, dy));
    // SAFETY: the chunks cover all `n` elements of both, and the kernel writes each one.
    unsafe {
        y.set_len(n);
        dy.set_len(n);
    }
    (y, dy)
}

/// `x = gelu_tanh(x + bias)` for each row of `x` (`[rows, bias.len()]`).
pub(crate) fn bias_gelu_tanh(x: &mut [f32], bias: &[f32]) {
    x.par_chunks_mut(ROWS_PER_TASK * bias.len())
        .for_each(|x| bias_gelu_tanh_rows(x, bias));
}

/// A read-only strided matrix: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Mat<'a> {
    /// A row-major matrix with `cols` columns.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            rs: cols,
            cs: 1,
        }
    }
    /// The transpose of a row-major matrix with `cols` columns (no copy).
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            rs: 1,
            cs: cols,
        }
    }
    /// Last index touched by an `r x c` block starting at element 0, for the bounds check.
    fn end(&self, r: usize, c: usize) -> usize {
        if r == 0 || c == 0 {
            0
        } else {
            (r - 1) * self.rs + (c - 1) * self.cs + 1
        }
    }
}

/// `out[m, n] = (accumulate ? out : 0) + scale * a[m, k] · b[k, n]`, `out` row-major with row
/// stride `out_rs`, on `threads` (see [`gemm::Parallelism`]; the crate stays single-threaded
/// below its own size threshold).
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    out: &mut [f32],
    out_rs: usize,
    accumulate: bool,
    a: Mat,
    b: Mat,
    dims: (usize, usize, usize),
    scale: f32,
    threads: gemm::Parallelism,
) {
    let (m, _, n) = dims;
    assert!(
        out.len() >= Mat::rows(out, out_rs).end(m, n),
        "matmul: out too small"
    );
    // SAFETY: the assert keeps every element written inside `out`, borrowed mutably here.
    unsafe {
        matmul_to(
            out.as_mut_ptr(),
            out_rs,
            accumulate,
            a,
            b,
            dims,
            scale,
            threads,
        )
    }
}

/// [`matmul`] into a raw destination, for tasks that share one output buffer.
///
/// # Safety
/// `out` must be valid for reads and writes at `i * out_rs + j` for every `i < m`, `j < n`,
/// and nothing else may access those elements during the call.
#[allow(clippy::too_many_arguments)]
unsafe fn matmul_to(
    out: *mut f32,
    out_rs: usize,
    accumulate: bool,
    a: Mat,
    b: Mat,
    (m, k, n): (usize, usize, usize),
    scale: f32,
    threads: gemm::Parallelism,
) {
    assert!(a.data.len() >= a.end(m, k), "matmul: lhs too small");
    assert!(b.data.len() >= b.end(k, n), "matmul: rhs too small");
    // SAFETY: the asserts keep every element read inside its slice; `out` is the caller's
    // promise.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out,
            1,
            out_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            scale,
            false,
            false,
            false,
            threads,
        );
    }
}

/// `out = x · w + bias` for `x` `[rows, d_in]`, `w` `[d_in, d_out]` and `out` `[rows, d_out]`
/// (row-major); with `accumulate`, `out += x · w + bias` (a residual connection).
pub(crate) fn linear(
    out: &mut [f32],
    accumulate: bool,
    x: &[f32],
    d_in: usize,
    w: Mat,
    bias: &[f32],
) {
    let d_out = bias.len();
    let dims = (x.len() / d_in, d_in, d_out);
    add_rows(out, bias, accumulate);
    matmul(
        out,
        d_out,
        true,
        Mat::rows(x, d_in),
        w,
        dims,
        1.0,
        gemm::Parallelism::Rayon(0),
    );
}

/// `out[i, :] = (accumulate ? out[i, :] : 0) + v` for every row: the bias, in the pass that
/// initialises the gemm's destination anyway.
fn add_rows(out: &mut [f32], v: &[f32], accumulate: bool) {
    out.par_chunks_mut(ROWS_PER_TASK * v.len()).for_each(|out| {
        for row in out.chunks_exact_mut(v.len()) {
            if accumulate {
                row.iter_mut().zip(v).for_each(|(o, &b)| *o += b);
            } else {
                row.copy_from_slice(v);
            }
        }
    });
}

/// Where one of q, k, v lives in a buffer: element `(batch, head, position, d)` is at
/// `offset + batch * batch_stride + head * head_stride + position * row_stride + d`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Heads {
    pub offset: usize,
    pub batch_stride: usize,
    pub head_stride: usize,
    pub row_stride: usize,
}

/// Shapes of one causal attention call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AttnShape {
    pub batch: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads: 1 (MQA), `heads` (MHA) or a divisor of it.
    pub kv_heads: usize,
    pub head_dim: usize,
    /// New positions (queries).
    pub t: usize,
    /// Positions already in the cache before these; query `i` sees keys `0..=past + i`.
    pub past: usize,
    pub scale: f32,
}

/// Query rows per score block: the keys of a block end at its last query, so blocks skip most
/// of the masked upper triangle while each stays one gemm of useful size.
const QUERY_BLOCK: usize = 32;

/// Causal attention: for each batch row and query head, `softmax(scale * q kᵀ + causal mask) v`,
/// written to `out` `[batch, t, heads * head_dim]` (the layout `c_proj` reads). Queries are
/// read from `qs` through `q`, keys and values (`past + t` positions) from `ks` through `k` and
/// `vs` through `v`; with one key/value head every query head reads the same k and v (MQA).
#[allow(clippy::too_many_arguments)]
pub(crate) fn causal_attention(
    out: &mut [f32],
    qs: &[f32],
    q: Heads,
    ks: &[f32],
    k: Heads,
    vs: &[f32],
    v: Heads,
    s: AttnShape,
) {
    let AttnShape {
        batch,
        heads,
        kv_heads,
        head_dim: hd,
        t,
        past,
        scale,
    } = s;
    let width = heads * hd;
    assert_eq!(out.len(), batch * t * width, "attention output size");
    assert_eq!(heads % kv_heads, 0, "query heads must group over kv heads");
    let group = heads / kv_heads;
    let out_ptr = SharedOut(out.as_mut_ptr());
    let out_len = out.len();
    let task = |scores: &mut Vec<f32>, bh: usize| {
        let (b, h) = (bh / heads, bh % heads);
        let kh = h / group;
        let q0 = q.offset + b * q.batch_stride + h * q.head_stride;
        let k0 = k.offset + b * k.batch_stride + kh * k.head_stride;
        let v0 = v.offset + b * v.batch_stride + kh * v.head_stride;
        for r0 in (0..t).step_by(QUERY_BLOCK) {
            let rows = QUERY_BLOCK.min(t - r0);
            let keys = past + r0 + rows;
            scores.resize(rows * keys, 0.0);
            let qm = Mat {
                data: &qs[q0 + r0 * q.row_stride..],
                rs: q.row_stride,
                cs: 1,
            };
            let kt = Mat {
                data: &ks[k0..],
                rs: 1,
                cs: k.row_stride,
            };
            let dims = (rows, hd, keys);
            matmul(
                scores,
                keys,
                false,
                qm,
                kt,
                dims,
                scale,
                gemm::Parallelism::None,
            );
            // Normalised after the product with v: `hd` multiplies a row instead of `keys`.
            let mut inv_sums = [0.0f32; QUERY_BLOCK];
            for (i, row) in scores.chunks_exact_mut(keys).enumerate() {
                inv_sums[i] = 1.0 / exp_prefix(row, past + r0 + i + 1);
            }
            let vm = Mat {
                data: &vs[v0..],
                rs: v.row_stride,
                cs: 1,
            };
            let start = (b * t + r0) * width + h * hd;
            assert!(start + (rows - 1) * width + hd <= out_len);
            let pm = Mat::rows(scores, keys);
            let dims = (rows, keys, hd);
            // SAFETY: in bounds (asserted); task (b, h) writes only columns h*hd..(h+1)*hd of
            // batch row b's positions, so no two tasks touch the same element.
            unsafe {
                let dst = out_ptr.get().add(start);
                matmul_to(
                    dst,
                    width,
                    false,
                    pm,
                    vm,
                    dims,
                    1.0,
                    gemm::Parallelism::None,
                );
                for (i, &inv) in inv_sums[..rows].iter().enumerate() {
                    let row = std::slice::from_raw_parts_mut(dst.add(i * width), hd);
                    row.iter_mut().for_each(|o| *o *= inv);
                }
            }
        }
    };
    let tasks = batch * heads;
    // Below ~a query block's worth of work per task (cached decoding of one sequence), the
    // hand-off to rayon's workers costs more than the work.
    if t * (past + t) * hd * tasks < 64 * 64 * 64 * 2 {
        let mut scores = Vec::new();
        (0..tasks).for_each(|bh| task(&mut scores, bh));
    } else {
        (0..tasks)
            .into_par_iter()
            .for_each_init(Vec::new, |scores, bh| task(scores, bh));
    }
}

/// The output pointer shared by attention tasks that write disjoint elements.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: only used by `causal_attention`, whose tasks write disjoint elements.
unsafe impl Send for SharedOut {}
// SAFETY: as above.
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// Through a method, so closures capture the `Sync` wrapper rather than the raw pointer.
    fn get(self) -> *mut f32 {
        self.0
    }
}

// Decoding kernels for continuous batching (`batch.rs`). A decoding step multiplies a few rows
// (one per running sequence) by each weight matrix. gemm picks its algorithm by shape (a gemv
// for one row, blocked microkernels for more), so a row's result changed in its last bits with
// the number of rows beside it, and with it, now and then, a greedy token. Here every output
// element is one fixed sequence of operations over its own row and column only: a sequence
// decodes the same alone or in any batch (what `rrtf serve` promises). Batching still pays: a
// tile of up to 8 rows uses each weight it loads for every row, so a step of 8 sequences reads
// the weights from memory once, as a step of one does.

/// Columns per block of a packed weight matrix ([`pack_cols`]); the tile widths divide it. As
/// wide as a tile (AVX-512: 32 columns, two registers a row), so every tile reads one contiguous
/// stream: with 128-column blocks, 8 x 32 tiles read a quarter of each 512-byte row, a strided
/// pattern that made a 45M-parameter model's 8-sequence step 1.3x-1.4x slower.
pub(crate) const PACK: usize = 32;

/// How far ahead of the weight row a tile multiplies it asks for the next ones (`prefetcht0`):
/// the hardware prefetcher alone left a step of 4-8 sequences ~20%-35% slower (a 45M-parameter
/// model, 2 KiB measured best of 1-8 KiB for f32 and int8 weights alike).
const PREFETCH_BYTES: usize = 2048;

/// A `[d_in, d_out]` weight matrix as the decoding kernels read it.
#[derive(Clone, Copy)]
pub(crate) enum Cols<'a> {
    /// Row-major, as the model stores it: a tile of columns reads `d_in` strided pieces.
    RowMajor(&'a [f32]),
    /// [`pack_cols`]'s layout: each block of [`PACK`] columns `[d_in, width]` contiguous, so a
    /// tile reads one stream (no page-strided loads). Same values, so the same results.
    Packed(&'a [f32]),
    /// [`quantize_cols`]' int8 weights in [`pack_cols`]' layout, and their per-column scales:
    /// element `(k, j)` stands for `q[k, j] * scale[j]`. A product is `(Σ_k x[i, k] q[k, j]) *
    /// scale[j]`, the sum formed as for f32 weights (each `q` converted exactly to f32): a
    /// quarter of the bytes to read per step.
    Int8 { q: &'a [i8], scale: &'a [f32] },
}

impl Cols<'_> {
    fn len(self) -> usize {
        match self {
            Cols::RowMajor(w) | Cols::Packed(w) => w.len(),
            Cols::Int8 { q, .. } => q.len(),
        }
    }
}

/// Where column `c` of a `[d_in, d_out]` matrix stored in `data` (in [`pack_cols`]' layout
/// when `packed`, else row-major) starts: `(data, row stride, offset)`, element `(k, c + j)`
/// being `data[k * stride + offset + j]` for the columns of `c`'s block.
fn column_at<T>(
    data: &[T],
    packed: bool,
    c: usize,
    d_in: usize,
    d_out: usize,
) -> (&[T], usize, usize) {
    if !packed {
        return (data, d_out, c);
    }
    let start = c / PACK * PACK;
    (&data[start * d_in..], PACK.min(d_out - start), c - start)
}

/// A weight element as the tiles multiply it: f32 as it is, int8 converted (exactly) to f32.
trait Weight: Copy {
    fn value(self) -> f32;
}

impl Weight for f32 {
    #[inline(always)]
    fn value(self) -> f32 {
        self
    }
}

impl Weight for i8 {
    #[inline(always)]
    fn value(self) -> f32 {
        f32::from(self)
    }
}

/// `w` `[d_in, d_out]` row-major in [`Cols::Packed`]'s layout.
pub(crate) fn pack_cols<T: Copy>(w: &[T], d_in: usize, d_out: usize) -> Vec<T> {
    assert_eq!(w.len(), d_in * d_out, "pack_cols: w");
    let mut out = Vec::with_capacity(w.len());
    for start in (0..d_out).step_by(PACK) {
        let width = PACK.min(d_out - start);
        for row in w.chunks_exact(d_out) {
            out.extend_from_slice(&row[start..start + width]);
        }
    }
    out
}

/// Symmetric per-column int8 quantization of `w` `[d_in, d_out]` row-major: `scale[j] =
/// max_k |w[k, j]| / 127` and `q[k, j] = round(w[k, j] / scale[j])` (to nearest, ties to even;
/// within [-127, 127]); an all-zero column gets scale 0 and zeros. Returns `q` row-major and
/// the scales.
pub(crate) fn quantize_cols(w: &[f32], d_in: usize, d_out: usize) -> (Vec<i8>, Vec<f32>) {
    assert_eq!(w.len(), d_in * d_out, "quantize_cols: w");
    let mut max = vec![0.0f32; d_out];
    for row in w.chunks_exact(d_out) {
        for (m, &v) in max.iter_mut().zip(row) {
            *m = m.max(v.abs());
        }
    }
    let scale: Vec<f32> = max.iter().map(|&m| m / 127.0).collect();
    let mut q = Vec::with_capacity(w.len());
    for row in w.chunks_exact(d_out) {
        q.extend(row.iter().zip(&scale).map(|(&v, &s)| {
            if s == 0.0 {
                0
            } else {
                (v / s).round_ties_even().clamp(-127.0, 127.0) as i8
            }
        }));
    }
    (q, scale)
}

/// `acc[r][j] += x[r, k] * w[k, c0 + j]` for k ascending: `R` rows times `C` columns held in
/// registers, each weight row loaded once for the `R` rows. With `FMA` each step is one fused
/// multiply-add, else a multiply then an add: either way every element is the same sequence of
/// operations whatever `R` and `C` are, so tiles of any shape agree bit for bit.
#[inline(always)]
fn tile<T: Weight, const R: usize, const C: usize, const FMA: bool>(
    x: &[f32],
    d_in: usize,
    w: &[T],
    d_out: usize,
    c0: usize,
    out: &mut [f32],
    out_rs: usize,
) {
    assert!(x.len() >= R * d_in && d_in > 0, "tile: x");
    assert!(c0 + C + (d_in - 1) * d_out <= w.len(), "tile: w");
    let mut acc = [[0.0f32; C]; R];
    // Weight rows ahead to prefetch: at least 8 for row-major weights (rows a page or more apart).
    #[cfg(target_arch = "x86_64")]
    let ahead = (PREFETCH_BYTES / (d_out * std::mem::size_of::<T>())).max(8) * d_out;
    for k in 0..d_in {
        // SAFETY: k < d_in, so k * d_out + c0 + C <= w.len() (asserted above).
        let wr: &[T; C] = unsafe { &*w.as_ptr().add(k * d_out + c0).cast::<[T; C]>() };
        #[cfg(target_arch = "x86_64")]
        {
            let next = w.as_ptr().wrapping_add(k * d_out + c0 + ahead).cast::<i8>();
            for line in (0..C * std::mem::size_of::<T>()).step_by(64) {
                // SAFETY: a prefetch is a hint: it reads nothing the program sees and never
                // faults, whatever the address (past the matrix's end for its last rows).
                unsafe {
                    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
                    _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(line));
                }
            }
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: r < R and k < d_in, so r * d_in + k < x.len() (asserted above).
            let xv = unsafe { *x.get_unchecked(r * d_in + k) };
            for (a, &wv) in acc.iter_mut().zip(wr) {
                let wv = wv.value();
                *a = if FMA {
                    xv.mul_add(wv, *a)
                } else {
                    *a + xv * wv
                };
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        out[r * out_rs..][..C].copy_from_slice(acc);
    }
}

/// [`tile`] for a column range narrower than `C` (a matrix's last columns), one row at a time.
#[inline(always)]
fn tile_tail<T: Weight, const FMA: bool>(
    x: &[f32],
    d_in: usize,
    w: &[T],
    d_out: usize,
    (c0, width): (usize, usize),
    out: &mut [f32],
    out_rs: usize,
) {
    for (r, xr) in x.chunks_exact(d_in).enumerate() {
        let acc = &mut out[r * out_rs..][..width];
        acc.fill(0.0);
        for (k, &xv) in xr.iter().enumerate() {
            for (a, &wv) in acc.iter_mut().zip(&w[k * d_out + c0..][..width]) {
                let wv = wv.value();
                *a = if FMA {
                    xv.mul_add(wv, *a)
                } else {
                    *a + xv * wv
                };
            }
        }
    }
}

/// `out[r, j - c_lo] = Σ_k x[r, k] w[k, j]` for the columns `c_lo..c_hi` of every row of `x`:
/// bands of rows, each as many rows as its tiles hold: tiles of `R` rows x `C` columns, then of
/// half as many rows, and so on down to single rows; each band's last columns (fewer than `C`)
/// one row at a time.
#[inline(always)]
fn rows_times_cols<T: Weight, const R: usize, const C: usize, const FMA: bool>(
    x: &[f32],
    d_in: usize,
    w: (&[T], bool),
    d_out: usize,
    cols: (usize, usize),
    out: &mut [f32],
) {
    let rows = x.len() / d_in;
    let mut r = 0;
    for tile_rows in [8, 4, 2, 1] {
        if tile_rows > R {
            continue;
        }
        let band = (r, r + (rows - r) / tile_rows * tile_rows);
        match tile_rows {
            8 => band_of::<T, 8, C, FMA>(x, d_in, w, d_out, cols, band, out),
            4 => band_of::<T, 4, C, FMA>(x, d_in, w, d_out, cols, band, out),
            2 => band_of::<T, 2, C, FMA>(x, d_in, w, d_out, cols, band, out),
            _ => band_of::<T, 1, C, FMA>(x, d_in, w, d_out, cols, band, out),
        }
        r = band.1;
    }
}

/// Rows `r0..r1` (a multiple of `R` of them) of [`rows_times_cols`]: tiles of `R` x `C`, then
/// the columns left (fewer than `C`) one row at a time.
#[inline(always)]
fn band_of<T: Weight, const R: usize, const C: usize, const FMA: bool>(
    x: &[f32],
    d_in: usize,
    (w, packed): (&[T], bool),
    d_out: usize,
    (c_lo, c_hi): (usize, usize),
    (r0, r1): (usize, usize),
    out: &mut [f32],
) {
    if r1 == r0 {
        return;
    }
    let width = c_hi - c_lo;
    // Column tiles outside, rows inside. `c_lo` is a multiple of PACK and C divides PACK, so no
    // tile (and no tail) crosses a packed block.
    let c = tiles::<T, R, C, FMA>(
        x,
        d_in,
        (w, packed),
        d_out,
        (c_lo, c_lo, c_hi),
        (r0, r1),
        out,
    );
    if c < c_hi {
        let (src, stride, c0) = column_at(w, packed, c, d_in, d_out);
        let o = &mut out[r0 * width + c - c_lo..];
        let xs = &x[r0 * d_in..r1 * d_in];
        tile_tail::<T, FMA>(xs, d_in, src, stride, (c0, c_hi - c), o, width);
    }
}

/// Tiles of `R` rows x `CW` columns over rows `r0..r1` (a multiple of `R` of them), from column
/// `c` for as long as a whole tile fits before `c_hi`; `out` holds columns `c_lo..c_hi` of each
/// row. Returns the first column not done.
#[inline(always)]
fn tiles<T: Weight, const R: usize, const CW: usize, const FMA: bool>(
    x: &[f32],
    d_in: usize,
    (w, packed): (&[T], bool),
    d_out: usize,
    (mut c, c_lo, c_hi): (usize, usize, usize),
    (r0, r1): (usize, usize),
    out: &mut [f32],
) -> usize {
    let width = c_hi - c_lo;
    while c + CW <= c_hi {
        let (src, stride, c0) = column_at(w, packed, c, d_in, d_out);
        for r in (r0..r1).step_by(R) {
            let o = &mut out[r * width + c - c_lo..];
            tile::<T, R, CW, FMA>(&x[r * d_in..][..R * d_in], d_in, src, stride, c0, o, width);
        }
        c += CW;
    }
    c
}

/// [`rows_times_cols`] with the tile shapes of the best instruction set this CPU has (AVX-512:
/// up to 8 rows x 32 columns, 16 accumulator registers, each loaded weight used for 8 rows:
/// against 4 x 64 tiles, whose second band of 4 rows read the weights again from cache, a
/// 45M-parameter model's 8-sequence step is 1.3x-1.4x faster, within 1.1x-1.2x of a one-sequence
/// step; AVX2 and the baseline up to 2 rows, 8 accumulators): AVX-512 and AVX2 use fused
/// multiply-adds, the x86-64 baseline a multiply and an add. The choice is the CPU's, the same for every call, so a row's
/// result never depends on the other rows.
fn rows_times_cols_mv<T: Weight>(
    x: &[f32],
    d_in: usize,
    w: (&[T], bool),
    d_out: usize,
    cols: (usize, usize),
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        fn avx512<T: Weight>(
            x: &[f32],
            d_in: usize,
            w: (&[T], bool),
            d_out: usize,
            c: (usize, usize),
            o: &mut [f32],
        ) {
            rows_times_cols::<T, 8, 32, true>(x, d_in, w, d_out, c, o)
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2<T: Weight>(
            x: &[f32],
            d_in: usize,
            w: (&[T], bool),
            d_out: usize,
            c: (usize, usize),
            o: &mut [f32],
        ) {
            rows_times_cols::<T, 2, 32, true>(x, d_in, w, d_out, c, o)
        }
        let fma = std::arch::is_x86_feature_detected!("fma");
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx2")
            && fma
        {
            // SAFETY: the features `avx512` is compiled with were detected above.
            return unsafe { avx512(x, d_in, w, d_out, cols, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && fma {
            // SAFETY: the features `avx2` is compiled with were detected above.
            return unsafe { avx2(x, d_in, w, d_out, cols, out) };
        }
    }
    rows_times_cols::<T, 2, 16, false>(x, d_in, w, d_out, cols, out)
}

/// [`rows_times_cols_mv`] for any [`Cols`]; an int8 matrix's sums are not yet scaled.
fn products(x: &[f32], d_in: usize, w: Cols, d_out: usize, c: (usize, usize), o: &mut [f32]) {
    match w {
        Cols::RowMajor(w) => rows_times_cols_mv(x, d_in, (w, false), d_out, c, o),
        Cols::Packed(w) => rows_times_cols_mv(x, d_in, (w, true), d_out, c, o),
        Cols::Int8 { q, .. } => rows_times_cols_mv(x, d_in, (q, true), d_out, c, o),
    }
}

/// Below this many multiply-adds a call stays on one thread: handing work to rayon's workers
/// and waiting for them costs tens of microseconds on a busy machine, the time of ~2M of them.
const PARALLEL_WORK: usize = 1 << 21;

/// `out = x · w (+ bias)` for `x` `[rows, d_in]`, `w` `[d_in, d_out]` row-major, `out`
/// `[rows, d_out]`; with `accumulate`, `out += x · w (+ bias)`. Each element is
/// `(Σ_k x[i, k] w[k, j], k ascending) + bias[j]`, then added to `out` when accumulating: the
/// same whatever the number of rows (see above).
#[allow(clippy::too_many_arguments)]
pub(crate) fn rows_linear(
    out: &mut [f32],
    accumulate: bool,
    x: &[f32],
    d_in: usize,
    w: Cols,
    d_out: usize,
    bias: Option<&[f32]>,
    parallel: bool,
) {
    let rows = x.len() / d_in;
    assert_eq!(x.len(), rows * d_in, "rows_linear: x");
    assert_eq!(out.len(), rows * d_out, "rows_linear: out");
    assert_eq!(w.len(), d_in * d_out, "rows_linear: w");
    let scale = match w {
        Cols::Int8 { scale, .. } => {
            assert_eq!(scale.len(), d_out, "rows_linear: int8 scales");
            Some(scale)
        }
        _ => None,
    };
    // The products of a column range `[rows, width]`, then bias and residual into `out`.
    let part = |(c_lo, c_hi): (usize, usize)| {
        let mut acc = vec![0.0; rows * (c_hi - c_lo)];
        products(x, d_in, w, d_out, (c_lo, c_hi), &mut acc);
        acc
    };
    let finish = |(c_lo, c_hi): (usize, usize), acc: &[f32], out: &mut [f32]| {
        let width = c_hi - c_lo;
        for (i, acc) in acc.chunks_exact(width).enumerate() {
            let dst = &mut out[i * d_out + c_lo..][..width];
            for (j, (o, &a)) in dst.iter_mut().zip(acc).enumerate() {
                let a = scale.map_or(a, |s| a * s[c_lo + j]);
                let v = a + bias.map_or(0.0, |b| b[c_lo + j]);
                *o = if accumulate { *o + v } else { v };
            }
        }
    };
    let threads = rayon::current_num_threads();
    if !parallel || rows * d_in * d_out < PARALLEL_WORK || threads == 1 {
        finish((0, d_out), &part((0, d_out)), out);
        return;
    }
    // Ranges of 128 columns (a few per thread: work stealing evens out a slow thread).
    let step = 4 * PACK;
    let ranges: Vec<(usize, usize)> = (0..d_out)
        .step_by(step)
        .map(|c| (c, (c + step).min(d_out)))
        .collect();
    let parts: Vec<Vec<f32>> = ranges.par_iter().map(|&r| part(r)).collect();
    for (&r, acc) in ranges.iter().zip(&parts) {
        finish(r, acc, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_3e7_relative_over_the_whole_range() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x <= 88.0 {
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            worst = worst.max(((got - want) / want).abs());
            x += 0.001_37;
        }
        assert!(worst < 3e-7, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1e4) < 1e-37 && exp(-1e4) >= 0.0);
        assert!(exp(f32::NEG_INFINITY) < 1e-37);
    }

    #[test]
    fn exp_prefix_is_the_softmax_of_the_prefix_and_zeroes_the_rest() {
        for (n, len) in [(1, 4), (5, 8), (16, 19), (17, 40), (40, 43), (33, 33)] {
            let mut row: Vec<f32> = (0..len).map(|i| (i as f32 * 0.7).sin() * 5.0).collect();
            let want: Vec<f64> = {
                let m = row[..n].iter().fold(f64::MIN, |m, &v| m.max(v as f64));
                let e: Vec<f64> = row[..n].iter().map(|&v| (v as f64 - m).exp()).collect();
                let s: f64 = e.iter().sum();
                e.iter().map(|v| v / s).collect()
            };
            let sum = exp_prefix(&mut row, n);
            for (g, w) in row.iter().zip(&want) {
                assert!(
                    (*g as f64 / sum as f64 - w).abs() < 1e-6,
                    "n = {n}: {g} vs {w}"
                );
            }
            assert!(row[n..].iter().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn layer_norm_matches_the_definition() {
        let d = 37;
        let x: Vec<f32> = (0..3 * d)
            .map(|i| (i as f32 * 0.31).cos() * 3.0 + 100.0)
            .collect();
        let gamma: Vec<f32> = (0..d).map(|i| 1.0 + i as f32 * 0.01).collect();
        let beta: Vec<f32> = (0..d).map(|i| i as f32 * -0.02).collect();
        let mut out = vec![0.0; x.len()];
        layer_norm(&x, &mut out, &gamma, &beta, 1e-5);
        for (xr, or) in x.chunks(d).zip(out.chunks(d)) {
            let mean = xr.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
            let var = xr.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / d as f64;
            for j in 0..d {
                let want =
                    (xr[j] as f64 - mean) / (var + 1e-5).sqrt() * gamma[j] as f64 + beta[j] as f64;
                assert!((or[j] as f64 - want).abs() < 1e-4, "{} vs {want}", or[j]);
            }
        }
    }

    #[test]
    fn bias_gelu_tanh_matches_pytorchs_formula() {
        let bias = [0.5f32, -1.0, 0.0];
        let mut x: Vec<f32> = (0..300).map(|i| (i as f32 - 150.0) * 0.07).collect();
        let orig = x.clone();
        bias_gelu_tanh(&mut x, &bias);
        for (i, (&g, &x0)) in x.iter().zip(&orig).enumerate() {
            let v = (x0 + bias[i % 3]) as f64;
            let want = 0.5
                * v
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v.powi(3))).tanh());
            let tol = 2e-6 * v.abs().max(1.0);
            assert!(
                (g as f64 - want).abs() < tol,
                "gelu({v}) = {g}, want {want}"
            );
        }
    }

    #[test]
    fn gelu_tanh_with_grad_matches_pytorchs_formula_and_its_derivative() {
        let x: Vec<f32> = (0..40_000).map(|i| (i as f32 - 20_000.0) * 4e-4).collect();
        let (y, dy) = gelu_tanh_with_grad(&x);
        let gelu = |v: f64| {
            0.5 * v
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v.powi(3))).tanh())
        };
        for ((&x, &y), &dy) in x.iter().zip(&y).zip(&dy) {
            let v = x as f64;
            let tol = 2e-6 * v.abs().max(1.0);
            assert!(
                (y as f64 - gelu(v)).abs() < tol,
                "gelu({v}) = {y}, want {}",
                gelu(v)
            );
            // Central difference of the f64 formula.
            let h = 1e-4;
            let want = (gelu(v + h) - gelu(v - h)) / (2.0 * h);
            assert!(
                (dy as f64 - want).abs() < 1e-5,
                "gelu'({v}) = {dy}, want {want}"
            );
        }
    }

    /// Deterministic values in [-2, 2) (no RNG dependency).
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32 * 4.0 - 2.0
            })
            .collect()
    }

    /// `causal_attention` against burn's fused `attention` (causal, bottom-right aligned) on
    /// contiguous `[b, heads, positions, hd]` inputs: MQA, MHA, several query blocks, a cached
    /// step of one token and a chunk after a cache.
    #[test]
    fn causal_attention_matches_burns_attention() {
        use burn::tensor::module::attention;
        use burn::tensor::ops::AttentionModuleOptions;
        use burn::tensor::{Device, Tensor, TensorData};
        let device = Device::flex();
        for (batch, heads, kv_heads, t, past) in [
            (2, 4, 1, 70, 0),
            (2, 4, 4, 33, 0),
            (3, 4, 1, 1, 45),
            (1, 2, 2, 1, 9),
            (2, 4, 1, 40, 5),
        ] {
            let hd = 8;
            let keys = past + t;
            let qv = noise(batch * heads * t * hd, 1);
            let kv = noise(batch * kv_heads * keys * hd, 2);
            let vv = noise(batch * kv_heads * keys * hd, 3);
            let scale = 1.0 / (hd as f32).sqrt();
            let mut out = vec![f32::NAN; batch * t * heads * hd];
            let q = Heads {
                offset: 0,
                batch_stride: heads * t * hd,
                head_stride: t * hd,
                row_stride: hd,
            };
            let k = Heads {
                offset: 0,
                batch_stride: kv_heads * keys * hd,
                head_stride: keys * hd,
                row_stride: hd,
            };
            let shape = AttnShape {
                batch,
                heads,
                kv_heads,
                head_dim: hd,
                t,
                past,
                scale,
            };
            causal_attention(&mut out, &qv, q, &kv, k, &vv, k, shape);

            let tensor = |v: &[f32], h: usize, n: usize| {
                Tensor::<4>::from_data(TensorData::new(v.to_vec(), [batch, h, n, hd]), &device)
            };
            let options = AttentionModuleOptions {
                scale: Some(scale as f64),
                softcap: None,
                is_causal: true,
            };
            let (qt, kt, vt) = (
                tensor(&qv, heads, t),
                tensor(&kv, kv_heads, keys),
                tensor(&vv, kv_heads, keys),
            );
            let want = attention(qt, kt, vt, None, None, options)
                .swap_dims(1, 2)
                .into_data()
                .try_into_vec::<f32>()
                .unwrap();
            let worst = out
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                worst < 1e-5,
                "{batch}x{heads}/{kv_heads} t {t} past {past}: {worst}"
            );
        }
    }

    /// A decoding step's attention equals `causal_attention`'s last query row, for MQA, GQA and
    /// MHA and key counts around the softmax's vector width.
    #[test]
    fn step_attention_is_the_last_row_of_causal_attention() {
        for (heads, kv_heads, hd) in [(4, 1, 8), (4, 2, 16), (3, 3, 20)] {
            for keys in [1, 15, 16, 17, 40, 64, 67, 130] {
                let row = kv_heads * hd;
                let q = noise(heads * hd, 11);
                let ks = noise(keys * row, 12);
                let vs = noise(keys * row, 13);
                let mut got = vec![0.0; heads * hd];
                let mut scores = vec![0.0; keys.next_multiple_of(LANES)];
                let dims = (heads, kv_heads, hd);
                // Key-major keys, with room for 3 more positions.
                let cap = keys + 3;
                let mut kt = vec![f32::NAN; kv_heads * hd * cap];
                for p in 0..keys {
                    for kh in 0..kv_heads {
                        for d in 0..hd {
                            kt[(kh * hd + d) * cap + p] = ks[p * row + kh * hd + d];
                        }
                    }
                }
                step_attention(&mut got, &q, hd, (&kt, cap), &vs, dims, 0.3, &mut scores);
                let mut want = vec![0.0; heads * hd];
                let qh = Heads {
                    offset: 0,
                    batch_stride: 0,
                    head_stride: hd,
                    row_stride: heads * hd,
                };
                let cached = Heads {
                    offset: 0,
                    batch_stride: 0,
                    head_stride: hd,
                    row_stride: row,
                };
                let shape = AttnShape {
                    batch: 1,
                    heads,
                    kv_heads,
                    head_dim: hd,
                    t: 1,
                    past: keys - 1,
                    scale: 0.3,
                };
                causal_attention(&mut want, &q, qh, &ks, cached, &vs, cached, shape);
                let worst = got
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    worst < 1e-5,
                    "{heads}/{kv_heads}/{hd}, {keys} keys: {worst}"
                );
            }
        }
    }

    #[test]
    fn linear_folds_bias_and_residual() {
        let (rows, d_in, d_out) = (3, 4, 5);
        let x: Vec<f32> = (0..rows * d_in).map(|i| i as f32 * 0.1).collect();
        let w: Vec<f32> = (0..d_in * d_out).map(|i| 1.0 - i as f32 * 0.05).collect();
        let bias: Vec<f32> = (0..d_out).map(|i| i as f32).collect();
        let mut out = vec![10.0; rows * d_out];
        linear(&mut out, true, &x, d_in, Mat::rows(&w, d_out), &bias);
        for r in 0..rows {
            for c in 0..d_out {
                let dot: f32 = (0..d_in).map(|j| x[r * d_in + j] * w[j * d_out + c]).sum();
                let want = 10.0 + bias[c] + dot;
                assert!((out[r * d_out + c] - want).abs() < 1e-5);
            }
        }
    }

    /// The decoding kernels: right against a plain f64 reference, and every row bit-identical
    /// whether it is computed alone or among others (odd sizes: partial column blocks).
    #[test]
    fn row_kernels_are_right_and_independent_of_the_other_rows() {
        for (rows, d_in, d_out) in [
            (1, 7, 5),
            (5, 33, 130),
            (9, 64, 64),
            (6, 20, 100),
            (3, 256, 1100),
            // Every band (8, 4, 2 and 1 rows) and a last column block narrower than a tile.
            (15, 40, 200),
        ] {
            let x = noise(rows * d_in, 4);
            let w = noise(d_in * d_out, 5);
            let bias = noise(d_out, 6);
            let base = noise(rows * d_out, 7);
            let mut all = base.clone();
            rows_linear(
                &mut all,
                true,
                &x,
                d_in,
                Cols::RowMajor(&w),
                d_out,
                Some(&bias),
                true,
            );
            // The packed layout gives the same bits.
            let packed = pack_cols(&w, d_in, d_out);
            let mut from_packed = base.clone();
            let wp = Cols::Packed(&packed);
            rows_linear(
                &mut from_packed,
                true,
                &x,
                d_in,
                wp,
                d_out,
                Some(&bias),
                true,
            );
            assert_eq!(from_packed, all);
            for i in 0..rows {
                for j in 0..d_out {
                    let dot: f64 = (0..d_in)
                        .map(|k| x[i * d_in + k] as f64 * w[k * d_out + j] as f64)
                        .sum();
                    let want = base[i * d_out + j] as f64 + bias[j] as f64 + dot;
                    let got = all[i * d_out + j] as f64;
                    assert!(
                        (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                        "{got} vs {want}"
                    );
                }
                let mut one = base[i * d_out..][..d_out].to_vec();
                rows_linear(
                    &mut one,
                    true,
                    &x[i * d_in..][..d_in],
                    d_in,
                    Cols::RowMajor(&w),
                    d_out,
                    Some(&bias),
                    false,
                );
                assert_eq!(one, all[i * d_out..][..d_out], "row {i} of {rows}");
            }
            // Int8 weights: (Σ_k x q) * scale + bias, and a row alone is the row in the batch.
            let (q, scale) = quantize_cols(&w, d_in, d_out);
            let qp = pack_cols(&q, d_in, d_out);
            let wq = Cols::Int8 {
                q: &qp,
                scale: &scale,
            };
            let mut quant = base.clone();
            rows_linear(&mut quant, true, &x, d_in, wq, d_out, Some(&bias), true);
            for i in 0..rows {
                for j in 0..d_out {
                    let dot: f64 = (0..d_in)
                        .map(|k| x[i * d_in + k] as f64 * q[k * d_out + j] as f64)
                        .sum();
                    let want = base[i * d_out + j] as f64 + bias[j] as f64 + dot * scale[j] as f64;
                    let got = quant[i * d_out + j] as f64;
                    assert!(
                        (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                        "int8: {got} vs {want}"
                    );
                    // And within the quantization's error of the f32 product.
                    let half_step: f64 = (0..d_in)
                        .map(|k| (x[i * d_in + k] as f64).abs() * scale[j] as f64 / 2.0)
                        .sum();
                    let f32_result = all[i * d_out + j] as f64;
                    assert!((got - f32_result).abs() <= half_step + 1e-4, "int8 error");
                }
                let mut one = base[i * d_out..][..d_out].to_vec();
                rows_linear(
                    &mut one,
                    true,
                    &x[i * d_in..][..d_in],
                    d_in,
                    wq,
                    d_out,
                    Some(&bias),
                    false,
                );
                assert_eq!(one, quant[i * d_out..][..d_out], "int8 row {i} of {rows}");
            }
        }
    }
}
