//! The export, streamed: the document is written section by section, and the big sections page
//! through the store, so memory stays bounded however much a person has.

use super::format::*;
use crate::consent::{ActionFilter, ActionOutcome, ActionRecord, PolicyRule};
use crate::store::Store;
use crate::{
    ActionId, ConversationId, MemoryFact, MemoryId, Message, MessageId, Page, StoreError, ToolPolicyId, UserId,
};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::Serialize;
use std::sync::Arc;

/// Pieces of JSON text that together make one JSON value.
pub type Fragments = BoxStream<'static, Result<String, ExportError>>;

/// Rows read per store call while exporting.
const PAGE: u64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not write the export: {0}")]
    Json(#[from] serde_json::Error),
}

/// One section of the document: a key and the producer of its value.
pub trait ExportSection: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn produce(&self, user: UserId) -> Fragments;
}

fn json<T: Serialize>(value: &T) -> Result<String, ExportError> {
    Ok(serde_json::to_string(value)?)
}

/// A section that is one small value.
fn single<T: Serialize + Send + 'static>(
    value: impl std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
) -> Fragments {
    stream::once(async move { json(&value.await?) }).boxed()
}

/// A JSON array of the items `pages` yields (each page already serialized), with its brackets
/// and commas.
fn array(pages: BoxStream<'static, Result<Vec<String>, ExportError>>) -> Fragments {
    let mut first = true;
    let items = pages.map_ok(move |page| {
        let mut out = String::new();
        for item in page {
            if !std::mem::take(&mut first) {
                out.push(',');
            }
            out.push_str(&item);
        }
        out
    });
    stream::once(async { Ok("[".to_owned()) })
        .chain(items)
        .chain(stream::once(async { Ok("]".to_owned()) }))
        .boxed()
}

/// Pages of a keyset read: `fetch(after)` until it returns fewer than [`PAGE`] rows.
fn pages<T, K, F, Fut>(fetch: F, key: fn(&T) -> K, to_json: fn(&T) -> Result<String, ExportError>) -> Fragments
where
    T: Send + 'static,
    K: Copy + Send + 'static,
    F: Fn(Option<K>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<T>, StoreError>> + Send + 'static,
{
    let pages = stream::try_unfold((Some(None::<K>), fetch), move |(after, fetch)| async move {
        let Some(after) = after else { return Ok(None) };
        let rows = fetch(after).await?;
        let next = (rows.len() as u64 == PAGE).then(|| rows.last().map(key)).flatten();
        let page = rows.iter().map(to_json).collect::<Result<Vec<_>, _>>()?;
        Ok(Some((page, (next.map(Some), fetch))))
    })
    .try_filter(|page| std::future::ready(!page.is_empty()))
    .boxed();
    array(pages)
}

struct Profile(Arc<dyn Store>);

impl ExportSection for Profile {
    fn name(&self) -> &'static str {
        "profile"
    }

    fn produce(&self, user: UserId) -> Fragments {
        let store = self.0.clone();
        single(async move {
            let u = store.get_user(user).await?;
            Ok(ExportedProfile {
                user_id: u.id.0,
                email: u.email.to_string(),
                name: u.name,
                avatar_url: u.avatar_url,
                auth_method: u.auth_method.as_str().to_owned(),
                created_at: u.created_at,
            })
        })
    }
}

struct MemorySettings(Arc<dyn Store>);

impl ExportSection for MemorySettings {
    fn name(&self) -> &'static str {
        "memory_settings"
    }

    fn produce(&self, user: UserId) -> Fragments {
        let store = self.0.clone();
        single(async move {
            let s = store.memory_switch(user).await?;
            Ok(ExportedMemorySettings {
                enabled: s.enabled,
                changed_at: s.changed_at,
            })
        })
    }
}

fn memory_json(m: &MemoryFact) -> Result<String, ExportError> {
    json(&ExportedMemory {
        memory_id: m.id.0,
        content: m.content.as_str().to_owned(),
        origin: m.origin.as_str().to_owned(),
        source_message_id: m.source.map(|s| s.message_id.0),
        source_conversation_id: m.source.map(|s| s.conversation_id.0),
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

struct Memories(Arc<dyn Store>);

impl ExportSection for Memories {
    fn name(&self) -> &'static str {
        "memories"
    }

    fn produce(&self, user: UserId) -> Fragments {
        let store = self.0.clone();
        let fetch = move |before: Option<MemoryId>| {
            let store = store.clone();
            async move {
                let page = Page {
                    limit: Some(PAGE),
                    before,
                };
                store.list_memories(user, page).await
            }
        };
        pages(fetch, |m: &MemoryFact| m.id, memory_json)
    }
}

struct Connections(Arc<dyn Store>);

impl ExportSection for Connections {
    fn name(&self) -> &'static str {
        "toolkit_connections"
    }

    fn produce(&self, user: UserId) -> Fragments {
        let store = self.0.clone();
        let all = async move {
            let page = store
                .list_connections(user)
                .await?
                .iter()
                .map(|c| {
                    json(&ExportedConnection {
                        toolkit_slug: c.toolkit_slug.to_string(),
                        connection_status: c.status.as_str().to_owned(),
                        last_synced_at: c.last_synced_at,
                        created_at: c.created_at,
                        updated_at: c.updated_at,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(page)
        };
        array(stream::once(all).boxed())
    }
}

struct McpServers(Arc<dyn Store>);

impl ExportSection for McpServers {
    fn name(&self) -> &'static str {
        "mcp_servers"
    }

    fn produce(&self, user: UserId) -> Fragments {
        let store = self.0.clone();
        let all = async move {
            let page = store
                .list_mcp_servers(user)
                .await?
                .into_iter()
                .map(|s| {
                    json(&ExportedMcpServer {
                        mcp_server_id: s.id.0,
                        has_token: s.has_token(),
                        name: s.name,
                        url: s.url,
                        created_at: s.created_at,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(page)
        };
        array(stream::once(all).boxed())
    }
}

fn policy_json(r: &PolicyRule) -> Result<String, ExportError> {
    json(&ExportedToolPolicy {
        toolkit: r.scope.toolkit().as_str().to_owned(),
        tool: r.scope.tool().map(|t| t.as_str().to_owned()),
        policy: r.setting.as_str().to_owned(),
        updated_at: r.updated_at,
    })
}

struct ToolPolicies(Arc<dyn Store>);

impl ExportSection for ToolPolicies {
    fn name(&self) -> &'static str {
        "tool_policies"
    }

    fn produce(&self, user: UserId) -> Fragments {
        let store = self.0.clone();
        let fetch = move |before: Option<ToolPolicyId>| {
            let store = store.clone();
            async move {
                let page = Page {
                    limit: Some(PAGE),
                    before,
                };
                store.list_tool_policies(user, page).await
            }
        };
        pages(fetch, |r: &PolicyRule| r.id, policy_json)
    }
}

fn action_json(a: &ActionRecord) -> Result<String, ExportError> {
    json(&ExportedAction {
        action_id: a.id.0,
        user_id: a.user_id.0,
        conversation_id: a.call.conversation_id.map(|c| c.0),
        message_id: a.call.message_id.map(|m| m.0),
        approval_id: a.call.approval_id.map(|a| a.0),
        toolkit: a.call.toolkit.clone(),
        tool: a.call.tool.clone(),
        arguments: a.call.arguments.clone(),
        decision: a.decision.as_str().to_owned(),
        outcome: a.outcome.as_str().to_owned(),
        error: match &a.outcome {
            ActionOutcome::Failed(e) => Some(e.clone()),
            _ => None,
        },
        provider_ids: a.provider_ids.clone(),
        created_at: a.created_at,
    })
}

struct Actions(Arc<dyn Store>);

impl ExportSection for Actions {
    fn name(&self) -> &'static str {
        "actions"
    }

    fn produce(&self, user: UserId) -> Fragments {
        let store = self.0.clone();
        let fetch = move |before: Option<ActionId>| {
            let store = store.clone();
            async move {
                let page = Page {
                    limit: Some(PAGE),
                    before,
                };
                store.list_actions(user, &ActionFilter::default(), page).await
            }
        };
        pages(fetch, |a: &ActionRecord| a.id, action_json)
    }
}

fn message_json(m: &Message) -> Result<String, ExportError> {
    json(&ExportedMessage {
        message_id: m.id.0,
        parent_id: Some(m.parent_id.map(|p| p.0)),
        kind: m.kind.as_str().to_owned(),
        content: m.content.clone(),
        created_at: m.created_at,
        usage: m.usage.as_ref().map(|u| ExportedUsage {
            model: u.model.clone(),
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        }),
    })
}

struct Conversations(Arc<dyn Store>);

impl Conversations {
    /// One conversation: its fields, then its messages streamed page by page.
    fn conversation(store: Arc<dyn Store>, user: UserId, c: crate::Conversation) -> Fragments {
        let id = c.id;
        let tree_store = store.clone();
        let opening = async move {
            let active_leaf = tree_store.message_tree(user, id).await?.active_leaf;
            let head = ExportedConversation {
                conversation_id: c.id.0,
                title: c.title.map(|t| t.as_str().to_owned()),
                summary_text: c.summary,
                created_at: c.created_at,
                updated_at: c.updated_at,
                active_leaf_id: active_leaf.map(|l| l.0),
                messages: Vec::new(),
            };
            // `..."messages":[]}` without its closing `]}`: the messages follow.
            json(&head).map(|h| h[..h.len() - 2].to_owned())
        };
        let fetch = move |after: Option<MessageId>| {
            let store = store.clone();
            async move { store.messages_page(user, id, after, PAGE).await }
        };
        let messages = pages(fetch, |m: &Message| m.id, message_json).skip(1);
        stream::once(opening)
            .chain(messages)
            .chain(stream::once(async { Ok("}".to_owned()) }))
            .boxed()
    }
}

impl ExportSection for Conversations {
    fn name(&self) -> &'static str {
        "conversations"
    }

    fn produce(&self, user: UserId) -> Fragments {
        let store = self.0.clone();
        let pages_of = stream::try_unfold(Some(None::<ConversationId>), {
            let store = store.clone();
            move |after| {
                let store = store.clone();
                async move {
                    let Some(after) = after else { return Ok(None) };
                    let rows = store.conversations_page(user, after, PAGE).await?;
                    let next = (rows.len() as u64 == PAGE)
                        .then(|| rows.last().map(|c| Some(c.id)))
                        .flatten();
                    Ok::<_, ExportError>(Some((rows, next)))
                }
            }
        });
        let mut first = true;
        let each = pages_of
            .map_ok(move |rows| stream::iter(rows.into_iter().map(Ok::<_, ExportError>)))
            .try_flatten()
            .map_ok(move |c| {
                let comma = if std::mem::take(&mut first) { "" } else { "," };
                stream::once(async move { Ok(comma.to_owned()) })
                    .chain(Self::conversation(store.clone(), user, c))
                    .boxed()
            })
            .try_flatten();
        stream::once(async { Ok("[".to_owned()) })
            .chain(each)
            .chain(stream::once(async { Ok("]".to_owned()) }))
            .boxed()
    }
}

/// The export use case: the document's sections, in order.
#[derive(Clone)]
pub struct Export {
    sections: Arc<Vec<Arc<dyn ExportSection>>>,
}

impl Export {
    /// The sections this build knows (profile, memory settings, memories, toolkit connections,
    /// MCP servers, tool policies, the action log, conversations with every message).
    pub fn new(store: Arc<dyn Store>) -> Self {
        let sections: Vec<Arc<dyn ExportSection>> = vec![
            Arc::new(Profile(store.clone())),
            Arc::new(MemorySettings(store.clone())),
            Arc::new(Memories(store.clone())),
            Arc::new(Connections(store.clone())),
            Arc::new(McpServers(store.clone())),
            Arc::new(ToolPolicies(store.clone())),
            Arc::new(Actions(store.clone())),
            Arc::new(Conversations(store)),
        ];
        Self {
            sections: Arc::new(sections),
        }
    }

    /// Adds a section (written before the conversations, which stay last as the largest).
    pub fn with_section(self, section: Arc<dyn ExportSection>) -> Self {
        let mut sections: Vec<_> = self.sections.iter().cloned().collect();
        sections.insert(sections.len().saturating_sub(1), section);
        Self {
            sections: Arc::new(sections),
        }
    }

    pub fn section_names(&self) -> Vec<&'static str> {
        self.sections.iter().map(|s| s.name()).collect()
    }

    /// The whole document for `user`, as a stream of JSON text. An error mid-stream ends it
    /// (the document is then incomplete, and invalid JSON: never mistaken for a whole export).
    pub fn document(&self, user: UserId, now: chrono::DateTime<chrono::Utc>) -> Fragments {
        let header = serde_json::json!({
            "format": FORMAT,
            "version": VERSION,
            "exported_at": now,
            "sections": self.section_names(),
        })
        .to_string();
        let opening = header[..header.len() - 1].to_owned();
        let body = stream::iter(self.sections.iter().cloned().collect::<Vec<_>>()).flat_map(move |section| {
            stream::once(std::future::ready(
                json(&section.name()).map(|name| format!(",{name}:")),
            ))
            .chain(section.produce(user))
        });
        stream::once(async move { Ok(opening) })
            .chain(body)
            .chain(stream::once(async { Ok("}".to_owned()) }))
            .boxed()
    }
}
