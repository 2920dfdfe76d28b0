//! Branches of a conversation: edit a question or regenerate an answer (each a sibling of the
//! original, answered as Server-Sent Events like `POST .../messages`), read the whole tree, and
//! choose the branch shown.

use super::chat::{AnswerStream, answer_stream};
use super::conversations::MessageOut;
use super::session::Authenticated;
use super::{ApiError, ApiTags};
use crate::state::AppState;
use crate::turn_start::{self, Asked, SendMessage};
use meai_core::{ConversationId, MessageId};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{Object, OpenApi, payload::Json};

pub struct BranchesApi;

/// Messages per page of the tree without `limit`.
const DEFAULT_TREE_PAGE: u64 = 200;

/// Every message of a conversation, each with its place in the tree.
#[derive(Debug, Object)]
struct TreeOut {
    /// The last message of the branch shown (null for an empty conversation).
    #[oai(nullable)]
    active_leaf_id: Option<i64>,
    /// Oldest first, every branch.
    messages: Vec<MessageOut>,
    /// Pass as `after` for the next page; absent on the last one.
    #[oai(skip_serializing_if_is_none)]
    next_after: Option<i64>,
}

/// The message whose branch to show.
#[derive(Debug, Object)]
struct ActiveIn {
    /// A message of the conversation: the branch shown becomes the one through it, continued
    /// by the newest reply at each step.
    message_id: i64,
}

/// The branch now shown.
#[derive(Debug, Object)]
struct ActiveOut {
    /// Its last message.
    active_leaf_id: i64,
}

#[OpenApi(tag = "ApiTags::Conversations")]
impl BranchesApi {
    /// Edit a question and stream the new answer
    ///
    /// Stores `content` as a new version of the human message `message_id` (a sibling: the
    /// original and its answers are kept), shows its branch, and answers it with Server-Sent
    /// Events exactly like `POST /conversations/{id}/messages`. 404 when the message is not in
    /// this conversation; 409 when it is not a human message, or while an answer is being
    /// written.
    #[oai(
        path = "/conversations/:conversation_id/messages/:message_id",
        method = "patch",
        operation_id = "editMessage"
    )]
    async fn edit(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The conversation's id.
        conversation_id: Path<i64>,
        /// The human message to edit.
        message_id: Path<i64>,
        body: Json<SendMessage>,
    ) -> Result<AnswerStream, ApiError> {
        let since = std::time::Instant::now();
        let (user, id) = (session.0.user_id, ConversationId(conversation_id.0));
        let asked = Asked::Edit {
            message: MessageId(message_id.0),
            body: body.0,
        };
        answer_stream(id, turn_start::start(&state, user, id, asked, since).await)
    }

    /// Regenerate an answer and stream it
    ///
    /// Answers again the question that the AI message `message_id` answered: the new answer
    /// is its sibling (the earlier ones are kept) and its branch is shown. Streams like
    /// `POST /conversations/{id}/messages`. 404 when the message is not in this conversation;
    /// 409 when it is not an AI message, or while an answer is being written.
    #[oai(
        path = "/conversations/:conversation_id/messages/:message_id/regenerate",
        method = "post",
        operation_id = "regenerateMessage"
    )]
    async fn regenerate(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The conversation's id.
        conversation_id: Path<i64>,
        /// The AI message to answer again.
        message_id: Path<i64>,
    ) -> Result<AnswerStream, ApiError> {
        let since = std::time::Instant::now();
        let (user, id) = (session.0.user_id, ConversationId(conversation_id.0));
        let asked = Asked::Regenerate {
            message: MessageId(message_id.0),
        };
        answer_stream(id, turn_start::start(&state, user, id, asked, since).await)
    }

    /// Every branch of a conversation
    ///
    /// All messages of the conversation, oldest first, `limit` per page (1-1000, default 200)
    /// after the message `after`, each with `parent_id` and `sibling_ids`, and the branch shown
    /// (`active_leaf_id`). 404 when the conversation does not exist or is someone else's.
    #[oai(
        path = "/conversations/:conversation_id/tree",
        method = "get",
        operation_id = "getMessageTree"
    )]
    async fn tree(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The conversation's id.
        conversation_id: Path<i64>,
        /// Page size (1-1000, default 200).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u64>>,
        /// Only messages newer than this message id.
        after: Query<Option<i64>>,
    ) -> Result<Json<TreeOut>, ApiError> {
        let (user, id) = (session.0.user_id, ConversationId(conversation_id.0));
        let size = limit.0.unwrap_or(DEFAULT_TREE_PAGE).clamp(1, 1000);
        let tree = state.conversations.tree(user, id).await?;
        let mut messages = state
            .conversations
            .all_messages(user, id, after.0.map(MessageId), size + 1)
            .await?;
        let more = messages.len() as u64 > size;
        messages.truncate(usize::try_from(size).unwrap_or(usize::MAX));
        let next_after = more.then(|| messages.last().map(|m| m.id.0)).flatten();
        let siblings = tree.children_by_parent();
        Ok(Json(TreeOut {
            active_leaf_id: tree.active_leaf.map(|l| l.0),
            messages: messages.into_iter().map(|m| MessageOut::placed(m, &siblings)).collect(),
            next_after,
        }))
    }

    /// Choose the branch shown
    ///
    /// Shows the branch through `message_id` (continued by the newest reply at each step):
    /// `GET /conversations/{id}/messages`, the next message's context and recall follow it.
    /// 404 when the message is not in this conversation; 409 while an answer is being written.
    #[oai(
        path = "/conversations/:conversation_id/active",
        method = "put",
        operation_id = "setActiveBranch"
    )]
    async fn set_active(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The conversation's id.
        conversation_id: Path<i64>,
        body: Json<ActiveIn>,
    ) -> Result<Json<ActiveOut>, ApiError> {
        let (user, id) = (session.0.user_id, ConversationId(conversation_id.0));
        let leaf = state
            .conversations
            .switch_branch(user, id, MessageId(body.0.message_id))
            .await?;
        Ok(Json(ActiveOut { active_leaf_id: leaf.0 }))
    }
}
