//! Content hashes used as natural keys.

use sha2::{Digest, Sha256};

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(bytes.as_ref()))
}

/// Hash of a text with its whitespace normalised (runs of whitespace become one space, ends
/// trimmed), so that re-indented or re-wrapped copies of a prompt share a hash; U+0000 counts as
/// U+FFFD, as the store writes it (`sql::storable`), so a text and its stored copy share one.
pub fn content_hash(text: &str) -> String {
    let mut hasher = Sha256::new();
    let mut first = true;
    for word in text.split_whitespace() {
        if !first {
            hasher.update(b" ");
        }
        hasher.update(crate::sql::storable(word).as_bytes());
        first = false;
    }
    hex::encode(hasher.finalize())
}

/// A test's key: SHA-256 of its code as the store writes it (`sql::storable`).
pub(crate) fn code_hash(code: &str) -> String {
    sha256_hex(crate::sql::storable(code).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_ignores_whitespace_layout_only() {
        assert_eq!(content_hash("a  b\n c "), content_hash("a b c"));
        assert_ne!(content_hash("a b c"), content_hash("a bc"));
        assert_eq!(content_hash("a\0 b"), content_hash("a\u{FFFD}  b"));
        assert_eq!(code_hash("x\0"), sha256_hex("x\u{FFFD}"));
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
