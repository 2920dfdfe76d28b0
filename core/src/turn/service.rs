//! The `Turns` use case: start a turn, attach to its run, stop it.

use super::run::{Turn, replay_stored_reply};
use super::{Attachment, Recall, RunError, RunId, RunRegistry, ToolExecutor, TurnSettings};
use crate::model::ChatModel;
use crate::{ClientMessageId, ConversationId, CoreError, Message, MessageKind, NewMessage, Page, Store, UserId};
use futures::future::BoxFuture;
use std::sync::Arc;

/// A message a person sends.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    pub content: String,
    /// Makes the send idempotent: the same id again does not start a second answer.
    pub client_message_id: Option<ClientMessageId>,
}

/// A started turn. The core does not spawn: the edge runs `work` on its executor, and
/// listeners [`Turns::attach`] to the run to receive its events.
pub struct StartedTurn {
    pub run: RunId,
    /// The stored human message.
    pub human: Message,
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
    pub settings: TurnSettings,
}

/// The assistant turn, for one signed-in user at a time.
#[derive(Clone)]
pub struct Turns {
    deps: Arc<Deps>,
}

fn run_error(e: RunError) -> CoreError {
    match e {
        RunError::Active => CoreError::Conflict(BUSY.into()),
        RunError::Backend(m) => CoreError::Internal(format!("run registry: {m}")),
    }
}

impl Turns {
    /// `model` is `None` when no provider is configured: turns then end with an `error` event.
    pub fn new(
        store: Arc<dyn Store>,
        runs: Arc<dyn RunRegistry>,
        model: Option<Arc<dyn ChatModel>>,
        settings: TurnSettings,
    ) -> Self {
        Self {
            deps: Arc::new(Deps {
                store,
                runs,
                model,
                summary_model: None,
                tools: None,
                recall: None,
                settings,
            }),
        }
    }

    fn with(self, f: impl FnOnce(&mut Deps)) -> Self {
        let mut deps = Arc::try_unwrap(self.deps).unwrap_or_else(|_| panic!("configure Turns before cloning it"));
        f(&mut deps);
        Self { deps: Arc::new(deps) }
    }

    /// Tools from the user's toolkits.
    pub fn with_tools(self, tools: Arc<dyn ToolExecutor>) -> Self {
        self.with(|d| d.tools = Some(tools))
    }

    /// Semantic recall of earlier messages.
    pub fn with_recall(self, recall: Arc<dyn Recall>) -> Self {
        self.with(|d| d.recall = Some(recall))
    }

    /// A (cheaper) model for titles and summaries.
    pub fn with_summary_model(self, model: impl Into<String>) -> Self {
        let model = model.into();
        self.with(|d| d.summary_model = Some(model))
    }

    /// Stores the human message and starts the run that answers it.
    ///
    /// Refused with `Conflict` while the conversation has an active run ([`BUSY`]); the
    /// message is then not stored.
    #[tracing::instrument(skip_all, fields(user_id = %user, conversation_id = %conversation))]
    pub async fn start(
        &self,
        user: UserId,
        conversation: ConversationId,
        request: TurnRequest,
    ) -> Result<StartedTurn, CoreError> {
        let d = &self.deps;
        let content = request.content.trim();
        if content.is_empty() {
            return Err(CoreError::Invalid("Message content is required".into()));
        }
        if content.chars().count() > d.settings.max_message_chars {
            return Err(CoreError::Invalid(format!(
                "Message content must be at most {} characters",
                d.settings.max_message_chars
            )));
        }
        let conv = d
            .store
            .get_conversation(user, conversation)
            .await
            .map_err(CoreError::store("Conversation"))?;
        let writer = d.runs.begin(conversation, user).await.map_err(run_error)?;
        // Durable before anything else happens: even if the model fails, the question is kept.
        // (On error the writer is dropped, which ends the run.)
        let message = NewMessage {
            kind: MessageKind::Human,
            content: content.to_owned(),
            client_message_id: request.client_message_id.clone(),
        };
        let human = d
            .store
            .append_message(user, conversation, &message)
            .await
            .map_err(CoreError::store("Conversation"))?;
        let run = writer.run();
        let deps = self.deps.clone();
        if request.client_message_id.is_some() && !is_latest(d, user, &human).await? {
            // A retry of a message that was already answered (or is being answered): resend the
            // stored reply instead of answering twice.
            tracing::info!(message_id = %human.id, "duplicate message, replaying the stored reply");
            let replayed = human.clone();
            return Ok(StartedTurn {
                run,
                human,
                work: Box::pin(replay_stored_reply(deps, writer, user, replayed)),
            });
        }
        let turn = Turn {
            deps,
            writer,
            user,
            conversation: conv,
            human: human.clone(),
        };
        Ok(StartedTurn {
            run,
            human,
            work: Box::pin(turn.run()),
        })
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
        self.deps.runs.attach(conversation, after_seq).await.map_err(run_error)
    }

    /// Asks the conversation's active run to stop; false when none is active.
    pub async fn stop(&self, user: UserId, conversation: ConversationId) -> Result<bool, CoreError> {
        self.owned(user, conversation).await?;
        self.deps.runs.request_stop(conversation).await.map_err(run_error)
    }

    /// The active run of the conversation, if any.
    pub async fn active(&self, user: UserId, conversation: ConversationId) -> Result<Option<RunId>, CoreError> {
        self.owned(user, conversation).await?;
        self.deps.runs.active(conversation).await.map_err(run_error)
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

/// Whether `message` is the newest message of its conversation (a fresh insert is; a replayed
/// idempotent one that was answered is not).
async fn is_latest(d: &Deps, user: UserId, message: &Message) -> Result<bool, CoreError> {
    let last = d
        .store
        .list_messages(
            user,
            message.conversation_id,
            Page {
                limit: Some(1),
                before: None,
            },
        )
        .await
        .map_err(CoreError::store("Conversation"))?;
    Ok(last.last().is_none_or(|m| m.id == message.id))
}
