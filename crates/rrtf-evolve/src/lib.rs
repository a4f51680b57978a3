//! Evol-Instruct for code (WizardCoder's methods, PanGu-Coder2's contest-designer framing):
//! an LLM rewrites seed prompts into harder ones, step after step, and what it writes is
//! filtered before it is kept.
//!
//! - [`methods`]: the five in-depth code methods and in-breadth, as templates from `prompts/`,
//!   and the seeded weighted choice (a function of round seed, parent and step, so a re-run
//!   makes the same choices).
//! - [`rules`]: the elimination rules (WizardLM's four, template-label leaks, length ratio),
//!   each a pure function with its own tests; the LLM-judged no-new-information rule's answer
//!   parsing.
//! - [`minhash`]: near-duplicate removal against everything kept (MinHash + LSH, verified by
//!   exact Jaccard).
//! - [`decontam`]: word n-gram overlap with benchmark problems.
//! - [`evolve`]: the driver over a [`rrtf_llm::Backend`]: steps, concurrency, the filters in
//!   order, and a report of what was dropped and why.
//! - [`synth`]: unit-test synthesis: the request for a prompt without tests and the static
//!   checks of the teacher's answer.
//! - [`validation`]: the dynamic validation of a synthesized test: the protocol of three
//!   sandboxed runs (a stub, the reference twice) handed to an `rrtf_exec::Executor`, and the
//!   typed verdict ([`validation::Rejection`] names the rule).
//!
//! No HTTP of its own (it calls a `Backend`), no SQL (the binary stores the result) and no
//! process of its own (the executor runs the tests).

pub mod decontam;
pub mod evolve;
pub mod methods;
pub mod minhash;
pub mod rules;
pub mod synth;
pub mod validation;
