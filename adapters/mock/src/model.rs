//! In-memory model ports for fast tests of the core: [`ScriptedChatModel`] plays queued
//! [`Script`]s and records every request; [`HashEmbedder`] gives deterministic vectors.

use meai_core::model::{
    ChatEvent, ChatMessage, ChatModel, ChatRequest, ChatStream, Embedder, FinishReason, ModelError, ToolCall,
    chat_channel, stream_of,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// One scripted answer: what `stream()` returns, then what the stream yields.
#[derive(Debug, Clone)]
pub struct Script {
    opening: Result<Vec<Step>, ModelError>,
}

#[derive(Debug, Clone)]
enum Step {
    Item(Result<ChatEvent, ModelError>),
    Pause(Duration),
    Hang,
}

impl Script {
    /// `text` streamed word by word, then usage and `Finished(Stop)`.
    pub fn text(text: &str) -> Self {
        let chunks = words(text);
        let usage = ChatEvent::Usage {
            prompt_tokens: 0,
            completion_tokens: chunks.len() as u32,
        };
        let mut items: Vec<_> = chunks.into_iter().map(|c| Ok(ChatEvent::TextDelta(c))).collect();
        items.push(Ok(usage));
        items.push(Ok(ChatEvent::Finished(FinishReason::Stop)));
        Self::events(items)
    }

    /// Exactly these text chunks, then `Finished(Stop)`.
    pub fn chunks(chunks: &[&str]) -> Self {
        let mut items: Vec<_> = chunks
            .iter()
            .map(|c| Ok(ChatEvent::TextDelta((*c).to_owned())))
            .collect();
        items.push(Ok(ChatEvent::Finished(FinishReason::Stop)));
        Self::events(items)
    }

    /// The tool calls, then `Finished(ToolCalls)`.
    pub fn tool_calls(calls: Vec<ToolCall>) -> Self {
        Self::events(vec![
            Ok(ChatEvent::ToolCalls(calls)),
            Ok(ChatEvent::Finished(FinishReason::ToolCalls)),
        ])
    }

    /// `stream()` itself fails (as a real adapter does once its retries are spent).
    pub fn fail(error: ModelError) -> Self {
        Self { opening: Err(error) }
    }

    /// Exactly these items.
    pub fn events(items: Vec<Result<ChatEvent, ModelError>>) -> Self {
        Self {
            opening: Ok(items.into_iter().map(Step::Item).collect()),
        }
    }

    /// Waits `delay` before each item.
    pub fn paced(mut self, delay: Duration) -> Self {
        if let Ok(steps) = &mut self.opening {
            *steps = steps.drain(..).flat_map(|step| [Step::Pause(delay), step]).collect();
        }
        self
    }

    /// After its items the stream stays open, silent, until dropped (for cancellation tests).
    pub fn then_hang(mut self) -> Self {
        if let Ok(steps) = &mut self.opening {
            steps.push(Step::Hang);
        }
        self
    }
}

/// Words with their leading space, concatenating back to `text`.
fn words(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_owned).collect()
}

#[derive(Debug, Default)]
struct ChatState {
    queue: VecDeque<Script>,
    requests: Vec<ChatRequest>,
    cancelled: usize,
}

/// A [`ChatModel`] that answers each request with the next queued [`Script`], or, when the
/// queue is empty, echoes the last user message (`"Echo: <text>"`).
#[derive(Debug, Clone)]
pub struct ScriptedChatModel {
    name: String,
    state: Arc<Mutex<ChatState>>,
}

impl Default for ScriptedChatModel {
    fn default() -> Self {
        Self::new()
    }
}

impl ScriptedChatModel {
    pub fn new() -> Self {
        Self::named("scripted")
    }

    /// A model reporting `name` as its [`ChatModel::model_name`].
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            state: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ChatState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues the answer to a later request (first pushed, first used).
    pub fn push(&self, script: Script) {
        self.lock().queue.push_back(script);
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.lock().requests.clone()
    }

    /// Streams dropped by their consumer while the script still had steps to play (paced or
    /// hanging scripts; an unpaced script is handed over whole at once).
    pub fn cancelled_streams(&self) -> usize {
        self.lock().cancelled
    }

    fn echo(request: &ChatRequest) -> Script {
        let last_user = request.messages.iter().rev().find_map(|m| match m {
            ChatMessage::User(text) => Some(text.as_str()),
            _ => None,
        });
        Script::text(&format!("Echo: {}", last_user.unwrap_or("(nothing)")))
    }

    /// Plays steps with pauses or a hang from a task, noticing when the consumer drops the
    /// stream.
    fn play(&self, steps: Vec<Step>) -> ChatStream {
        let (tx, stream) = chat_channel();
        let state = self.state.clone();
        let cancelled = move || state.lock().unwrap_or_else(|p| p.into_inner()).cancelled += 1;
        tokio::spawn(async move {
            for step in steps {
                match step {
                    Step::Item(item) => {
                        if !tx.send(item) {
                            return cancelled();
                        }
                    }
                    Step::Pause(delay) => tokio::time::sleep(delay).await,
                    Step::Hang => {
                        while !tx.is_closed() {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        return cancelled();
                    }
                }
            }
        });
        stream
    }
}

#[async_trait::async_trait]
impl ChatModel for ScriptedChatModel {
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ModelError> {
        let script = {
            let mut state = self.lock();
            state.requests.push(request.clone());
            state.queue.pop_front()
        }
        .unwrap_or_else(|| Self::echo(&request));
        let steps = script.opening?;
        if steps.iter().all(|s| matches!(s, Step::Item(_))) {
            let items: Vec<_> = steps
                .into_iter()
                .filter_map(|s| match s {
                    Step::Item(item) => Some(item),
                    _ => None,
                })
                .collect();
            return Ok(stream_of(items));
        }
        Ok(self.play(steps))
    }

    fn model_name(&self) -> &str {
        &self.name
    }
}

/// A deterministic [`Embedder`]: a hashed bag of lower-cased words (FNV-1a, signed buckets),
/// L2-normalised; texts sharing words are close. The same vectors as the testkit's fake
/// OpenAI/Gemini embeddings.
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    dimensions: usize,
    model_id: String,
    state: Arc<Mutex<EmbedState>>,
}

#[derive(Debug, Default)]
struct EmbedState {
    batches: Vec<Vec<String>>,
    failures: VecDeque<ModelError>,
}

impl Default for HashEmbedder {
    fn default() -> Self {
        Self::new(64)
    }
}

impl HashEmbedder {
    pub fn new(dimensions: usize) -> Self {
        let dimensions = dimensions.max(1);
        Self {
            dimensions,
            model_id: format!("hash/{dimensions}"),
            state: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, EmbedState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next call fails with `error` (queued: one call per pushed error).
    pub fn fail_next(&self, error: ModelError) {
        self.lock().failures.push_back(error);
    }

    /// Every batch asked for, in order (failed calls included).
    pub fn batches(&self) -> Vec<Vec<String>> {
        self.lock().batches.clone()
    }

    /// The vector of one text.
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut vector = vec![0f32; self.dimensions];
        for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            let hash = word.to_lowercase().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
            });
            let sign = if hash >> 63 == 0 { 1.0 } else { -1.0 };
            vector[(hash % self.dimensions as u64) as usize] += sign;
        }
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm == 0.0 {
            vector[0] = 1.0;
        } else {
            vector.iter_mut().for_each(|x| *x /= norm);
        }
        vector
    }
}

#[async_trait::async_trait]
impl Embedder for HashEmbedder {
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        {
            let mut state = self.lock();
            state.batches.push(texts.to_vec());
            if let Some(error) = state.failures.pop_front() {
                return Err(error);
            }
        }
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meai_core::model::Completion;

    fn ask(text: &str) -> ChatRequest {
        ChatRequest::new(vec![ChatMessage::user(text)])
    }

    #[tokio::test]
    async fn plays_scripts_in_order_then_echoes() {
        let model = ScriptedChatModel::new();
        model.push(Script::text("Hello world"));
        model.push(Script::fail(ModelError::Timeout));

        let first = Completion::collect(model.stream(ask("hi")).await.unwrap())
            .await
            .unwrap();
        assert_eq!((first.text.as_str(), first.finish), ("Hello world", FinishReason::Stop));
        assert_eq!(model.stream(ask("again")).await.err(), Some(ModelError::Timeout));
        assert_eq!(model.complete_text(ask("echo me")).await.unwrap(), "Echo: echo me");
        assert_eq!(model.requests().len(), 3);
    }

    #[tokio::test]
    async fn notices_a_dropped_hanging_stream() {
        let model = ScriptedChatModel::new();
        model.push(Script::events(vec![Ok(ChatEvent::TextDelta("partial".into()))]).then_hang());

        let stream = model.stream(ask("hi")).await.unwrap();
        // Gives up on the hanging answer: the timeout drops the stream.
        let read = tokio::time::timeout(Duration::from_millis(50), Completion::collect(stream)).await;
        assert!(read.is_err());

        for _ in 0..200 {
            if model.cancelled_streams() == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the dropped stream was not noticed");
    }

    #[tokio::test]
    async fn paced_scripts_arrive_whole() {
        let model = ScriptedChatModel::new();
        model.push(Script::text("one two three").paced(Duration::from_millis(1)));
        assert_eq!(model.complete_text(ask("hi")).await.unwrap(), "one two three");
        assert_eq!(model.cancelled_streams(), 0);
    }

    #[tokio::test]
    async fn embeds_deterministically_and_can_fail_on_demand() {
        let embedder = HashEmbedder::new(16);
        let texts = vec!["the cat".to_owned(), "the dog".to_owned()];
        let vectors = embedder.embed(&texts).await.unwrap();
        assert_eq!(vectors, embedder.embed(&texts).await.unwrap());
        assert_eq!(vectors[0].len(), 16);

        embedder.fail_next(ModelError::Unavailable("down".into()));
        assert!(embedder.embed(&texts).await.is_err());
        assert_eq!(embedder.batches().len(), 3);
        assert_eq!(embedder.model_id(), "hash/16");
    }
}
