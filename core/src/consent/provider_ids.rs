//! The identifiers a provider returned for what a tool did (a sent message's id, a created
//! event's id, its link), so the action log can point at the real thing.

use serde_json::{Map, Value};

/// Identifiers kept at most per action.
const MAX_IDS: usize = 10;
/// How deep into the result identifiers are looked for.
const MAX_DEPTH: usize = 3;
/// Longest identifier kept.
const MAX_ID_CHARS: usize = 256;

/// An identifier key: `id`, `*_id`, `*Id` (`messageId`, `threadId`), or a link to the object.
fn is_id_key(key: &str) -> bool {
    key == "id"
        || key.ends_with("_id")
        || key.ends_with("Id")
        || matches!(key, "htmlLink" | "html_url" | "permalink" | "url" | "ts")
}

fn scalar(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if !s.is_empty() && s.chars().count() <= MAX_ID_CHARS => Some(v.clone()),
        Value::Number(_) => Some(v.clone()),
        _ => None,
    }
}

fn collect(value: &Value, path: &str, depth: usize, out: &mut Map<String, Value>) {
    let Value::Object(map) = value else { return };
    for (key, v) in map {
        if out.len() >= MAX_IDS {
            return;
        }
        let here = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        if is_id_key(key)
            && let Some(id) = scalar(v)
        {
            out.insert(here, id);
            continue;
        }
        if depth + 1 < MAX_DEPTH {
            collect(v, &here, depth + 1, out);
        }
    }
}

/// The identifiers in a tool's result, keyed by their path (`id`, `response_data.threadId`).
pub fn provider_ids(data: &Value) -> Value {
    let mut out = Map::new();
    collect(data, "", 0, &mut out);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_and_links_are_found_near_the_top() {
        let sent = json!({"id": "18c2a", "threadId": "18c29", "labelIds": ["SENT"], "snippet": "hi"});
        assert_eq!(provider_ids(&sent), json!({"id": "18c2a", "threadId": "18c29"}));
        let event =
            json!({"response_data": {"id": "evt_1", "htmlLink": "https://calendar.example/e/1", "summary": "Lunch"}});
        assert_eq!(
            provider_ids(&event),
            json!({"response_data.id": "evt_1", "response_data.htmlLink": "https://calendar.example/e/1"})
        );
        assert_eq!(provider_ids(&json!("plain text")), json!({}));
        assert_eq!(provider_ids(&json!({"a": {"b": {"c": {"id": "too deep"}}}})), json!({}));
    }
}
