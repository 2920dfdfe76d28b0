//! Conversations and their messages, with the original API's paths and JSON shapes.

use super::optional_json::OptionalJson;
use super::session::Authenticated;
use super::text::{NewTitleText, Text, TitleText};
use super::typed_json::{TypedJson, as_openapi};
use super::{ApiError, ApiTags};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use meai_core::{Conversation, ConversationId, Message, MessageId, MessageKind, Page, Title, TitleError};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{Enum, Object, OpenApi, payload::Json};

pub struct ConversationsApi;

/// Largest page a client may ask for.
const MAX_LIMIT: u64 = 1000;
/// Conversations per page without `limit`: the frontend's sidebar (which asks without one)
/// shows the 100 most recently active.
pub const DEFAULT_CONVERSATIONS: u64 = 100;
/// Messages per page without `limit`: the frontend (which asks without one) shows the latest
/// 200 of a conversation.
pub const DEFAULT_MESSAGES: u64 = 200;

/// A conversation of the signed-in user.
#[derive(Debug, Object, serde::Serialize)]
#[oai(example)]
pub struct ConversationOut {
    conversation_id: i64,
    user_id: i64,
    /// Null until the person or the assistant (after the first exchange) gives it one.
    #[oai(nullable)]
    title: Option<String>,
    /// The running summary the assistant keeps of the conversation; null until it has one.
    #[oai(nullable)]
    summary_text: Option<String>,
    /// The chat model its turns use (one of `GET /models`); null: the server's default.
    #[oai(nullable)]
    model: Option<String>,
    #[serde(serialize_with = "as_openapi")]
    created_at: DateTime<Utc>,
    /// Last activity (a new message or a rename); lists are sorted by it.
    #[serde(serialize_with = "as_openapi")]
    updated_at: DateTime<Utc>,
}

impl Example for ConversationOut {
    fn example() -> Self {
        Self {
            conversation_id: 42,
            user_id: 1,
            title: Some("Trip to Lisbon".into()),
            summary_text: Some("Planning a four-day trip to Lisbon in May.".into()),
            model: None,
            created_at: example_time(9, 30),
            updated_at: example_time(9, 41),
        }
    }
}

/// A fixed time on 2025-05-01 (UTC) for the spec's examples.
pub(super) fn example_time(hour: u32, minute: u32) -> DateTime<Utc> {
    use chrono::TimeZone;
    Utc.with_ymd_and_hms(2025, 5, 1, hour, minute, 0)
        .single()
        .expect("a valid example time")
}

impl From<Conversation> for ConversationOut {
    fn from(c: Conversation) -> Self {
        Self {
            conversation_id: c.id.0,
            user_id: c.user_id.0,
            title: c.title.map(|t| t.as_str().to_owned()),
            summary_text: c.summary,
            model: c.model,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A page of the user's conversations.
#[derive(Debug, Object, serde::Serialize)]
struct ConversationList {
    conversations: Vec<ConversationOut>,
    /// Pass as `before` for the next (older) page; absent on the last page (so a list that fits
    /// one page is exactly the original `{"conversations": [...]}`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<i64>,
}

/// Who wrote a message.
#[derive(Debug, Enum, serde::Serialize)]
pub enum MessageType {
    Human,
    #[oai(rename = "AI")]
    #[serde(rename = "AI")]
    Ai,
    System,
    Tool,
}

impl From<MessageKind> for MessageType {
    fn from(k: MessageKind) -> Self {
        match k {
            MessageKind::Human => Self::Human,
            MessageKind::Ai => Self::Ai,
            MessageKind::System => Self::System,
            MessageKind::Tool => Self::Tool,
        }
    }
}

/// A message of a conversation: the person's (`Human`), the assistant's (`AI`), or a tool
/// result (`Tool`).
#[derive(Debug, Object, serde::Serialize)]
#[oai(example)]
pub struct MessageOut {
    message_id: i64,
    conversation_id: i64,
    user_id: i64,
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    kind: MessageType,
    content: String,
    #[serde(serialize_with = "as_openapi")]
    created_at: DateTime<Utc>,
    /// The message before it on its branch (null for a first message).
    #[oai(nullable)]
    parent_id: Option<i64>,
    /// Every version of this place in the conversation, this message included, oldest first:
    /// the messages with the same parent (its edits, or its regenerated answers). Switch with
    /// `PUT /conversations/{id}/active`.
    sibling_ids: Vec<i64>,
}

impl Example for MessageOut {
    fn example() -> Self {
        Self {
            message_id: 7,
            conversation_id: 42,
            user_id: 1,
            kind: MessageType::Ai,
            content: "Here is a plan for your four days in Lisbon: ...".into(),
            created_at: example_time(9, 41),
            parent_id: Some(6),
            sibling_ids: vec![7, 9],
        }
    }
}

impl MessageOut {
    /// The message with its place in `tree`.
    pub(super) fn placed(m: Message, tree: &Siblings) -> Self {
        let sibling_ids = tree
            .get(&m.parent_id)
            .map(|ids| ids.iter().map(|id| id.0).collect())
            .unwrap_or_else(|| vec![m.id.0]);
        Self {
            message_id: m.id.0,
            conversation_id: m.conversation_id.0,
            user_id: m.user_id.0,
            kind: m.kind.into(),
            content: m.content,
            created_at: m.created_at,
            parent_id: m.parent_id.map(|p| p.0),
            sibling_ids,
        }
    }
}

/// A conversation's messages by parent ([`meai_core::MessageTree::children_by_parent`]).
pub(super) type Siblings = std::collections::HashMap<Option<MessageId>, Vec<MessageId>>;

/// A page of a conversation's messages, oldest first.
#[derive(Debug, Object, serde::Serialize)]
struct MessageList {
    messages: Vec<MessageOut>,
    /// Pass as `before` for the page of older messages; absent when there are none.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<i64>,
}

/// A new conversation; the body may be left out altogether.
#[derive(Debug, Object)]
struct NewConversation {
    /// Optional (the assistant titles untitled conversations after the first exchange; a blank
    /// one leaves it untitled): at most 255 characters, without U+0000.
    #[oai(nullable)]
    title: Option<Text<NewTitleText>>,
    /// Optional: the chat model of its turns, one of `GET /models` (409 otherwise: not one this
    /// server is configured with); absent or null: the server's default model.
    #[oai(nullable, validator(max_length = 200))]
    model: Option<String>,
}

/// What to change: the title, the model, or both.
#[derive(Debug, Object)]
struct ConversationPatch {
    /// The new title: 1 to 255 characters, not blank, without U+0000. Required unless `model`
    /// is given (the schema says so with `anyOf`).
    title: MaybeUndefined<Text<TitleText>>,
    /// The chat model of the next turns, one of `GET /models` (409 otherwise); null: back to
    /// the server's default; absent: unchanged.
    #[oai(nullable, validator(max_length = 200))]
    model: MaybeUndefined<String>,
}

/// What was done, for people.
#[derive(Debug, Object)]
pub(super) struct Done {
    pub message: String,
}

fn title(raw: Option<&str>) -> Result<Title, ApiError> {
    Title::parse(raw.unwrap_or_default()).map_err(|e: TitleError| ApiError::bad_request(e.to_string()))
}

/// Items per page of the other lists (memories, approvals, the action log) without `limit`.
pub(super) const DEFAULT_PAGE: u64 = 100;

/// A page of at most `limit` (1 to [`MAX_LIMIT`], default [`DEFAULT_PAGE`]) items before
/// `before`: every list is bounded, and the next page is the one before its last item.
pub(super) fn page<Id>(limit: Option<u64>, before: Option<Id>) -> Result<Page<Id>, ApiError> {
    Ok(Page {
        limit: Some(page_size(limit, DEFAULT_PAGE)?),
        before,
    })
}

/// The page size asked for (or the default), checked.
fn page_size(limit: Option<u64>, default: u64) -> Result<u64, ApiError> {
    match limit {
        Some(0) => Err(ApiError::bad_request("limit must be at least 1")),
        Some(l) if l > MAX_LIMIT => Err(ApiError::bad_request(format!("limit must be at most {MAX_LIMIT}"))),
        Some(l) => Ok(l),
        None => Ok(default),
    }
}

/// The store's page for `size` items plus one: whether the extra one comes says whether there
/// is a next page.
fn probe<Id>(size: u64, before: Option<Id>) -> Page<Id> {
    Page {
        limit: Some(size + 1),
        before,
    }
}

/// Cuts a probed list to `size` items. The extra item of a newest-first list (conversations)
/// is its last; of an oldest-first list ending at the newest (messages), its first. Returns
/// the list and the item the next (older) page comes before.
fn cut<T: Copy, I>(mut items: Vec<I>, size: u64, oldest_first: bool, id: impl Fn(&I) -> T) -> (Vec<I>, Option<T>) {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if items.len() <= size {
        return (items, None);
    }
    if oldest_first {
        items.drain(..items.len() - size);
        let next = items.first().map(&id);
        (items, next)
    } else {
        items.truncate(size);
        let next = items.last().map(&id);
        (items, next)
    }
}

#[OpenApi(tag = "ApiTags::Conversations")]
impl ConversationsApi {
    /// List conversations
    ///
    /// The user's conversations, most recently active first, 100 per page without `limit`.
    /// `next_before` is the `before` of the next page (absent on the last). The original path
    /// `/conversations/` works too.
    #[oai(path = "/conversations", method = "get", operation_id = "listConversations")]
    async fn list(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// Page size (1-1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u64>>,
        /// Continue after this conversation id (the last one of the previous page).
        before: Query<Option<i64>>,
    ) -> Result<TypedJson<ConversationList>, ApiError> {
        let size = page_size(limit.0, DEFAULT_CONVERSATIONS)?;
        let page = probe(size, before.0.map(ConversationId));
        let list = state.conversations.list(session.0.user_id, page).await?;
        let (list, next) = cut(list, size, false, |c| c.id.0);
        Ok(TypedJson(ConversationList {
            conversations: list.into_iter().map(Into::into).collect(),
            next_before: next,
        }))
    }

    /// Create a conversation
    ///
    /// Creates an empty conversation, titled if the body has a non-blank `title`; untitled ones
    /// are titled by the assistant after the first exchange. Its turns use `model` when given
    /// (one of `GET /models`), else the server's default. The body may be left out. 400 for a
    /// title that is too long or an unknown model.
    #[oai(path = "/conversations", method = "post", operation_id = "createConversation")]
    async fn create(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        body: OptionalJson<NewConversation>,
    ) -> Result<Json<ConversationOut>, ApiError> {
        let (raw_title, model) = match body.0 {
            Some(b) => (b.title.and_then(Text::into_inner), b.model),
            None => (None, None),
        };
        let title = match raw_title {
            // A blank title leaves the conversation untitled (still within the length limit).
            Some(raw) if raw.trim().is_empty() && raw.chars().count() <= Title::MAX_CHARS => None,
            Some(raw) => Some(title(Some(&raw))?),
            None => None,
        };
        let created = state
            .conversations
            .create_with_model(session.0.user_id, title, model.as_deref())
            .await?;
        Ok(Json(created.into()))
    }

    /// Messages of a conversation
    ///
    /// The branch the conversation shows (see `GET /conversations/{id}/tree` for every branch),
    /// its latest messages oldest first: `limit` of them (200 without it), before the message
    /// `before` if given. Each message names its `parent_id` and its `sibling_ids` (other
    /// versions: edits, regenerated answers). `next_before` is the `before` of the page of older
    /// messages (absent when there are none). 404 when the conversation does not exist or is
    /// someone else's.
    #[oai(
        path = "/conversations/:conversation_id/messages",
        method = "get",
        operation_id = "getMessages"
    )]
    async fn messages(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The conversation's id.
        conversation_id: Path<i64>,
        /// Page size (1-1000, default 200).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u64>>,
        /// Only messages older than this message id.
        before: Query<Option<i64>>,
    ) -> Result<TypedJson<MessageList>, ApiError> {
        let size = page_size(limit.0, DEFAULT_MESSAGES)?;
        let page = probe(size, before.0.map(MessageId));
        let (user, id) = (session.0.user_id, ConversationId(conversation_id.0));
        let shown = state.conversations.branch_page(user, id, page).await?;
        let siblings = shown.tree.children_by_parent();
        let (list, next) = cut(shown.messages, size, true, |m| m.id.0);
        Ok(TypedJson(MessageList {
            messages: list.into_iter().map(|m| MessageOut::placed(m, &siblings)).collect(),
            next_before: next,
        }))
    }

    /// Rename a conversation, or choose its model
    ///
    /// Sets the title and/or the chat model (`model`, one of `GET /models`; null: the default)
    /// and returns the conversation. 400 `Title is required` for a missing or blank title
    /// without `model`, 400 for an unknown model; 404 when the conversation does not exist or
    /// is someone else's.
    #[oai(
        path = "/conversations/:conversation_id",
        method = "patch",
        operation_id = "renameConversation"
    )]
    async fn rename(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The conversation's id.
        conversation_id: Path<i64>,
        body: Json<ConversationPatch>,
    ) -> Result<Json<ConversationOut>, ApiError> {
        let (user, id) = (session.0.user_id, ConversationId(conversation_id.0));
        let ConversationPatch {
            title: new_title,
            model,
        } = body.0;
        let new_title = match new_title {
            MaybeUndefined::Value(t) => t.into_inner(),
            MaybeUndefined::Undefined => None,
            // The original API's answer to a null title.
            MaybeUndefined::Null => return Err(ApiError::bad_request(TitleError::Empty.to_string())),
        };
        let new_title = match (new_title.as_deref(), &model) {
            // Only the model changes.
            (None, MaybeUndefined::Value(_) | MaybeUndefined::Null) => None,
            (raw, _) => Some(title(raw)?),
        };
        let mut changed = match model {
            MaybeUndefined::Value(m) => Some(state.conversations.set_model(user, id, Some(&m)).await?),
            MaybeUndefined::Null => Some(state.conversations.set_model(user, id, None).await?),
            MaybeUndefined::Undefined => None,
        };
        if let Some(t) = new_title {
            changed = Some(state.conversations.rename(user, id, t).await?);
        }
        match changed {
            Some(c) => Ok(Json(c.into())),
            None => Err(ApiError::bad_request(meai_core::TitleError::Empty.to_string())),
        }
    }

    /// Delete a conversation
    ///
    /// Deletes the conversation with all its messages.
    /// 404 when the conversation does not exist or is someone else's.
    #[oai(
        path = "/conversations/:conversation_id",
        method = "delete",
        operation_id = "deleteConversation"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The conversation's id.
        conversation_id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        let (user, id) = (session.0.user_id, ConversationId(conversation_id.0));
        state.conversations.delete(user, id).await?;
        // The local index drops vectors in the delete's transaction; an index server needs telling.
        state.memory.forget_conversation(user, id).await;
        Ok(Json(Done {
            message: "Conversation deleted successfully".into(),
        }))
    }

    /// Delete a message
    ///
    /// Deletes the message and everything after it on its branches (its subtree), with what
    /// recall kept of them; when the branch shown is cut, the conversation shows it up to the
    /// deleted message's parent. 404 when the message is not in this conversation, or the
    /// conversation does not exist or is someone else's.
    #[oai(
        path = "/conversations/:conversation_id/messages/:message_id",
        method = "delete",
        operation_id = "deleteMessage"
    )]
    async fn delete_message(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// The conversation's id.
        conversation_id: Path<i64>,
        /// The message's id.
        message_id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        let (c, m) = (ConversationId(conversation_id.0), MessageId(message_id.0));
        let gone = state.conversations.delete_message(session.0.user_id, c, m).await?;
        state.memory.forget_messages(session.0.user_id, &gone).await;
        Ok(Json(Done {
            message: "Message deleted successfully".into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use poem_openapi::types::ToJSON;

    /// Lists go out through serde ([`TypedJson`]); the spec comes from the `Object` types. Both
    /// must be the same document, nulls, absent fields, renames and timestamps included.
    fn same_encoding<T: ToJSON + serde::Serialize>(value: &T) {
        assert_eq!(serde_json::to_value(value).unwrap(), value.to_json().unwrap());
        // Byte for byte too: the order of the fields is the schema's.
        assert_eq!(
            serde_json::to_string(value).unwrap(),
            serde_json::to_string(&value.to_json().unwrap()).unwrap()
        );
    }

    #[test]
    fn message_and_conversation_lists_encode_as_their_schema_says() {
        let at = Utc::now();
        let mut first = MessageOut::example();
        first.parent_id = None;
        first.kind = MessageType::Human;
        first.content = "Tab\t, quote \", emoji 🦀, NUL-free".into();
        first.created_at = at;
        same_encoding(&MessageList {
            messages: vec![first, MessageOut::example()],
            next_before: Some(7),
        });
        same_encoding(&MessageList {
            messages: vec![],
            next_before: None,
        });
        let mut untitled = ConversationOut::example();
        untitled.title = None;
        untitled.summary_text = None;
        untitled.model = Some("gpt-4o-mini".into());
        untitled.updated_at = at;
        same_encoding(&ConversationList {
            conversations: vec![ConversationOut::example(), untitled],
            next_before: None,
        });
        same_encoding(&ConversationList {
            conversations: vec![],
            next_before: Some(3),
        });
        // Whole seconds, milli-, micro- and nanoseconds: each written with as many digits.
        for nanos in [0, 120_000_000, 123_456_000, 123_456_789] {
            let mut stamped = ConversationOut::example();
            stamped.created_at = at.with_nanosecond(nanos).unwrap();
            same_encoding(&stamped);
        }
        for kind in [
            MessageType::Human,
            MessageType::Ai,
            MessageType::System,
            MessageType::Tool,
        ] {
            same_encoding(&kind);
        }
    }

    #[test]
    fn a_probed_page_is_cut_to_size_and_says_where_the_next_begins() {
        // Newest first (conversations): the extra item is the oldest, at the end.
        assert_eq!(cut(vec![9, 8, 7], 2, false, |i| *i), (vec![9, 8], Some(8)));
        assert_eq!(cut(vec![9, 8], 2, false, |i| *i), (vec![9, 8], None));
        // Oldest first, ending at the newest (messages): the extra item is the oldest, first.
        assert_eq!(cut(vec![1, 2, 3], 2, true, |i| *i), (vec![2, 3], Some(2)));
        assert_eq!(cut(vec![2, 3], 2, true, |i| *i), (vec![2, 3], None));
        assert_eq!(cut(Vec::<i64>::new(), 2, true, |i| *i), (vec![], None));
    }
}
