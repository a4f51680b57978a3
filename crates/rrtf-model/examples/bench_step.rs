//! `rrtf model bench` without the binary: `cargo run --release --example bench_step -p
//! rrtf-model -- DIR`, for iterating on the decoding kernels.

use burn::tensor::Device;
use rrtf_model::Checkpoint;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: bench_step DIR");
    let ckpt = Checkpoint::load(dir.as_ref(), &Device::flex()).unwrap();
    let r = rrtf_model::bench::run(&ckpt.model, 1, 128, 64, 1).unwrap();
    println!("{}", serde_json::to_string(&r).unwrap());
}
