//! Chat messages to one prompt text. The tokenizers we serve carry no chat template, so the
//! server offers a few plain ones, chosen with `--chat-template`:
//!
//! | name | rendering | default stop strings |
//! |---|---|---|
//! | `plain` (default) | each message as `System: …` / `User: …` / `Assistant: …` on its own line, then `Assistant:` | `\nUser:`, `\nSystem:` |
//! | `docstring` | system and user messages as `"""\n{content}\n"""\n`, assistant messages as `{content}\n`: one user message gives exactly `rrtf train`'s default prompt template | none |
//! | `raw` | the contents joined with `\n` (the client renders its own prompt) | none |
//!
//! `developer` messages count as `system`. The default stop strings are added to the request's
//! own `stop`, so the model does not go on to write the user's next turn.

use crate::error::ServeError;

/// Who wrote a chat message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    /// OpenAI's role names; `developer` is the newer name of `system`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "system" | "developer" => Some(Role::System),
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            _ => None,
        }
    }
}

/// How chat messages become the prompt text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChatTemplate {
    #[default]
    Plain,
    Docstring,
    Raw,
}

impl ChatTemplate {
    pub const NAMES: &'static str = "plain, docstring, raw";

    pub fn parse(name: &str) -> Result<ChatTemplate, ServeError> {
        match name {
            "plain" => Ok(ChatTemplate::Plain),
            "docstring" => Ok(ChatTemplate::Docstring),
            "raw" => Ok(ChatTemplate::Raw),
            _ => Err(ServeError::UnknownTemplate {
                name: name.to_owned(),
                known: Self::NAMES,
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ChatTemplate::Plain => "plain",
            ChatTemplate::Docstring => "docstring",
            ChatTemplate::Raw => "raw",
        }
    }

    /// The prompt text for `messages`, ready for the model to write the assistant's answer.
    pub fn render(self, messages: &[(Role, String)]) -> String {
        let mut out = String::new();
        match self {
            ChatTemplate::Plain => {
                for (role, content) in messages {
                    let label = match role {
                        Role::System => "System",
                        Role::User => "User",
                        Role::Assistant => "Assistant",
                    };
                    out.push_str(&format!("{label}: {content}\n"));
                }
                out.push_str("Assistant:");
            }
            ChatTemplate::Docstring => {
                for (role, content) in messages {
                    match role {
                        Role::System | Role::User => {
                            out.push_str(&format!("\"\"\"\n{content}\n\"\"\"\n"))
                        }
                        Role::Assistant => out.push_str(&format!("{content}\n")),
                    }
                }
            }
            ChatTemplate::Raw => {
                let contents: Vec<&str> = messages.iter().map(|(_, c)| c.as_str()).collect();
                out = contents.join("\n");
            }
        }
        out
    }

    /// Stop strings every chat request of this template gets on top of its own.
    pub fn stops(self) -> &'static [&'static str] {
        match self {
            ChatTemplate::Plain => &["\nUser:", "\nSystem:"],
            ChatTemplate::Docstring | ChatTemplate::Raw => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_as_documented() {
        let msgs = vec![
            (Role::System, "Be brief.".to_owned()),
            (Role::User, "Add two numbers.".to_owned()),
        ];
        let cases = [
            (
                ChatTemplate::Plain,
                "System: Be brief.\nUser: Add two numbers.\nAssistant:",
            ),
            (
                ChatTemplate::Docstring,
                "\"\"\"\nBe brief.\n\"\"\"\n\"\"\"\nAdd two numbers.\n\"\"\"\n",
            ),
            (ChatTemplate::Raw, "Be brief.\nAdd two numbers."),
        ];
        for (t, want) in cases {
            assert_eq!(t.render(&msgs), want, "{}", t.name());
            assert_eq!(ChatTemplate::parse(t.name()).unwrap(), t);
        }
        // One user message under `docstring` is the trainer's default prompt template.
        assert_eq!(
            ChatTemplate::Docstring.render(&[(Role::User, "P".into())]),
            "\"\"\"\n{prompt}\n\"\"\"\n".replace("{prompt}", "P")
        );
        assert!(
            ChatTemplate::parse("chatml")
                .unwrap_err()
                .to_string()
                .contains("plain, docstring, raw")
        );
    }
}
