//! Memories extracted in the background, in the model call that titles or summarizes the
//! conversation anyway: no extra call per message. Only the person's own messages are offered
//! as sources (each numbered, so a memory names the message it came from); tool output and the
//! assistant's words are context, never sources.

use crate::{Message, MessageId, Title, UserId};
use serde::Deserialize;

/// The seam to the person's memories (wired by the edge over [`crate::memory::Memory`]).
/// Failures are logged by the implementation: extraction never fails a turn.
#[async_trait::async_trait]
pub trait MemoryKeeper: Send + Sync + 'static {
    /// The human messages among `recent` to extract memories from: none when the person's
    /// memory is off, and none extracted before.
    async fn to_extract(&self, user: UserId, recent: &[Message]) -> Vec<Message>;

    /// What the model extracted from `sources`: each memory with the message it came from.
    /// Every source is marked extracted, also those that gave nothing.
    async fn extracted(&self, user: UserId, sources: &[Message], memories: &[(MessageId, String)]);
}

/// What one upkeep call is asked for.
pub(super) struct Asked<'a> {
    pub title: bool,
    pub summary: bool,
    pub sources: &'a [Message],
}

/// The instructions of a combined call: one JSON object with the parts asked for.
pub(super) fn instructions(asked: &Asked<'_>) -> String {
    let mut keys = Vec::new();
    if asked.title {
        keys.push("\"title\": a short title (at most 6 words) for the conversation, without quotes".to_owned());
    }
    if asked.summary {
        keys.push(
            "\"summary\": the updated running summary of the conversation; keep facts, decisions, preferences \
             and open questions; at most 150 words"
                .to_owned(),
        );
    }
    keys.push(
        "\"memories\": durable facts about the user worth remembering in later conversations (their name, \
         family, pets, home, work, preferences, plans), as a list of {\"from\": N, \"memory\": \"...\"} where N is \
         the number of the user's message the fact comes from. Take facts ONLY from what the user said in the \
         numbered messages, never from tool results or the assistant's words; one short sentence each, about \
         the user (\"The user's dog is called Bartholomew\"); [] when there is nothing durable"
            .to_owned(),
    );
    format!(
        "You keep the records of a conversation. Answer with one JSON object and nothing else, with these keys:\n- {}",
        keys.join("\n- ")
    )
}

/// The numbered source messages, appended to the call's text.
pub(super) fn sources_text(sources: &[Message]) -> String {
    let lines: Vec<String> = sources
        .iter()
        .enumerate()
        .map(|(i, m)| format!("[{}] {}", i + 1, m.content.replace('\n', " ")))
        .collect();
    format!("The user's messages to take memories from:\n{}", lines.join("\n"))
}

#[derive(Deserialize)]
struct Answer {
    title: Option<String>,
    summary: Option<String>,
    #[serde(default)]
    memories: Vec<serde_json::Value>,
}

/// A combined call's answer, parsed.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Upkept {
    pub title: Option<Title>,
    pub summary: Option<String>,
    /// `None` when the answer was not the JSON asked for: nothing is marked extracted then, so
    /// the messages are offered again at the next upkeep.
    pub memories: Option<Vec<(MessageId, String)>>,
}

/// Reads the answer leniently (code fences, prose around the object); when it is not JSON, the
/// text counts as the summary (or the title) as a plain call would have.
pub(super) fn parse(raw: &str, asked: &Asked<'_>, clean_title: impl Fn(&str) -> Option<Title>) -> Upkept {
    let object = match (raw.find('{'), raw.rfind('}')) {
        (Some(start), Some(end)) if start < end => serde_json::from_str::<Answer>(&raw[start..=end]).ok(),
        _ => None,
    };
    let Some(answer) = object else {
        tracing::debug!("upkeep answer is not JSON; using it as plain text");
        return Upkept {
            summary: asked.summary.then(|| raw.trim().to_owned()).filter(|s| !s.is_empty()),
            title: (asked.title && !asked.summary).then(|| clean_title(raw)).flatten(),
            memories: None,
        };
    };
    let memories = answer
        .memories
        .iter()
        .filter_map(|m| {
            let from = m.get("from")?.as_u64()?;
            let text = m.get("memory")?.as_str()?;
            let source = asked.sources.get(usize::try_from(from).ok()?.checked_sub(1)?)?;
            Some((source.id, text.to_owned()))
        })
        .collect();
    Upkept {
        title: answer.title.as_deref().filter(|_| asked.title).and_then(&clean_title),
        summary: answer
            .summary
            .map(|s| s.trim().to_owned())
            .filter(|s| asked.summary && !s.is_empty()),
        memories: Some(memories),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConversationId, MessageKind};

    fn human(id: i64, text: &str) -> Message {
        Message {
            id: MessageId(id),
            conversation_id: ConversationId(1),
            user_id: UserId(1),
            kind: MessageKind::Human,
            content: text.into(),
            client_message_id: None,
            parent_id: None,
            usage: None,
            created_at: chrono::Utc::now(),
        }
    }

    fn title(raw: &str) -> Option<Title> {
        Title::parse(raw.trim()).ok()
    }

    #[test]
    fn a_fenced_answer_names_its_sources() {
        let sources = [human(7, "my dog is Rex"), human(9, "I live in Porto")];
        let asked = Asked {
            title: true,
            summary: false,
            sources: &sources,
        };
        let raw = "```json\n{\"title\": \"Dogs\", \"memories\": [{\"from\": 2, \"memory\": \"The user lives in Porto\"}, \
                   {\"from\": 5, \"memory\": \"made up\"}, \"not an object\"]}\n```";
        let up = parse(raw, &asked, title);
        assert_eq!(up.title.unwrap().as_str(), "Dogs");
        assert_eq!(up.summary, None, "not asked for");
        assert_eq!(
            up.memories,
            Some(vec![(MessageId(9), "The user lives in Porto".into())])
        );
        assert!(sources_text(&sources).contains("[2] I live in Porto"));
        assert!(!instructions(&asked).contains("\"summary\""));
    }

    #[test]
    fn plain_text_is_the_summary_and_extracts_nothing() {
        let sources = [human(1, "x")];
        let asked = Asked {
            title: false,
            summary: true,
            sources: &sources,
        };
        let up = parse("Planning a trip.", &asked, title);
        assert_eq!(up.summary.as_deref(), Some("Planning a trip."));
        assert_eq!(up.memories, None);
    }
}
