//! Upkeep after an answered turn, off the critical path (the run has already ended, so it never
//! delays a token): titling untitled conversations, refreshing the summary and, when the person
//! keeps memory on, extracting memories in that same call ([`super::upkeep`]).

use super::service::Deps;
use super::upkeep::{self, Asked};
use crate::model::{ChatMessage, ChatRequest};
use crate::{Conversation, Message, MessageKind, Page, Title, UserId};

/// Messages the summary (and extraction) look back over.
const SUMMARY_WINDOW: usize = 12;
/// Messages titling looks at.
const TITLE_WINDOW: usize = 4;

fn transcript(messages: &[Message], limit: usize) -> String {
    let start = messages.len().saturating_sub(limit);
    messages[start..]
        .iter()
        .filter(|m| m.kind != MessageKind::System)
        .map(|m| format!("{}: {}", m.kind.as_str(), m.content))
        .collect::<Vec<_>>()
        .join("\n")
}

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
    let request = |instructions: &str, text: String| {
        let r = ChatRequest::new(vec![ChatMessage::system(instructions), ChatMessage::user(text)]);
        match &deps.summary_model {
            Some(m) => r.with_model(m.clone()),
            None => r,
        }
    };
    let title_due = conversation.title.is_none();
    let human = messages.iter().filter(|m| m.kind == MessageKind::Human).count();
    let every = deps.settings.summary_every.max(1);
    let summary_due = human > 0 && human % every == 0;
    let previous = conversation.summary.clone().unwrap_or_default();

    if (title_due || summary_due)
        && let Some(keeper) = &deps.memories
    {
        let start = messages.len().saturating_sub(SUMMARY_WINDOW);
        let sources = keeper.to_extract(user, &messages[start..]).await;
        if !sources.is_empty() {
            let asked = Asked {
                title: title_due,
                summary: summary_due,
                sources: &sources,
            };
            let window = if summary_due { SUMMARY_WINDOW } else { TITLE_WINDOW };
            let text = format!(
                "Previous summary:\n{previous}\n\nLatest messages:\n{}\n\n{}",
                transcript(&messages, window),
                upkeep::sources_text(&sources)
            );
            match model.complete_text(request(&upkeep::instructions(&asked), text)).await {
                Ok(raw) => {
                    let up = upkeep::parse(&raw, &asked, clean_title);
                    if let Some(title) = &up.title {
                        store_title(deps, user, conversation, title).await;
                    }
                    if let Some(summary) = &up.summary {
                        store_summary(deps, user, conversation, summary).await;
                    }
                    if let Some(memories) = &up.memories {
                        keeper.extracted(user, &sources, memories).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "background: upkeep failed"),
            }
            return;
        }
    }

    if title_due {
        let instructions = "Write a short title (at most 6 words) for this conversation. \
                            Answer with the title only, without quotes.";
        match model
            .complete_text(request(instructions, transcript(&messages, TITLE_WINDOW)))
            .await
        {
            Ok(raw) => match clean_title(&raw) {
                Some(title) => store_title(deps, user, conversation, &title).await,
                None => tracing::debug!("background: the model gave no usable title"),
            },
            Err(e) => tracing::warn!(error = %e, "background: titling failed"),
        }
    }

    if summary_due {
        let instructions = "Update the running summary of this conversation. Keep facts, decisions, \
                            preferences and open questions; at most 150 words. Answer with the summary only.";
        let text = format!(
            "Previous summary:\n{previous}\n\nLatest messages:\n{}",
            transcript(&messages, SUMMARY_WINDOW)
        );
        match model.complete_text(request(instructions, text)).await {
            Ok(summary) if !summary.trim().is_empty() => {
                store_summary(deps, user, conversation, summary.trim()).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "background: summarizing failed"),
        }
    }
}

async fn store_title(deps: &Deps, user: UserId, conversation: &Conversation, title: &Title) {
    if let Err(e) = deps.store.rename_conversation(user, conversation.id, title).await {
        tracing::warn!(error = %e, "background: could not store the title");
    }
}

async fn store_summary(deps: &Deps, user: UserId, conversation: &Conversation, summary: &str) {
    let summary = crate::text::storable_form(summary.to_owned());
    if let Err(e) = deps.store.set_summary(user, conversation.id, &summary).await {
        tracing::warn!(error = %e, "background: could not store the summary");
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
