//! Milliseconds per decoding step by the number of sequences stepping together, best of 4 runs
//! of 32 steps each: `cargo run --release --example bench_rows -p rrtf-model -- DIR [int8 |
//! rowmajor]` (default: the server's packed f32 projections). For the decoding kernels: how much
//! a step of 8 sequences costs against a step of one is what batched serving gains.
use burn::tensor::Device;
use rrtf_model::Checkpoint;
use rrtf_model::batch::Decoder;
use std::time::Instant;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: bench_rows DIR");
    let ckpt = Checkpoint::load(dir.as_ref(), &Device::flex()).unwrap();
    let dec = match std::env::args().nth(2).as_deref() {
        Some("int8") => Decoder::int8(&ckpt.model).unwrap(),
        Some("rowmajor") => Decoder::new(&ckpt.model).unwrap(),
        _ => Decoder::packed(&ckpt.model).unwrap(),
    };
    let vocab = dec.vocab_size() as u32;
    let steps = 32;
    for n in [1usize, 2, 4, 8] {
        let mut best = f64::MAX;
        for _ in 0..4 {
            let mut seqs: Vec<_> = (0..n)
                .map(|s| {
                    let p: Vec<u32> = (0..16)
                        .map(|i| (i * 7919 + s as u32 * 104_729 + 13) % vocab)
                        .collect();
                    dec.prefill(&p, steps + 1).0
                })
                .collect();
            let start = Instant::now();
            for t in 0..steps as u32 {
                let mut batch: Vec<_> = seqs
                    .iter_mut()
                    .enumerate()
                    .map(|(i, c)| (((t * 31 + i as u32 * 7) % vocab), c))
                    .collect();
                let _ = dec.step(&mut batch);
            }
            best = best.min(start.elapsed().as_secs_f64() * 1e3 / steps as f64);
        }
        println!(
            "rows {n}: {best:.2} ms/step, {:.0} tokens/s",
            n as f64 * 1e3 / best
        );
    }
}
