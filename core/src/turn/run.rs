//! Executing a turn: context, streamed steps with tool calls, persistence, the end event, then
//! background upkeep.
//!
//! Interrupted answers are persisted with what was streamed, marked by a suffix on the content
//! so every client (and the model, in later turns) can tell: [`STOPPED_MARK`] after a `stop`,
//! [`FAILED_MARK`] after a provider error. Nothing is stored when nothing was streamed.

use super::background;
use super::checkpoint::Checkpoints;
use super::gate::{Gate, Ran, Resume};
use super::service::Deps;
use super::step::{self, Step, publish};
use super::{RunWriter, Stage, TurnEvent, context};
use crate::memory::Recalled;
use crate::model::{ChatMessage, ChatModel, ChatRequest};
use crate::{Conversation, ConversationId, Message, MessageKind, NewMessage, Page, StoreError, Usage, UserId};
use std::sync::Arc;

/// Appended to an answer cut short by `stop`.
pub const STOPPED_MARK: &str = "\n\n[stopped]";
/// Appended to an answer cut short by a model failure.
pub const FAILED_MARK: &str = "\n\n[interrupted: the model failed]";
/// The `error` event of a server without a language model.
pub const NO_MODEL: &str = "no language model configured";

/// How the turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Answered,
    Failed,
    Stopped,
}

/// What [`Turn::first_step`] prepared: the tools and their gate for the steps that follow, the
/// context so far, and the first step's stream (or how it ended before streaming).
struct FirstStep {
    tools: Vec<crate::model::ToolSpec>,
    gate: Gate,
    messages: Vec<ChatMessage>,
    opened: Result<crate::model::ChatStream, Step>,
}

pub(super) struct Turn {
    pub deps: Arc<Deps>,
    pub writer: Box<dyn RunWriter>,
    pub user: UserId,
    pub conversation: Conversation,
    pub human: Message,
    /// Whether other tabs are told of `human`: a new or edited question is news, the question
    /// of a regenerated answer or of a decision is not.
    pub announce: bool,
    /// A decision run's continuation ([`super::decide`]).
    pub resume: Option<Resume>,
    /// What recall found, when it ran while the question was stored (a new or edited
    /// question); otherwise the first step recalls.
    pub recalled: Option<Recalled>,
}

impl Turn {
    pub async fn run(self) {
        // Other tabs see the question.
        if self.announce {
            publish(
                &*self.writer,
                TurnEvent::Human {
                    content: self.human.content.clone(),
                    message_id: self.human.id.0,
                },
            )
            .await;
        }
        let outcome = match self.deps.model.clone() {
            Some(model) => self.answer(&*model).await,
            None => {
                publish(&*self.writer, TurnEvent::Error { error: NO_MODEL.into() }).await;
                Outcome::Failed
            }
        };
        tracing::info!(?outcome, "turn finished");
        // Every run ends with exactly one last_chunk, whatever happened before.
        publish(
            &*self.writer,
            TurnEvent::LastChunk {
                stopped: outcome == Outcome::Stopped,
            },
        )
        .await;
        self.writer.finish().await;
        if outcome == Outcome::Answered {
            background::after_turn(&self.deps, self.user, &self.conversation).await;
        }
    }

    async fn answer(&self, model: &dyn ChatModel) -> Outcome {
        let d = &self.deps;
        let stop = step::stop_signal(&*self.writer);
        // The answer's draft only has to exist before the first token is published: it is
        // written while the context is read and the model connects, not before them.
        let draft = async {
            let (opened, took) = super::timed(Checkpoints::open(
                d.store.clone(),
                d.timer.clone(),
                d.settings.checkpoint_every,
                self.user,
                self.conversation.id,
                self.writer.run().0,
            ))
            .await;
            d.record(Stage::Draft, took);
            opened
        };
        let (first, checkpoints) = futures::join!(self.first_step(model, &stop), draft);
        let (first, mut checkpoints) = match (first, checkpoints) {
            (Ok(first), Ok(c)) => (first, c),
            (first, checkpoints) => {
                let error = match (first, checkpoints) {
                    (_, Err(StoreError::NotFound)) | (Err(StoreError::NotFound), _) => {
                        // Deleted while the turn started: nobody is left to tell.
                        tracing::info!("the conversation is gone");
                        "Conversation not found"
                    }
                    (first, checkpoints) => {
                        if let Err(e) = &first {
                            tracing::error!(error = %e, "could not read the conversation");
                        }
                        match checkpoints {
                            Ok(c) => c.finish(None).await,
                            Err(e) => tracing::error!(error = %e, "could not start the answer's draft"),
                        }
                        "Storage is unavailable, try again"
                    }
                };
                publish(&*self.writer, TurnEvent::Error { error: error.into() }).await;
                return Outcome::Failed;
            }
        };
        let FirstStep {
            tools,
            gate,
            mut messages,
            opened,
        } = first;
        let mut opened = Some(opened);
        let mut text = String::new();
        // Every step's tokens: the answer's usage, stored with it.
        let mut tokens = (0, 0);
        let used = self
            .conversation
            .model
            .clone()
            .unwrap_or_else(|| model.model_name().to_owned());
        let usage = |tokens: (u32, u32)| {
            (tokens != (0, 0)).then(|| Usage {
                model: used.clone(),
                prompt_tokens: tokens.0,
                completion_tokens: tokens.1,
            })
        };
        for _ in 0..d.settings.max_steps {
            let opened = match opened.take() {
                Some(first) => first,
                None => step::open(model, self.request(&messages, &tools), &stop).await,
            };
            let step_start = text.len();
            let step = match opened {
                Ok(events) => {
                    let writer = &*self.writer;
                    step::stream(events, writer, &stop, &mut text, &mut checkpoints, &mut tokens).await
                }
                Err(ended) => ended,
            };
            match step {
                Step::Answered => {
                    let answer =
                        (!text.is_empty()).then(|| NewMessage::new(MessageKind::Ai, text).with_usage(usage(tokens)));
                    checkpoints.finish(answer).await;
                    return Outcome::Answered;
                }
                Step::ToolCalls(calls) => {
                    checkpoints.flush(&text).await;
                    messages.push(ChatMessage::assistant_with_tools(&text[step_start..], calls.clone()));
                    match self.run_tools(&calls, &stop, &gate, &tools).await {
                        Ran::Results(results) => messages.extend(results),
                        Ran::Asked(approvals) => return self.ask(checkpoints, text, &approvals, usage(tokens)).await,
                        Ran::Stopped => return interrupted(checkpoints, text, Outcome::Stopped, usage(tokens)).await,
                        Ran::Failed => return interrupted(checkpoints, text, Outcome::Failed, usage(tokens)).await,
                    }
                }
                Step::Failed(e) => {
                    tracing::warn!(error = %e, "model failed");
                    let error = format!("The assistant could not answer: {}", e.user_message());
                    publish(&*self.writer, TurnEvent::Error { error }).await;
                    return interrupted(checkpoints, text, Outcome::Failed, usage(tokens)).await;
                }
                Step::Stopped => return interrupted(checkpoints, text, Outcome::Stopped, usage(tokens)).await,
            }
        }
        let error = format!(
            "The assistant stopped after {} tool steps without an answer",
            d.settings.max_steps
        );
        publish(&*self.writer, TurnEvent::Error { error }).await;
        interrupted(checkpoints, text, Outcome::Failed, usage(tokens)).await
    }

    /// Everything before the first token but the draft: the reads (done together: they all
    /// sit before it), the context, and the model's first step opened.
    async fn first_step(&self, model: &dyn ChatModel, stop: &step::StopSignal) -> Result<FirstStep, StoreError> {
        let d = &self.deps;
        let tools = async {
            match &d.tools {
                Some(t) => t
                    .tools_for_message(self.user, &self.human.content)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "toolkits unavailable, answering without tools");
                        Vec::new()
                    }),
                None => Vec::new(),
            }
        };
        let recalled = async {
            match &self.recalled {
                Some(recalled) => recalled.clone(),
                None => recall(d, self.user, self.conversation.id, &self.human.content).await,
            }
        };
        let page = Page {
            limit: Some(d.settings.history_limit),
            before: None,
        };
        let history = async {
            let (history, took) = super::timed(d.store.list_messages(self.user, self.conversation.id, page)).await;
            d.record(Stage::History, took);
            history
        };
        let gate = Gate::load(d, self.user);
        let ((tools, recalled, history, gate), reads) =
            super::timed(async { futures::join!(tools, recalled, history, gate) }).await;
        d.record(Stage::Reads, reads);
        if let Some(timing) = recalled.timing {
            d.record(Stage::RecallEmbedding, timing.embedding);
            d.record(Stage::VectorSearch, timing.search);
        }
        let building = std::time::Instant::now();
        let tools = gate.offered(tools, self.resume.as_ref());
        let history = match &self.resume {
            Some(resume) => resume.history(history?),
            None => history?,
        };
        let mut messages = context::build(
            &d.settings,
            &self.conversation,
            &tools,
            &recalled.memories,
            &recalled.messages,
            &history,
        );
        messages.extend(self.resume.iter().flat_map(|r| r.messages.iter().cloned()));
        let request = self.request(&messages, &tools);
        d.record(Stage::RequestBuild, building.elapsed());
        let (opened, connect) = super::timed(step::open(model, request, stop)).await;
        if opened.is_ok() {
            d.record(Stage::ProviderConnect, connect);
        }
        Ok(FirstStep {
            tools,
            gate,
            messages,
            opened,
        })
    }

    /// The request of a step: the context so far, the tools offered, the conversation's chosen
    /// model (else the adapter's default).
    fn request(&self, messages: &[ChatMessage], tools: &[crate::model::ToolSpec]) -> ChatRequest {
        let mut request = ChatRequest::new(messages.to_vec()).with_tools(tools.to_vec());
        request.model = self.conversation.model.clone();
        request
    }

    /// Stores a tool result as it comes (the answer itself goes through its checkpoints).
    pub(super) async fn persist(&self, kind: MessageKind, content: String) {
        let message = NewMessage::new(kind, crate::text::storable_form(content));
        if let Err(e) = self
            .deps
            .store
            .append_message(self.user, self.conversation.id, &message)
            .await
        {
            // The person saw the answer; it is only missing from the history.
            tracing::error!(error = %e, kind = kind.as_str(), "could not persist a message");
        }
    }
}

/// What recall finds for `question` (nothing without recall, or when it fails: the turn answers
/// without it).
pub(super) async fn recall(d: &Deps, user: UserId, conversation: ConversationId, question: &str) -> Recalled {
    match &d.recall {
        Some(r) => r.recall(user, conversation, question, 5).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "recall failed, answering without it");
            Recalled::default()
        }),
        None => Recalled::default(),
    }
}

/// Stores what was streamed of an interrupted answer, marked; nothing when nothing was said.
async fn interrupted(checkpoints: Checkpoints, text: String, outcome: Outcome, usage: Option<Usage>) -> Outcome {
    let answer = (!text.trim().is_empty()).then(|| {
        let mark = if outcome == Outcome::Stopped {
            STOPPED_MARK
        } else {
            FAILED_MARK
        };
        NewMessage::new(MessageKind::Ai, text + mark).with_usage(usage)
    });
    checkpoints.finish(answer).await;
    outcome
}

/// The answer to an idempotent retry: the stored messages that followed the original.
pub(super) async fn replay_stored_reply(deps: Arc<Deps>, writer: Box<dyn RunWriter>, user: UserId, human: Message) {
    match deps.store.list_messages(user, human.conversation_id, Page::all()).await {
        Ok(all) => {
            let after = all.iter().skip_while(|m| m.id != human.id).skip(1);
            for m in after.take_while(|m| m.kind != MessageKind::Human) {
                let event = match m.kind {
                    MessageKind::Tool => TurnEvent::Tool {
                        content: m.content.clone(),
                    },
                    _ => TurnEvent::Assistant {
                        content: m.content.clone(),
                    },
                };
                publish(&*writer, event).await;
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "could not read the stored reply");
            publish(
                &*writer,
                TurnEvent::Error {
                    error: "Storage is unavailable, try again".into(),
                },
            )
            .await;
        }
    }
    publish(&*writer, TurnEvent::LastChunk { stopped: false }).await;
    writer.finish().await;
}
