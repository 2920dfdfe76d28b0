//! Small in-memory fakes for the turn tests: a store holding conversations and messages, a
//! scripted chat model, and a toolkit.

use chrono::Utc;
use futures::StreamExt;
use meai_core::model::{ChatEvent, ChatModel, ChatRequest, ChatStream, ModelError, ToolCall, ToolSpec, chat_channel};
use meai_core::session::TokenId;
use meai_core::store::*;
use meai_core::turn::{ToolError, ToolExecutor};
use meai_core::*;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct MemStore {
    pub conversations: Mutex<Vec<Conversation>>,
    pub messages: Mutex<Vec<Message>>,
}

impl MemStore {
    pub fn with_conversation(user: UserId) -> (Arc<Self>, ConversationId) {
        let s = Arc::new(Self::default());
        let now = Utc::now();
        let id = ConversationId(1);
        s.conversations.lock().unwrap().push(Conversation {
            id,
            user_id: user,
            title: None,
            summary: None,
            created_at: now,
            updated_at: now,
        });
        (s, id)
    }

    pub fn kinds_and_contents(&self) -> Vec<(MessageKind, String)> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .map(|m| (m.kind, m.content.clone()))
            .collect()
    }

    pub fn conversation(&self, id: ConversationId) -> Conversation {
        self.conversations
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .unwrap()
    }
}

#[async_trait::async_trait]
impl UserStore for MemStore {
    async fn upsert_user(&self, _: &NewUser, _: chrono::DateTime<Utc>) -> Result<User, StoreError> {
        unimplemented!()
    }
    async fn get_user(&self, _: UserId) -> Result<User, StoreError> {
        unimplemented!()
    }
}

#[async_trait::async_trait]
impl ConversationStore for MemStore {
    async fn create_conversation(&self, _: UserId, _: Option<&Title>) -> Result<Conversation, StoreError> {
        unimplemented!()
    }
    async fn list_conversations(&self, _: UserId, _: Page<ConversationId>) -> Result<Vec<Conversation>, StoreError> {
        unimplemented!()
    }
    async fn get_conversation(&self, user: UserId, id: ConversationId) -> Result<Conversation, StoreError> {
        let cs = self.conversations.lock().unwrap();
        cs.iter()
            .find(|c| c.id == id && c.user_id == user)
            .cloned()
            .ok_or(StoreError::NotFound)
    }
    async fn rename_conversation(
        &self,
        user: UserId,
        id: ConversationId,
        title: &Title,
    ) -> Result<Conversation, StoreError> {
        let mut cs = self.conversations.lock().unwrap();
        let c = cs
            .iter_mut()
            .find(|c| c.id == id && c.user_id == user)
            .ok_or(StoreError::NotFound)?;
        c.title = Some(title.clone());
        Ok(c.clone())
    }
    async fn set_summary(&self, user: UserId, id: ConversationId, summary: &str) -> Result<(), StoreError> {
        let mut cs = self.conversations.lock().unwrap();
        let c = cs
            .iter_mut()
            .find(|c| c.id == id && c.user_id == user)
            .ok_or(StoreError::NotFound)?;
        c.summary = Some(summary.into());
        Ok(())
    }
    async fn delete_conversation(&self, _: UserId, _: ConversationId) -> Result<(), StoreError> {
        unimplemented!()
    }
}

#[async_trait::async_trait]
impl MessageStore for MemStore {
    async fn append_message(
        &self,
        user: UserId,
        conversation: ConversationId,
        m: &NewMessage,
    ) -> Result<Message, StoreError> {
        self.get_conversation(user, conversation).await?;
        let mut ms = self.messages.lock().unwrap();
        if let Some(cid) = &m.client_message_id
            && let Some(existing) = ms.iter().find(|x| x.client_message_id.as_ref() == Some(cid))
        {
            return Ok(existing.clone());
        }
        let msg = Message {
            id: MessageId(ms.len() as i64 + 1),
            conversation_id: conversation,
            user_id: user,
            kind: m.kind,
            content: m.content.clone(),
            client_message_id: m.client_message_id.clone(),
            created_at: Utc::now(),
        };
        ms.push(msg.clone());
        Ok(msg)
    }
    async fn list_messages(
        &self,
        user: UserId,
        conversation: ConversationId,
        page: Page<MessageId>,
    ) -> Result<Vec<Message>, StoreError> {
        self.get_conversation(user, conversation).await?;
        let ms = self.messages.lock().unwrap();
        let all: Vec<Message> = ms
            .iter()
            .filter(|m| m.conversation_id == conversation)
            .cloned()
            .collect();
        let limit = page.limit.map_or(all.len(), |l| l as usize);
        Ok(all[all.len().saturating_sub(limit)..].to_vec())
    }
    async fn delete_message(&self, _: UserId, _: ConversationId, _: MessageId) -> Result<(), StoreError> {
        unimplemented!()
    }
}

#[async_trait::async_trait]
impl ConnectionStore for MemStore {
    async fn put_connection(&self, _: UserId, _: &NewConnection) -> Result<ToolkitConnection, StoreError> {
        unimplemented!()
    }
    async fn list_connections(&self, _: UserId) -> Result<Vec<ToolkitConnection>, StoreError> {
        unimplemented!()
    }
    async fn get_connection(&self, _: UserId, _: &ToolkitSlug) -> Result<ToolkitConnection, StoreError> {
        unimplemented!()
    }
    async fn get_connection_by_request(&self, _: UserId, _: &str) -> Result<ToolkitConnection, StoreError> {
        unimplemented!()
    }
    async fn update_connection(
        &self,
        _: UserId,
        _: ConnectionId,
        _: &ConnectionUpdate,
    ) -> Result<ToolkitConnection, StoreError> {
        unimplemented!()
    }
}

#[async_trait::async_trait]
impl RevocationStore for MemStore {
    async fn revoke_token(&self, _: &TokenId, _: chrono::DateTime<Utc>) -> Result<(), StoreError> {
        unimplemented!()
    }
    async fn is_token_revoked(&self, _: &TokenId) -> Result<bool, StoreError> {
        unimplemented!()
    }
    async fn purge_revocations(&self, _: chrono::DateTime<Utc>) -> Result<u64, StoreError> {
        unimplemented!()
    }
}

#[async_trait::async_trait]
impl LoginStore for MemStore {
    async fn put_login(&self, _: &PendingLogin) -> Result<(), StoreError> {
        unimplemented!()
    }
    async fn take_login(&self, _: &str, _: chrono::DateTime<Utc>) -> Result<Option<PendingLogin>, StoreError> {
        unimplemented!()
    }
}

#[async_trait::async_trait]
impl Store for MemStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// One scripted answer: items sent with a pause between them; `hang` keeps the stream open
/// after the last item (a stalled provider) until the consumer drops it.
#[derive(Clone, Default)]
pub struct Script {
    pub items: Vec<Result<ChatEvent, ModelError>>,
    pub pace: Duration,
    pub hang: bool,
}

impl Script {
    pub fn text(chunks: &[&str]) -> Self {
        let mut items: Vec<_> = chunks.iter().map(|c| Ok(ChatEvent::TextDelta(c.to_string()))).collect();
        items.push(Ok(ChatEvent::Finished(meai_core::model::FinishReason::Stop)));
        Self {
            items,
            ..Default::default()
        }
    }

    pub fn tools(calls: Vec<ToolCall>) -> Self {
        Self {
            items: vec![
                Ok(ChatEvent::ToolCalls(calls)),
                Ok(ChatEvent::Finished(meai_core::model::FinishReason::ToolCalls)),
            ],
            ..Default::default()
        }
    }
}

/// Answers each call with the next script (or "ok" when out of scripts); records requests.
#[derive(Default)]
pub struct ScriptedModel {
    pub scripts: Mutex<VecDeque<Script>>,
    pub requests: Mutex<Vec<ChatRequest>>,
    /// Set when a consumer dropped a stream before it ended (the upstream request was cancelled).
    pub dropped: Arc<AtomicBool>,
}

impl ScriptedModel {
    pub fn new(scripts: Vec<Script>) -> Arc<Self> {
        Arc::new(Self {
            scripts: Mutex::new(scripts.into()),
            ..Default::default()
        })
    }
}

#[async_trait::async_trait]
impl ChatModel for ScriptedModel {
    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ModelError> {
        self.requests.lock().unwrap().push(request);
        let script = self
            .scripts
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Script::text(&["ok"]));
        let (tx, stream) = chat_channel();
        let dropped = self.dropped.clone();
        tokio::spawn(async move {
            for item in script.items {
                if !script.pace.is_zero() {
                    tokio::time::sleep(script.pace).await;
                }
                if !tx.send(item) {
                    dropped.store(true, Ordering::SeqCst);
                    return;
                }
            }
            if script.hang {
                while !tx.is_closed() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                dropped.store(true, Ordering::SeqCst);
            }
        });
        Ok(stream.boxed())
    }

    fn model_name(&self) -> &str {
        "scripted"
    }
}

/// A toolkit with two tools; `GMAIL_FETCH` waits a little so parallelism shows.
#[derive(Default)]
pub struct FakeToolkit {
    pub running: AtomicUsize,
    pub max_parallel: AtomicUsize,
}

#[async_trait::async_trait]
impl ToolExecutor for FakeToolkit {
    async fn tools_for(&self, _: UserId) -> Result<Vec<ToolSpec>, ToolError> {
        let schema = serde_json::json!({"type": "object", "properties": {"q": {"type": "string"}}});
        Ok(vec![
            ToolSpec::new("GMAIL_FETCH", "Fetch e-mails", schema.clone()),
            ToolSpec::new("GOOGLECALENDAR_LIST", "List events", schema),
        ])
    }

    async fn execute(&self, _: UserId, call: &ToolCall) -> Result<String, ToolError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_parallel.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        match call.name.as_str() {
            "GMAIL_FETCH" => Ok(format!(
                "2 new e-mails about {}",
                call.arguments["q"].as_str().unwrap_or("?")
            )),
            "GOOGLECALENDAR_LIST" => Ok("1 meeting at 10:00".into()),
            other => Err(ToolError::Unknown(other.into())),
        }
    }
}
