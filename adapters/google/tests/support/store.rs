//! Just enough of a Store for sign-in: users, revocations and logins in memory.
//! (Swap for `meai_mock::MemoryStore` once that crate lands.)

use chrono::{DateTime, Utc};
use meai_core::session::TokenId;
use meai_core::store::*;
use meai_core::*;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct LoginOnlyStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    users: Vec<User>,
    revoked: HashMap<TokenId, DateTime<Utc>>,
    logins: HashMap<String, PendingLogin>,
}

impl LoginOnlyStore {
    pub fn user_count(&self) -> usize {
        self.inner.lock().unwrap().users.len()
    }
}

#[async_trait::async_trait]
impl UserStore for LoginOnlyStore {
    async fn upsert_user(&self, profile: &NewUser, login_at: DateTime<Utc>) -> Result<User, StoreError> {
        let mut inner = self.inner.lock().unwrap();
        let next_id = UserId(inner.users.len() as i64 + 1);
        if let Some(u) = inner.users.iter_mut().find(|u| u.email == profile.email) {
            u.name = profile.name.clone();
            u.avatar_url = profile.avatar_url.clone();
            u.auth_method = profile.auth_method;
            u.last_login = Some(login_at);
            return Ok(u.clone());
        }
        let user = User {
            id: next_id,
            email: profile.email.clone(),
            name: profile.name.clone(),
            avatar_url: profile.avatar_url.clone(),
            auth_method: profile.auth_method,
            last_login: Some(login_at),
            created_at: login_at,
        };
        inner.users.push(user.clone());
        Ok(user)
    }

    async fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        let inner = self.inner.lock().unwrap();
        inner
            .users
            .iter()
            .find(|u| u.id == id)
            .cloned()
            .ok_or(StoreError::NotFound)
    }
}

#[async_trait::async_trait]
impl RevocationStore for LoginOnlyStore {
    async fn revoke_token(&self, id: &TokenId, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        self.inner.lock().unwrap().revoked.insert(id.clone(), expires_at);
        Ok(())
    }

    async fn is_token_revoked(&self, id: &TokenId) -> Result<bool, StoreError> {
        Ok(self.inner.lock().unwrap().revoked.contains_key(id))
    }

    async fn purge_revocations(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut inner = self.inner.lock().unwrap();
        let before = inner.revoked.len();
        inner.revoked.retain(|_, exp| *exp >= now);
        Ok((before - inner.revoked.len()) as u64)
    }
}

#[async_trait::async_trait]
impl LoginStore for LoginOnlyStore {
    async fn put_login(&self, login: &PendingLogin) -> Result<(), StoreError> {
        self.inner
            .lock()
            .unwrap()
            .logins
            .insert(login.state.clone(), login.clone());
        Ok(())
    }

    async fn take_login(&self, state: &str, now: DateTime<Utc>) -> Result<Option<PendingLogin>, StoreError> {
        let login = self.inner.lock().unwrap().logins.remove(state);
        Ok(login.filter(|l| l.expires_at > now))
    }
}

#[async_trait::async_trait]
impl Store for LoginOnlyStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

const UNUSED: &str = "not used by sign-in tests";

#[async_trait::async_trait]
impl ConversationStore for LoginOnlyStore {
    async fn create_conversation(&self, _: UserId, _: Option<&Title>) -> Result<Conversation, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn list_conversations(&self, _: UserId, _: Page<ConversationId>) -> Result<Vec<Conversation>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn get_conversation(&self, _: UserId, _: ConversationId) -> Result<Conversation, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn rename_conversation(&self, _: UserId, _: ConversationId, _: &Title) -> Result<Conversation, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn set_summary(&self, _: UserId, _: ConversationId, _: &str) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn delete_conversation(&self, _: UserId, _: ConversationId) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
}

#[async_trait::async_trait]
impl MessageStore for LoginOnlyStore {
    async fn append_message(&self, _: UserId, _: ConversationId, _: &NewMessage) -> Result<Message, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn list_messages(
        &self,
        _: UserId,
        _: ConversationId,
        _: Page<MessageId>,
    ) -> Result<Vec<Message>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn delete_message(&self, _: UserId, _: ConversationId, _: MessageId) -> Result<(), StoreError> {
        unimplemented!("{UNUSED}")
    }
}

#[async_trait::async_trait]
impl ConnectionStore for LoginOnlyStore {
    async fn put_connection(&self, _: UserId, _: &NewConnection) -> Result<ToolkitConnection, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn list_connections(&self, _: UserId) -> Result<Vec<ToolkitConnection>, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn get_connection(&self, _: UserId, _: &ToolkitSlug) -> Result<ToolkitConnection, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn get_connection_by_request(&self, _: UserId, _: &str) -> Result<ToolkitConnection, StoreError> {
        unimplemented!("{UNUSED}")
    }
    async fn update_connection(
        &self,
        _: UserId,
        _: ConnectionId,
        _: &ConnectionUpdate,
    ) -> Result<ToolkitConnection, StoreError> {
        unimplemented!("{UNUSED}")
    }
}
