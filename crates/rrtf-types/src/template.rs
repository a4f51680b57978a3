//! The prompt templates' one fill rule, shared by training (`rrtf_train::Templates`) and the
//! student's sampling (`rrtf_llm::render`), so a student is asked in the very format it is
//! trained on.

use crate::Language;

/// `template` with `{prompt}` replaced by `prompt`, `{language}` by the language's name
/// ([`Language::title`]: `C++`) and `{language_tag}` by CodeGeeX's tag line
/// ([`Language::tag_line`]), in one pass: a prompt that contains `{language}` is kept as it is.
pub fn fill(template: &str, prompt: &str, language: Language) -> String {
    let mut out = String::with_capacity(template.len() + prompt.len());
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let filled = [
            ("{prompt}", prompt),
            ("{language_tag}", language.tag_line()),
            ("{language}", language.title()),
        ]
        .into_iter()
        .find(|(key, _)| rest.starts_with(key));
        match filled {
            Some((key, value)) => {
                out.push_str(value);
                rest = &rest[key.len()..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_once() {
        assert_eq!(
            fill(
                "{language_tag}{prompt} in {language} {x}",
                "f {language}",
                Language::Cpp
            ),
            "// language: C++\nf {language} in C++ {x}"
        );
    }
}
