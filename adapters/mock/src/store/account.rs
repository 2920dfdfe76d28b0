//! [`AccountStore`] in memory.

use super::MemoryStore;
use meai_core::store::{AccountStore, Removed};
use meai_core::*;

#[async_trait::async_trait]
impl AccountStore for MemoryStore {
    async fn delete_account(&self, user: UserId) -> Result<Vec<Removed>, StoreError> {
        let mut s = self.state();
        if s.users.remove(&user).is_none() {
            return Err(StoreError::NotFound);
        }
        let mine: Vec<ConversationId> = s
            .conversations
            .values()
            .filter(|c| c.user_id == user)
            .map(|c| c.id)
            .collect();
        let messages: usize = mine
            .iter()
            .filter_map(|c| s.messages.remove(c))
            .map(|log| log.len())
            .sum();
        s.conversations.retain(|_, c| c.user_id != user);
        let count = |before: usize, after: usize| (before - after) as u64;
        let (c0, m0, e0, i0) = (
            s.connections.len(),
            s.memories.len(),
            s.extracted.len(),
            s.imports.len(),
        );
        s.connections.retain(|_, c| c.user_id != user);
        s.memories.retain(|_, m| m.user_id != user);
        s.extracted.retain(|_, owner| *owner != user);
        s.imports.retain(|(owner, _), _| *owner != user);
        let switch = u64::from(s.switches.remove(&user).is_some());
        let consent = s.consent.user_deleted(user);
        let drafts = s.drafts.len();
        s.drafts.retain(|_, d| d.user_id != user);
        let drafts = (drafts - s.drafts.len()) as u64;
        let mut removed = vec![
            Removed {
                what: "conversations",
                rows: mine.len() as u64,
            },
            Removed {
                what: "messages",
                rows: messages as u64,
            },
            Removed {
                what: "memories",
                rows: count(m0, s.memories.len()),
            },
            Removed {
                what: "memory_extractions",
                rows: count(e0, s.extracted.len()),
            },
            Removed {
                what: "memory_settings",
                rows: switch,
            },
            Removed {
                what: "toolkit_connections",
                rows: count(c0, s.connections.len()),
            },
            Removed {
                what: "import_keys",
                rows: count(i0, s.imports.len()),
            },
        ];
        removed.extend(consent.into_iter().map(|(what, rows)| Removed { what, rows }));
        removed.push(Removed {
            what: "answer_drafts",
            rows: drafts,
        });
        removed.push(Removed {
            what: "mcp_servers",
            rows: s.mcp.user_deleted(user),
        });
        removed.push(Removed { what: "users", rows: 1 });
        Ok(removed)
    }
}
