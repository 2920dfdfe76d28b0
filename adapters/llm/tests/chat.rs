//! The chat adapter against wire-level fakes of OpenAI, Gemini and Anthropic: every test runs
//! for each provider compiled in.

#[macro_use]
mod common;

use common::{API_KEY, Fake, chat_model, drain, text};
use futures::StreamExt;
use meai_core::model::{ChatEvent, ChatMessage, ChatModel, ChatRequest, FinishReason, ModelError, ToolCall, ToolSpec};
use meai_llm::{AnswerTimeouts, LlmConfig, Provider};
use meai_testkit::openai::{Reply, ToolCallReply};
use serde_json::{Value, json};
use std::time::Duration;

fn hello() -> ChatRequest {
    ChatRequest::new(vec![
        ChatMessage::system("You are terse."),
        ChatMessage::user("Say hello"),
    ])
}

fn weather_tool() -> ToolSpec {
    // Full JSON Schema as toolkits send it: Gemini rejects `$schema`, `$defs`/`$ref`, `anyOf`,
    // and so does the fake, so this also proves the schema is cleaned for Gemini.
    ToolSpec::new(
        "get_weather",
        "Current weather for a city",
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"$ref": "#/$defs/Unit"},
                "days": {"anyOf": [{"type": "integer"}, {"type": "null"}]}
            },
            "required": ["city"],
            "$defs": {"Unit": {"type": "string", "enum": ["C", "F"]}}
        }),
    )
}

fn time_tool() -> ToolSpec {
    ToolSpec::new("get_time", "The current time", json!({}))
}

fn tool_calls_of(items: &[Result<ChatEvent, ModelError>]) -> Vec<ToolCall> {
    items
        .iter()
        .find_map(|item| match item {
            Ok(ChatEvent::ToolCalls(calls)) => Some(calls.clone()),
            _ => None,
        })
        .expect("a ToolCalls event")
}

async fn streams_text_in_order_with_usage(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push(
        Reply::chunks(["Hel", "lo ", "world"])
            .with_usage(11, 7)
            .with_chunk_delay(Duration::from_millis(5)),
    );
    let model = chat_model(&fake.config(provider));

    let items = drain(model.stream(hello()).await.unwrap()).await;

    assert_eq!(
        items,
        vec![
            text("Hel"),
            text("lo "),
            text("world"),
            Ok(ChatEvent::Usage {
                prompt_tokens: 11,
                completion_tokens: 7
            }),
            Ok(ChatEvent::Finished(FinishReason::Stop)),
        ]
    );
    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].api_key.as_deref(), Some(API_KEY));
    assert_eq!(sent[0].model.as_deref(), Some(provider.default_chat_model()));
    let body = &sent[0].body;
    match provider {
        Provider::OpenAi => {
            assert_eq!(body["stream"], true);
            assert_eq!(
                body["messages"][0],
                json!({"role": "system", "content": "You are terse."})
            );
            assert_eq!(body["messages"][1]["role"], "user");
        }
        Provider::Gemini => {
            assert_eq!(body["systemInstruction"]["parts"][0]["text"], "You are terse.");
            assert_eq!(body["contents"][0]["parts"][0]["text"], "Say hello");
        }
        Provider::Anthropic => {
            assert_eq!(sent[0].path, "/v1/messages");
            assert_eq!(sent[0].header("anthropic-version"), Some("2023-06-01"));
            assert_eq!(body["stream"], true);
            // The Messages API requires it; genai would send the model's maximum.
            assert_eq!(body["max_tokens"], meai_llm::DEFAULT_ANTHROPIC_MAX_TOKENS);
            assert_eq!(body["system"], "You are terse.");
            assert_eq!(body["messages"], json!([{"role": "user", "content": "Say hello"}]));
        }
    }
}

async fn single_tool_call_then_its_result(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push(Reply::tool_call("get_weather", json!({"city": "Paris"})).with_usage(20, 5));
    fake.push(Reply::text("Sunny in Paris."));
    let model = chat_model(&fake.config(provider));
    let request =
        ChatRequest::new(vec![ChatMessage::user("Weather in Paris?")]).with_tools(vec![weather_tool(), time_tool()]);

    let items = drain(model.stream(request.clone()).await.unwrap()).await;
    let calls = tool_calls_of(&items);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].name.as_str(), &calls[0].arguments),
        ("get_weather", &json!({"city": "Paris"}))
    );
    assert!(!calls[0].id.is_empty());
    assert_eq!(items.last(), Some(&Ok(ChatEvent::Finished(FinishReason::ToolCalls))));
    assert!(items.contains(&Ok(ChatEvent::Usage {
        prompt_tokens: 20,
        completion_tokens: 5
    })));

    let mut follow_up = request.clone();
    follow_up
        .messages
        .push(ChatMessage::assistant_with_tools("", calls.clone()));
    follow_up
        .messages
        .push(ChatMessage::tool_result(&calls[0], "18°C, sunny"));
    let answer = model.complete_text(follow_up).await.unwrap();
    assert_eq!(answer, "Sunny in Paris.");

    let bodies = fake.chat_requests();
    assert_eq!(bodies.len(), 2);
    match provider {
        Provider::OpenAi => {
            let tools = bodies[0]["tools"].as_array().unwrap();
            assert_eq!(tools[0]["function"]["name"], "get_weather");
            assert_eq!(
                tools[1]["function"]["parameters"],
                json!({"type": "object", "properties": {}})
            );
            let messages = bodies[1]["messages"].as_array().unwrap();
            let assistant = &messages[1];
            assert_eq!(assistant["tool_calls"][0]["id"], calls[0].id.as_str());
            assert_eq!(assistant["tool_calls"][0]["function"]["name"], "get_weather");
            assert_eq!(
                messages[2],
                json!({"role": "tool", "tool_call_id": calls[0].id, "content": "18°C, sunny"})
            );
        }
        Provider::Gemini => {
            let declarations = bodies[0]["tools"][0]["functionDeclarations"].as_array().unwrap();
            assert_eq!(declarations[0]["name"], "get_weather");
            let schema = &declarations[0]["parametersJsonSchema"];
            assert_eq!(
                schema["properties"]["unit"],
                json!({"type": "string", "enum": ["C", "F"]})
            );
            assert_eq!(schema["properties"]["days"], json!({"type": "integer"}));
            assert!(schema.get("$schema").is_none() && schema.get("$defs").is_none());
            let contents = bodies[1]["contents"].as_array().unwrap();
            assert_eq!(contents[1]["role"], "model");
            assert_eq!(contents[1]["parts"][0]["functionCall"]["name"], "get_weather");
            assert_eq!(contents[2]["parts"][0]["functionResponse"]["name"], "get_weather");
        }
        Provider::Anthropic => {
            assert!(calls[0].id.starts_with("toolu_"), "{}", calls[0].id);
            let tools = bodies[0]["tools"].as_array().unwrap();
            assert_eq!(tools[0]["name"], "get_weather");
            assert_eq!(tools[0]["description"], "Current weather for a city");
            // Anthropic takes JSON Schema as it is.
            assert_eq!(tools[0]["input_schema"], weather_tool().parameters);
            assert_eq!(tools[1]["input_schema"], json!({"type": "object", "properties": {}}));
            let messages = bodies[1]["messages"].as_array().unwrap();
            assert_eq!(
                messages[1],
                json!({"role": "assistant", "content": [
                    {"type": "tool_use", "id": calls[0].id, "name": "get_weather", "input": {"city": "Paris"}}
                ]})
            );
            assert_eq!(
                messages[2],
                json!({"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": calls[0].id, "content": "18°C, sunny"}
                ]})
            );
        }
    }
}

async fn parallel_tool_calls_are_answered_together(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push(Reply::tool_calls(vec![
        ToolCallReply::new("get_weather", json!({"city": "Paris"})),
        ToolCallReply::new("get_time", json!({})),
    ]));
    fake.push(Reply::text("Done."));
    let model = chat_model(&fake.config(provider));
    let request =
        ChatRequest::new(vec![ChatMessage::user("Weather and time?")]).with_tools(vec![weather_tool(), time_tool()]);

    let items = drain(model.stream(request.clone()).await.unwrap()).await;
    let calls = tool_calls_of(&items);
    let names: Vec<_> = calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["get_weather", "get_time"]);
    assert_eq!(calls[1].arguments, json!({}));
    assert_ne!(calls[0].id, calls[1].id);

    let mut follow_up = request;
    follow_up
        .messages
        .push(ChatMessage::assistant_with_tools("", calls.clone()));
    // Results may come back in any order; all of them go in the one follow-up request.
    follow_up.messages.push(ChatMessage::tool_result(&calls[1], "12:00"));
    follow_up.messages.push(ChatMessage::tool_result(&calls[0], "18°C"));
    assert_eq!(model.complete_text(follow_up).await.unwrap(), "Done.");

    let bodies = fake.chat_requests();
    assert_eq!(bodies.len(), 2);
    match provider {
        Provider::OpenAi => {
            let messages = bodies[1]["messages"].as_array().unwrap();
            let answered: Vec<&str> = messages
                .iter()
                .filter(|m| m["role"] == "tool")
                .filter_map(|m| m["tool_call_id"].as_str())
                .collect();
            assert_eq!(answered, [calls[1].id.as_str(), calls[0].id.as_str()]);
            assert_eq!(messages[1]["tool_calls"].as_array().unwrap().len(), 2);
        }
        Provider::Gemini => {
            let contents = bodies[1]["contents"].as_array().unwrap();
            let count = |content: &Value, kind: &str| {
                content["parts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p.get(kind).is_some())
                    .count()
            };
            assert_eq!(contents.len(), 3);
            assert_eq!(count(&contents[1], "functionCall"), 2);
            assert_eq!(count(&contents[2], "functionResponse"), 2);
        }
        Provider::Anthropic => {
            let messages = bodies[1]["messages"].as_array().unwrap();
            assert_eq!(messages.len(), 3);
            let ids = |message: &Value, kind: &str, field: &str| -> Vec<String> {
                message["content"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|b| b["type"] == kind)
                    .map(|b| b[field].as_str().unwrap().to_owned())
                    .collect()
            };
            assert_eq!(
                ids(&messages[1], "tool_use", "id"),
                [calls[0].id.clone(), calls[1].id.clone()]
            );
            // All results in the one user message after the calls, in the order given.
            assert_eq!(
                ids(&messages[2], "tool_result", "tool_use_id"),
                [calls[1].id.clone(), calls[0].id.clone()]
            );
        }
    }
}

async fn rate_limit_with_retry_after_is_retried(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push(Reply::error(429).with_retry_after(1));
    fake.push(Reply::text("ok then"));
    let model = chat_model(&fake.config(provider));

    let items = drain(model.stream(hello()).await.unwrap()).await;

    assert_eq!(items.first(), Some(&text("ok")));
    assert_eq!(items.last(), Some(&Ok(ChatEvent::Finished(FinishReason::Stop))));
    assert_eq!(fake.chat_requests().len(), 2);
}

async fn server_errors_twice_then_success(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push_all([Reply::error(500), Reply::error(503), Reply::text("third time lucky")]);
    let model = chat_model(&fake.config(provider));

    let answer = model.complete_text(hello()).await.unwrap();

    assert_eq!(answer, "third time lucky");
    assert_eq!(fake.chat_requests().len(), 3);
}

async fn gives_up_after_three_attempts(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push_all([
        Reply::error(500),
        Reply::error(500),
        Reply::error(500),
        Reply::text("too late"),
    ]);
    let model = chat_model(&fake.config(provider));

    let error = model.stream(hello()).await.err().expect("an error");

    assert!(
        matches!(error, ModelError::Upstream { status: Some(500), .. }),
        "{error:?}"
    );
    assert_eq!(fake.chat_requests().len(), 3);
    assert_eq!(fake.queued(), 1);
}

async fn client_errors_are_not_retried_and_hide_the_key(provider: Provider) {
    let fake = Fake::start(provider).await;
    let body = json!({"error": {"code": 401, "message": format!("Incorrect API key provided: {API_KEY}")}});
    fake.push(Reply::error(401).with_error_body(body));
    let model = chat_model(&fake.config(provider));

    let error = model.stream(hello()).await.err().expect("an error");

    assert!(
        matches!(error, ModelError::Upstream { status: Some(401), .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains(API_KEY), "{error}");
    assert!(
        error
            .to_string()
            .ends_with("(HTTP 401): Incorrect API key provided: [redacted]"),
        "{error}"
    );
    assert_eq!(fake.chat_requests().len(), 1);
}

async fn an_error_after_the_first_token_is_not_retried(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push(Reply::abort_after(["Hel", "lo"]).with_chunk_delay(Duration::from_millis(20)));
    fake.push(Reply::text("must not be used"));
    let model = chat_model(&fake.config(provider));

    let items = drain(model.stream(hello()).await.unwrap()).await;

    assert_eq!(items, vec![text("Hel"), text("lo"), Err(ModelError::Truncated)]);
    assert_eq!(fake.chat_requests().len(), 1);
    assert_eq!(fake.queued(), 1);
}

async fn a_mid_stream_disconnect_is_truncation(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push(Reply::disconnect_after(["Hello", " wor"]));
    fake.push(Reply::text("must not be used"));
    let model = chat_model(&fake.config(provider));

    let items = drain(model.stream(hello()).await.unwrap()).await;

    assert_eq!(items, vec![text("Hello"), text(" wor"), Err(ModelError::Truncated)]);
    assert_eq!(fake.queued(), 1);
}

/// Short answer limits for the tests below; the byte-level read timeout stays long, and the
/// fakes send keep-alive comments anyway, as proxies do: only the answer limits can end these.
fn quick_limits(first_token: u64, between_chunks: u64, total: u64) -> AnswerTimeouts {
    AnswerTimeouts {
        first_token: Some(Duration::from_millis(first_token)),
        between_chunks: Some(Duration::from_millis(between_chunks)),
        total: Some(Duration::from_millis(total)),
    }
}

async fn a_model_that_never_starts_its_answer_times_out_without_retrying_for_minutes(provider: Provider) {
    let fake = Fake::start(provider).await;
    // Every attempt hangs: the first-token limit covers the retries too.
    for _ in 0..3 {
        fake.push(Reply::stall_after(Vec::<String>::new()).with_keep_alives(Duration::from_millis(50)));
    }
    let config = fake
        .config(provider)
        .with_answer_timeouts(quick_limits(400, 10_000, 60_000));
    let model = chat_model(&config);

    let result = tokio::time::timeout(Duration::from_secs(10), model.stream(hello()))
        .await
        .expect("stream() gives up at its first-token limit");

    assert!(matches!(result, Err(ModelError::Timeout)), "{:?}", result.map(|_| ()));
    assert!(
        fake.wait_for_disconnects(1, Duration::from_secs(5)).await,
        "the hung request was dropped"
    );
}

async fn a_model_that_stops_mid_answer_times_out(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push(Reply::stall_after(["Hel", "lo"]).with_keep_alives(Duration::from_millis(50)));
    let config = fake
        .config(provider)
        .with_answer_timeouts(quick_limits(10_000, 400, 60_000));
    let model = chat_model(&config);

    let items = drain(model.stream(hello()).await.unwrap()).await;

    assert_eq!(items, vec![text("Hel"), text("lo"), Err(ModelError::Timeout)]);
    assert!(
        fake.wait_for_disconnects(1, Duration::from_secs(5)).await,
        "the hung request was dropped"
    );
}

async fn an_answer_past_its_total_limit_times_out(provider: Provider) {
    let fake = Fake::start(provider).await;
    // Each chunk in time, but the answer as a whole takes too long.
    let chunks: Vec<String> = (0..100).map(|i| format!("w{i} ")).collect();
    fake.push(Reply::chunks(chunks).with_chunk_delay(Duration::from_millis(50)));
    let config = fake
        .config(provider)
        .with_answer_timeouts(quick_limits(10_000, 10_000, 700));
    let model = chat_model(&config);

    let items = drain(model.stream(hello()).await.unwrap()).await;

    assert_eq!(items.last(), Some(&Err(ModelError::Timeout)));
    assert!(
        items.len() > 2 && items.len() < 100,
        "some of the answer, not all: {items:?}"
    );
    assert!(
        items[..items.len() - 1]
            .iter()
            .all(|i| matches!(i, Ok(ChatEvent::TextDelta(_))))
    );
}

async fn a_stall_times_out(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push(Reply::stall_after(["Hel"]));
    let config = fake
        .config(provider)
        .with_stream_read_timeout(Duration::from_millis(300));
    let model = chat_model(&config);

    let items = drain(model.stream(hello()).await.unwrap()).await;

    assert_eq!(items, vec![text("Hel"), Err(ModelError::Timeout)]);
    // Not asserted: that the fake sees the connection close. hyper (under reqwest) notices a
    // dropped response body only when the next bytes arrive, so a silent upstream keeps its
    // socket until it sends or closes; a streaming one is closed at once (test below).
}

async fn dropping_the_stream_closes_the_upstream_connection(provider: Provider) {
    let fake = Fake::start(provider).await;
    let long = vec!["word "; 200];
    fake.push(Reply::chunks(long).with_chunk_delay(Duration::from_millis(20)));
    let model = chat_model(&fake.config(provider));

    let mut stream = model.stream(hello()).await.unwrap();
    assert_eq!(stream.next().await, Some(text("word ")));
    assert_eq!(fake.open_streams(), 1);
    drop(stream);

    assert!(
        fake.wait_for_disconnects(1, Duration::from_secs(5)).await,
        "the upstream stream was not cancelled"
    );
    assert_eq!(fake.open_streams(), 0);
    assert_eq!(fake.completed_streams(), 0);
}

async fn the_request_can_name_another_model(provider: Provider) {
    let fake = Fake::start(provider).await;
    let model = chat_model(&fake.config(provider));
    let other = match provider {
        Provider::OpenAi => "gpt-4.1-nano",
        Provider::Gemini => "gemini-2.0-flash-lite",
        Provider::Anthropic => "claude-haiku-4-5",
    };

    // The fake's default reply echoes the last user message.
    let answer = model.complete_text(hello().with_model(other)).await.unwrap();

    assert_eq!(answer, "Echo: Say hello");
    assert_eq!(fake.requests()[0].model.as_deref(), Some(other));
}

async fn an_unreachable_provider_is_unavailable(provider: Provider) {
    // A port that was free a moment ago: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = match provider {
        Provider::OpenAi | Provider::Anthropic => format!("http://127.0.0.1:{port}/v1"),
        Provider::Gemini => format!("http://127.0.0.1:{port}/v1beta"),
    };
    let config = LlmConfig::new(provider).with_api_key(API_KEY).with_base_url(base);
    let model = chat_model(&config);

    let error = model.stream(hello()).await.err().expect("an error");

    assert!(matches!(error, ModelError::Unavailable(_)), "{error:?}");
}

/// Claude usually says what it is about to do before calling a tool: the text streams as it
/// comes, and goes back with the calls in the follow-up.
async fn text_before_tool_calls_streams_then_calls(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push(
        Reply::tool_call("get_weather", json!({"city": "Paris"}))
            .with_text_before("Let me check.")
            .with_usage(20, 9),
    );
    fake.push(Reply::text("Sunny."));
    let model = chat_model(&fake.config(provider));
    let request = ChatRequest::new(vec![ChatMessage::user("Weather in Paris?")]).with_tools(vec![weather_tool()]);

    let items = drain(model.stream(request.clone()).await.unwrap()).await;

    let calls = tool_calls_of(&items);
    assert_eq!(items[..3], [text("Let"), text(" me"), text(" check.")]);
    assert_eq!(
        items[3..],
        [
            Ok(ChatEvent::ToolCalls(calls.clone())),
            Ok(ChatEvent::Usage {
                prompt_tokens: 20,
                completion_tokens: 9
            }),
            Ok(ChatEvent::Finished(FinishReason::ToolCalls)),
        ]
    );
    let mut follow_up = request;
    follow_up
        .messages
        .push(ChatMessage::assistant_with_tools("Let me check.", calls.clone()));
    follow_up.messages.push(ChatMessage::tool_result(&calls[0], "18°C"));
    assert_eq!(model.complete_text(follow_up).await.unwrap(), "Sunny.");

    let sent = &fake.chat_requests()[1];
    match provider {
        Provider::OpenAi => {
            assert_eq!(sent["messages"][1]["content"], "Let me check.");
            assert_eq!(sent["messages"][1]["tool_calls"][0]["id"], calls[0].id.as_str());
        }
        Provider::Gemini => {
            let parts = &sent["contents"][1]["parts"];
            assert_eq!(parts[0]["text"], "Let me check.");
            assert_eq!(parts[1]["functionCall"]["name"], "get_weather");
        }
        Provider::Anthropic => {
            let content = &sent["messages"][1]["content"];
            assert_eq!(content[0], json!({"type": "text", "text": "Let me check."}));
            assert_eq!(content[1]["type"], "tool_use");
            assert_eq!(content[1]["id"], calls[0].id.as_str());
        }
    }
}

/// An error event before any content (Anthropic's `overloaded_error` is the common one) is
/// retried like the same HTTP status.
async fn an_error_event_before_content_is_retried(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push(Reply::fail_after(Vec::<String>::new(), 529));
    fake.push(Reply::text("second try"));
    let model = chat_model(&fake.config(provider));

    assert_eq!(model.complete_text(hello()).await.unwrap(), "second try");
    assert_eq!(fake.chat_requests().len(), 2);
}

async fn an_error_event_after_content_is_passed_on(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push(Reply::fail_after(["Hel"], 529));
    fake.push(Reply::text("must not be used"));
    let model = chat_model(&fake.config(provider));

    let items = drain(model.stream(hello()).await.unwrap()).await;

    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0], text("Hel"));
    let Err(error) = &items[1] else {
        panic!("an error, not {:?}", items[1])
    };
    assert!(error.is_retryable(), "{error:?}");
    if provider == Provider::Anthropic {
        assert_eq!(
            *error,
            ModelError::Upstream {
                status: Some(529),
                message: "Overloaded".into()
            }
        );
    }
    assert_eq!(fake.queued(), 1);
}

/// Anthropic counts cached prompt tokens apart from `input_tokens`; the port's prompt tokens
/// are all of them, as OpenAI and Gemini count.
async fn cached_prompt_tokens_are_prompt_tokens(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push(Reply::text("ok").with_usage(100, 3).with_cached_prompt_tokens(80));
    let model = chat_model(&fake.config(provider));

    let items = drain(model.stream(hello()).await.unwrap()).await;

    assert!(
        items.contains(&Ok(ChatEvent::Usage {
            prompt_tokens: 100,
            completion_tokens: 3
        })),
        "{items:?}"
    );
}

/// An answer cancelled before its first token leaves an empty assistant message in the
/// history; it says nothing, and Anthropic rejects empty content, so it is left out.
async fn an_empty_earlier_answer_is_left_out(provider: Provider) {
    let fake = Fake::start(provider).await;
    let model = chat_model(&fake.config(provider));
    let request = ChatRequest::new(vec![
        ChatMessage::user("Say hello"),
        ChatMessage::assistant(""),
        ChatMessage::user("Say hello again"),
    ]);

    assert_eq!(model.complete_text(request).await.unwrap(), "Echo: Say hello again");
    let body = &fake.chat_requests()[0];
    let sent = body
        .get("messages")
        .or_else(|| body.get("contents"))
        .and_then(Value::as_array)
        .unwrap();
    assert_eq!(sent.len(), 2, "{sent:?}");
}

/// Anthropic stops with `max_tokens` (4096 by default) in the middle of a tool call's input:
/// the answer ends at its length, without a call to run.
async fn the_token_limit_ends_the_answer_without_calls(provider: Provider) {
    let fake = Fake::start(provider).await;
    fake.push(
        Reply::tool_call("get_weather", json!({"city": "Paris", "days": 3}))
            .with_text_before("Checking")
            .cut_by_max_tokens()
            .with_usage(10, 4096),
    );
    fake.push(Reply::text("A long story").cut_by_max_tokens());
    let model = chat_model(&fake.config(provider));
    let request = ChatRequest::new(vec![ChatMessage::user("Weather in Paris?")]).with_tools(vec![weather_tool()]);

    let items = drain(model.stream(request).await.unwrap()).await;

    assert_eq!(
        items,
        [
            text("Checking"),
            Ok(ChatEvent::Usage {
                prompt_tokens: 10,
                completion_tokens: 4096
            }),
            Ok(ChatEvent::Finished(FinishReason::Length)),
        ]
    );
    let items = drain(model.stream(hello()).await.unwrap()).await;
    assert_eq!(items.last(), Some(&Ok(ChatEvent::Finished(FinishReason::Length))));
}

for_all_providers!(
    the_token_limit_ends_the_answer_without_calls,
    text_before_tool_calls_streams_then_calls,
    an_error_event_before_content_is_retried,
    an_error_event_after_content_is_passed_on,
    cached_prompt_tokens_are_prompt_tokens,
    an_empty_earlier_answer_is_left_out,
    streams_text_in_order_with_usage,
    single_tool_call_then_its_result,
    parallel_tool_calls_are_answered_together,
    rate_limit_with_retry_after_is_retried,
    server_errors_twice_then_success,
    gives_up_after_three_attempts,
    client_errors_are_not_retried_and_hide_the_key,
    an_error_after_the_first_token_is_not_retried,
    a_mid_stream_disconnect_is_truncation,
    a_stall_times_out,
    a_model_that_never_starts_its_answer_times_out_without_retrying_for_minutes,
    a_model_that_stops_mid_answer_times_out,
    an_answer_past_its_total_limit_times_out,
    dropping_the_stream_closes_the_upstream_connection,
    the_request_can_name_another_model,
    an_unreachable_provider_is_unavailable,
);

/// Ollama, vLLM and friends: a custom base URL (no trailing slash, no key) and a model name
/// genai would not recognise, or would route to another API, must reach the fake's
/// `/v1/chat/completions` as they are.
#[cfg(feature = "openai")]
#[tokio::test]
async fn openai_compatible_servers_get_custom_model_names() {
    use meai_llm::GenaiChatModel;
    let fake = Fake::start(Provider::OpenAi).await;
    let base = fake.base_url().trim_end_matches('/').to_owned();
    for name in ["qwen2.5:7b", "gpt-5-mini", "llama3"] {
        let config = LlmConfig::new(Provider::OpenAi)
            .with_base_url(base.clone())
            .with_chat_model(name);
        let model = GenaiChatModel::new(&config).unwrap();
        assert_eq!(model.model_name(), name);
        assert_eq!(model.complete_text(hello()).await.unwrap(), "Echo: Say hello");
    }
    let sent = fake.requests();
    let models: Vec<_> = sent.iter().map(|r| r.model.as_deref().unwrap_or_default()).collect();
    assert_eq!(models, ["qwen2.5:7b", "gpt-5-mini", "llama3"]);
    assert!(sent.iter().all(|r| r.path == "/v1/chat/completions"));
    assert!(
        sent.iter().all(|r| r.api_key.is_some()),
        "a placeholder key is sent to keyless servers"
    );
}

/// `max_tokens` is configurable, and sent only where configured or required.
#[cfg(all(feature = "anthropic", feature = "openai"))]
#[tokio::test]
async fn max_tokens_is_sent_where_configured() {
    let anthropic = Fake::start(Provider::Anthropic).await;
    let config = anthropic.config(Provider::Anthropic).with_max_tokens(1000);
    chat_model(&config).complete_text(hello()).await.unwrap();
    assert_eq!(anthropic.chat_requests()[0]["max_tokens"], 1000);

    let openai = Fake::start(Provider::OpenAi).await;
    chat_model(&openai.config(Provider::OpenAi))
        .complete_text(hello())
        .await
        .unwrap();
    let body = &openai.chat_requests()[0];
    assert!(body.get("max_tokens").is_none() && body.get("max_completion_tokens").is_none());
}

#[cfg(feature = "gemini")]
#[tokio::test]
async fn a_request_with_an_unanswered_tool_call_is_refused_before_sending() {
    let fake = Fake::start(Provider::Gemini).await;
    let model = chat_model(&fake.config(Provider::Gemini));
    let call = ToolCall::new("c1", "get_weather", json!({"city": "Paris"}));
    let request = ChatRequest::new(vec![
        ChatMessage::user("?"),
        ChatMessage::assistant_with_tools("", vec![call]),
    ]);

    let error = model.stream(request).await.err().expect("an error");

    assert!(matches!(error, ModelError::InvalidRequest(_)), "{error:?}");
    assert!(fake.requests().is_empty());
}
