//! Where a format has objects, a file must have objects. serde reads a struct from a JSON array
//! as well (`[1, "a"]` as `{"id": 1, "name": "a"}`), which would import files the format does not
//! allow; this check runs before the typed read.

use serde_json::Value;

/// Where ChatGPT's `conversations.json` has objects (`*`: every item or value).
pub(super) const CHATGPT: &[&str] = &[
    "*",
    "*.mapping.*",
    "*.mapping.*.message",
    "*.mapping.*.message.author",
    "*.mapping.*.message.content",
];

/// Where a meAI export has objects.
pub(super) const EXPORT: &[&str] = &[
    "profile",
    "memory_settings",
    "memories.*",
    "toolkit_connections.*",
    "conversations.*",
    "conversations.*.messages.*",
    "conversations.*.messages.*.usage",
];

/// The first place of `doc` on one of `patterns` that holds neither an object nor `null`, as a
/// path like `[1].mapping.abc`.
pub(super) fn not_an_object(doc: &Value, patterns: &[&str]) -> Option<String> {
    patterns.iter().find_map(|p| {
        let steps: Vec<&str> = p.split('.').collect();
        walk(doc, &steps, String::new())
    })
}

fn walk(v: &Value, steps: &[&str], at: String) -> Option<String> {
    let Some((step, rest)) = steps.split_first() else {
        return (!v.is_object() && !v.is_null()).then_some(at);
    };
    match (*step, v) {
        ("*", Value::Array(items)) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| walk(item, rest, format!("{at}[{i}]"))),
        ("*", Value::Object(map)) => map.iter().find_map(|(k, item)| walk(item, rest, join(&at, k))),
        (key, Value::Object(map)) if key != "*" => map.get(key).and_then(|item| walk(item, rest, join(&at, key))),
        // Anything else is the typed read's to refuse (a list where a map belongs, say).
        _ => None,
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_where_objects_belong_are_found() {
        let ok = json!([{"mapping": {"a": {"message": null}, "b": {"message": {"author": {}, "content": {}}}}}]);
        assert_eq!(not_an_object(&ok, CHATGPT), None);
        let node = json!([{"mapping": {"a": [null, null]}}]);
        assert_eq!(not_an_object(&node, CHATGPT).as_deref(), Some("[0].mapping.a"));
        let author = json!([{}, {"mapping": {"k": {"message": {"author": ["user"]}}}}]);
        assert_eq!(
            not_an_object(&author, CHATGPT).as_deref(),
            Some("[1].mapping.k.message.author")
        );
        let item = json!([[1, 2]]);
        assert_eq!(not_an_object(&item, CHATGPT).as_deref(), Some("[0]"));
        let message = json!({"conversations": [{"messages": [{}, [1]]}]});
        assert_eq!(
            not_an_object(&message, EXPORT).as_deref(),
            Some("conversations[0].messages[1]")
        );
    }
}
