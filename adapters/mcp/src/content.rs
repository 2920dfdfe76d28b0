//! A `tools/call` result as text a model can read: text as is, everything else described
//! (never silently dropped), bounded in length.

use crate::Secret;
use crate::secret::{scrub, scrub_json};
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::Value;

/// Longest tool result fed back to the model, in characters (as for Composio tools).
pub const MAX_RESULT_CHARS: usize = 16_000;
const TRUNCATED: &str = " ... [truncated]";

/// A successful tool result.
#[derive(Debug, Clone, PartialEq)]
pub struct McpToolOutput {
    /// What the model reads: at most [`MAX_RESULT_CHARS`] characters plus a marker.
    pub text: String,
    /// The tool's `structuredContent`, whole, for callers that use it rather than the text.
    pub structured: Option<Value>,
    /// Whether `text` was cut.
    pub truncated: bool,
}

/// Renders a result; `Err` holds the text of a result flagged `isError`. A server that echoes
/// a credential back does not get it in front of the model: `secrets` are scrubbed (before
/// cutting, so no partial secret survives at the cut).
pub(crate) fn render(mut result: CallToolResult, secrets: &[&Secret]) -> Result<McpToolOutput, String> {
    let is_error = result.is_error == Some(true);
    let mut parts: Vec<String> = Vec::with_capacity(result.content.len() + 1);
    let mut has_text = false;
    for block in &result.content {
        let (part, is_text) = describe(block);
        has_text |= is_text;
        parts.push(part);
    }
    // Structured content usually duplicates the text (the spec asks servers to send both);
    // only without any text is it what the model should read.
    if !has_text && let Some(structured) = result.structured_content.as_ref().filter(|v| !v.is_null()) {
        parts.push(structured.to_string());
    }
    let text = scrub(&parts.join("\n"), secrets.iter().copied());
    if let Some(structured) = result.structured_content.as_mut() {
        scrub_json(structured, secrets);
    }
    if is_error {
        let text = if text.trim().is_empty() {
            "the tool failed without saying why".to_owned()
        } else {
            text
        };
        return Err(truncate(text, MAX_RESULT_CHARS).0);
    }
    let text = if text.is_empty() {
        "(the tool returned no content)".to_owned()
    } else {
        text
    };
    let (text, truncated) = truncate(text, MAX_RESULT_CHARS);
    Ok(McpToolOutput {
        text,
        structured: result.structured_content,
        truncated,
    })
}

/// One block as text, and whether it was text (inline text or an embedded text resource).
fn describe(block: &ContentBlock) -> (String, bool) {
    match block {
        ContentBlock::Text(t) => (t.text.clone(), true),
        ContentBlock::Image(i) => (
            format!("[image: {}, {} bytes]", i.mime_type, base64_len(&i.data)),
            false,
        ),
        ContentBlock::Audio(a) => (
            format!("[audio: {}, {} bytes]", a.mime_type, base64_len(&a.data)),
            false,
        ),
        ContentBlock::ResourceLink(r) => {
            let mut about = r.name.clone();
            if let Some(mime) = &r.mime_type {
                about.push_str(", ");
                about.push_str(mime);
            }
            let mut line = format!("[resource: {} ({about})]", r.uri);
            if let Some(description) = r.description.as_deref().filter(|d| !d.is_empty()) {
                line.push(' ');
                line.push_str(description);
            }
            (line, false)
        }
        ContentBlock::Resource(embedded) => match &embedded.resource {
            ResourceContents::TextResourceContents { uri, text, .. } => (format!("[resource: {uri}]\n{text}"), true),
            ResourceContents::BlobResourceContents {
                uri, mime_type, blob, ..
            } => {
                let mime = mime_type.as_deref().unwrap_or("application/octet-stream");
                (format!("[resource: {uri} ({mime}, {} bytes)]", base64_len(blob)), false)
            }
            other => {
                let uri = serde_json::to_value(other)
                    .ok()
                    .and_then(|v| v.get("uri").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default();
                (format!("[resource: {uri}]"), false)
            }
        },
        // A content type newer than this client: say so rather than drop it.
        other => {
            let kind = serde_json::to_value(other)
                .ok()
                .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| "unknown".into());
            (format!("[{kind} content]"), false)
        }
    }
}

/// Decoded size of base64 data, without decoding it.
fn base64_len(data: &str) -> usize {
    let digits = data.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'=').count();
    digits * 3 / 4
}

/// Cuts `text` to `max` characters, marking the cut.
pub(crate) fn truncate(mut text: String, max: usize) -> (String, bool) {
    match text.char_indices().nth(max) {
        Some((cut, _)) => {
            text.truncate(cut);
            text.push_str(TRUNCATED);
            (text, true)
        }
        None => (text, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::{EmbeddedResource, Resource};
    use serde_json::json;

    fn result(content: Vec<ContentBlock>) -> CallToolResult {
        CallToolResult::success(content)
    }

    #[test]
    fn text_is_kept_and_other_content_described() {
        let out = render(
            result(vec![
                ContentBlock::text("found 2 notes"),
                ContentBlock::image("iVBORw0KGgo=", "image/png"),
                ContentBlock::audio("AAAAAAAA", "audio/wav"),
                ContentBlock::resource_link(
                    Resource::new("file:///cat.png", "cat.png")
                        .with_mime_type("image/png")
                        .with_description("a cat"),
                ),
                ContentBlock::resource_link(Resource::new("note://1", "note 1")),
                ContentBlock::embedded_text("note://groceries", "milk"),
                ContentBlock::Resource(EmbeddedResource::new(ResourceContents::BlobResourceContents {
                    uri: "file:///r.pdf".into(),
                    mime_type: Some("application/pdf".into()),
                    blob: "AAAA".into(),
                    meta: None,
                })),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(
            out.text,
            "found 2 notes\n[image: image/png, 8 bytes]\n[audio: audio/wav, 6 bytes]\n\
             [resource: file:///cat.png (cat.png, image/png)] a cat\n[resource: note://1 (note 1)]\n\
             [resource: note://groceries]\nmilk\n[resource: file:///r.pdf (application/pdf, 3 bytes)]"
        );
        assert!(!out.truncated);
    }

    #[test]
    fn structured_content_is_rendered_only_without_text() {
        let structured = json!({"total": 2});
        let mut r = result(vec![]);
        r.structured_content = Some(structured.clone());
        let out = render(r, &[]).unwrap();
        assert_eq!(out.text, r#"{"total":2}"#);
        assert_eq!(out.structured, Some(structured.clone()));

        let mut r = result(vec![ContentBlock::text("2 items")]);
        r.structured_content = Some(structured);
        assert_eq!(render(r, &[]).unwrap().text, "2 items");

        assert_eq!(
            render(result(vec![]), &[]).unwrap().text,
            "(the tool returned no content)"
        );
    }

    #[test]
    fn is_error_becomes_the_failure_text() {
        let r = CallToolResult::error(vec![ContentBlock::text("no such note")]);
        assert_eq!(render(r, &[]).unwrap_err(), "no such note");
        let r = CallToolResult::error(vec![]);
        assert_eq!(render(r, &[]).unwrap_err(), "the tool failed without saying why");
    }

    #[test]
    fn long_output_is_cut_with_a_marker() {
        let out = render(result(vec![ContentBlock::text("é".repeat(MAX_RESULT_CHARS + 10))]), &[]).unwrap();
        assert!(out.truncated);
        assert!(out.text.ends_with(TRUNCATED));
        assert_eq!(out.text.chars().count(), MAX_RESULT_CHARS + TRUNCATED.chars().count());
        let err = render(
            CallToolResult::error(vec![ContentBlock::text("x".repeat(MAX_RESULT_CHARS * 2))]),
            &[],
        )
        .unwrap_err();
        assert!(err.ends_with(TRUNCATED));
    }

    #[test]
    fn an_echoed_secret_is_scrubbed_even_where_the_text_is_cut() {
        let token = Secret::new("tok_abcdefghij");
        // The token straddles the cut: scrubbing first leaves no half of it behind.
        let text = format!("{}{}", "x".repeat(MAX_RESULT_CHARS - 5), token.expose());
        let mut r = result(vec![ContentBlock::text(text)]);
        r.structured_content = Some(json!({"auth": "Bearer tok_abcdefghij"}));
        let out = render(r, &[&token]).unwrap();
        assert!(out.truncated);
        assert!(!out.text.contains("tok_a"), "{}", &out.text[out.text.len() - 40..]);
        assert_eq!(out.structured, Some(json!({"auth": "Bearer [redacted]"})));
        let r = CallToolResult::error(vec![ContentBlock::text("rejected tok_abcdefghij")]);
        assert_eq!(render(r, &[&token]).unwrap_err(), "rejected [redacted]");
    }

    #[test]
    fn base64_sizes() {
        assert_eq!(base64_len(""), 0);
        assert_eq!(base64_len("QQ=="), 1);
        assert_eq!(base64_len("QUI="), 2);
        assert_eq!(base64_len("QUJD"), 3);
        assert_eq!(base64_len("QUJD\nREVG"), 6);
    }
}
