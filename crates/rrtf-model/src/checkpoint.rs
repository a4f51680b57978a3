//! Per-layer gradient checkpointing: a training step keeps only each block's input, not its
//! activations, and recomputes one block at a time in the backward pass.
//!
//! burn 0.22.1 has no per-layer checkpointing (its `Device::autodiff().gradient_checkpointing()`
//! recomputes element-wise ops only), so the backward pass is split by hand, as PyTorch's
//! `torch.utils.checkpoint` does it inside one graph:
//!
//! 1. Forward without autodiff (the model's inference copy, [`GptBigCode::valid`]): the
//!    embeddings `x₀` and every block's output `x₁ … x_L` are kept, nothing else.
//! 2. The top (`ln_f`, the LM head and the loss) runs under autodiff from `x_L` as a leaf; the
//!    caller's `loss.backward()` gives the head's gradients and `∂loss/∂x_L`.
//! 3. [`Tapes::backward`]: for each block from the last, recompute its forward under autodiff
//!    from `x_i` as a leaf and back-propagate `∂loss/∂x_{i+1}` through it (the backward of
//!    `Σ y ⊙ g` with `g` a constant), which gives the block's parameter gradients and
//!    `∂loss/∂x_i`; then the same through the embeddings.
//!
//! The gradients are those of one ordinary backward pass (the same ops on the same values; only
//! the order of the tied embedding's two sums differs), at the cost of a second forward pass.
//! At most one block's graph is alive at a time, plus the top's.
//!
//! It is switched on for a scope with [`record`]: inside it, [`GptBigCode::hidden`] on an
//! autodiff device takes this path and leaves a [`LayerTape`] for each call, which the caller
//! must pass to [`Tapes::backward`] with the loss's gradients. Inference copies, other threads
//! and code outside the scope are unaffected.

use std::cell::RefCell;

use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::{Gradients, Int, Tensor};

use crate::model::GptBigCode;

thread_local! {
    static TAPES: RefCell<Option<Vec<LayerTape>>> = const { RefCell::new(None) };
    static PASSES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Checkpointed forward passes run on this thread so far (so tests can tell which path ran).
pub fn passes_on_this_thread() -> u64 {
    PASSES.with(|p| p.get())
}

/// What one checkpointed forward pass kept: the token ids and each block's input, without
/// autodiff, and the tracked leaf the top of the model started from.
pub struct LayerTape {
    ids: Tensor<2, Int>,
    /// `x₀ … x_{L-1}` (inference tensors), block `i`'s input at `inputs[i]`.
    inputs: Vec<Tensor<3>>,
    /// `x_L` as a tracked leaf on the autodiff device.
    top: Tensor<3>,
}

/// The tapes of the checkpointed forward passes of a [`record`] scope, in call order.
pub struct Tapes(Vec<LayerTape>);

/// Run `f` with per-layer checkpointing: every [`GptBigCode::hidden`] of an autodiff model in
/// it keeps a tape instead of a graph. Returns `f`'s result and the tapes, which
/// [`Tapes::backward`] completes once the loss's `backward()` has run. Scopes do not nest.
pub fn record<T>(f: impl FnOnce() -> T) -> (T, Tapes) {
    TAPES.with(|t| {
        let mut t = t.borrow_mut();
        assert!(t.is_none(), "checkpoint::record scopes do not nest");
        *t = Some(Vec::new());
    });
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            TAPES.with(|t| t.borrow_mut().take());
        }
    }
    let reset = Reset;
    let out = f();
    let tapes = TAPES.with(|t| t.borrow_mut().take()).unwrap_or_default();
    drop(reset);
    (out, Tapes(tapes))
}

/// Whether this thread is inside a [`record`] scope.
pub(crate) fn active() -> bool {
    TAPES.with(|t| t.borrow().is_some())
}

/// The checkpointed forward pass of `model` (on an autodiff device) over `ids`: the final
/// hidden states (after `ln_f`), tracked from the leaf `x_L`; the tape goes to the scope.
pub(crate) fn hidden(model: &GptBigCode, ids: Tensor<2, Int>) -> Tensor<3> {
    PASSES.with(|p| p.set(p.get() + 1));
    let inner = model.valid();
    let mut x = inner.embed(ids.clone().inner());
    let mut inputs = Vec::with_capacity(inner.h.len());
    for block in &inner.h {
        let next = block.forward(x.clone(), None);
        inputs.push(x);
        x = next;
    }
    let top = Tensor::from_inner(x).require_grad();
    let out = model.ln_f.forward(top.clone());
    TAPES.with(|t| {
        t.borrow_mut()
            .as_mut()
            .expect("checkpoint::hidden runs inside a record scope")
            .push(LayerTape { ids, inputs, top })
    });
    out
}

impl Tapes {
    /// Number of checkpointed forward passes recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Complete the backward pass: `grads` is what `loss.backward()` returned for a loss
    /// computed in the scope that recorded these tapes on `model`. Returns the gradients of
    /// every parameter of `model` that has one, as `GradientsParams::from_grads` would after an
    /// ordinary backward pass.
    pub fn backward(self, model: &GptBigCode, mut grads: Gradients) -> GradientsParams {
        let tops: Vec<Option<Tensor<3>>> = self.0.iter().map(|t| t.top.grad(&grads)).collect();
        let mut acc = GradientsAccumulator::<GptBigCode>::new();
        acc.accumulate(model, GradientsParams::from_module(&mut grads, model));
        drop(grads);
        for (tape, g) in self.0.into_iter().zip(tops) {
            // No gradient reached the top (a loss that does not use these hidden states).
            let Some(mut g) = g else { continue };
            for (block, x) in model.h.iter().zip(tape.inputs).rev() {
                let x = Tensor::from_inner(x).require_grad();
                let y = block.forward(x.clone(), None);
                let mut grads = (y * Tensor::from_inner(g)).sum().backward();
                acc.accumulate(model, GradientsParams::from_module(&mut grads, block));
                g = x
                    .grad(&grads)
                    .expect("a block's output depends on its input");
            }
            let x0 = model.embed(tape.ids);
            if x0.is_tracked() {
                let mut grads = (x0 * Tensor::from_inner(g)).sum().backward();
                acc.accumulate(model, GradientsParams::from_module(&mut grads, &model.wte));
                acc.accumulate(model, GradientsParams::from_module(&mut grads, &model.wpe));
            }
        }
        acc.grads()
    }
}
