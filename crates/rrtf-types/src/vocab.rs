//! The closed vocabularies stored as text: one label per value, the same in the database, in
//! JSON and on screen.

use serde::{Deserialize, Serialize};

/// A type's name as words for messages: `ModelRole` -> `model role`.
fn words(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable label: what the database stores and JSON carries.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "`{s}` is not a valid {}: expected one of {}",
                        words(stringify!($name)),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        // The store's queries run through sqlx's `Any` driver (SQLite or PostgreSQL): the
        // vocabularies are text columns in both.
        #[cfg(feature = "sqlx")]
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <str as sqlx::Type<sqlx::Any>>::type_info()
            }
            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <str as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::Encode<'_, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Any>>::encode(self.as_str(), buf)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            /// A stored text outside the vocabulary is an error naming the value and the
            /// labels expected (never a default).
            fn decode(
                value: sqlx::any::AnyValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Any>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }
    };
}

text_enum!(
    /// How a response relates to its prompt: an instruction (answered with code) or code to
    /// continue.
    PromptKind { Instruction = "instruction", Completion = "completion" }
);

impl Default for PromptKind {
    /// Training files written before the kind was recorded hold instruction groups.
    fn default() -> Self {
        PromptKind::Instruction
    }
}

text_enum!(
    /// Where a test came from.
    TestOrigin { Imported = "imported", Synthesized = "synthesized" }
);

text_enum!(
    /// A model's part in a round.
    ModelRole { Teacher = "teacher", Student = "student" }
);

text_enum!(
    /// How a sample ended when run against its tests. How outcomes rank is the ranker's
    /// business (PG2 orders compile error < runtime error < partial < pass).
    Outcome {
        Pass = "pass",
        /// Some tests passed, not all.
        Partial = "partial",
        /// No test passed; every failure was a failed assertion.
        TestFailure = "test_failure",
        RuntimeError = "runtime_error",
        /// Syntax or compile error, or no code in the response.
        CompileError = "compile_error",
        /// Wall-clock or CPU limit.
        Timeout = "timeout",
        MemoryLimit = "memory_limit",
        OutputLimit = "output_limit",
        /// Died without a well-formed result (signal, early exit, forged or garbled report).
        Crashed = "crashed",
    }
);

text_enum!(
    /// An operator's review action. Reviews are append-only; the latest pin/unpin and
    /// exclude/include per response (or per prompt, with no response) is in force.
    ReviewAction {
        Pin = "pin",
        Unpin = "unpin",
        Exclude = "exclude",
        Include = "include",
        Reorder = "reorder",
        Note = "note",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_through_text_and_serde() {
        fn check<T>(all: &[T])
        where
            T: Copy + PartialEq + std::fmt::Debug + std::str::FromStr + Serialize,
            T: std::fmt::Display,
            <T as std::str::FromStr>::Err: std::fmt::Debug,
        {
            for v in all {
                let label = v.to_string();
                assert_eq!(label.parse::<T>().unwrap(), *v);
                assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(label));
            }
        }
        check(Outcome::ALL);
        check(ModelRole::ALL);
        check(PromptKind::ALL);
        check(TestOrigin::ALL);
        check(ReviewAction::ALL);
        assert_eq!(Outcome::ALL.len(), 9);
        assert_eq!(Outcome::TestFailure.as_str(), "test_failure");
        assert_eq!(PromptKind::default(), PromptKind::Instruction);
    }

    #[test]
    fn unknown_labels_are_errors_naming_the_value_and_the_choices() {
        let err = "passed".parse::<Outcome>().unwrap_err();
        assert!(
            err.contains("`passed` is not a valid outcome") && err.contains("test_failure"),
            "{err}"
        );
        assert_eq!("teacher".parse::<ModelRole>().unwrap(), ModelRole::Teacher);
        assert_eq!(
            "judge".parse::<ModelRole>().unwrap_err(),
            "`judge` is not a valid model role: expected one of teacher, student"
        );
        assert!("Teacher".parse::<ModelRole>().is_err());
    }
}
