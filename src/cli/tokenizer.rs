//! `rrtf tokenizer ...`: train a byte-level BPE tokenizer with StarCoder's special tokens.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum TokenizerCommand {
    /// Train a byte-level BPE (StarCoder special tokens at ids 0..=18) and write tokenizer.json.
    Train(TrainArgs),
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Text files to learn merges from.
    #[arg(long, num_args = 1.., required = true)]
    pub files: Vec<PathBuf>,
    /// Target vocabulary size, special tokens and the 256 byte tokens included.
    #[arg(long, default_value_t = 1024)]
    pub vocab_size: usize,
    /// Where to write tokenizer.json.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(ctx: &Ctx, cmd: TokenizerCommand) -> anyhow::Result<()> {
    match cmd {
        TokenizerCommand::Train(a) => {
            let size = rrtf_model::tokenizer::train(&a.files, a.vocab_size, &a.out)?;
            ctx.emit(
                || format!("wrote {} ({size} tokens)", a.out.display()),
                || serde_json::json!({"out": a.out, "vocab_size": size}),
            );
            Ok(())
        }
    }
}
