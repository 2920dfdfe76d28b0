use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a tool says it does to the world, in the vocabulary of MCP's tool annotations
/// (`readOnlyHint`, `destructiveHint`, `idempotentHint`, `openWorldHint`). Each is `None` when the
/// tool's source did not say. Hints, not guarantees: the approval policy reads them to choose a
/// default, and a missing hint is read the cautious way (the tool may write).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolHints {
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

impl ToolHints {
    /// A tool that reads and changes nothing.
    pub fn read_only() -> Self {
        Self {
            read_only: Some(true),
            destructive: Some(false),
            ..Self::default()
        }
    }

    /// A tool that writes (sends, creates, updates) without deleting.
    pub fn writes() -> Self {
        Self {
            read_only: Some(false),
            destructive: Some(false),
            ..Self::default()
        }
    }

    /// Composio's tool `tags`: its behaviour tags are `readOnlyHint`, `createHint`, `updateHint`
    /// and `destructiveHint` (plus `idempotentHint` and `openWorldHint`), mixed with free-form
    /// tags (`important`, a category). A tool is read-only only when it is tagged so and
    /// carries no writing tag.
    pub fn from_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> Self {
        let mut hints = Self::default();
        let (mut read_only, mut writes) = (false, false);
        for tag in tags {
            match tag.trim() {
                "readOnlyHint" => read_only = true,
                "createHint" | "updateHint" => writes = true,
                "destructiveHint" => {
                    writes = true;
                    hints.destructive = Some(true);
                }
                "idempotentHint" => hints.idempotent = Some(true),
                "openWorldHint" => hints.open_world = Some(true),
                _ => {}
            }
        }
        hints.read_only = match (read_only, writes) {
            (_, true) => Some(false),
            (true, false) => Some(true),
            (false, false) => None,
        };
        hints
    }

    /// Whether the tool declared itself read-only (and nothing contradicts it).
    pub fn is_read_only(&self) -> bool {
        self.read_only == Some(true) && self.destructive != Some(true)
    }
}

/// A tool the model may call: its name, what it does, and a JSON Schema of its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// A JSON Schema object. Adapters adapt it to what their provider accepts.
    pub parameters: Value,
    /// What the tool says about its effects.
    #[serde(default)]
    pub hints: ToolHints,
    /// Where the tool comes from (a toolkit such as `GMAIL`, or another tool source); `None`:
    /// the name's prefix before the first `_` (Composio's slugs: `GMAIL_SEND_EMAIL`).
    #[serde(default)]
    pub toolkit: Option<String>,
}

impl ToolSpec {
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            parameters,
            hints: ToolHints::default(),
            toolkit: None,
        }
    }

    pub fn with_hints(mut self, hints: ToolHints) -> Self {
        self.hints = hints;
        self
    }

    pub fn in_toolkit(mut self, toolkit: impl Into<String>) -> Self {
        self.toolkit = Some(toolkit.into());
        self
    }

    /// The toolkit (tool source) the tool belongs to, upper-case.
    pub fn toolkit(&self) -> String {
        match &self.toolkit {
            Some(t) => t.to_ascii_uppercase(),
            None => toolkit_of(&self.name),
        }
    }
}

/// The toolkit a tool name belongs to by Composio's convention: its prefix before the first `_`
/// (`GMAIL_SEND_EMAIL` -> `GMAIL`).
pub fn toolkit_of(tool: &str) -> String {
    tool.split('_')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(tool)
        .to_ascii_uppercase()
}

/// A complete tool call the model made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for the call; the [`super::ChatMessage::ToolResult`] answering it
    /// carries the same id.
    pub id: String,
    pub name: String,
    /// The arguments as JSON (an object when the model produced valid JSON; otherwise the raw
    /// text as a JSON string, so the caller can report the mistake back to the model).
    pub arguments: Value,
}

impl ToolCall {
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: Value) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            arguments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composio_tags_become_hints() {
        // As Composio tags real tools (behaviour tags mixed with free-form ones).
        let fetch = ToolHints::from_tags(["gmail", "readOnlyHint", "idempotentHint"]);
        assert!(fetch.is_read_only());
        assert_eq!(fetch.idempotent, Some(true));
        let send = ToolHints::from_tags(["important", "openWorldHint", "createHint"]);
        assert_eq!(send.read_only, Some(false));
        assert_eq!(send.open_world, Some(true));
        assert!(!send.is_read_only());
        let clear = ToolHints::from_tags(["destructiveHint", "idempotentHint"]);
        assert_eq!((clear.read_only, clear.destructive), (Some(false), Some(true)));
        // Contradictory tags: the writing one wins.
        assert!(!ToolHints::from_tags(["readOnlyHint", "updateHint"]).is_read_only());
        // No behaviour tag: unknown, so not read-only.
        let none = ToolHints::from_tags(["important"]);
        assert_eq!(none.read_only, None);
        assert!(!none.is_read_only());
    }

    #[test]
    fn the_toolkit_is_explicit_or_the_name_prefix() {
        let spec = ToolSpec::new("GMAIL_SEND_EMAIL", "", Value::Null);
        assert_eq!(spec.toolkit(), "GMAIL");
        assert_eq!(spec.clone().in_toolkit("mcp_docs").toolkit(), "MCP_DOCS");
        assert_eq!(toolkit_of("weird"), "WEIRD");
    }
}
