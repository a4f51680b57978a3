//! Rendering a stored prompt into what an endpoint is sent, from the templates in `prompts/`.
//!
//! | prompt kind | chat endpoint | completion endpoint |
//! |---|---|---|
//! | completion (HumanEval: the answer continues the text) | `sample_chat_completion.txt` as the user message | the text as is |
//! | instruction (a free answer) | the text as the user message | `sample_completion_instruction.txt` |
//!
//! Chat requests start with the endpoint's `system` message when it has one; completion
//! endpoints have no system message (it is ignored). The round's student, when it is a
//! completion endpoint, is sent every prompt through the round's `[training]` templates instead
//! (`Endpoint::training_templates`): asked in the format it is trained on (the defaults render
//! as the table says).

use rrtf_config::{Endpoint, EndpointKind};

use crate::{Message, Prompt};

pub const CHAT_COMPLETION_TEMPLATE: &str =
    include_str!("../../../prompts/sample_chat_completion.txt");
pub const COMPLETION_INSTRUCTION_TEMPLATE: &str =
    include_str!("../../../prompts/sample_completion_instruction.txt");

/// The line after an instruction prompt in another language than Python
/// (`prompts/sample_language.txt`).
pub const LANGUAGE_LINE_TEMPLATE: &str = include_str!("../../../prompts/sample_language.txt");

/// The text a sampled answer is asked for: an instruction prompt in another language than Python
/// ends with `prompts/sample_language.txt` (`Write the solution in C++.`), since nothing else
/// would tell the answerer (a completion prompt is written in its language already). Python
/// prompts are sent as written: the datasets PanGu-Coder2 evolves are Python by default. Not
/// for the round's student (its training templates say the language, or do not, as in
/// training).
pub fn answer_text<'a>(kind: TaskKind, text: &'a str, language: &str) -> std::borrow::Cow<'a, str> {
    if kind == TaskKind::Completion || language == "python" {
        return text.into();
    }
    let title = rrtf_types::Language::parse(language).map_or(language, |l| l.title());
    let line = LANGUAGE_LINE_TEMPLATE
        .trim_end()
        .replace("{language}", title);
    format!("{}\n\n{line}", text.trim_end()).into()
}

/// How a stored prompt expects to be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    /// The answer is a free text (instruction datasets, MBPP, evolved prompts).
    Instruction,
    /// The answer continues the prompt (HumanEval).
    Completion,
}

/// Fill `{language}` then `{prompt}` (in one pass each, so a prompt that contains
/// `{language}` is left as written).
pub fn fill(template: &str, prompt: &str, language: &str) -> String {
    template
        .replace("{language}", language)
        .replace("{prompt}", prompt)
}

/// A request of a stage with its own system prompt (the evolver, the judge, the test writer):
/// chat endpoints get `system` and `text` as two messages, whatever the endpoint's own
/// `system` says (that one is for sampling answers); completion endpoints get the two as one
/// text.
pub fn with_system(system: &str, text: &str, endpoint: &Endpoint) -> Prompt {
    match endpoint.kind {
        EndpointKind::Chat => Prompt::Chat(vec![
            Message::new("system", system.trim_end()),
            Message::new("user", text),
        ]),
        EndpointKind::Completion => Prompt::Text(format!("{}\n\n{text}", system.trim_end())),
    }
}

/// What `endpoint` is sent for a prompt of `kind` with `text` in `language`.
pub fn render(kind: TaskKind, text: &str, language: &str, endpoint: &Endpoint) -> Prompt {
    match endpoint.kind {
        EndpointKind::Chat => {
            let user = match kind {
                TaskKind::Instruction => text.to_owned(),
                TaskKind::Completion => fill(CHAT_COMPLETION_TEMPLATE, text, language),
            };
            let mut messages = Vec::with_capacity(2);
            if let Some(system) = &endpoint.system {
                messages.push(Message::new("system", system.clone()));
            }
            messages.push(Message::new("user", user));
            Prompt::Chat(messages)
        }
        EndpointKind::Completion => Prompt::Text(match (&endpoint.training_templates, kind) {
            // The round's student: the format it is trained on.
            (Some(t), kind) => {
                let template = match kind {
                    TaskKind::Instruction => &t.instruction,
                    TaskKind::Completion => &t.completion,
                };
                let language =
                    rrtf_types::Language::parse(language).unwrap_or(rrtf_types::Language::Python);
                rrtf_types::template::fill(template, text, language)
            }
            (None, TaskKind::Completion) => text.to_owned(),
            (None, TaskKind::Instruction) => fill(COMPLETION_INSTRUCTION_TEMPLATE, text, language),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(kind: EndpointKind, system: Option<&str>) -> Endpoint {
        let mut e: Endpoint =
            toml::from_str("name = \"t\"\nbase_url = \"http://127.0.0.1:1/v1\"\nmodel = \"m\"\n")
                .unwrap();
        e.kind = kind;
        e.system = system.map(str::to_owned);
        e
    }

    #[test]
    fn each_kind_pair_renders_as_documented() {
        let he = "def add(a, b):\n    \"\"\"Add {language}.\"\"\"\n";
        let chat = endpoint(EndpointKind::Chat, Some("Be brief."));
        let comp = endpoint(EndpointKind::Completion, Some("ignored"));

        assert_eq!(
            render(TaskKind::Completion, he, "python", &comp),
            Prompt::Text(he.into())
        );

        let Prompt::Chat(m) = render(TaskKind::Completion, he, "python", &chat) else {
            panic!("chat endpoint gets messages")
        };
        assert_eq!(
            (m[0].role.as_str(), m[0].content.as_str()),
            ("system", "Be brief.")
        );
        assert_eq!(m[1].role, "user");
        assert!(
            m[1].content
                .starts_with("Complete the following python function.")
        );
        assert!(
            m[1].content.contains("```python\ndef add(a, b):"),
            "{}",
            m[1].content
        );
        // The prompt's own `{language}` is not a placeholder.
        assert!(m[1].content.contains("Add {language}."));

        let Prompt::Chat(m) = render(
            TaskKind::Instruction,
            "Write add.",
            "python",
            &endpoint(EndpointKind::Chat, None),
        ) else {
            panic!()
        };
        assert_eq!(m, vec![Message::new("user", "Write add.")]);

        assert_eq!(
            render(TaskKind::Instruction, "Write add.", "python", &comp),
            Prompt::Text("\"\"\"\nWrite add.\n\"\"\"\n".into())
        );
    }

    /// Issue 20 item 3: an instruction prompt in another language says which; Python prompts
    /// and completion prompts (written in their language) are sent as written.
    #[test]
    fn instructions_in_other_languages_name_theirs() {
        assert_eq!(
            answer_text(TaskKind::Instruction, "Sum a list.\n", "cpp"),
            "Sum a list.\n\nWrite the solution in C++."
        );
        assert_eq!(
            answer_text(TaskKind::Instruction, "Sum a list.", "python"),
            "Sum a list."
        );
        assert_eq!(
            answer_text(TaskKind::Completion, "int f(){\n", "cpp"),
            "int f(){\n"
        );
    }

    /// The round's student is asked in the format it is trained on: the defaults render as for
    /// any completion endpoint (request keys unchanged), other templates as written.
    #[test]
    fn the_student_is_asked_through_its_training_templates() {
        let mut student = endpoint(EndpointKind::Completion, None);
        let plain = |e: &Endpoint, kind, text, language| render(kind, text, language, e);
        let defaults = rrtf_config::Training::default();
        student.training_templates = Some(rrtf_config::TrainingTemplates {
            instruction: defaults.prompt_template.clone(),
            completion: defaults.completion_template.clone(),
        });
        let other = endpoint(EndpointKind::Completion, None);
        for (kind, text) in [
            (TaskKind::Instruction, "Write add."),
            (TaskKind::Completion, "def add(a, b):\n"),
        ] {
            assert_eq!(
                plain(&student, kind, text, "python"),
                plain(&other, kind, text, "python")
            );
        }
        student.training_templates = Some(rrtf_config::TrainingTemplates {
            instruction: "{language_tag}/* {prompt} */\n".into(),
            completion: "{language_tag}{prompt}".into(),
        });
        assert_eq!(
            plain(&student, TaskKind::Completion, "int f(){\n", "cpp"),
            Prompt::Text("// language: C++\nint f(){\n".into())
        );
        assert_eq!(
            plain(&student, TaskKind::Instruction, "Sum a vector.", "cpp"),
            Prompt::Text("// language: C++\n/* Sum a vector. */\n".into())
        );
    }

    #[test]
    fn a_stage_system_prompt_replaces_the_endpoints() {
        let chat = endpoint(
            EndpointKind::Chat,
            Some("Answer with one Python code block."),
        );
        assert_eq!(
            with_system("You design tasks.\n", "Rewrite: add.", &chat),
            Prompt::Chat(vec![
                Message::new("system", "You design tasks."),
                Message::new("user", "Rewrite: add.")
            ])
        );
        let comp = endpoint(EndpointKind::Completion, None);
        assert_eq!(
            with_system("You design tasks.", "Rewrite: add.", &comp),
            Prompt::Text("You design tasks.\n\nRewrite: add.".into())
        );
    }
}
