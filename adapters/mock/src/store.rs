//! [`MemoryStore`]: the whole Store port in process memory.

mod account;
mod archive;
mod consent;
mod mcp;
mod memories;

use chrono::{DateTime, SubsecRound, Utc};
use meai_core::session::TokenId;
use meai_core::store::*;
use meai_core::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// The Store port in memory: same rules as the SQL adapter (user scoping, idempotent appends,
/// keyset pages), no persistence. Clones share one state.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    clock: Clock,
    next_id: Ids,
    users: BTreeMap<UserId, User>,
    conversations: BTreeMap<ConversationId, Conversation>,
    /// Per conversation, in id (= insertion) order.
    messages: HashMap<ConversationId, BTreeMap<MessageId, Message>>,
    /// Each conversation's active leaf, once one was set.
    leaves: HashMap<ConversationId, MessageId>,
    drafts: BTreeMap<DraftId, Draft>,
    connections: BTreeMap<ConnectionId, ToolkitConnection>,
    revoked: HashMap<String, DateTime<Utc>>,
    session_cutoffs: HashMap<UserId, DateTime<Utc>>,
    logins: HashMap<String, PendingLogin>,
    memories: BTreeMap<MemoryId, MemoryFact>,
    /// Messages memories were extracted from, with their owner.
    extracted: HashMap<MessageId, UserId>,
    switches: HashMap<UserId, MemorySwitch>,
    /// Import keys per user, with the conversation each created.
    imports: HashMap<(UserId, String), ConversationId>,
    /// Tool policies, approvals and the action log.
    consent: consent::ConsentState,
    mcp: mcp::McpState,
}

/// Id sequences, one per table, starting at 1 like the databases'.
#[derive(Debug, Default)]
struct Ids {
    user: i64,
    conversation: i64,
    message: i64,
    draft: i64,
    connection: i64,
    memory: i64,
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// `t` at the precision the SQL stores keep, so values compare the same way against either.
fn stored(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

fn next(seq: &mut i64) -> i64 {
    *seq += 1;
    *seq
}

/// Wall-clock time at the databases' microsecond precision, never repeating or going back,
/// so orderings by time are as deterministic as the SQL stores make them.
#[derive(Debug, Default)]
struct Clock {
    last: Option<DateTime<Utc>>,
}

impl Clock {
    fn now(&mut self) -> DateTime<Utc> {
        let now = stored(Utc::now());
        let now = match self.last {
            Some(last) if now <= last => last + chrono::Duration::microseconds(1),
            _ => now,
        };
        self.last = Some(now);
        now
    }
}

impl State {
    /// Appends a message and bumps the conversation's activity (idempotent on the client's key).
    fn append(
        &mut self,
        user: UserId,
        conversation: ConversationId,
        message: &NewMessage,
    ) -> Result<Message, StoreError> {
        self.conversation(user, conversation)?;
        if let Some(key) = &message.client_message_id {
            let existing = self
                .messages
                .get(&conversation)
                .and_then(|log| log.values().find(|m| m.client_message_id.as_ref() == Some(key)));
            if let Some(existing) = existing {
                return Ok(existing.clone());
            }
        }
        let parent_id = match message.parent {
            Parent::Active => self.tree(conversation).active_leaf,
            Parent::Under(None) => None,
            Parent::Under(Some(p)) if self.tree(conversation).contains(p) => Some(p),
            Parent::Under(Some(_)) => return Err(StoreError::NotFound),
        };
        let now = self.clock.now();
        let stored = Message {
            id: MessageId(next(&mut self.next_id.message)),
            conversation_id: conversation,
            user_id: user,
            kind: message.kind,
            content: message.content.clone(),
            client_message_id: message.client_message_id.clone(),
            parent_id,
            usage: message.usage.clone(),
            created_at: now,
        };
        self.messages
            .entry(conversation)
            .or_default()
            .insert(stored.id, stored.clone());
        self.leaves.insert(conversation, stored.id);
        self.conversation_mut(user, conversation)?.updated_at = now;
        Ok(stored)
    }

    /// The conversation's tree (ownership checked by the caller).
    fn tree(&self, conversation: ConversationId) -> MessageTree {
        let nodes = self
            .messages
            .get(&conversation)
            .map(|log| {
                log.values()
                    .map(|m| TreeNode {
                        id: m.id,
                        parent: m.parent_id,
                        kind: m.kind,
                    })
                    .collect()
            })
            .unwrap_or_default();
        MessageTree::new(nodes, self.leaves.get(&conversation).copied())
    }

    fn conversation_mut(&mut self, user: UserId, id: ConversationId) -> Result<&mut Conversation, StoreError> {
        self.conversations
            .get_mut(&id)
            .filter(|c| c.user_id == user)
            .ok_or(StoreError::NotFound)
    }

    fn conversation(&self, user: UserId, id: ConversationId) -> Result<&Conversation, StoreError> {
        self.conversations
            .get(&id)
            .filter(|c| c.user_id == user)
            .ok_or(StoreError::NotFound)
    }

    fn connection_mut(&mut self, user: UserId, id: ConnectionId) -> Result<&mut ToolkitConnection, StoreError> {
        self.connections
            .get_mut(&id)
            .filter(|c| c.user_id == user)
            .ok_or(StoreError::NotFound)
    }

    fn find_connection(
        &self,
        user: UserId,
        matches: impl Fn(&ToolkitConnection) -> bool,
    ) -> Option<&ToolkitConnection> {
        self.connections.values().find(|c| c.user_id == user && matches(c))
    }
}

impl MemoryStore {
    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked mid-update poisons the lock; later assertions still want the data.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many users exist (for tests of sign-in).
    pub fn user_count(&self) -> usize {
        self.state().users.len()
    }

    /// The messages `keep` accepts, with their conversation's title, in id order (newest first
    /// with `newest_first`), at most `limit`: what [`meai_core::memory::MessageSource`] reads.
    pub(crate) fn found(
        &self,
        keep: impl Fn(&Message) -> bool,
        limit: usize,
        newest_first: bool,
    ) -> Vec<meai_core::memory::FoundMessage> {
        let s = self.state();
        let mut all: Vec<&Message> = s
            .messages
            .values()
            .flat_map(BTreeMap::values)
            .filter(|m| keep(m))
            .collect();
        all.sort_by_key(|m| m.id);
        if newest_first {
            all.reverse();
        }
        all.into_iter()
            .take(limit)
            .map(|m| meai_core::memory::FoundMessage {
                message: m.clone(),
                conversation_title: s
                    .conversations
                    .get(&m.conversation_id)
                    .and_then(|c| c.title.as_ref().map(|t| t.as_str().to_owned())),
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl UserStore for MemoryStore {
    async fn upsert_user(&self, profile: &NewUser, login_at: DateTime<Utc>) -> Result<User, StoreError> {
        let mut s = self.state();
        let existing = s.users.values_mut().find(|u| u.email == profile.email);
        if let Some(user) = existing {
            user.name.clone_from(&profile.name);
            user.avatar_url.clone_from(&profile.avatar_url);
            user.auth_method = profile.auth_method;
            user.last_login = Some(stored(login_at));
            return Ok(user.clone());
        }
        let user = User {
            id: UserId(next(&mut s.next_id.user)),
            email: profile.email.clone(),
            name: profile.name.clone(),
            avatar_url: profile.avatar_url.clone(),
            auth_method: profile.auth_method,
            last_login: Some(stored(login_at)),
            created_at: s.clock.now(),
        };
        s.users.insert(user.id, user.clone());
        Ok(user)
    }

    async fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        self.state().users.get(&id).cloned().ok_or(StoreError::NotFound)
    }
}

#[async_trait::async_trait]
impl ConversationStore for MemoryStore {
    async fn create_conversation_with_model(
        &self,
        user: UserId,
        title: Option<&Title>,
        model: Option<&str>,
    ) -> Result<Conversation, StoreError> {
        let mut s = self.state();
        if !s.users.contains_key(&user) {
            return Err(StoreError::NotFound);
        }
        let now = s.clock.now();
        let conversation = Conversation {
            id: ConversationId(next(&mut s.next_id.conversation)),
            user_id: user,
            title: title.cloned(),
            summary: None,
            model: model.map(str::to_owned),
            created_at: now,
            updated_at: now,
        };
        s.conversations.insert(conversation.id, conversation.clone());
        Ok(conversation)
    }

    async fn list_conversations(
        &self,
        user: UserId,
        page: Page<ConversationId>,
    ) -> Result<Vec<Conversation>, StoreError> {
        let s = self.state();
        let cursor = match page.before {
            Some(id) => {
                let c = s.conversation(user, id)?;
                Some((c.updated_at, c.id))
            }
            None => None,
        };
        let mut mine: Vec<&Conversation> = s
            .conversations
            .values()
            .filter(|c| c.user_id == user && cursor.is_none_or(|k| (c.updated_at, c.id) < k))
            .collect();
        mine.sort_by_key(|c| std::cmp::Reverse((c.updated_at, c.id)));
        Ok(mine
            .into_iter()
            .take(page.limit.map_or(usize::MAX, to_usize))
            .cloned()
            .collect())
    }

    async fn get_conversation(&self, user: UserId, id: ConversationId) -> Result<Conversation, StoreError> {
        self.state().conversation(user, id).cloned()
    }

    async fn rename_conversation(
        &self,
        user: UserId,
        id: ConversationId,
        title: &Title,
    ) -> Result<Conversation, StoreError> {
        let mut s = self.state();
        s.conversation(user, id)?;
        let now = s.clock.now();
        let conversation = s.conversation_mut(user, id)?;
        conversation.title = Some(title.clone());
        conversation.updated_at = now;
        Ok(conversation.clone())
    }

    async fn set_conversation_model(
        &self,
        user: UserId,
        id: ConversationId,
        model: Option<&str>,
    ) -> Result<Conversation, StoreError> {
        let mut s = self.state();
        let conversation = s.conversation_mut(user, id)?;
        conversation.model = model.map(str::to_owned);
        Ok(conversation.clone())
    }

    async fn set_summary(&self, user: UserId, id: ConversationId, summary: &str) -> Result<(), StoreError> {
        self.state().conversation_mut(user, id)?.summary = Some(summary.to_owned());
        Ok(())
    }

    async fn delete_conversation(&self, user: UserId, id: ConversationId) -> Result<(), StoreError> {
        let mut s = self.state();
        s.conversation(user, id)?;
        s.conversations.remove(&id);
        s.messages.remove(&id);
        s.leaves.remove(&id);
        s.consent.conversation_deleted(id);
        s.drafts.retain(|_, d| d.conversation_id != id);
        Ok(())
    }
}

#[async_trait::async_trait]
impl MessageStore for MemoryStore {
    async fn append_message(
        &self,
        user: UserId,
        conversation: ConversationId,
        message: &NewMessage,
    ) -> Result<Message, StoreError> {
        self.state().append(user, conversation, message)
    }

    async fn branch_page(
        &self,
        user: UserId,
        conversation: ConversationId,
        page: Page<MessageId>,
    ) -> Result<BranchPage, StoreError> {
        let s = self.state();
        s.conversation(user, conversation)?;
        let tree = s.tree(conversation);
        let messages = match s.messages.get(&conversation) {
            Some(log) => page_of(&tree.branch(), page.before, page.limit)
                .iter()
                .filter_map(|id| log.get(id).cloned())
                .collect(),
            None => Vec::new(),
        };
        Ok(BranchPage { messages, tree })
    }

    async fn delete_message(
        &self,
        user: UserId,
        conversation: ConversationId,
        id: MessageId,
    ) -> Result<Vec<MessageId>, StoreError> {
        let mut s = self.state();
        s.conversation(user, conversation)?;
        let tree = s.tree(conversation);
        let gone = tree.subtree(id);
        if gone.is_empty() {
            return Err(StoreError::NotFound);
        }
        if let Some(log) = s.messages.get_mut(&conversation) {
            log.retain(|m, _| gone.binary_search(m).is_err());
        }
        match tree.leaf_after_delete(id) {
            Some(leaf) => s.leaves.insert(conversation, leaf),
            None => s.leaves.remove(&conversation),
        };
        Ok(gone)
    }

    async fn message_tree(&self, user: UserId, conversation: ConversationId) -> Result<MessageTree, StoreError> {
        let s = self.state();
        s.conversation(user, conversation)?;
        Ok(s.tree(conversation))
    }

    async fn set_active_leaf(
        &self,
        user: UserId,
        conversation: ConversationId,
        leaf: MessageId,
    ) -> Result<(), StoreError> {
        let mut s = self.state();
        s.conversation(user, conversation)?;
        if !s.tree(conversation).contains(leaf) {
            return Err(StoreError::NotFound);
        }
        s.leaves.insert(conversation, leaf);
        Ok(())
    }
}

#[async_trait::async_trait]
impl DraftStore for MemoryStore {
    async fn open_draft(&self, user: UserId, conversation: ConversationId, run: u64) -> Result<DraftId, StoreError> {
        let mut s = self.state();
        s.conversation(user, conversation)?;
        if s.drafts.values().any(|d| d.conversation_id == conversation) {
            return Err(StoreError::Conflict("the conversation has a draft".into()));
        }
        let id = DraftId(next(&mut s.next_id.draft));
        let updated_at = s.clock.now();
        s.drafts.insert(
            id,
            Draft {
                id,
                user_id: user,
                conversation_id: conversation,
                run,
                content: String::new(),
                updated_at,
            },
        );
        Ok(id)
    }

    async fn save_draft(&self, user: UserId, draft: DraftId, content: &str) -> Result<(), StoreError> {
        let mut s = self.state();
        let now = s.clock.now();
        let d = s
            .drafts
            .get_mut(&draft)
            .filter(|d| d.user_id == user)
            .ok_or(StoreError::NotFound)?;
        d.content = content.to_owned();
        d.updated_at = now;
        Ok(())
    }

    async fn finish_draft(
        &self,
        user: UserId,
        draft: DraftId,
        message: Option<&NewMessage>,
    ) -> Result<Option<Message>, StoreError> {
        let mut s = self.state();
        let conversation = match s.drafts.get(&draft) {
            Some(d) if d.user_id == user => d.conversation_id,
            _ => return Err(StoreError::NotFound),
        };
        s.drafts.remove(&draft);
        message.map(|m| s.append(user, conversation, m)).transpose()
    }

    async fn conversation_draft(
        &self,
        user: UserId,
        conversation: ConversationId,
    ) -> Result<Option<Draft>, StoreError> {
        let s = self.state();
        s.conversation(user, conversation)?;
        Ok(s.drafts.values().find(|d| d.conversation_id == conversation).cloned())
    }

    async fn all_drafts(&self, limit: u64) -> Result<Vec<Draft>, StoreError> {
        Ok(self.state().drafts.values().take(to_usize(limit)).cloned().collect())
    }
}

#[async_trait::async_trait]
impl ConnectionStore for MemoryStore {
    async fn put_connection(&self, user: UserId, connection: &NewConnection) -> Result<ToolkitConnection, StoreError> {
        let mut s = self.state();
        if !s.users.contains_key(&user) {
            return Err(StoreError::NotFound);
        }
        let now = s.clock.now();
        let existing = s
            .find_connection(user, |c| c.toolkit_slug == connection.toolkit_slug)
            .map(|c| (c.id, c.created_at));
        // Replacing keeps the row (its id and created_at) and resets everything a sync learnt.
        let (id, created_at) = match existing {
            Some(kept) => kept,
            None => (ConnectionId(next(&mut s.next_id.connection)), now),
        };
        let stored = ToolkitConnection {
            id,
            user_id: user,
            toolkit_slug: connection.toolkit_slug.clone(),
            status: connection.status,
            connected_account_id: connection.connected_account_id.clone(),
            auth_config_id: connection.auth_config_id.clone(),
            connection_request_id: connection.connection_request_id.clone(),
            last_synced_at: None,
            error_message: None,
            created_at,
            updated_at: now,
        };
        s.connections.insert(id, stored.clone());
        Ok(stored)
    }

    async fn list_connections(&self, user: UserId) -> Result<Vec<ToolkitConnection>, StoreError> {
        Ok(self
            .state()
            .connections
            .values()
            .filter(|c| c.user_id == user)
            .cloned()
            .collect())
    }

    async fn get_connection(&self, user: UserId, toolkit: &ToolkitSlug) -> Result<ToolkitConnection, StoreError> {
        self.state()
            .find_connection(user, |c| &c.toolkit_slug == toolkit)
            .cloned()
            .ok_or(StoreError::NotFound)
    }

    async fn get_connection_by_request(
        &self,
        user: UserId,
        connection_request_id: &str,
    ) -> Result<ToolkitConnection, StoreError> {
        self.state()
            .find_connection(user, |c| {
                c.connection_request_id.as_deref() == Some(connection_request_id)
            })
            .cloned()
            .ok_or(StoreError::NotFound)
    }

    async fn update_connection(
        &self,
        user: UserId,
        id: ConnectionId,
        update: &ConnectionUpdate,
    ) -> Result<ToolkitConnection, StoreError> {
        let mut s = self.state();
        s.connection_mut(user, id)?;
        let now = s.clock.now();
        let connection = s.connection_mut(user, id)?;
        connection.status = update.status;
        // A sync that did not see an account keeps the one already known.
        if let Some(account) = &update.connected_account_id {
            connection.connected_account_id = Some(account.clone());
        }
        connection.error_message.clone_from(&update.error_message);
        connection.last_synced_at = Some(stored(update.synced_at));
        connection.updated_at = now;
        Ok(connection.clone())
    }
}

#[async_trait::async_trait]
impl RevocationStore for MemoryStore {
    async fn revoke_token(&self, id: &TokenId, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        self.state().revoked.insert(id.as_str().to_owned(), stored(expires_at));
        Ok(())
    }

    async fn is_token_revoked(&self, id: &TokenId) -> Result<bool, StoreError> {
        Ok(self.state().revoked.contains_key(id.as_str()))
    }

    async fn live_revocations(&self, now: DateTime<Utc>) -> Result<Vec<(TokenId, DateTime<Utc>)>, StoreError> {
        let s = self.state();
        Ok(s.revoked
            .iter()
            .filter(|(_, expires_at)| **expires_at >= now)
            .map(|(id, expires_at)| (TokenId::new(id.clone()), *expires_at))
            .collect())
    }

    async fn purge_revocations(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut s = self.state();
        let before = s.revoked.len();
        s.revoked.retain(|_, expires_at| *expires_at >= now);
        Ok((before - s.revoked.len()) as u64)
    }
}

#[async_trait::async_trait]
impl UsageStore for MemoryStore {
    async fn usage(&self, user: UserId, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<UsageEntry>, StoreError> {
        let s = self.state();
        let mut sums: BTreeMap<(chrono::NaiveDate, String, ConversationId), UsageEntry> = BTreeMap::new();
        let answers = s.messages.values().flat_map(|log| log.values());
        for m in answers.filter(|m| m.user_id == user && m.created_at >= from && m.created_at < to) {
            let Some(usage) = &m.usage else { continue };
            let day = m.created_at.date_naive();
            let entry = sums
                .entry((day, usage.model.clone(), m.conversation_id))
                .or_insert_with(|| UsageEntry {
                    day,
                    model: usage.model.clone(),
                    conversation_id: m.conversation_id,
                    prompt_tokens: 0,
                    completion_tokens: 0,
                    messages: 0,
                });
            entry.prompt_tokens += u64::from(usage.prompt_tokens);
            entry.completion_tokens += u64::from(usage.completion_tokens);
            entry.messages += 1;
        }
        Ok(sums.into_values().collect())
    }
}

#[async_trait::async_trait]
impl SessionCutoffStore for MemoryStore {
    async fn end_sessions(&self, user: UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut s = self.state();
        let cutoff = s.session_cutoffs.entry(user).or_insert(stored(at));
        *cutoff = (*cutoff).max(stored(at));
        Ok(())
    }

    async fn sessions_ended_at(&self, user: UserId) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.state().session_cutoffs.get(&user).copied())
    }

    async fn session_cutoffs(&self) -> Result<Vec<(UserId, DateTime<Utc>)>, StoreError> {
        Ok(self.state().session_cutoffs.iter().map(|(u, at)| (*u, *at)).collect())
    }
}

#[async_trait::async_trait]
impl LoginStore for MemoryStore {
    async fn put_login(&self, login: &PendingLogin) -> Result<(), StoreError> {
        let mut s = self.state();
        let now = Utc::now();
        s.logins.retain(|_, l| l.expires_at >= now);
        if s.logins.contains_key(&login.state) {
            return Err(StoreError::Conflict("login state already in use".into()));
        }
        s.logins.insert(
            login.state.clone(),
            PendingLogin {
                expires_at: stored(login.expires_at),
                ..login.clone()
            },
        );
        Ok(())
    }

    async fn take_login(&self, state: &str, now: DateTime<Utc>) -> Result<Option<PendingLogin>, StoreError> {
        Ok(self.state().logins.remove(state).filter(|l| l.expires_at > now))
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
