//! ChatGPT's `conversations.json` (its data export): a list of conversations, each a `mapping`
//! of nodes `{id, message|null, parent, children}` forming a tree (an edited question or a
//! regenerated answer is a second child), with `current_node` the leaf of the branch shown.
//!
//! What is imported: the branch ending at `current_node`, the person's (`user`) and ChatGPT's
//! (`assistant`) visible messages. What is left out is counted per reason: other branches,
//! system and hidden messages, tool calls and tool output, reasoning, custom instructions.
//! Parts that are not text become placeholders (`[image]`, `[attachment: <kind>]`), attached
//! files a note. Only fields the export is known to carry are read; unknown ones are ignored.

use crate::MessageKind;
use crate::Title;
use crate::store::{ImportedConversation, ImportedMessage, ImportedParent};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Deserialize)]
pub(super) struct Conversation {
    pub id: Option<String>,
    pub conversation_id: Option<String>,
    pub title: Option<String>,
    pub create_time: Option<f64>,
    pub update_time: Option<f64>,
    pub mapping: HashMap<String, Node>,
    pub current_node: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Node {
    pub message: Option<NodeMessage>,
    pub parent: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct NodeMessage {
    pub author: Author,
    pub create_time: Option<f64>,
    pub content: Content,
    pub weight: Option<f64>,
    pub recipient: Option<String>,
    #[serde(default)]
    pub metadata: Value,
}

#[derive(Debug, Deserialize)]
pub(super) struct Author {
    pub role: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct Content {
    pub content_type: String,
    pub parts: Option<Vec<Value>>,
    pub text: Option<String>,
}

/// A message is cut to this many characters (ChatGPT answers can be long; context stays sane).
pub(super) const MAX_MESSAGE_CHARS: usize = 100_000;

fn time(secs: Option<f64>) -> Option<DateTime<Utc>> {
    let secs = secs.filter(|s| s.is_finite() && *s > 0.0)?;
    DateTime::from_timestamp_micros((secs * 1_000_000.0) as i64)
}

/// The conversation converted, with what was left out.
pub(super) struct Converted {
    pub key: String,
    pub title: Option<String>,
    pub conversation: ImportedConversation,
    /// Reason -> how many messages.
    pub left_out: BTreeMap<&'static str, u32>,
}

impl Conversation {
    pub fn source_id(&self) -> Option<&str> {
        self.id
            .as_deref()
            .or(self.conversation_id.as_deref())
            .filter(|s| !s.is_empty())
    }

    /// The import of this conversation, or why it cannot be imported.
    pub fn convert(&self, now: DateTime<Utc>) -> Result<Converted, String> {
        let id = self.source_id().ok_or("the conversation has no id")?;
        let leaf = self
            .current_node
            .as_deref()
            .ok_or("the conversation has no current_node")?;
        if !self.mapping.contains_key(leaf) {
            return Err(format!("current_node {leaf:?} is not in its mapping"));
        }
        // The shown branch: from the leaf up to the root.
        let mut path = Vec::new();
        let mut seen = HashSet::new();
        let mut at = Some(leaf);
        while let Some(node_id) = at {
            if !seen.insert(node_id) {
                return Err(format!("the mapping loops at node {node_id:?}"));
            }
            let node = self
                .mapping
                .get(node_id)
                .ok_or_else(|| format!("node {node_id:?} is not in the mapping"))?;
            path.push(node);
            at = node.parent.as_deref();
        }
        path.reverse();
        let created = time(self.create_time).unwrap_or(now);
        let mut left_out: BTreeMap<&'static str, u32> = BTreeMap::new();
        let elsewhere = self
            .mapping
            .iter()
            .filter(|(k, n)| !seen.contains(k.as_str()) && n.message.is_some())
            .count();
        if elsewhere > 0 {
            left_out.insert("other branches", elsewhere as u32);
        }
        let mut messages = Vec::new();
        for node in path {
            let Some(m) = &node.message else { continue };
            match classify(m) {
                Ok((kind, content)) => messages.push(ImportedMessage {
                    kind,
                    content,
                    created_at: time(m.create_time).unwrap_or(created),
                    // The path to the current node: one branch.
                    parent: ImportedParent::Previous,
                }),
                Err(reason) => *left_out.entry(reason).or_default() += 1,
            }
        }
        let updated = time(self.update_time)
            .or_else(|| messages.last().map(|m| m.created_at))
            .unwrap_or(created);
        let title = self.title.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let bounded = title.map(|t| t.chars().take(Title::MAX_CHARS).collect::<String>());
        Ok(Converted {
            key: format!("chatgpt:{id}"),
            title: bounded.clone(),
            conversation: ImportedConversation {
                title: bounded.and_then(|t| Title::parse(&t).ok()),
                summary: None,
                created_at: created,
                updated_at: updated.max(created),
                messages,
                active_leaf: None,
            },
            left_out,
        })
    }
}

/// A visible message of the person or of ChatGPT, as meAI stores it; or why it is left out.
fn classify(m: &NodeMessage) -> Result<(MessageKind, String), &'static str> {
    let hidden = m
        .metadata
        .get("is_visually_hidden_from_conversation")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let kind = match m.author.role.as_str() {
        "system" => return Err("system messages"),
        "tool" => return Err("tool output"),
        "user" => MessageKind::Human,
        "assistant" => MessageKind::Ai,
        _ => return Err("messages of unknown authors"),
    };
    match m.content.content_type.as_str() {
        "thoughts" | "reasoning_recap" => return Err("reasoning"),
        "user_editable_context" => return Err("custom instructions"),
        _ => {}
    }
    if hidden || m.weight == Some(0.0) {
        return Err("hidden messages");
    }
    if m.recipient.as_deref().is_some_and(|r| r != "all") {
        return Err("tool calls");
    }
    let mut pieces: Vec<String> = Vec::new();
    match &m.content.parts {
        Some(parts) => {
            for part in parts {
                match part {
                    Value::String(s) if !s.trim().is_empty() => pieces.push(s.clone()),
                    Value::Object(o) => match (o.get("content_type").and_then(Value::as_str), o.get("text")) {
                        (Some("image_asset_pointer"), _) => pieces.push("[image]".into()),
                        (_, Some(Value::String(t))) if !t.trim().is_empty() => pieces.push(t.clone()),
                        (Some(kind), _) => pieces.push(format!("[attachment: {kind}]")),
                        (None, _) => pieces.push("[attachment]".into()),
                    },
                    _ => {}
                }
            }
        }
        None => pieces.extend(m.content.text.clone().filter(|t| !t.trim().is_empty())),
    }
    let files = m
        .metadata
        .get("attachments")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if files > 0 {
        pieces.push(format!("[{files} file{} attached]", if files == 1 { "" } else { "s" }));
    }
    let text = pieces.join("\n");
    if text.trim().is_empty() {
        return Err("empty messages");
    }
    let text = match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}\n[truncated]", &text[..cut]),
        None => text,
    };
    Ok((kind, text))
}
