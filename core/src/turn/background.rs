//! Upkeep after an answered turn, off the critical path (the run has already ended, so it never
//! delays a token): titling untitled conversations and refreshing the summary.

use super::service::Deps;
use crate::model::{ChatMessage, ChatRequest};
use crate::{Conversation, MessageKind, Page, Title, UserId};

pub(super) async fn after_turn(deps: &Deps, user: UserId, conversation: &Conversation) {
    let Some(model) = &deps.model else { return };
    let messages = match deps.store.list_messages(user, conversation.id, Page::all()).await {
        Ok(m) => m,
        Err(e) => return tracing::warn!(error = %e, "background: could not read the conversation"),
    };
    if let Some(recall) = &deps.recall {
        // This turn's messages: from its human message on.
        let start = messages.iter().rposition(|m| m.kind == MessageKind::Human).unwrap_or(0);
        recall.remember(user, &messages[start..]).await;
    }
    let transcript = |limit: usize| {
        let start = messages.len().saturating_sub(limit);
        messages[start..]
            .iter()
            .filter(|m| m.kind != MessageKind::System)
            .map(|m| format!("{}: {}", m.kind.as_str(), m.content))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let request = |instructions: &str, text: String| {
        let r = ChatRequest::new(vec![ChatMessage::system(instructions), ChatMessage::user(text)]);
        match &deps.summary_model {
            Some(m) => r.with_model(m.clone()),
            None => r,
        }
    };

    if conversation.title.is_none() {
        let instructions = "Write a short title (at most 6 words) for this conversation. \
                            Answer with the title only, without quotes.";
        match model.complete_text(request(instructions, transcript(4))).await {
            Ok(raw) => match clean_title(&raw) {
                Some(title) => {
                    if let Err(e) = deps.store.rename_conversation(user, conversation.id, &title).await {
                        tracing::warn!(error = %e, "background: could not store the title");
                    }
                }
                None => tracing::debug!("background: the model gave no usable title"),
            },
            Err(e) => tracing::warn!(error = %e, "background: titling failed"),
        }
    }

    let human = messages.iter().filter(|m| m.kind == MessageKind::Human).count();
    let every = deps.settings.summary_every.max(1);
    if human > 0 && human % every == 0 {
        let previous = conversation.summary.clone().unwrap_or_default();
        let instructions = "Update the running summary of this conversation. Keep facts, decisions, \
                            preferences and open questions; at most 150 words. Answer with the summary only.";
        let text = format!("Previous summary:\n{previous}\n\nLatest messages:\n{}", transcript(12));
        match model.complete_text(request(instructions, text)).await {
            Ok(summary) if !summary.trim().is_empty() => {
                if let Err(e) = deps.store.set_summary(user, conversation.id, summary.trim()).await {
                    tracing::warn!(error = %e, "background: could not store the summary");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "background: summarizing failed"),
        }
    }
}

/// A model's title answer, cleaned: first line, no quotes or trailing period, bounded.
fn clean_title(raw: &str) -> Option<Title> {
    let line = raw.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line.trim_start_matches("Title:").trim();
    let line = line
        .trim_matches(|c| matches!(c, '"' | '\'' | '*' | '`'))
        .trim_end_matches('.')
        .trim();
    let bounded: String = line.chars().take(80).collect();
    Title::parse(&bounded).ok()
}

#[cfg(test)]
mod tests {
    use super::clean_title;

    #[test]
    fn titles_are_cleaned() {
        assert_eq!(
            clean_title("\"Trip to Lisbon.\"\nmore").unwrap().as_str(),
            "Trip to Lisbon"
        );
        assert_eq!(clean_title("Title: Budget").unwrap().as_str(), "Budget");
        assert!(clean_title("  \n ").is_none());
    }
}
