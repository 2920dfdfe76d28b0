//! A fake Gemini API (Generative Language API, `v1beta`) on 127.0.0.1 and a random port,
//! speaking the real streaming and embedding protocols.
//!
//! - `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` (API key in `x-goog-api-key`
//!   or `?key=`) answers SSE frames `data: {"candidates":[{"content":{"role":"model","parts":
//!   [..]},"index":0}],"usageMetadata":{..}}`; the last frame carries `"finishReason":"STOP"`
//!   and there is no `[DONE]`. Tool calls are `{"functionCall":{"name","args"}}` parts, all in
//!   one frame. Replies are scripted exactly as for the OpenAI fake ([`Reply`], shared), with
//!   the same echo default. Like Gemini, it rejects with `400 INVALID_ARGUMENT` (without taking
//!   a reply) function declarations whose schema holds `$schema`, `$ref`, `$defs`, `oneOf` or
//!   `anyOf`, and a turn of function responses whose count differs from the calls it answers.
//! - `POST /v1beta/models/{model}:embedContent` and `:batchEmbedContents` answer deterministic
//!   vectors ([`hash_embedding`]), honouring `outputDimensionality`.
//!
//! ```no_run
//! # async fn demo() {
//! use meai_testkit::gemini::{FakeGemini, Reply, ToolCallReply};
//! use serde_json::json;
//! let fake = FakeGemini::start().await;
//! fake.push(Reply::tool_calls(vec![
//!     ToolCallReply::new("get_weather", json!({"city": "Paris"})),
//!     ToolCallReply::new("get_time", json!({"tz": "Europe/Paris"})),
//! ]));
//! // point the client at fake.base_url() (`http://127.0.0.1:<port>/v1beta/`), then:
//! assert_eq!(fake.requests()[0].model.as_deref(), Some("gemini-2.0-flash"));
//! # }
//! ```

pub use crate::openai::{FakeBackend, FakeServer, RecordedRequest, Reply, ToolCallReply, Usage, hash_embedding};

use crate::openai::{FakeApi, ReplyKind, Step, event_stream, json_response, word_count};
use poem::web::{Data, Path};
use poem::{Body, Request, Response, Route, handler, post};
use serde_json::{Value, json};
use std::sync::Arc;

/// A running fake Gemini API (base URL `http://127.0.0.1:<port>/v1beta/`). Dropping it stops
/// the server.
pub type FakeGemini = FakeServer<GeminiApi>;

/// Every model method under `/v1beta/models/`.
pub struct GeminiApi;

impl FakeApi for GeminiApi {
    const BASE_PATH: &'static str = "/v1beta/";

    fn routes() -> Route {
        Route::new().at("/v1beta/models/*target", post(models))
    }
}

fn google_error(code: u16, message: &str) -> Value {
    let status = match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    };
    json!({"error": {"code": code, "message": message, "status": status}})
}

fn query_param(req: &Request, name: &str) -> Option<String> {
    req.uri().query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| value.to_owned())
    })
}

fn api_key(req: &Request) -> Option<String> {
    let header = req
        .headers()
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    header.or_else(|| query_param(req, "key")).filter(|key| !key.is_empty())
}

/// One route for every model method: the path segment is `{model}:{method}`.
#[handler]
async fn models(req: &Request, Path(target): Path<String>, body: Body, backend: Data<&Arc<FakeBackend>>) -> Response {
    let body = body.into_json::<Value>().await.unwrap_or(Value::Null);
    let (model, method) = target.rsplit_once(':').unwrap_or((target.as_str(), ""));
    let api_key = api_key(req);
    backend.record(RecordedRequest::new(
        req,
        Some(model.to_owned()),
        api_key.clone(),
        &body,
    ));
    if api_key.is_none() {
        let message =
            "Method doesn't allow unregistered callers. Please use API Key or other form of API consumer identity.";
        return json_response(403, &google_error(403, message), None);
    }
    match method {
        "streamGenerateContent" if query_param(req, "alt").as_deref() == Some("sse") => {
            stream_generate(&body, model, &backend)
        }
        "embedContent" => embed_one(&body, &backend),
        "batchEmbedContents" => embed_batch(&body, &backend),
        _ => json_response(
            404,
            &google_error(404, &format!("method {method:?} is not served by this fake")),
            None,
        ),
    }
}

fn texts_of(content: &Value) -> impl Iterator<Item = &str> {
    content["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
}

fn stream_generate(body: &Value, model: &str, backend: &Arc<FakeBackend>) -> Response {
    let contents = body["contents"].as_array().cloned().unwrap_or_default();
    if contents.is_empty() {
        return json_response(
            400,
            &google_error(400, "* GenerateContentRequest.contents: contents is not specified"),
            None,
        );
    }
    if let Some(message) = invalid_declaration(body).or_else(|| function_response_mismatch(&contents)) {
        return json_response(400, &google_error(400, &message), None);
    }
    let last_user = contents.iter().rev().filter(|c| c["role"] == "user").find_map(|c| {
        let text: String = texts_of(c).collect();
        (!text.is_empty()).then_some(text)
    });
    let reply = backend.next_reply(last_user.as_deref());
    if let Some(error) = reply.error_response(|status| google_error(status, "scripted failure")) {
        return error;
    }
    let system_words = texts_of(&body["systemInstruction"]).map(word_count).sum::<u32>();
    let prompt_tokens = system_words + contents.iter().flat_map(texts_of).map(word_count).sum::<u32>();
    let frames = GeminiFrames {
        model: model.to_owned(),
        usage: reply.usage_or(prompt_tokens),
        finish_reason: if reply.cut_by_max_tokens { "MAX_TOKENS" } else { "STOP" },
    };
    event_stream(backend.clone(), frames.steps(&reply))
}

/// Gemini refuses these JSON Schema keywords in function declarations.
fn invalid_declaration(body: &Value) -> Option<String> {
    fn find(schema: &Value) -> Option<&'static str> {
        match schema {
            Value::Object(map) => ["$schema", "$ref", "$defs", "oneOf", "anyOf"]
                .into_iter()
                .find(|k| map.contains_key(*k))
                .or_else(|| map.values().find_map(find)),
            Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    let declarations = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["functionDeclarations"].as_array())
        .flatten();
    for declaration in declarations {
        let schema = declaration
            .get("parametersJsonSchema")
            .or_else(|| declaration.get("parameters"));
        if let Some(keyword) = schema.and_then(find) {
            let name = declaration["name"].as_str().unwrap_or_default();
            return Some(format!(
                "Invalid JSON payload received. Unknown name \"{keyword}\" at 'tools[0].function_declarations' ({name}): Cannot find field."
            ));
        }
    }
    None
}

/// Gemini's rule: the turn after a turn of function calls holds exactly as many function
/// responses.
fn function_response_mismatch(contents: &[Value]) -> Option<String> {
    let count = |content: &Value, kind: &str| {
        content["parts"]
            .as_array()
            .map(|parts| parts.iter().filter(|p| p.get(kind).is_some()).count())
            .unwrap_or(0)
    };
    contents.windows(2).find_map(|pair| {
        let calls = count(&pair[0], "functionCall");
        let responses = count(&pair[1], "functionResponse");
        (calls > 0 && responses > 0 && calls != responses).then(|| {
            "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.".to_owned()
        })
    })
}

/// Builds the SSE frames of one answer.
struct GeminiFrames {
    model: String,
    usage: Usage,
    /// `STOP`, or `MAX_TOKENS` for a reply cut by the token limit.
    finish_reason: &'static str,
}

impl GeminiFrames {
    fn frame(&self, parts: Value, finish: bool, completion_tokens: u32) -> Step {
        let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
        if finish {
            candidate["finishReason"] = json!(self.finish_reason);
        }
        let prompt = self.usage.prompt_tokens;
        let mut usage = json!({"promptTokenCount": prompt, "candidatesTokenCount": completion_tokens,
                               "totalTokenCount": prompt + completion_tokens});
        if self.usage.cached_prompt_tokens > 0 {
            usage["cachedContentTokenCount"] = json!(self.usage.cached_prompt_tokens);
        }
        let frame = json!({"candidates": [candidate], "usageMetadata": usage, "modelVersion": self.model});
        // Google separates events with CRLF pairs.
        Step::Send(format!("data: {frame}\r\n\r\n"))
    }

    /// One frame per chunk, the last one closing the answer when `finish`.
    fn text_frames(&self, reply: &Reply, finish: bool, steps: &mut Vec<Step>) {
        let chunks = reply.chunk_list();
        let total = chunks.len().max(1) as u32;
        for (i, chunk) in chunks.iter().enumerate() {
            if i > 0 && !reply.chunk_delay.is_zero() {
                steps.push(Step::Wait(reply.chunk_delay));
            }
            let last = i + 1 == chunks.len();
            let tokens = if last && finish {
                self.usage.completion_tokens
            } else {
                (i as u32 + 1).min(total)
            };
            steps.push(self.frame(json!([{"text": chunk}]), last && finish, tokens));
        }
        if chunks.is_empty() && finish {
            steps.push(self.frame(json!([{"text": ""}]), true, self.usage.completion_tokens));
        }
    }

    fn steps(&self, reply: &Reply) -> Vec<Step> {
        let mut steps = vec![Step::Wait(reply.first_token_delay)];
        match &reply.kind {
            ReplyKind::Text(_) => self.text_frames(reply, true, &mut steps),
            ReplyKind::ToolCalls { calls, .. } => {
                self.text_frames(reply, false, &mut steps);
                let parts: Vec<Value> = calls
                    .iter()
                    .map(|call| {
                        let mut function_call = json!({"name": call.name, "args": call.arguments});
                        if let Some(id) = &call.id {
                            function_call["id"] = json!(id);
                        }
                        json!({"functionCall": function_call})
                    })
                    .collect();
                steps.push(self.frame(Value::Array(parts), true, self.usage.completion_tokens));
            }
            ReplyKind::Disconnect { abort, .. } => {
                self.text_frames(reply, false, &mut steps);
                if *abort {
                    steps.push(Step::Abort);
                }
            }
            ReplyKind::Stall(_) => {
                self.text_frames(reply, false, &mut steps);
                steps.push(crate::openai::stall(reply));
            }
            ReplyKind::Fail { status, .. } => {
                self.text_frames(reply, false, &mut steps);
                let error = google_error(*status, "scripted failure");
                steps.push(Step::Send(format!("data: {error}\r\n\r\n")));
            }
            ReplyKind::Error { .. } => unreachable!("errors are answered before streaming"),
        }
        steps
    }
}

fn embedding_of(request: &Value, backend: &FakeBackend) -> Value {
    let text: String = texts_of(&request["content"]).collect::<Vec<_>>().join(" ");
    let dimensions = backend.embedding_dimensions(request["outputDimensionality"].as_u64().map(|d| d as usize));
    json!({"values": hash_embedding(&text, dimensions)})
}

fn embed_one(body: &Value, backend: &FakeBackend) -> Response {
    if body["content"]["parts"].as_array().is_none_or(|p| p.is_empty()) {
        return json_response(
            400,
            &google_error(400, "* EmbedContentRequest.content: contents is not specified"),
            None,
        );
    }
    json_response(200, &json!({"embedding": embedding_of(body, backend)}), None)
}

fn embed_batch(body: &Value, backend: &FakeBackend) -> Response {
    let requests = body["requests"].as_array().cloned().unwrap_or_default();
    if requests.is_empty() {
        return json_response(
            400,
            &google_error(400, "* BatchEmbedContentsRequest.requests: requests is not specified"),
            None,
        );
    }
    if requests.len() > 100 {
        return json_response(
            400,
            &google_error(400, "at most 100 requests can be in one batch"),
            None,
        );
    }
    let embeddings: Vec<Value> = requests.iter().map(|r| embedding_of(r, backend)).collect();
    json_response(200, &json!({"embeddings": embeddings}), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rejected_schema_keywords() {
        let body = json!({"tools": [{"functionDeclarations": [
            {"name": "ok", "parametersJsonSchema": {"type": "object", "properties": {}}},
            {"name": "bad", "parametersJsonSchema": {"type": "object", "properties": {"x": {"anyOf": []}}}}
        ]}]});
        assert!(invalid_declaration(&body).unwrap().contains("anyOf"));
    }

    #[test]
    fn counts_function_responses_against_calls() {
        let calls =
            json!({"role": "model", "parts": [{"functionCall": {"name": "a"}}, {"functionCall": {"name": "b"}}]});
        let one = json!({"role": "user", "parts": [{"functionResponse": {"name": "a"}}]});
        let two = json!({"role": "user", "parts": [{"functionResponse": {"name": "a"}}, {"functionResponse": {"name": "b"}}]});
        assert!(function_response_mismatch(&[calls.clone(), one]).is_some());
        assert!(function_response_mismatch(&[calls, two]).is_none());
    }
}
