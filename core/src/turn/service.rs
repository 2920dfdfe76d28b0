//! The `Turns` use case: start a turn, attach to its run, stop it.

use super::decide;
use super::run::{Turn, replay_stored_reply};
use super::{
    Attachment, MemoryKeeper, Recall, RunEvent, RunId, RunRegistry, Stage, StageTimes, Timer, ToolExecutor,
    TurnSettings, recovery, terminal,
};
use crate::consent::Consent;
use crate::memory::Recalled;
use crate::model::ChatModel;
use crate::{
    ClientMessageId, ConversationId, CoreError, Message, MessageId, MessageKind, NewMessage, Page, Parent, Store,
    UserId,
};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use std::sync::Arc;

/// A message a person sends.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    pub content: String,
    /// Makes the send idempotent: the same id again does not start a second answer.
    pub client_message_id: Option<ClientMessageId>,
}

/// What a turn answers.
#[derive(Debug, Clone)]
pub enum Ask {
    /// A new message after the last one of the branch shown.
    Message(TurnRequest),
    /// A new version of a human message: stored beside it (a sibling branch), shown, answered.
    Edit { message: MessageId, request: TurnRequest },
    /// Another answer to the question an AI message answered, beside the earlier answers.
    Regenerate { message: MessageId },
}

impl From<TurnRequest> for Ask {
    fn from(request: TurnRequest) -> Self {
        Self::Message(request)
    }
}

/// A started turn. The core does not spawn: the edge runs `work` on its executor. The sender
/// gets the run's events from its start; other listeners [`Turns::attach`] to the run.
pub struct StartedTurn {
    pub run: RunId,
    /// The human message the run answers (the stored new one; for a decision, the one whose
    /// turn asked).
    pub human: Message,
    /// Every event of the run, from the first.
    pub events: BoxStream<'static, RunEvent>,
    /// Streams the answer, persists it, then does the background work (title, summary).
    pub work: BoxFuture<'static, ()>,
}

impl std::fmt::Debug for StartedTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartedTurn")
            .field("run", &self.run)
            .field("human", &self.human.id)
            .finish_non_exhaustive()
    }
}

/// What a second message gets while a run is active: refused, not queued, so the person sees
/// at once that the first answer is still being written (and can `stop` it).
pub const BUSY: &str = "A reply is still being generated in this conversation: wait for it to finish or stop it";

pub(super) struct Deps {
    pub store: Arc<dyn Store>,
    pub runs: Arc<dyn RunRegistry>,
    pub model: Option<Arc<dyn ChatModel>>,
    pub summary_model: Option<String>,
    pub tools: Option<Arc<dyn ToolExecutor>>,
    pub recall: Option<Arc<dyn Recall>>,
    pub memories: Option<Arc<dyn MemoryKeeper>>,
    pub timer: Option<Arc<dyn Timer>>,
    pub settings: TurnSettings,
    pub consent: Consent,
    pub stages: Option<Arc<dyn StageTimes>>,
}

impl Deps {
    pub fn record(&self, stage: Stage, took: std::time::Duration) {
        if let Some(stages) = &self.stages {
            stages.record(stage, took);
        }
    }
}

/// The assistant turn, for one signed-in user at a time. Built with [`Turns::builder`].
#[derive(Clone)]
pub struct Turns {
    pub(super) deps: Arc<Deps>,
}

/// Wires [`Turns`]: the store, the run registry and the settings are required; the model, the
/// tools, recall and a summary model are optional.
pub struct TurnsBuilder {
    deps: Deps,
}

impl TurnsBuilder {
    /// The chat model; `None` when no provider is configured: turns then end with an `error`.
    pub fn model(mut self, model: Option<Arc<dyn ChatModel>>) -> Self {
        self.deps.model = model;
        self
    }

    /// Tools from the user's toolkits.
    pub fn tools(mut self, tools: Option<Arc<dyn ToolExecutor>>) -> Self {
        self.deps.tools = tools;
        self
    }

    /// Semantic recall of earlier messages.
    pub fn recall(mut self, recall: Option<Arc<dyn Recall>>) -> Self {
        self.deps.recall = recall;
        self
    }

    /// The person's memories, extracted in the background upkeep call.
    pub fn memories(mut self, memories: Option<Arc<dyn MemoryKeeper>>) -> Self {
        self.deps.memories = memories;
        self
    }

    /// Approval policies and their ports (default: [`Consent::default`], which asks before
    /// any tool not declared read-only).
    pub fn consent(mut self, consent: Consent) -> Self {
        self.deps.consent = consent;
        self
    }

    /// The clock that paces checkpoints and bounds waits; without one, checkpoints are written as
    /// fast as the store takes them and deletes wait for the answer they stop without a bound.
    pub fn timer(mut self, timer: Arc<dyn Timer>) -> Self {
        self.deps.timer = Some(timer);
        self
    }

    /// Where the time before the first token is reported, stage by stage.
    pub fn stages(mut self, stages: Arc<dyn StageTimes>) -> Self {
        self.deps.stages = Some(stages);
        self
    }

    /// A (cheaper) model for titles and summaries.
    pub fn summary_model(mut self, model: Option<String>) -> Self {
        self.deps.summary_model = model;
        self
    }

    pub fn build(self) -> Turns {
        Turns {
            deps: Arc::new(self.deps),
        }
    }
}

impl Turns {
    pub fn builder(store: Arc<dyn Store>, runs: Arc<dyn RunRegistry>, settings: TurnSettings) -> TurnsBuilder {
        TurnsBuilder {
            deps: Deps {
                store,
                runs,
                model: None,
                summary_model: None,
                tools: None,
                recall: None,
                memories: None,
                timer: None,
                settings,
                consent: Consent::default(),
                stages: None,
            },
        }
    }

    /// Stores the human message (a new one, or an edit's) and starts the run that answers it;
    /// a regeneration answers the stored question again.
    ///
    /// Refused with `Conflict` while the conversation has an active run ([`BUSY`]); nothing is
    /// then stored.
    #[tracing::instrument(skip_all, fields(user_id = %user, conversation_id = %conversation))]
    pub async fn start(
        &self,
        user: UserId,
        conversation: ConversationId,
        ask: impl Into<Ask>,
    ) -> Result<StartedTurn, CoreError> {
        let d = &self.deps;
        let started = std::time::Instant::now();
        let ask = ask.into();
        let request = match &ask {
            Ask::Message(r) | Ask::Edit { request: r, .. } => Some(self.checked(r)?),
            Ask::Regenerate { .. } => None,
        };
        let conv = d
            .store
            .get_conversation(user, conversation)
            .await
            .map_err(CoreError::store("Conversation"))?;
        // Placed before the run begins: an unknown message takes nothing.
        let place = match &ask {
            Ask::Message(_) => Place::Next,
            Ask::Edit { message, .. } => Place::Beside(self.edited(user, conversation, *message).await?),
            Ask::Regenerate { message } => Place::Again(self.answered(user, conversation, *message).await?),
        };
        let writer = match d.runs.begin(conversation, user).await {
            Err(super::RunError::Active) => {
                // Busy, unless the run holding the conversation died with its instance.
                recovery::take_over(d, user, conversation).await?;
                d.runs.begin(conversation, user).await?
            }
            other => other?,
        };
        // A draft left here belongs to a run that died: its partial answer goes before the new
        // question. Calls waiting for a decision are looked up meanwhile (they touch neither the
        // draft nor the messages): a plain "yes" approves them, anything else declines them.
        let leftover = recovery::close_leftover(d, user, conversation, writer.run());
        let pending = async {
            match &request {
                Some(r) => decide::answer_pending(d, user, conversation, r.content.as_str()).await,
                None => Ok(Vec::new()),
            }
        };
        let (closed, approving) = futures::join!(leftover, pending);
        closed?;
        let approving = approving?;
        let (request, parent) = match (request, place) {
            (Some(request), Place::Next) => (request, Parent::Active),
            (Some(request), Place::Beside(parent)) => (request, Parent::Under(parent)),
            (_, Place::Again(question)) => {
                // The branch shown ends at the question again; the new answer goes under it.
                d.store
                    .set_active_leaf(user, conversation, question)
                    .await
                    .map_err(CoreError::store("Message"))?;
                let human = newest(d, user, conversation)
                    .await?
                    .filter(|m| m.id == question)
                    .ok_or(CoreError::NotFound("Message"))?;
                return self.answering(writer, user, conv, human).await;
            }
            (None, _) => return Err(CoreError::Invalid("Message content is required".into())),
        };
        let content = request.content.as_str();
        // Durable before anything else happens: even if the model fails, the question is kept.
        // (On error the writer is dropped, which ends the run.)
        let message = NewMessage {
            kind: MessageKind::Human,
            content: content.to_owned(),
            client_message_id: request.client_message_id.clone(),
            usage: None,
            parent,
        };
        d.record(Stage::Setup, started.elapsed());
        // Recall needs only the question's text: it runs while the question is stored (unless
        // the message decides pending calls; the decision's run recalls when it continues).
        let recall = async {
            if approving.is_empty() {
                Some(super::run::recall(d, user, conversation, content).await)
            } else {
                None
            }
        };
        let ((human, took), recalled) = futures::join!(
            super::timed(d.store.append_message(user, conversation, &message)),
            recall
        );
        let human = human.map_err(CoreError::store("Conversation"))?;
        d.record(Stage::HumanInsert, took);
        let run = writer.run();
        let events = self.sender_view(conversation).await?;
        let deps = self.deps.clone();
        if request.client_message_id.is_some() && !is_latest(d, user, &human).await? {
            // A retry of a message that was already answered (or is being answered): resend the
            // stored reply instead of answering twice.
            tracing::info!(message_id = %human.id, "duplicate message, replaying the stored reply");
            let replayed = human.clone();
            return Ok(StartedTurn {
                run,
                human,
                events,
                work: Box::pin(replay_stored_reply(deps, writer, user, replayed)),
            });
        }
        if !approving.is_empty() {
            let decided = decide::approve_all(d, user, approving).await;
            return Ok(decide::settlement(deps, writer, events, user, conv, human, decided));
        }
        Ok(self.answer(writer, events, user, conv, human, Question::New { recalled }))
    }

    /// The run answering `human` again (a regeneration), the sender attached from its start.
    /// The question is not news to the other tabs: no `human` event.
    async fn answering(
        &self,
        writer: Box<dyn super::RunWriter>,
        user: UserId,
        conversation: crate::Conversation,
        human: Message,
    ) -> Result<StartedTurn, CoreError> {
        let events = self.sender_view(conversation.id).await?;
        Ok(self.answer(writer, events, user, conversation, human, Question::Again))
    }

    /// The sender's view of the run just begun, attached before its work runs so it sees the
    /// run from its first event. The sender knows its question: the view leaves `human` out.
    async fn sender_view(&self, conversation: ConversationId) -> Result<BoxStream<'static, RunEvent>, CoreError> {
        match self.deps.runs.attach(conversation, 0).await? {
            Some(attachment) => Ok(terminal::for_sender(attachment.events)),
            None => Err(CoreError::Runs("a run just begun could not be attached".into())),
        }
    }

    /// The turn that answers `human` on the run `writer` holds.
    fn answer(
        &self,
        writer: Box<dyn super::RunWriter>,
        events: BoxStream<'static, RunEvent>,
        user: UserId,
        conversation: crate::Conversation,
        human: Message,
        question: Question,
    ) -> StartedTurn {
        let run = writer.run();
        let (announce, recalled) = match question {
            Question::New { recalled } => (true, recalled),
            Question::Again => (false, None),
        };
        let turn = Turn {
            deps: self.deps.clone(),
            writer,
            user,
            conversation,
            human: human.clone(),
            announce,
            resume: None,
            recalled,
        };
        StartedTurn {
            run,
            human,
            events,
            work: Box::pin(turn.run()),
        }
    }

    /// The request's content, checked (not blank, not too long, storable), trimmed.
    fn checked(&self, request: &TurnRequest) -> Result<TurnRequest, CoreError> {
        let content = request.content.trim();
        if content.is_empty() {
            return Err(CoreError::Invalid("Message content is required".into()));
        }
        // Counted as sent: the spec's `maxLength` says the same.
        if request.content.chars().count() > self.deps.settings.max_message_chars {
            return Err(CoreError::Invalid(format!(
                "Message content must be at most {} characters",
                self.deps.settings.max_message_chars
            )));
        }
        if !crate::text::storable(content) {
            return Err(CoreError::Invalid(crate::text::nul_refused("Message content")));
        }
        Ok(TurnRequest {
            content: content.to_owned(),
            client_message_id: request.client_message_id.clone(),
        })
    }

    /// The parent of the human message `message`, which an edit's new version goes under.
    async fn edited(
        &self,
        user: UserId,
        conversation: ConversationId,
        message: MessageId,
    ) -> Result<Option<MessageId>, CoreError> {
        let tree = self.tree(user, conversation).await?;
        match tree.kind_of(message) {
            Some(MessageKind::Human) => Ok(tree.parent_of(message)),
            Some(_) => Err(CoreError::Conflict("Only a human message can be edited".into())),
            None => Err(CoreError::NotFound("Message")),
        }
    }

    /// The question the AI message `message` answered: the nearest human message above it.
    async fn answered(
        &self,
        user: UserId,
        conversation: ConversationId,
        message: MessageId,
    ) -> Result<MessageId, CoreError> {
        let tree = self.tree(user, conversation).await?;
        match tree.kind_of(message) {
            Some(MessageKind::Ai) => {}
            Some(_) => return Err(CoreError::Conflict("Only an AI message can be regenerated".into())),
            None => return Err(CoreError::NotFound("Message")),
        }
        tree.path_to(message)
            .into_iter()
            .rev()
            .find(|id| tree.kind_of(*id) == Some(MessageKind::Human))
            .ok_or_else(|| CoreError::Conflict("This answer has no question to answer again".into()))
    }

    async fn tree(&self, user: UserId, conversation: ConversationId) -> Result<crate::MessageTree, CoreError> {
        self.deps
            .store
            .message_tree(user, conversation)
            .await
            .map_err(CoreError::store("Conversation"))
    }

    /// Attaches to the conversation's active run, or its recent one: the events after
    /// `after_seq` (0 = all), then live ones. `None` when there is no such run.
    pub async fn attach(
        &self,
        user: UserId,
        conversation: ConversationId,
        after_seq: u64,
    ) -> Result<Option<Attachment>, CoreError> {
        self.owned(user, conversation).await?;
        let attachment = self.deps.runs.attach(conversation, after_seq).await?;
        Ok(attachment.map(|a| Attachment {
            events: terminal::with_end(a.events),
            ..a
        }))
    }

    /// Asks the conversation's active run to stop; false when none is active.
    pub async fn stop(&self, user: UserId, conversation: ConversationId) -> Result<bool, CoreError> {
        self.owned(user, conversation).await?;
        self.deps.runs.request_stop(conversation).await.map_err(CoreError::from)
    }

    /// Stops the conversation's answer, if one is being written, and waits for it to end (at
    /// most [`TurnSettings::stop_wait`]): what a delete does first.
    pub async fn stop_and_wait(&self, user: UserId, conversation: ConversationId) -> Result<(), CoreError> {
        self.owned(user, conversation).await?;
        super::stopping::stop_and_wait(&self.deps, conversation).await
    }

    /// The active run of the conversation, if any.
    pub async fn active(&self, user: UserId, conversation: ConversationId) -> Result<Option<RunId>, CoreError> {
        self.owned(user, conversation).await?;
        self.deps.runs.active(conversation).await.map_err(CoreError::from)
    }

    /// Closes the runs whose writer died (a crash, `kill -9`, an instance gone): each partial
    /// answer is stored once with [`super::LOST_MARK`], its listeners get `error` and
    /// `last_chunk`, and its conversation is free at once. Run at start-up and now and then;
    /// returns how many were closed.
    pub async fn recover(&self) -> Result<usize, CoreError> {
        recovery::recover(&self.deps).await
    }

    /// Runs are keyed by conversation only; ownership is checked here, once, for every caller.
    async fn owned(&self, user: UserId, conversation: ConversationId) -> Result<(), CoreError> {
        self.deps
            .store
            .get_conversation(user, conversation)
            .await
            .map_err(CoreError::store("Conversation"))?;
        Ok(())
    }
}

/// Where the question of a turn is.
enum Place {
    /// A new message after the active leaf.
    Next,
    /// An edit: a new message under this parent.
    Beside(Option<MessageId>),
    /// A regeneration: this stored question.
    Again(MessageId),
}

/// The question a run answers.
enum Question {
    /// Just stored (a new message or an edit): news to the other tabs; what recall found
    /// meanwhile (`None`: it did not run, and the run's first step recalls).
    New { recalled: Option<Recalled> },
    /// Asked before (a regeneration): the other tabs have it; the run recalls.
    Again,
}

/// The last message of the branch shown.
async fn newest(d: &Deps, user: UserId, conversation: ConversationId) -> Result<Option<Message>, CoreError> {
    let last = d
        .store
        .list_messages(
            user,
            conversation,
            Page {
                limit: Some(1),
                before: None,
            },
        )
        .await
        .map_err(CoreError::store("Conversation"))?;
    Ok(last.into_iter().last())
}

/// Whether `message` ends the branch shown (a fresh insert does; a replayed idempotent one
/// that was answered does not).
async fn is_latest(d: &Deps, user: UserId, message: &Message) -> Result<bool, CoreError> {
    let last = newest(d, user, message.conversation_id).await?;
    Ok(last.is_none_or(|m| m.id == message.id))
}
