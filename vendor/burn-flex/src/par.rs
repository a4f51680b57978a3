// rrtf patch file: par
//! Multi-threaded element-wise loops (rrtf patch, see `VENDORED.md`).
//!
//! burn-flex 0.22.1 runs its element-wise kernels on one thread. These helpers split a flat
//! loop into chunks for rayon when the tensor is large enough for the split to pay (and run it
//! inline otherwise, or without the `rayon` feature). Each chunk runs the same scalar or SIMD
//! kernel the single-threaded code ran, element by element in the same order within an
//! element, so results are bit-identical to the unpatched crate.

use alloc::vec::Vec;

#[cfg(feature = "rayon")]
use rayon::prelude::*;

/// Below this many elements (128 KiB of f32) a loop stays on the calling thread: a rayon
/// hand-off costs a few microseconds, about what one thread needs for this many elements.
pub(crate) const PAR_MIN: usize = 1 << 15;

/// Elements per task: a few tasks per thread for balance, multiples of 64 (whole cache lines
/// and SIMD vectors per chunk), never below half of [`PAR_MIN`].
#[cfg(feature = "rayon")]
fn chunk_len(n: usize) -> usize {
    let tasks = rayon::current_num_threads().max(1) * 4;
    n.div_ceil(tasks).max(PAR_MIN / 2).next_multiple_of(64)
}

#[cfg(feature = "rayon")]
fn parallel(n: usize) -> bool {
    n >= PAR_MIN && rayon::current_num_threads() > 1
}

/// `f` over disjoint chunks of `data`.
pub(crate) fn for_each_chunk<E, F>(data: &mut [E], f: F)
where
    E: Send,
    F: Fn(&mut [E]) + Sync,
{
    #[cfg(feature = "rayon")]
    if parallel(data.len()) {
        let c = chunk_len(data.len());
        data.par_chunks_mut(c).for_each(&f);
        return;
    }
    f(data)
}

/// `f(first, chunk)` over disjoint chunks of `data` of at least `min_len` elements each
/// (`first`: the chunk's index in `data`), on several threads when there are several chunks.
pub(crate) fn for_each_chunk_of<E, F>(data: &mut [E], min_len: usize, f: F)
where
    E: Send,
    F: Fn(usize, &mut [E]) + Sync,
{
    #[cfg(feature = "rayon")]
    if data.len() > min_len && rayon::current_num_threads() > 1 {
        let tasks = rayon::current_num_threads() * 4;
        let c = data.len().div_ceil(tasks).max(min_len.max(1));
        data.par_chunks_mut(c)
            .enumerate()
            .for_each(|(i, chunk)| f(i * c, chunk));
        return;
    }
    f(0, data)
}

/// `f` over matching chunks of `dst` and `src` (equal lengths).
pub(crate) fn zip_chunks<D, S, F>(dst: &mut [D], src: &[S], f: F)
where
    D: Send,
    S: Sync,
    F: Fn(&mut [D], &[S]) + Sync,
{
    debug_assert_eq!(dst.len(), src.len());
    #[cfg(feature = "rayon")]
    if parallel(dst.len()) {
        let c = chunk_len(dst.len());
        dst.par_chunks_mut(c)
            .zip(src.par_chunks(c))
            .for_each(|(d, s)| f(d, s));
        return;
    }
    f(dst, src)
}

/// `src.map(f)` into a new vector.
pub(crate) fn map<S, R, F>(src: &[S], f: F) -> Vec<R>
where
    S: Sync + Copy,
    R: Send,
    F: Fn(S) -> R + Sync,
{
    #[cfg(feature = "rayon")]
    if parallel(src.len()) {
        return src.par_iter().with_min_len(PAR_MIN / 2).map(|&x| f(x)).collect();
    }
    src.iter().map(|&x| f(x)).collect()
}

/// `a.zip(b).map(f)` into a new vector (equal lengths).
pub(crate) fn zip_map<A, B, R, F>(a: &[A], b: &[B], f: F) -> Vec<R>
where
    A: Sync + Copy,
    B: Sync + Copy,
    R: Send,
    F: Fn(A, B) -> R + Sync,
{
    debug_assert_eq!(a.len(), b.len());
    #[cfg(feature = "rayon")]
    if parallel(a.len()) {
        return a
            .par_iter()
            .zip(b.par_iter())
            .with_min_len(PAR_MIN / 2)
            .map(|(&x, &y)| f(x, y))
            .collect();
    }
    a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
}

/// `n` copies of `value`, written in chunks across threads for large `n` (a serial `vec![v; n]`
/// is one thread's memset: for a 300 MB logits tensor, ~40 ms with the other core idle).
pub(crate) fn filled<E: Copy + Send + Sync>(n: usize, value: E) -> Vec<E> {
    let mut v = Vec::with_capacity(n);
    for_each_chunk(&mut v.spare_capacity_mut()[..n], |c| {
        c.iter_mut().for_each(|x| {
            x.write(value);
        })
    });
    // SAFETY: the loop above wrote every one of the first `n` elements.
    unsafe { v.set_len(n) };
    v
}

/// A copy of `src`, in chunks across threads for large slices.
pub(crate) fn copied<E: Copy + Send + Sync>(src: &[E]) -> Vec<E> {
    let n = src.len();
    let mut v = Vec::with_capacity(n);
    zip_chunks(&mut v.spare_capacity_mut()[..n], src, |d, s| {
        d.iter_mut().zip(s).for_each(|(d, &s)| {
            d.write(s);
        })
    });
    // SAFETY: every one of the first `n` elements was written above.
    unsafe { v.set_len(n) };
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element is visited exactly once, whatever the length (around the thresholds and
    /// chunk boundaries), and the results land in order.
    #[test]
    fn chunked_loops_cover_every_element_once() {
        for n in [0, 1, 63, PAR_MIN - 1, PAR_MIN, PAR_MIN + 1, 3 * PAR_MIN + 17, 1 << 20] {
            let src: Vec<u64> = (0..n as u64).collect();
            let mut dst = vec![0u64; n];
            for_each_chunk(&mut dst, |c| c.iter_mut().for_each(|x| *x += 1));
            assert!(dst.iter().all(|&x| x == 1), "for_each_chunk, n = {n}");
            zip_chunks(&mut dst, &src, |d, s| {
                d.iter_mut().zip(s).for_each(|(d, &s)| *d += s)
            });
            assert!(dst.iter().enumerate().all(|(i, &x)| x == i as u64 + 1), "zip_chunks, n = {n}");
            assert_eq!(map(&src, |x| x * 2), src.iter().map(|x| x * 2).collect::<Vec<_>>());
            assert_eq!(zip_map(&src, &dst, |a, b| b - a), vec![1u64; n], "zip_map, n = {n}");
            assert_eq!(filled(n, 7u64), vec![7u64; n], "filled, n = {n}");
            let mut at = vec![0usize; n];
            for_each_chunk_of(&mut at, 1000, |first, c| {
                c.iter_mut().enumerate().for_each(|(i, x)| *x += first + i + 1)
            });
            assert!(at.iter().enumerate().all(|(i, &x)| x == i + 1), "for_each_chunk_of, n = {n}");
            assert_eq!(copied(&src), src, "copied, n = {n}");
        }
    }
}
