//! A fake Anthropic Messages API on 127.0.0.1 and a random port, speaking the real streaming
//! protocol, so the LLM adapter is tested exactly as it talks to Claude.
//!
//! - `POST /v1/messages` (`x-api-key` and `anthropic-version` headers required, `"stream": true`
//!   only) answers named SSE events: `message_start` (with the input usage), `ping`, then per
//!   content block `content_block_start` / `content_block_delta` (`text_delta`, or
//!   `input_json_delta` pieces of a `tool_use` block's input) / `content_block_stop`, then
//!   `message_delta` (`stop_reason` `end_turn` | `tool_use` | `max_tokens`, `usage.output_tokens`) and
//!   `message_stop`. Replies are scripted as for the OpenAI fake ([`Reply`], shared), with the
//!   same echo default; errors are Anthropic's (`authentication_error`, `rate_limit_error`,
//!   `api_error`, `overloaded_error` for 529, ...), as an HTTP status or, for
//!   [`Reply::fail_after`], as an `event: error` inside the stream.
//! - Like Anthropic it rejects with `400 invalid_request_error`, without taking a reply, a
//!   request without `model` or `max_tokens`, a `system` role among the messages, a message
//!   with empty content, a tool whose `input_schema` is not an object schema, and `tool_use`
//!   blocks not answered by `tool_result` blocks in the next message (or results answering no
//!   call of the previous one).
//!
//! Only the Messages API: Anthropic has no embeddings.
//!
//! ```no_run
//! # async fn demo() {
//! use meai_testkit::anthropic::{FakeAnthropic, Reply};
//! let fake = FakeAnthropic::start().await;
//! fake.push(Reply::tool_call("get_weather", serde_json::json!({"city": "Paris"})).with_text_before("Let me check."));
//! fake.push(Reply::fail_after(["Hel"], 529));
//! // point the client at fake.base_url() (`http://127.0.0.1:<port>/v1/`), then:
//! assert_eq!(fake.chat_requests()[0]["max_tokens"], 4096);
//! # }
//! ```

pub use crate::openai::{FakeBackend, FakeServer, RecordedRequest, Reply, ToolCallReply, Usage};

use crate::openai::{FakeApi, ReplyKind, Step, event_stream, json_response, read_json, word_count};
use poem::web::Data;
use poem::{Body, Request, Response, Route, handler, post};
use serde_json::{Value, json};
use std::sync::Arc;

/// A running fake Anthropic API (base URL `http://127.0.0.1:<port>/v1/`). Dropping it stops
/// the server.
pub type FakeAnthropic = FakeServer<AnthropicApi>;

/// The Messages API under `/v1/`.
pub struct AnthropicApi;

impl FakeApi for AnthropicApi {
    const BASE_PATH: &'static str = "/v1/";

    fn routes() -> Route {
        Route::new().at("/v1/messages", post(create_message))
    }
}

/// Anthropic's error type for an HTTP status.
fn error_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// The error object of Anthropic's error bodies and `event: error` frames.
fn anthropic_error(status: u16, message: &str) -> Value {
    let message = match status {
        529 => "Overloaded",
        _ => message,
    };
    json!({"type": "error", "error": {"type": error_type(status), "message": message}})
}

fn invalid(message: String) -> Response {
    json_response(400, &anthropic_error(400, &message), None)
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The blocks of a message's `content` (a string is one text block).
fn blocks(message: &Value) -> Vec<Value> {
    match &message["content"] {
        Value::String(text) => vec![json!({"type": "text", "text": text})],
        Value::Array(blocks) => blocks.clone(),
        _ => Vec::new(),
    }
}

fn ids_of<'a>(blocks: &'a [Value], kind: &str, field: &str) -> Vec<&'a str> {
    blocks
        .iter()
        .filter(|b| b["type"] == kind)
        .filter_map(|b| b[field].as_str())
        .collect()
}

fn text_of(message: &Value) -> String {
    blocks(message)
        .iter()
        .filter(|b| b["type"] == "text")
        .filter_map(|b| b["text"].as_str())
        .collect::<Vec<_>>()
        .join("")
}

/// The 400 Anthropic answers a malformed request with, if it is one.
fn request_error(body: &Value) -> Option<String> {
    if !body["model"].is_string() {
        return Some("model: Field required".to_owned());
    }
    if body["max_tokens"].as_u64().is_none_or(|n| n == 0) {
        return Some("max_tokens: Field required".to_owned());
    }
    if body["stream"] != true {
        return Some("this fake only answers streaming requests".to_owned());
    }
    let messages = body["messages"].as_array().map(Vec::as_slice).unwrap_or_default();
    if messages.is_empty() {
        return Some("messages: at least one message is required".to_owned());
    }
    let tools = body["tools"].as_array().map(Vec::as_slice).unwrap_or_default();
    if let Some(i) = tools
        .iter()
        .position(|t| !t["name"].is_string() || t["input_schema"]["type"] != "object")
    {
        return Some(format!("tools.{i}.custom.input_schema.type: Field required"));
    }
    for (i, message) in messages.iter().enumerate() {
        if message["role"] == "system" {
            return Some(format!(
                "messages.{i}.role: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role."
            ));
        }
        let content = blocks(message);
        let blank = |b: &Value| b["type"] == "text" && b["text"].as_str().is_none_or(|t| t.trim().is_empty());
        if content.is_empty() || content.iter().any(blank) {
            return Some(format!(
                "messages.{i}: all messages must have non-empty content except for the optional final assistant message"
            ));
        }
        let previous_calls: Vec<String> = match i.checked_sub(1).map(|p| &messages[p]) {
            Some(previous) if previous["role"] == "assistant" => ids_of(&blocks(previous), "tool_use", "id")
                .into_iter()
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        let results = ids_of(&content, "tool_result", "tool_use_id");
        if let Some(stray) = results.iter().find(|id| !previous_calls.iter().any(|c| c == *id)) {
            return Some(format!(
                "messages.{i}: unexpected `tool_use_id` found in `tool_result` blocks: {stray}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
            ));
        }
        if let Some(unanswered) = previous_calls.iter().find(|c| !results.contains(&c.as_str())) {
            return Some(format!(
                "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {unanswered}. Each `tool_use` block must have a corresponding `tool_result` block in the next message."
            ));
        }
    }
    // A call in the last message can only be answered by a next request.
    None
}

#[handler]
async fn create_message(req: &Request, body: Body, backend: Data<&Arc<FakeBackend>>) -> Response {
    let body = read_json(body).await;
    let api_key = header(req, "x-api-key");
    let model = body["model"].as_str().map(str::to_owned);
    backend.record(RecordedRequest::new(req, model.clone(), api_key.clone(), &body));
    if api_key.is_none() {
        return json_response(401, &anthropic_error(401, "x-api-key header is required"), None);
    }
    if header(req, "anthropic-version").is_none() {
        return invalid("anthropic-version: header is required".to_owned());
    }
    if let Some(message) = request_error(&body) {
        return invalid(message);
    }

    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let last_user = messages
        .iter()
        .rev()
        .filter(|m| m["role"] == "user")
        .map(text_of)
        .find(|text| !text.is_empty());
    let reply = backend.next_reply(last_user.as_deref());
    if let Some(error) = reply.error_response(|status| anthropic_error(status, "scripted failure")) {
        return error;
    }
    // `system` is a string or text blocks, as a message's `content`.
    let system_words = word_count(&text_of(&json!({"content": body["system"]})));
    let prompt_tokens = system_words + messages.iter().map(|m| word_count(&text_of(m))).sum::<u32>();
    let number = backend.next_chat_number();
    let frames = AnthropicFrames {
        number,
        model: model.unwrap_or_default(),
        usage: reply.usage_or(prompt_tokens),
    };
    event_stream(backend.0.clone(), frames.steps(&reply))
}

/// Builds the SSE events of one answer.
struct AnthropicFrames {
    number: usize,
    model: String,
    usage: Usage,
}

fn event(data: Value) -> Step {
    let kind = data["type"].as_str().unwrap_or("unknown").to_owned();
    Step::Send(format!("event: {kind}\ndata: {data}\n\n"))
}

impl AnthropicFrames {
    fn message_start(&self) -> Step {
        // Anthropic's `input_tokens` leaves out the cached part of the prompt.
        let usage = &self.usage;
        event(json!({"type": "message_start", "message": {
            "id": format!("msg_fake{:04}", self.number), "type": "message", "role": "assistant",
            "model": self.model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": usage.prompt_tokens - usage.cached_prompt_tokens,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": usage.cached_prompt_tokens,
                      "output_tokens": 1}
        }}))
    }

    fn block_start(index: usize, block: Value) -> Step {
        event(json!({"type": "content_block_start", "index": index, "content_block": block}))
    }

    fn block_delta(index: usize, delta: Value) -> Step {
        event(json!({"type": "content_block_delta", "index": index, "delta": delta}))
    }

    fn block_stop(index: usize) -> Step {
        event(json!({"type": "content_block_stop", "index": index}))
    }

    /// The reply's text as block 0 (left open: the caller closes it, or cuts the stream).
    /// Returns the number of blocks opened.
    fn text_block(&self, reply: &Reply, steps: &mut Vec<Step>) -> usize {
        let chunks = reply.chunk_list();
        if chunks.is_empty() {
            return 0;
        }
        steps.push(Self::block_start(0, json!({"type": "text", "text": ""})));
        for (i, chunk) in chunks.iter().enumerate() {
            if i > 0 && !reply.chunk_delay.is_zero() {
                steps.push(Step::Wait(reply.chunk_delay));
            }
            steps.push(Self::block_delta(0, json!({"type": "text_delta", "text": chunk})));
        }
        1
    }

    fn tool_blocks(&self, reply: &Reply, calls: &[ToolCallReply], first_index: usize, steps: &mut Vec<Step>) {
        for (i, call) in calls.iter().enumerate() {
            let index = first_index + i;
            let id = call
                .id
                .clone()
                .unwrap_or_else(|| format!("toolu_fake{:04}{index:02}", self.number));
            steps.push(Self::block_start(
                index,
                json!({"type": "tool_use", "id": id, "name": call.name, "input": {}}),
            ));
            // Anthropic opens with an empty piece, then streams the input JSON in pieces.
            let mut pieces = vec![String::new()];
            pieces.extend(reply.argument_pieces(i, call));
            for piece in pieces {
                if !reply.chunk_delay.is_zero() {
                    steps.push(Step::Wait(reply.chunk_delay));
                }
                steps.push(Self::block_delta(
                    index,
                    json!({"type": "input_json_delta", "partial_json": piece}),
                ));
            }
            // The token limit leaves the block it cut open.
            if !(reply.cut_by_max_tokens && i + 1 == calls.len()) {
                steps.push(Self::block_stop(index));
            }
        }
    }

    fn stop_reason(reply: &Reply, natural: &'static str) -> &'static str {
        if reply.cut_by_max_tokens { "max_tokens" } else { natural }
    }

    fn finish(&self, stop_reason: &str, steps: &mut Vec<Step>) {
        steps.push(event(json!({"type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": null},
            "usage": {"output_tokens": self.usage.completion_tokens}})));
        steps.push(event(json!({"type": "message_stop"})));
    }

    fn steps(&self, reply: &Reply) -> Vec<Step> {
        let mut steps = vec![
            Step::Wait(reply.first_token_delay),
            self.message_start(),
            event(json!({"type": "ping"})),
        ];
        let opened = self.text_block(reply, &mut steps);
        match &reply.kind {
            ReplyKind::Text(_) => {
                if opened > 0 {
                    steps.push(Self::block_stop(0));
                }
                self.finish(Self::stop_reason(reply, "end_turn"), &mut steps);
            }
            ReplyKind::ToolCalls { calls, .. } => {
                if opened > 0 {
                    steps.push(Self::block_stop(0));
                }
                self.tool_blocks(reply, calls, opened, &mut steps);
                self.finish(Self::stop_reason(reply, "tool_use"), &mut steps);
            }
            // Cut before `message_stop`: cleanly, or by resetting the connection.
            ReplyKind::Disconnect { abort, .. } => {
                if *abort {
                    steps.push(Step::Abort);
                }
            }
            ReplyKind::Stall(_) => steps.push(crate::openai::stall(reply)),
            ReplyKind::Fail { status, .. } => steps.push(event(anthropic_error(*status, "scripted failure"))),
            ReplyKind::Error { .. } => unreachable!("errors are answered before streaming"),
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(messages: Value) -> Value {
        json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "stream": true, "messages": messages})
    }

    #[test]
    fn tool_use_blocks_must_be_answered_in_the_next_message() {
        let call = json!({"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_a", "name": "f", "input": {}},
            {"type": "tool_use", "id": "toolu_b", "name": "f", "input": {}}
        ]});
        let result = |id: &str| json!({"type": "tool_result", "tool_use_id": id, "content": "1"});
        let user = json!({"role": "user", "content": "hi"});
        let both = json!({"role": "user", "content": [result("toolu_b"), result("toolu_a")]});
        assert_eq!(request_error(&request(json!([user, call, both]))), None);
        let one = json!({"role": "user", "content": [result("toolu_a")]});
        let missing = request_error(&request(json!([user, call, one]))).unwrap();
        assert!(missing.contains("toolu_b"), "{missing}");
        let stray = json!({"role": "user", "content": [result("toolu_x")]});
        assert!(
            request_error(&request(json!([user, stray])))
                .unwrap()
                .contains("unexpected")
        );
    }

    #[test]
    fn rejects_what_anthropic_rejects() {
        let user = json!({"role": "user", "content": "hi"});
        let mut no_max = request(json!([user]));
        no_max.as_object_mut().unwrap().remove("max_tokens");
        assert!(request_error(&no_max).unwrap().starts_with("max_tokens"));
        let system = json!({"role": "system", "content": "be brief"});
        assert!(
            request_error(&request(json!([system, user])))
                .unwrap()
                .contains("system")
        );
        let empty = json!({"role": "assistant", "content": ""});
        assert!(
            request_error(&request(json!([user, empty, user])))
                .unwrap()
                .contains("non-empty")
        );
        let mut bad_tool = request(json!([user]));
        bad_tool["tools"] = json!([{"name": "f", "input_schema": {"properties": {}}}]);
        assert!(request_error(&bad_tool).unwrap().contains("input_schema"));
    }
}
