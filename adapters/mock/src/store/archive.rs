//! [`ArchiveStore`] in memory.

use super::{MemoryStore, next, stored, to_usize};
use meai_core::store::{ArchiveStore, ImportKey, Imported, ImportedConversation};
use meai_core::*;

#[async_trait::async_trait]
impl ArchiveStore for MemoryStore {
    async fn conversations_page(
        &self,
        user: UserId,
        after: Option<ConversationId>,
        limit: u64,
    ) -> Result<Vec<Conversation>, StoreError> {
        let s = self.state();
        Ok(s.conversations
            .values()
            .filter(|c| c.user_id == user && after.is_none_or(|a| c.id > a))
            .take(to_usize(limit))
            .cloned()
            .collect())
    }

    async fn messages_page(
        &self,
        user: UserId,
        conversation: ConversationId,
        after: Option<MessageId>,
        limit: u64,
    ) -> Result<Vec<Message>, StoreError> {
        let s = self.state();
        s.conversation(user, conversation)?;
        Ok(s.messages
            .get(&conversation)
            .map(|log| {
                log.values()
                    .filter(|m| after.is_none_or(|a| m.id > a))
                    .take(to_usize(limit))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn import_conversation(
        &self,
        user: UserId,
        key: &ImportKey,
        imported: &ImportedConversation,
    ) -> Result<Imported, StoreError> {
        let mut s = self.state();
        if !s.users.contains_key(&user) {
            return Err(StoreError::NotFound);
        }
        let slot = (user, key.as_str().to_owned());
        if let Some(&existing) = s.imports.get(&slot)
            && s.conversation(user, existing).is_ok()
        {
            return Ok(Imported::Existing(existing));
        }
        let conversation = Conversation {
            id: ConversationId(next(&mut s.next_id.conversation)),
            user_id: user,
            title: imported.title.clone(),
            summary: imported.summary.clone(),
            model: None,
            created_at: stored(imported.created_at),
            updated_at: stored(imported.updated_at),
        };
        let mut messages: Vec<Message> = Vec::with_capacity(imported.messages.len());
        for (m, parent) in imported.messages.iter().zip(imported.parents()) {
            let parent_id = parent.map(|p| messages[p].id);
            messages.push(Message {
                id: MessageId(next(&mut s.next_id.message)),
                conversation_id: conversation.id,
                user_id: user,
                kind: m.kind,
                content: m.content.clone(),
                client_message_id: None,
                parent_id,
                usage: None,
                created_at: stored(m.created_at),
            });
        }
        if let Some(leaf) = imported.leaf() {
            s.leaves.insert(conversation.id, messages[leaf].id);
        }
        s.conversations.insert(conversation.id, conversation.clone());
        s.messages
            .insert(conversation.id, messages.iter().map(|m| (m.id, m.clone())).collect());
        s.imports.insert(slot, conversation.id);
        Ok(Imported::New { conversation, messages })
    }
}
