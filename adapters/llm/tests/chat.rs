//! The chat adapter against wire-level fakes of OpenAI and Gemini: every test runs for both.

mod common;

use common::{API_KEY, Fake, chat_model, drain, text};
use futures::StreamExt;
use meai_core::model::{ChatEvent, ChatMessage, ChatModel, ChatRequest, FinishReason, ModelError, ToolCall, ToolSpec};
use meai_llm::{LlmConfig, Provider};
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
        Provider::OpenAi => format!("http://127.0.0.1:{port}/v1"),
        Provider::Gemini => format!("http://127.0.0.1:{port}/v1beta"),
    };
    let config = LlmConfig::new(provider).with_api_key(API_KEY).with_base_url(base);
    let model = chat_model(&config);

    let error = model.stream(hello()).await.err().expect("an error");

    assert!(matches!(error, ModelError::Unavailable(_)), "{error:?}");
}

macro_rules! for_both_providers {
    ($($test:ident),* $(,)?) => {
        #[cfg(feature = "openai")]
        mod openai {
            $(#[tokio::test]
            async fn $test() {
                super::$test(meai_llm::Provider::OpenAi).await
            })*
        }
        #[cfg(feature = "gemini")]
        mod gemini {
            $(#[tokio::test]
            async fn $test() {
                super::$test(meai_llm::Provider::Gemini).await
            })*
        }
    };
}

for_both_providers!(
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
