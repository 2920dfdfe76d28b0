//! Choosing the few tools worth offering for a message, without asking a model.
//!
//! A toolkit has dozens of tools; offering them all makes every request large and slow, and
//! the original spent a whole LLM call classifying intent instead. Here a tool scores by the
//! words it shares with the message (its name counts more than its description); ties keep the
//! platform's order, alternating between toolkits, so even a message that names nothing still
//! gets each toolkit's leading tools.

use crate::model::ToolSpec;
use std::collections::HashMap;

const STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "you", "your", "can", "could", "would", "please", "what", "when", "where", "which",
    "who", "how", "that", "this", "these", "those", "from", "into", "about", "have", "has", "are", "was", "were",
    "will", "all", "any", "some", "get", "give", "tell", "show", "want", "need", "let", "lets", "there", "their",
    "them", "then", "than", "just", "also", "not", "but", "out", "our", "its", "it's", "i'm", "now", "today", "tool",
    "tools",
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3)
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// Same word, or one inflection of the other (`event`/`events`, `mail`/`email`).
fn matches(a: &str, b: &str) -> bool {
    a == b || (a.len() >= 4 && b.len() >= 4 && (a.contains(b) || b.contains(a)))
}

fn score(tool: &ToolSpec, query: &[String]) -> u32 {
    let name = words(&tool.name.replace('_', " "));
    let description = words(&tool.description);
    query
        .iter()
        .map(|q| {
            if name.iter().any(|w| matches(w, q)) {
                3
            } else if description.iter().any(|w| matches(w, q)) {
                1
            } else {
                0
            }
        })
        .sum()
}

/// The `limit` tools most relevant to `query`, best first.
pub fn top(tools: Vec<ToolSpec>, query: &str, limit: usize) -> Vec<ToolSpec> {
    let query = words(query);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut ranked: Vec<(u32, usize, usize, ToolSpec)> = tools
        .into_iter()
        .enumerate()
        .map(|(i, tool)| {
            let position = seen.entry(tool.toolkit()).or_default();
            let entry = (score(&tool, &query), *position, i, tool);
            *position += 1;
            entry
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    ranked.into_iter().take(limit).map(|(_, _, _, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(name: &str, description: &str) -> ToolSpec {
        ToolSpec::new(name, description, json!({"type": "object", "properties": {}}))
    }

    fn names(tools: &[ToolSpec]) -> Vec<&str> {
        tools.iter().map(|t| t.name.as_str()).collect()
    }

    fn catalog() -> Vec<ToolSpec> {
        vec![
            tool("GMAIL_FETCH_EMAILS", "Fetch emails from the inbox"),
            tool("GMAIL_SEND_EMAIL", "Send an email message to recipients"),
            tool("GMAIL_CREATE_LABEL", "Create a label"),
            tool("GOOGLECALENDAR_FIND_EVENT", "Find events in a calendar"),
            tool("GOOGLECALENDAR_CREATE_EVENT", "Create a calendar event, e.g. a meeting"),
        ]
    }

    #[test]
    fn the_message_picks_the_tools() {
        let top2 = top(catalog(), "Please send an email to Bob about lunch", 2);
        assert_eq!(names(&top2)[0], "GMAIL_SEND_EMAIL");
        let top1 = top(catalog(), "schedule a meeting tomorrow: create the event", 1);
        assert_eq!(names(&top1), ["GOOGLECALENDAR_CREATE_EVENT"]);
    }

    #[test]
    fn without_clues_each_toolkit_keeps_its_leading_tools() {
        let picked = top(catalog(), "hi!", 2);
        assert_eq!(names(&picked), ["GMAIL_FETCH_EMAILS", "GOOGLECALENDAR_FIND_EVENT"]);
    }
}
