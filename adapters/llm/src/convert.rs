//! The port's chat request in genai's terms.

use crate::config::{Provider, ToolSchema};
use crate::schema;
use genai::chat::{self as g, ContentPart, MessageContent, Tool, ToolResponse};
use meai_core::model::{ChatMessage, ChatRequest, ModelError, ToolCall, ToolSpec};
use serde_json::Value;

pub(crate) fn to_genai(request: &ChatRequest, provider: Provider) -> Result<g::ChatRequest, ModelError> {
    check_tool_results(&request.messages)?;
    let mut messages = Vec::with_capacity(request.messages.len());
    // Consecutive results travel as one tool message: genai sends them as one Gemini turn with
    // as many `functionResponse`s as there were calls (and as `tool` messages to OpenAI).
    let mut results: Vec<ToolResponse> = Vec::new();
    for message in &request.messages {
        if let ChatMessage::ToolResult { call_id, name, content } = message {
            results.push(ToolResponse::new(call_id.clone(), content.clone()).with_fn_name(name.clone()));
            continue;
        }
        if !results.is_empty() {
            messages.push(g::ChatMessage::tool(MessageContent::from_tool_responses(
                std::mem::take(&mut results),
            )));
        }
        messages.push(match message {
            ChatMessage::System(text) => g::ChatMessage::system(text.as_str()),
            ChatMessage::User(text) => g::ChatMessage::user(text.as_str()),
            // An answer with nothing in it (cancelled before its first token) says nothing, and
            // Anthropic rejects a message with empty content.
            ChatMessage::Assistant { text, tool_calls } if is_blank(text) && tool_calls.is_empty() => continue,
            ChatMessage::Assistant { text, tool_calls } => assistant(text, tool_calls),
            ChatMessage::ToolResult { .. } => unreachable!("collected above"),
        });
    }
    if !results.is_empty() {
        messages.push(g::ChatMessage::tool(MessageContent::from_tool_responses(results)));
    }
    let mut genai_request = g::ChatRequest::new(messages);
    if !request.tools.is_empty() {
        genai_request = genai_request.with_tools(request.tools.iter().map(|spec| tool(spec, provider)));
    }
    Ok(genai_request)
}

fn assistant(text: &str, tool_calls: &[ToolCall]) -> g::ChatMessage {
    if tool_calls.is_empty() {
        return g::ChatMessage::assistant(text);
    }
    let mut parts = Vec::with_capacity(tool_calls.len() + 1);
    // Anthropic rejects whitespace-only text blocks.
    if !is_blank(text) {
        parts.push(ContentPart::Text(text.to_owned()));
    }
    parts.extend(tool_calls.iter().map(|call| {
        ContentPart::ToolCall(g::ToolCall {
            call_id: call.id.clone(),
            fn_name: call.name.clone(),
            fn_arguments: call.arguments.clone(),
            thought_signatures: None,
        })
    }));
    g::ChatMessage::assistant(MessageContent::from_parts(parts))
}

fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

fn tool(spec: &ToolSpec, provider: Provider) -> Tool {
    let parameters = match provider.spec().tool_schema {
        ToolSchema::JsonSchema => schema::object_schema(&spec.parameters),
        ToolSchema::GeminiSubset => schema::sanitize_for_gemini(&spec.parameters),
    };
    Tool::new(spec.name.clone())
        .with_description(spec.description.clone())
        .with_schema(parameters)
}

/// The calls of an answer, with arguments as JSON: OpenAI-compatible servers send `""` for a
/// call without arguments, and genai leaves arguments it cannot parse as a string.
pub(crate) fn from_genai_call(call: &g::ToolCall) -> ToolCall {
    let arguments = match &call.fn_arguments {
        Value::Null => Value::Object(Default::default()),
        Value::String(raw) if raw.trim().is_empty() => Value::Object(Default::default()),
        Value::String(raw) => serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.clone())),
        other => other.clone(),
    };
    ToolCall::new(call.call_id.clone(), call.fn_name.clone(), arguments)
}

/// Every tool call must be answered right after the assistant message that made it, once, and
/// every result must answer such a call: providers reject anything else (Gemini insists on one
/// response per call), and a clear error here beats an opaque HTTP 400.
pub(crate) fn check_tool_results(messages: &[ChatMessage]) -> Result<(), ModelError> {
    let mut open: Vec<&str> = Vec::new();
    for message in messages {
        match message {
            ChatMessage::ToolResult { call_id, .. } => match open.iter().position(|id| id == call_id) {
                Some(index) => {
                    open.remove(index);
                }
                None => {
                    return Err(ModelError::InvalidRequest(format!(
                        "tool result {call_id:?} answers no pending tool call"
                    )));
                }
            },
            other => {
                if let Some(unanswered) = open.first() {
                    return Err(ModelError::InvalidRequest(format!(
                        "tool call {unanswered:?} has no result"
                    )));
                }
                if let ChatMessage::Assistant { tool_calls, .. } = other {
                    open = tool_calls.iter().map(|call| call.id.as_str()).collect();
                }
            }
        }
    }
    match open.first() {
        Some(unanswered) => Err(ModelError::InvalidRequest(format!(
            "tool call {unanswered:?} has no result"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(id: &str) -> ToolCall {
        ToolCall::new(id, "search", json!({"q": id}))
    }

    #[test]
    fn accepts_every_call_answered_in_any_order() {
        let (a, b) = (call("a"), call("b"));
        let messages = vec![
            ChatMessage::user("hi"),
            ChatMessage::assistant_with_tools("", vec![a.clone(), b.clone()]),
            ChatMessage::tool_result(&b, "2"),
            ChatMessage::tool_result(&a, "1"),
            ChatMessage::assistant("done"),
        ];
        assert_eq!(check_tool_results(&messages), Ok(()));
    }

    #[test]
    fn rejects_missing_duplicate_and_stray_results() {
        let (a, b) = (call("a"), call("b"));
        let asked = ChatMessage::assistant_with_tools("", vec![a.clone(), b.clone()]);
        let missing = vec![asked.clone(), ChatMessage::tool_result(&a, "1")];
        assert!(matches!(check_tool_results(&missing), Err(ModelError::InvalidRequest(m)) if m.contains("\"b\"")));
        let twice = vec![
            asked.clone(),
            ChatMessage::tool_result(&a, "1"),
            ChatMessage::tool_result(&a, "1"),
        ];
        assert!(check_tool_results(&twice).is_err());
        let late = vec![
            asked,
            ChatMessage::tool_result(&a, "1"),
            ChatMessage::user("?"),
            ChatMessage::tool_result(&b, "2"),
        ];
        assert!(check_tool_results(&late).is_err());
        assert!(check_tool_results(&[ChatMessage::tool_result(&call("x"), "?")]).is_err());
    }

    #[test]
    fn results_of_one_turn_become_one_tool_message() {
        let (a, b) = (call("a"), call("b"));
        let request = ChatRequest::new(vec![
            ChatMessage::system("be brief"),
            ChatMessage::user("hi"),
            ChatMessage::assistant_with_tools("checking", vec![a.clone(), b.clone()]),
            ChatMessage::tool_result(&a, "1"),
            ChatMessage::tool_result(&b, "2"),
        ]);
        let converted = to_genai(&request, Provider::Gemini).unwrap();
        assert_eq!(converted.messages.len(), 4);
        let last = converted.messages.last().unwrap();
        assert_eq!(last.role, g::ChatRole::Tool);
        assert_eq!(last.content.tool_responses().len(), 2);
        assert_eq!(converted.messages[2].content.tool_calls().len(), 2);
    }

    #[test]
    fn calls_without_arguments_get_an_empty_object() {
        let raw = g::ToolCall {
            call_id: "c".into(),
            fn_name: "now".into(),
            fn_arguments: json!(""),
            thought_signatures: None,
        };
        assert_eq!(from_genai_call(&raw).arguments, json!({}));
        let text = g::ToolCall {
            fn_arguments: json!("{\"a\":1}"),
            ..raw.clone()
        };
        assert_eq!(from_genai_call(&text).arguments, json!({"a": 1}));
        let broken = g::ToolCall {
            fn_arguments: json!("{\"a\":"),
            ..raw
        };
        assert_eq!(from_genai_call(&broken).arguments, json!("{\"a\":"));
    }
}
