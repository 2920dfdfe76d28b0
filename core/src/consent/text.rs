//! What a person reads about a call that needs their decision: a one-line summary, the request
//! streamed as the assistant's text (what, to whom, with which content, how to answer), and the
//! plain "yes" that approves it from any client.

use super::{Approval, redact};
use serde_json::Value;

/// Longest summary, in characters.
const SUMMARY_CHARS: usize = 200;
/// Longest value shown in the request text, in characters.
const VALUE_CHARS: usize = 500;
/// Arguments shown per call at most.
const SHOWN_ARGUMENTS: usize = 12;

/// Keys that say who a call reaches; they come first.
const RECIPIENT_KEYS: &[&str] = &[
    "to",
    "recipient",
    "recipient_email",
    "recipients",
    "email",
    "cc",
    "bcc",
    "attendees",
    "channel",
    "channel_id",
    "user",
    "user_id",
];
/// Keys that name what the call creates or sends; they come next.
const TITLE_KEYS: &[&str] = &["subject", "title", "summary", "name"];

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The arguments in reading order: recipients, then titles, then the rest as the model gave them.
fn ordered(arguments: &Value) -> Vec<(String, String)> {
    let Value::Object(map) = redact(arguments) else {
        return vec![("arguments".into(), shown(arguments))];
    };
    let rank = |k: &str| {
        if RECIPIENT_KEYS.contains(&k) {
            0
        } else if TITLE_KEYS.contains(&k) {
            1
        } else {
            2
        }
    };
    let mut pairs: Vec<(usize, String, String)> = map
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (rank(k), k.clone(), shown(v)))
        .collect();
    pairs.sort_by_key(|(r, _, _)| *r);
    pairs.into_iter().map(|(_, k, v)| (k, v)).collect()
}

/// What the tool does, from its name: `GMAIL_SEND_EMAIL` of `GMAIL` -> `send email`.
pub fn action_name(toolkit: &str, tool: &str) -> String {
    let rest = tool
        .strip_prefix(toolkit)
        .map(|r| r.trim_start_matches('_'))
        .filter(|r| !r.is_empty())
        .unwrap_or(tool);
    rest.replace(['_', '-'], " ").to_lowercase()
}

/// One line for a person: `GMAIL: send email (recipient_email: bob@example.com, subject: Lunch)`.
pub fn summary(toolkit: &str, tool: &str, arguments: &Value) -> String {
    let details: Vec<String> = ordered(arguments)
        .into_iter()
        .take(3)
        .map(|(k, v)| format!("{k}: {}", cut(&v.replace('\n', " "), 60)))
        .collect();
    let line = if details.is_empty() {
        format!("{toolkit}: {}", action_name(toolkit, tool))
    } else {
        format!("{toolkit}: {} ({})", action_name(toolkit, tool), details.join(", "))
    };
    cut(&line, SUMMARY_CHARS)
}

/// The assistant's text asking for a decision on `approvals`.
pub fn request(approvals: &[Approval]) -> String {
    let mut text = if approvals.len() == 1 {
        "Before I go ahead, I need your approval for this action on your account:\n\n".to_owned()
    } else {
        format!(
            "Before I go ahead, I need your approval for these {} actions on your accounts:\n\n",
            approvals.len()
        )
    };
    for (i, a) in approvals.iter().enumerate() {
        let number = if approvals.len() == 1 {
            String::new()
        } else {
            format!("{}. ", i + 1)
        };
        text.push_str(&format!(
            "{number}**{}** with {} (`{}`)\n",
            action_name(&a.toolkit, &a.tool),
            a.toolkit,
            a.tool
        ));
        let args = ordered(&a.arguments);
        for (k, v) in args.iter().take(SHOWN_ARGUMENTS) {
            text.push_str(&format!("   - {k}: {}\n", cut(v, VALUE_CHARS)));
        }
        if args.len() > SHOWN_ARGUMENTS {
            text.push_str(&format!("   - … and {} more\n", args.len() - SHOWN_ARGUMENTS));
        }
    }
    let them = if approvals.len() == 1 { "it" } else { "them" };
    text.push_str(&format!(
        "\nReply **yes** to approve {them}; any other reply cancels {them}."
    ));
    text
}

/// What the conversation (and the model) keeps about a call that did not run.
pub fn not_run_note(tool: &str, expired: bool) -> String {
    if expired {
        format!("[{}] not run: nobody approved it in time", tool.to_uppercase())
    } else {
        format!("[{}] not run: the user declined it", tool.to_uppercase())
    }
}

/// What the model is told about a call the person declined, or that expired.
pub fn not_run_result(expired: bool) -> String {
    if expired {
        "The user did not approve this action in time, so it was not performed.".into()
    } else {
        "The user declined this action, so it was not performed. Do not retry it unless the user asks.".into()
    }
}

/// A message that approves what is pending: a plain yes, alone (`yes`, `y`, `ok`, `approve`,
/// `go ahead`, any case, with a trailing `.` or `!`).
pub fn is_plain_yes(message: &str) -> bool {
    let m = message.trim().trim_end_matches(['.', '!']).trim().to_lowercase();
    let m = m.split_whitespace().collect::<Vec<_>>().join(" ");
    matches!(m.as_str(), "yes" | "y" | "ok" | "approve" | "go ahead")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_plain_yes_approves() {
        for yes in [
            "yes",
            "Yes",
            " YES! ",
            "y",
            "ok",
            "OK.",
            "approve",
            "Go ahead",
            "go  ahead!",
        ] {
            assert!(is_plain_yes(yes), "{yes}");
        }
        for no in [
            "no",
            "yes, but to Alice",
            "yess",
            "okay then",
            "",
            "approve it later",
            "y?",
        ] {
            assert!(!is_plain_yes(no), "{no}");
        }
    }

    #[test]
    fn the_summary_says_what_and_to_whom_first() {
        let args = json!({"body": "Are you free?", "subject": "Lunch", "recipient_email": "bob@example.com"});
        assert_eq!(
            summary("GMAIL", "GMAIL_SEND_EMAIL", &args),
            "GMAIL: send email (recipient_email: bob@example.com, subject: Lunch, body: Are you free?)"
        );
        assert_eq!(summary("NOTION", "OTHER", &json!({})), "NOTION: other");
        assert!(
            summary("GMAIL", "GMAIL_SEND_EMAIL", &json!({"body": "x".repeat(1000)}))
                .chars()
                .count()
                <= 200
        );
        // Secrets never reach people's screens either.
        assert!(!summary("X", "X_CALL", &json!({"api_key": "hunter2"})).contains("hunter2"));
    }
}
