//! A fake OpenAI API on 127.0.0.1 and a random port, speaking the real Chat Completions
//! streaming protocol and the embeddings API, so the LLM adapter is tested exactly as it talks
//! to OpenAI (or to an OpenAI-compatible server such as Ollama or vLLM).
//!
//! - `POST /v1/chat/completions` (`Authorization: Bearer ..` required, `"stream": true` only)
//!   answers `text/event-stream` frames `data: {"choices":[{"index":0,"delta":..,
//!   "finish_reason":..}]}`, a usage frame when `stream_options.include_usage` was asked for,
//!   then `data: [DONE]`. What it answers is scripted: each request takes the next [`Reply`]
//!   from the queue ([`FakeBackend::push`]); when the queue is empty it echoes the last user
//!   message in a few chunks, so load tests can run forever. Like OpenAI, it rejects (`400`,
//!   without taking a reply) an assistant `tool_calls` message not followed by a `tool` message
//!   for each call id.
//! - `POST /v1/embeddings` (`{"input": str | [str], "model", "dimensions"?}`) answers
//!   deterministic vectors ([`hash_embedding`]): texts sharing words are close.
//!
//! Every request is recorded ([`FakeBackend::requests`]) and every answer stream is tracked,
//! so a test can prove that dropping a stream closes the upstream connection
//! ([`FakeBackend::wait_for_disconnects`]).
//!
//! The scripting types ([`Reply`], [`ToolCallReply`], [`FakeBackend`]) are shared with the
//! Gemini and Anthropic fakes ([`crate::gemini`], [`crate::anthropic`]).
//!
//! ```no_run
//! # async fn demo() {
//! use meai_testkit::openai::{FakeOpenAi, Reply};
//! let fake = FakeOpenAi::start().await;
//! fake.push(Reply::text("Hello there").with_usage(11, 2));
//! fake.push(Reply::error(429).with_retry_after(1));
//! // point the client at fake.base_url() (`http://127.0.0.1:<port>/v1/`), then:
//! assert_eq!(fake.chat_requests()[0]["model"], "gpt-4.1-mini");
//! # }
//! ```

use futures::StreamExt;
use poem::http::{StatusCode, header};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{Body, EndpointExt, Request, Response, Route, Server, handler, post};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::io;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Vector size of the fake embeddings unless the request asks for another.
pub const DEFAULT_EMBEDDING_DIMENSIONS: usize = 64;

// --- Scripting, shared with the Gemini and Anthropic fakes ------------------------------------

/// One scripted answer to a chat request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub(crate) kind: ReplyKind,
    pub(crate) first_token_delay: Duration,
    pub(crate) chunk_delay: Duration,
    pub(crate) usage: Option<Usage>,
    pub(crate) cached_prompt_tokens: u32,
    pub(crate) cut_by_max_tokens: bool,
    pub(crate) keep_alive: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReplyKind {
    Text(Vec<String>),
    /// The calls, after some text when `text` is not empty.
    ToolCalls {
        text: Vec<String>,
        calls: Vec<ToolCallReply>,
    },
    Error {
        status: u16,
        retry_after: Option<String>,
        body: Option<Value>,
    },
    /// Some chunks, then the body ends (cleanly, or by resetting the connection) without any
    /// finish reason or `[DONE]`.
    Disconnect {
        chunks: Vec<String>,
        abort: bool,
    },
    /// Some chunks, then silence with the connection open, until the client gives up.
    Stall(Vec<String>),
    /// Some chunks, then the provider's error event for `status` inside the stream (the HTTP
    /// status was already 200), then the body ends.
    Fail {
        chunks: Vec<String>,
        status: u16,
    },
}

/// Token counts a reply reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// All of the prompt, the cached part included.
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    /// The part of the prompt read from the provider's prompt cache.
    pub cached_prompt_tokens: u32,
}

/// One tool call of a [`Reply::tool_calls`] answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallReply {
    /// The call id sent. OpenAI: `call_<request>_<index>` when `None`; Gemini: none sent
    /// (as Gemini 2.x does) when `None`.
    pub id: Option<String>,
    pub name: String,
    pub arguments: Value,
}

impl ToolCallReply {
    pub fn new(name: &str, arguments: Value) -> Self {
        Self {
            id: None,
            name: name.to_owned(),
            arguments,
        }
    }

    pub fn with_id(mut self, id: &str) -> Self {
        self.id = Some(id.to_owned());
        self
    }
}

impl Reply {
    fn new(kind: ReplyKind) -> Self {
        Self {
            kind,
            first_token_delay: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            usage: None,
            cached_prompt_tokens: 0,
            cut_by_max_tokens: false,
            keep_alive: None,
        }
    }

    /// `text` streamed word by word (see [`split_words`]).
    pub fn text(text: &str) -> Self {
        Self::new(ReplyKind::Text(split_words(text)))
    }

    /// Text streamed in exactly these chunks.
    pub fn chunks<S: Into<String>>(chunks: impl IntoIterator<Item = S>) -> Self {
        Self::new(ReplyKind::Text(chunks.into_iter().map(Into::into).collect()))
    }

    /// One tool call.
    pub fn tool_call(name: &str, arguments: Value) -> Self {
        Self::tool_calls(vec![ToolCallReply::new(name, arguments)])
    }

    /// Several tool calls in one answer (parallel calls).
    pub fn tool_calls(calls: Vec<ToolCallReply>) -> Self {
        Self::new(ReplyKind::ToolCalls {
            text: Vec::new(),
            calls,
        })
    }

    /// An HTTP error with the provider's JSON error body (see [`Reply::with_error_body`]).
    pub fn error(status: u16) -> Self {
        Self::new(ReplyKind::Error {
            status,
            retry_after: None,
            body: None,
        })
    }

    /// These chunks, then the body ends cleanly without a finish reason or `[DONE]`.
    pub fn disconnect_after<S: Into<String>>(chunks: impl IntoIterator<Item = S>) -> Self {
        Self::new(ReplyKind::Disconnect {
            chunks: chunks.into_iter().map(Into::into).collect(),
            abort: false,
        })
    }

    /// These chunks, then the connection is reset in the middle of the body.
    pub fn abort_after<S: Into<String>>(chunks: impl IntoIterator<Item = S>) -> Self {
        Self::new(ReplyKind::Disconnect {
            chunks: chunks.into_iter().map(Into::into).collect(),
            abort: true,
        })
    }

    /// These chunks, then nothing more while the connection stays open.
    pub fn stall_after<S: Into<String>>(chunks: impl IntoIterator<Item = S>) -> Self {
        Self::new(ReplyKind::Stall(chunks.into_iter().map(Into::into).collect()))
    }

    /// These chunks, then an error event inside the stream with the provider's error for
    /// `status` (Anthropic: `event: error`, e.g. `overloaded_error` for 529), then the end.
    pub fn fail_after<S: Into<String>>(chunks: impl IntoIterator<Item = S>, status: u16) -> Self {
        Self::new(ReplyKind::Fail {
            chunks: chunks.into_iter().map(Into::into).collect(),
            status,
        })
    }

    /// For [`Reply::tool_call`] and [`Reply::tool_calls`]: this text (word by word) before the
    /// calls, as Claude usually says what it is about to do.
    pub fn with_text_before(mut self, text: &str) -> Self {
        if let ReplyKind::ToolCalls { text: before, .. } = &mut self.kind {
            *before = split_words(text);
        }
        self
    }

    /// For [`Reply::stall_after`]: while silent, sends an SSE comment (`: keep-alive`) this
    /// often, as proxies and some providers do, so the connection never goes quiet: only a
    /// timeout on the answer itself ends it.
    pub fn with_keep_alives(mut self, every: Duration) -> Self {
        self.keep_alive = Some(every);
        self
    }

    /// Waits this long after the response headers before the first content.
    pub fn with_first_token_delay(mut self, delay: Duration) -> Self {
        self.first_token_delay = delay;
        self
    }

    /// Waits this long between two chunks (text chunks, argument pieces).
    pub fn with_chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// Reports these token counts (default: words of the request, chunks of the answer).
    pub fn with_usage(mut self, prompt_tokens: u32, completion_tokens: u32) -> Self {
        self.usage = Some(Usage {
            prompt_tokens,
            completion_tokens,
            cached_prompt_tokens: 0,
        });
        self
    }

    /// For text and tool-call replies: the answer ends as when it hits the output token limit,
    /// with the provider's stop reason for it (`length`, `MAX_TOKENS`, `max_tokens`) and the
    /// arguments of the last tool call cut off midway (where the provider streams them).
    pub fn cut_by_max_tokens(mut self) -> Self {
        self.cut_by_max_tokens = true;
        self
    }

    /// Reports this many of the prompt tokens as read from the prompt cache.
    pub fn with_cached_prompt_tokens(mut self, tokens: u32) -> Self {
        self.cached_prompt_tokens = tokens;
        self
    }

    /// For [`Reply::error`]: a `Retry-After` header, in seconds.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        if let ReplyKind::Error { retry_after, .. } = &mut self.kind {
            *retry_after = Some(seconds.to_string());
        }
        self
    }

    /// For [`Reply::error`]: this JSON body instead of the provider's usual error object.
    pub fn with_error_body(mut self, json: Value) -> Self {
        if let ReplyKind::Error { body, .. } = &mut self.kind {
            *body = Some(json);
        }
        self
    }

    /// The answer text the reply streams (all of it for [`Reply::text`], the chunks sent before
    /// the cut for the others).
    pub(crate) fn chunk_list(&self) -> &[String] {
        match &self.kind {
            ReplyKind::Text(chunks)
            | ReplyKind::Stall(chunks)
            | ReplyKind::Disconnect { chunks, .. }
            | ReplyKind::Fail { chunks, .. }
            | ReplyKind::ToolCalls { text: chunks, .. } => chunks,
            ReplyKind::Error { .. } => &[],
        }
    }

    /// The pieces the arguments of call `index` stream in: three, or two of them for the last
    /// call of a reply [cut by the token limit](Reply::cut_by_max_tokens).
    pub(crate) fn argument_pieces(&self, index: usize, call: &ToolCallReply) -> Vec<String> {
        let chars: Vec<char> = call.arguments.to_string().chars().collect();
        let size = chars.len().div_ceil(3).max(1);
        let mut pieces: Vec<String> = chars.chunks(size).map(|c| c.iter().collect()).collect();
        let last = matches!(&self.kind, ReplyKind::ToolCalls { calls, .. } if index + 1 == calls.len());
        if self.cut_by_max_tokens && last {
            pieces.truncate(pieces.len().saturating_sub(1).max(1));
        }
        pieces
    }

    /// For [`Reply::error`]: the HTTP error, with `provider_error(status)` as the body unless
    /// the test scripted one.
    pub(crate) fn error_response(&self, provider_error: impl FnOnce(u16) -> Value) -> Option<Response> {
        let ReplyKind::Error {
            status,
            retry_after,
            body,
        } = &self.kind
        else {
            return None;
        };
        let body = body.clone().unwrap_or_else(|| provider_error(*status));
        Some(json_response(*status, &body, retry_after.as_deref()))
    }

    pub(crate) fn usage_or(&self, prompt_tokens: u32) -> Usage {
        let usage = self.usage.unwrap_or_else(|| {
            let completion = match &self.kind {
                ReplyKind::ToolCalls { calls, .. } => calls.len() * 5,
                _ => self.chunk_list().len(),
            };
            Usage {
                prompt_tokens,
                completion_tokens: completion as u32,
                cached_prompt_tokens: 0,
            }
        });
        Usage {
            cached_prompt_tokens: self.cached_prompt_tokens.min(usage.prompt_tokens),
            ..usage
        }
    }
}

/// `"Hello big world"` -> `["Hello", " big", " world"]`: chunks that concatenate to the text.
pub fn split_words(text: &str) -> Vec<String> {
    let mut chunks: Vec<String> = Vec::new();
    for (i, word) in text.split(' ').enumerate() {
        match chunks.last_mut() {
            // Runs of spaces stay attached to the previous chunk.
            Some(last) if word.is_empty() => last.push(' '),
            _ if i == 0 => chunks.push(word.to_owned()),
            _ => chunks.push(format!(" {word}")),
        }
    }
    chunks.retain(|c| !c.is_empty());
    chunks
}

/// A deterministic embedding: a hashed bag of lower-cased words (FNV-1a, signed buckets),
/// L2-normalised. Texts sharing words have a positive cosine; a text without words maps to the
/// first unit vector.
pub fn hash_embedding(text: &str, dimensions: usize) -> Vec<f32> {
    let dimensions = dimensions.max(1);
    let mut vector = vec![0f32; dimensions];
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let hash = word.to_lowercase().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        let sign = if hash >> 63 == 0 { 1.0 } else { -1.0 };
        vector[(hash % dimensions as u64) as usize] += sign;
    }
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        vector[0] = 1.0;
    } else {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
    vector
}

/// Whitespace-separated words: the fakes' stand-in for tokens.
pub(crate) fn word_count(text: &str) -> u32 {
    text.split_whitespace().count() as u32
}

/// One request a fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Path and query, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The model asked for (OpenAI: the body's `model`; Gemini: from the path).
    pub model: Option<String>,
    /// The API key sent (`Authorization: Bearer`, `x-goog-api-key`, `?key=` or `x-api-key`).
    pub api_key: Option<String>,
    /// Every header, names in lower case, e.g. `("anthropic-version", "2023-06-01")`.
    pub headers: Vec<(String, String)>,
    /// The JSON body (`Value::Null` when it was not JSON).
    pub body: Value,
}

impl RecordedRequest {
    pub(crate) fn new(req: &Request, model: Option<String>, api_key: Option<String>, body: &Value) -> Self {
        let headers = req
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect();
        Self {
            path: req.uri().to_string(),
            model,
            api_key,
            headers,
            body: body.clone(),
        }
    }

    /// The value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn is_chat(&self) -> bool {
        self.path.contains("chat/completions")
            || self.path.contains("GenerateContent")
            || self.path.contains("generateContent")
            || self.path.ends_with("/messages")
    }
}

/// The scriptable, inspectable state behind [`FakeOpenAi`] and [`crate::gemini::FakeGemini`]
/// (both deref to it).
#[derive(Debug, Default)]
pub struct FakeBackend {
    state: Mutex<BackendState>,
    open_streams: AtomicUsize,
    disconnects: AtomicUsize,
    completed_streams: AtomicUsize,
    chat_count: AtomicUsize,
}

#[derive(Debug, Default)]
struct BackendState {
    queue: VecDeque<Reply>,
    /// Replies for requests whose last user message contains the key, taken before the queue.
    keyed: Vec<(String, VecDeque<Reply>)>,
    requests: Vec<RecordedRequest>,
    echo_first_token_delay: Duration,
    echo_chunk_delay: Duration,
    embedding_dimensions: Option<usize>,
    /// What `GET /v1/models` lists; `None`: it answers 500.
    models: Option<Vec<String>>,
}

impl FakeBackend {
    fn lock(&self) -> MutexGuard<'_, BackendState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues the answer to a later chat request (first pushed, first used).
    pub fn push(&self, reply: Reply) {
        self.lock().queue.push_back(reply);
    }

    pub fn push_all(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().queue.extend(replies);
    }

    /// Queues the answer to a later chat request whose last user message contains `trigger`,
    /// ahead of [`FakeBackend::push`]'s queue: for clients that share one fake and cannot script
    /// it in order (the frontend compatibility suite's concurrent test files).
    pub fn push_when(&self, trigger: &str, reply: Reply) {
        let mut state = self.lock();
        match state.keyed.iter_mut().find(|(k, _)| k == trigger) {
            Some((_, replies)) => replies.push_back(reply),
            None => state.keyed.push((trigger.to_owned(), VecDeque::from([reply]))),
        }
    }

    /// Replies not used yet.
    pub fn queued(&self) -> usize {
        self.lock().queue.len()
    }

    /// The pace of the default echo answer (used when the queue is empty).
    pub fn set_echo_pace(&self, first_token_delay: Duration, chunk_delay: Duration) {
        let mut state = self.lock();
        state.echo_first_token_delay = first_token_delay;
        state.echo_chunk_delay = chunk_delay;
    }

    /// Vector size of embeddings when the request does not ask for one
    /// (default [`DEFAULT_EMBEDDING_DIMENSIONS`]).
    pub fn set_embedding_dimensions(&self, dimensions: usize) {
        self.lock().embedding_dimensions = Some(dimensions);
    }

    /// The model ids `GET /v1/models` lists from now on; `None` makes it fail (500).
    pub fn set_models(&self, models: Option<Vec<String>>) {
        self.lock().models = models;
    }

    /// How many times the model list was asked for.
    pub fn model_list_requests(&self) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.path.ends_with("/models"))
            .count()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The bodies of the chat requests, in order.
    pub fn chat_requests(&self) -> Vec<Value> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.is_chat())
            .map(|r| r.body.clone())
            .collect()
    }

    /// The bodies of the embedding requests, in order.
    pub fn embedding_requests(&self) -> Vec<Value> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.path.contains("mbed"))
            .map(|r| r.body.clone())
            .collect()
    }

    /// Answer streams being sent right now.
    pub fn open_streams(&self) -> usize {
        self.open_streams.load(Ordering::SeqCst)
    }

    /// Answer streams the client closed before the fake finished them.
    pub fn disconnects(&self) -> usize {
        self.disconnects.load(Ordering::SeqCst)
    }

    /// Answer streams sent to their scripted end.
    pub fn completed_streams(&self) -> usize {
        self.completed_streams.load(Ordering::SeqCst)
    }

    /// Waits until at least `count` client disconnects were seen; `false` if `within` passed.
    pub async fn wait_for_disconnects(&self, count: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.disconnects() < count {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        self.lock().requests.push(request);
    }

    /// The next scripted reply, or an echo of `last_user_text` at the echo pace.
    pub(crate) fn next_reply(&self, last_user_text: Option<&str>) -> Reply {
        let mut state = self.lock();
        let keyed = last_user_text.and_then(|text| {
            let (_, replies) = state
                .keyed
                .iter_mut()
                .find(|(k, r)| text.contains(k.as_str()) && !r.is_empty())?;
            replies.pop_front()
        });
        if let Some(reply) = keyed {
            return reply;
        }
        state.queue.pop_front().unwrap_or_else(|| {
            Reply::text(&format!("Echo: {}", last_user_text.unwrap_or("(nothing)")))
                .with_first_token_delay(state.echo_first_token_delay)
                .with_chunk_delay(state.echo_chunk_delay)
        })
    }

    /// A number for ids, unique per chat request.
    pub(crate) fn next_chat_number(&self) -> usize {
        self.chat_count.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub(crate) fn embedding_dimensions(&self, asked: Option<usize>) -> usize {
        asked
            .or(self.lock().embedding_dimensions)
            .unwrap_or(DEFAULT_EMBEDDING_DIMENSIONS)
    }
}

/// What an answer body does next.
#[derive(Debug)]
pub(crate) enum Step {
    /// Sends these bytes (a whole SSE frame).
    Send(String),
    Wait(Duration),
    /// Resets the connection.
    Abort,
    /// Sends nothing more, keeping the connection open.
    Hang,
    /// Sends only SSE comments from now on, this often, keeping the connection open.
    KeepAlives(Duration),
}

/// How a stalled reply goes silent: no bytes at all, or keep-alive comments only.
pub(crate) fn stall(reply: &Reply) -> Step {
    match reply.keep_alive {
        Some(every) => Step::KeepAlives(every),
        None => Step::Hang,
    }
}

/// Tracks one answer stream: open while alive, a disconnect if dropped before its end.
struct StreamGuard {
    backend: Arc<FakeBackend>,
    finished: bool,
}

impl StreamGuard {
    fn new(backend: Arc<FakeBackend>) -> Self {
        backend.open_streams.fetch_add(1, Ordering::SeqCst);
        Self {
            backend,
            finished: false,
        }
    }

    fn mark_finished(&mut self) {
        self.finished = true;
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.backend.open_streams.fetch_sub(1, Ordering::SeqCst);
        let counter = if self.finished {
            &self.backend.completed_streams
        } else {
            &self.backend.disconnects
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

/// A `text/event-stream` response playing `steps`. The server drops the body when the client
/// goes away, which the stream's guard records as a disconnect.
pub(crate) fn event_stream(backend: Arc<FakeBackend>, steps: Vec<Step>) -> Response {
    let state = (VecDeque::from(steps), StreamGuard::new(backend));
    let body = futures::stream::unfold(state, |(mut steps, mut guard)| async move {
        loop {
            match steps.pop_front() {
                Some(Step::Send(frame)) => return Some((Ok(frame), (steps, guard))),
                Some(Step::Wait(delay)) => tokio::time::sleep(delay).await,
                Some(Step::Abort) => {
                    guard.mark_finished();
                    let reset = io::Error::new(io::ErrorKind::ConnectionAborted, "scripted disconnect");
                    return Some((Err(reset), (steps, guard)));
                }
                Some(Step::Hang) => std::future::pending::<()>().await,
                Some(Step::KeepAlives(every)) => {
                    tokio::time::sleep(every).await;
                    steps.push_front(Step::KeepAlives(every));
                    return Some((Ok(": keep-alive\n\n".to_owned()), (steps, guard)));
                }
                None => {
                    guard.mark_finished();
                    return None;
                }
            }
        }
    })
    .boxed();
    Response::builder()
        .content_type("text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_bytes_stream::<_, String, io::Error>(body))
}

/// A JSON response with `status`.
pub(crate) fn json_response(status: u16, body: &Value, retry_after: Option<&str>) -> Response {
    let mut response = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json");
    if let Some(seconds) = retry_after {
        response = response.header(header::RETRY_AFTER, seconds);
    }
    response.body(body.to_string())
}

/// The wire protocol of one provider's fake: its routes, and where its base URL points.
pub trait FakeApi {
    /// What the base URL a client is configured with ends with, e.g. `/v1/`.
    const BASE_PATH: &'static str;

    /// The routes; their handlers get the [`FakeBackend`] as `Data<&Arc<FakeBackend>>`.
    fn routes() -> Route;
}

/// A running fake of a provider's API ([`FakeOpenAi`], [`crate::gemini::FakeGemini`],
/// [`crate::anthropic::FakeAnthropic`]), scripted and inspected through the [`FakeBackend`] it
/// derefs to. Dropping it stops the server.
pub struct FakeServer<A> {
    origin: String,
    backend: Arc<FakeBackend>,
    _shutdown: oneshot::Sender<()>,
    _api: PhantomData<A>,
}

impl<A: FakeApi> FakeServer<A> {
    pub async fn start() -> Self {
        let backend = Arc::new(FakeBackend::default());
        let (origin, shutdown) = serve(A::routes().data(backend.clone())).await;
        Self {
            origin,
            backend,
            _shutdown: shutdown,
            _api: PhantomData,
        }
    }

    /// `http://127.0.0.1:<port>` and [`FakeApi::BASE_PATH`], e.g. `http://127.0.0.1:<port>/v1/`:
    /// the base URL a client of the provider is configured with.
    pub fn base_url(&self) -> String {
        format!("{}{}", self.origin, A::BASE_PATH)
    }
}

impl<A> Deref for FakeServer<A> {
    type Target = FakeBackend;

    fn deref(&self) -> &FakeBackend {
        &self.backend
    }
}

/// Binds 127.0.0.1:0 and serves `app` until the returned sender is dropped.
async fn serve<E>(app: E) -> (String, oneshot::Sender<()>)
where
    E: poem::Endpoint + 'static,
{
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind fake model server");
    let addr = *acceptor.local_addr()[0].as_socket_addr().expect("a TCP address");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let stop = async move {
            let _ = rx.await;
        };
        let _ = Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(app, stop, Some(Duration::from_millis(100)))
            .await;
    });
    (format!("http://{addr}"), tx)
}

// --- The OpenAI fake --------------------------------------------------------------------------

/// A running fake OpenAI API (base URL `http://127.0.0.1:<port>/v1/`). Dropping it stops the
/// server.
pub type FakeOpenAi = FakeServer<OpenAiApi>;

/// Chat completions and embeddings under `/v1/`.
pub struct OpenAiApi;

impl FakeApi for OpenAiApi {
    const BASE_PATH: &'static str = "/v1/";

    fn routes() -> Route {
        Route::new()
            .at("/v1/chat/completions", post(chat_completions))
            .at("/v1/embeddings", post(embeddings))
            .at("/v1/models", poem::get(list_models))
    }
}

fn openai_error(status: u16, message: &str) -> Value {
    let (kind, code) = match status {
        400 => ("invalid_request_error", Value::Null),
        401 => ("invalid_request_error", json!("invalid_api_key")),
        429 => ("requests", json!("rate_limit_exceeded")),
        _ => ("server_error", Value::Null),
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

fn bearer(req: &Request) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty())
}

pub(crate) async fn read_json(body: Body) -> Value {
    body.into_json::<Value>().await.unwrap_or(Value::Null)
}

/// The text of an OpenAI message `content` (a string or an array of text parts).
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// OpenAI's rule: an assistant message with `tool_calls` is followed by one `tool` message per
/// call id.
fn unanswered_tool_call(messages: &[Value]) -> Option<String> {
    for (i, message) in messages.iter().enumerate() {
        let Some(calls) = message.get("tool_calls").and_then(Value::as_array) else {
            continue;
        };
        let answered: Vec<&str> = messages[i + 1..]
            .iter()
            .take_while(|m| m["role"] == "tool")
            .filter_map(|m| m["tool_call_id"].as_str())
            .collect();
        if let Some(missing) = calls
            .iter()
            .filter_map(|c| c["id"].as_str())
            .find(|id| !answered.contains(id))
        {
            return Some(missing.to_owned());
        }
    }
    None
}

#[handler]
async fn chat_completions(req: &Request, body: Body, backend: Data<&Arc<FakeBackend>>) -> Response {
    let body = read_json(body).await;
    let api_key = bearer(req);
    let model = body["model"].as_str().map(str::to_owned);
    backend.record(RecordedRequest::new(req, model.clone(), api_key.clone(), &body));
    if api_key.is_none() {
        return json_response(401, &openai_error(401, "You didn't provide an API key."), None);
    }
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    if model.is_none() || messages.is_empty() {
        return json_response(400, &openai_error(400, "'model' and 'messages' are required"), None);
    }
    if body["stream"] != true {
        return json_response(
            400,
            &openai_error(400, "this fake only answers streaming requests"),
            None,
        );
    }
    if let Some(id) = unanswered_tool_call(&messages) {
        let message = format!(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {id}"
        );
        return json_response(400, &openai_error(400, &message), None);
    }

    let last_user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| content_text(&m["content"]));
    let reply = backend.next_reply(last_user.as_deref());
    if let Some(error) = reply.error_response(|status| openai_error(status, "scripted failure")) {
        return error;
    }
    let prompt_tokens = messages.iter().map(|m| word_count(&content_text(&m["content"]))).sum();
    let include_usage = body["stream_options"]["include_usage"] == true;
    let number = backend.next_chat_number();
    let steps = OpenAiFrames {
        id: format!("chatcmpl-{number}"),
        model: model.unwrap_or_default(),
        number,
    }
    .steps(&reply, include_usage, prompt_tokens);
    event_stream(backend.0.clone(), steps)
}

/// Builds the SSE frames of one answer.
struct OpenAiFrames {
    id: String,
    model: String,
    number: usize,
}

impl OpenAiFrames {
    fn frame(&self, delta: Value, finish_reason: Option<&str>) -> Step {
        let chunk = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
        });
        Step::Send(format!("data: {chunk}\n\n"))
    }

    fn usage(&self, usage: Usage) -> Step {
        let chunk = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": self.model, "choices": [],
            "usage": {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                      "total_tokens": usage.prompt_tokens + usage.completion_tokens,
                      "prompt_tokens_details": {"cached_tokens": usage.cached_prompt_tokens}}
        });
        Step::Send(format!("data: {chunk}\n\n"))
    }

    fn text_chunks(&self, reply: &Reply, steps: &mut Vec<Step>) {
        for (i, chunk) in reply.chunk_list().iter().enumerate() {
            if i > 0 && !reply.chunk_delay.is_zero() {
                steps.push(Step::Wait(reply.chunk_delay));
            }
            steps.push(self.frame(json!({"content": chunk}), None));
        }
    }

    fn steps(&self, reply: &Reply, include_usage: bool, prompt_tokens: u32) -> Vec<Step> {
        let mut steps = vec![
            Step::Wait(reply.first_token_delay),
            self.frame(json!({"role": "assistant", "content": ""}), None),
        ];
        let finish = match &reply.kind {
            ReplyKind::Text(_) => {
                self.text_chunks(reply, &mut steps);
                "stop"
            }
            ReplyKind::ToolCalls { calls, .. } => {
                self.text_chunks(reply, &mut steps);
                for (index, call) in calls.iter().enumerate() {
                    let id = call
                        .id
                        .clone()
                        .unwrap_or_else(|| format!("call_{}_{index}", self.number));
                    let opening = json!({"index": index, "id": id, "type": "function", "function": {"name": call.name, "arguments": ""}});
                    steps.push(self.frame(json!({"tool_calls": [opening]}), None));
                    // Arguments arrive in pieces, as OpenAI streams them.
                    for piece in reply.argument_pieces(index, call) {
                        if !reply.chunk_delay.is_zero() {
                            steps.push(Step::Wait(reply.chunk_delay));
                        }
                        steps.push(self.frame(
                            json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                            None,
                        ));
                    }
                }
                "tool_calls"
            }
            ReplyKind::Disconnect { abort, .. } => {
                self.text_chunks(reply, &mut steps);
                if *abort {
                    steps.push(Step::Abort);
                }
                return steps;
            }
            ReplyKind::Stall(_) => {
                self.text_chunks(reply, &mut steps);
                steps.push(stall(reply));
                return steps;
            }
            ReplyKind::Fail { status, .. } => {
                self.text_chunks(reply, &mut steps);
                let error = openai_error(*status, "scripted failure");
                steps.push(Step::Send(format!("data: {error}\n\n")));
                return steps;
            }
            ReplyKind::Error { .. } => unreachable!("errors are answered before streaming"),
        };
        let finish = if reply.cut_by_max_tokens { "length" } else { finish };
        steps.push(self.frame(json!({}), Some(finish)));
        if include_usage {
            steps.push(self.usage(reply.usage_or(prompt_tokens)));
        }
        steps.push(Step::Send("data: [DONE]\n\n".to_owned()));
        steps
    }
}

/// `GET /v1/models`: the scripted list ([`FakeBackend::set_models`]), OpenAI's shape.
#[handler]
async fn list_models(req: &Request, backend: Data<&Arc<FakeBackend>>) -> Response {
    let api_key = bearer(req);
    backend.record(RecordedRequest::new(req, None, api_key.clone(), &Value::Null));
    if api_key.is_none() {
        return json_response(401, &openai_error(401, "You didn't provide an API key."), None);
    }
    match backend.lock().models.clone() {
        Some(models) => {
            let data: Vec<Value> = models
                .iter()
                .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "fake"}))
                .collect();
            json_response(200, &json!({"object": "list", "data": data}), None)
        }
        None => json_response(500, &openai_error(500, "The server had an error"), None),
    }
}

#[handler]
async fn embeddings(req: &Request, body: Body, backend: Data<&Arc<FakeBackend>>) -> Response {
    let body = read_json(body).await;
    let api_key = bearer(req);
    let model = body["model"].as_str().map(str::to_owned);
    backend.record(RecordedRequest::new(req, model.clone(), api_key.clone(), &body));
    if api_key.is_none() {
        return json_response(401, &openai_error(401, "You didn't provide an API key."), None);
    }
    let inputs: Vec<String> = match &body["input"] {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    if inputs.is_empty() || model.is_none() {
        return json_response(400, &openai_error(400, "'input' and 'model' are required"), None);
    }
    let dimensions = backend.embedding_dimensions(body["dimensions"].as_u64().map(|d| d as usize));
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| json!({"object": "embedding", "index": index, "embedding": hash_embedding(text, dimensions)}))
        .collect();
    let tokens: u32 = inputs.iter().map(|t| word_count(t)).sum();
    let answer = json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}});
    json_response(200, &answer, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_replies_answer_only_their_trigger_then_the_queue_and_the_echo_resume() {
        let backend = FakeBackend::default();
        backend.push_when("[approve me]", Reply::text("keyed"));
        backend.push(Reply::text("queued"));
        assert_eq!(backend.next_reply(Some("other")), Reply::text("queued"));
        assert_eq!(
            backend.next_reply(Some("please [approve me] now")),
            Reply::text("keyed")
        );
        assert_eq!(
            backend.next_reply(Some("[approve me]")),
            Reply::text("Echo: [approve me]")
        );
    }

    #[test]
    fn words_split_into_chunks_that_rebuild_the_text() {
        assert_eq!(split_words("Hello big world"), vec!["Hello", " big", " world"]);
        assert_eq!(split_words("a  b").concat(), "a  b");
        assert!(split_words("").is_empty());
    }

    #[test]
    fn embeddings_are_deterministic_unit_vectors() {
        let a = hash_embedding("the cat sat", 32);
        assert_eq!(a, hash_embedding("The cat sat", 32));
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        let b = hash_embedding("a cat", 32);
        let unrelated = hash_embedding("quantum chromodynamics", 32);
        let cos = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        assert!(cos(&a, &b) > cos(&a, &unrelated));
    }

    #[test]
    fn unanswered_tool_calls_are_found() {
        let messages = vec![
            json!({"role": "assistant", "content": "", "tool_calls": [{"id": "a"}, {"id": "b"}]}),
            json!({"role": "tool", "tool_call_id": "a", "content": "1"}),
        ];
        assert_eq!(unanswered_tool_call(&messages), Some("b".to_owned()));
    }
}
