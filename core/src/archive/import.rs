//! The import: meAI's own export, or ChatGPT's `conversations.json`.
//!
//! The whole file is parsed and checked first: a malformed one is refused with its first
//! problem (where it is, and what is wrong) and nothing is written. Then each item is imported
//! on its own, a conversation with all its messages in one transaction, so an item that fails
//! leaves nothing behind. Importing the same file again creates nothing new: conversations are
//! keyed by where they came from, memories by their text. What is imported is indexed for
//! recall at once.

use super::chatgpt;
use super::format::{self, ExportDocument, ExportedConversation};
use super::shape;
use crate::memory::Memory;
use crate::store::{ImportKey, Imported, ImportedConversation, ImportedMessage, ImportedParent, Remembered, Store};
use crate::{ConversationId, MemoryId, MemoryOrigin, MemorySource, Message, MessageKind, StoreError, Title, UserId};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Imported messages are embedded in batches of this many.
const INDEX_BATCH: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// A meAI export (`"format": "meai-export"`).
    Meai,
    /// ChatGPT's `conversations.json`.
    Chatgpt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Conversation,
    Memory,
    Profile,
    MemorySettings,
    ToolkitConnection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Imported,
    Skipped,
    Failed,
}

/// What happened to one item of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportItem {
    pub kind: ItemKind,
    /// The item's id in the file (a ChatGPT conversation id, an exported id, a toolkit slug).
    pub source_id: String,
    pub title: Option<String>,
    pub outcome: Outcome,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
    /// Where it is now (or already was).
    pub conversation_id: Option<ConversationId>,
    pub memory_id: Option<MemoryId>,
    /// Messages imported.
    pub messages: u32,
    /// Messages left out, by reason.
    pub left_out: BTreeMap<String, u32>,
    /// Whether the imported messages were indexed for recall (`None` when nothing was imported).
    pub indexed: Option<bool>,
}

impl ImportItem {
    fn new(kind: ItemKind, source_id: impl Into<String>) -> Self {
        Self {
            kind,
            source_id: source_id.into(),
            title: None,
            outcome: Outcome::Imported,
            reason: None,
            conversation_id: None,
            memory_id: None,
            messages: 0,
            left_out: BTreeMap::new(),
            indexed: None,
        }
    }

    fn skipped(mut self, reason: impl Into<String>) -> Self {
        self.outcome = Outcome::Skipped;
        self.reason = Some(reason.into());
        self
    }

    fn failed(mut self, reason: impl Into<String>) -> Self {
        self.outcome = Outcome::Failed;
        self.reason = Some(reason.into());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub format: ImportFormat,
    pub items: Vec<ImportItem>,
}

impl ImportReport {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.items.iter().filter(|i| i.outcome == outcome).count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not what it should be; nothing was imported.
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Store(StoreError),
}

/// The first problem of a file that does not parse: where, and what. `objects` are where the
/// format has objects ([`shape`]).
fn parse<T: DeserializeOwned>(bytes: &[u8], what: &str, objects: &[&str]) -> Result<T, ImportError> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ImportError::Malformed(format!("{what} is not valid: {e}")))?;
    if let Some(at) = shape::not_an_object(&doc, objects) {
        return Err(ImportError::Malformed(format!(
            "{what} is not valid at `{at}`: expected an object"
        )));
    }
    let value: T = serde_path_to_error::deserialize(&doc).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!(" at `{path}`")
        };
        ImportError::Malformed(format!("{what} is not valid{at}: {}", e.inner()))
    })?;
    Ok(value)
}

fn store_failure(e: StoreError) -> Result<(), ImportError> {
    match e {
        StoreError::Backend(_) => Err(ImportError::Store(e)),
        _ => Ok(()),
    }
}

#[derive(Clone)]
pub struct Import {
    store: Arc<dyn Store>,
    memory: Memory,
}

impl Import {
    pub fn new(store: Arc<dyn Store>, memory: Memory) -> Self {
        Self { store, memory }
    }

    /// Imports `bytes` for `user`: a meAI export (a JSON object) or ChatGPT's
    /// `conversations.json` (a JSON list).
    #[tracing::instrument(skip_all, fields(user_id = %user, bytes = bytes.len()))]
    pub async fn run(&self, user: UserId, bytes: &[u8], now: DateTime<Utc>) -> Result<ImportReport, ImportError> {
        let report = match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => {
                let conversations: Vec<chatgpt::Conversation> = parse(bytes, "conversations.json", shape::CHATGPT)?;
                self.chatgpt(user, conversations, now).await?
            }
            Some(b'{') => {
                let document: ExportDocument = parse(bytes, "The export", shape::EXPORT)?;
                if document.format != format::FORMAT {
                    return Err(ImportError::Malformed(format!(
                        "`format` must be {:?}, not {:?}",
                        format::FORMAT,
                        document.format
                    )));
                }
                if !(1..=format::VERSION).contains(&document.version) {
                    return Err(ImportError::Malformed(format!(
                        "the export is version {}; this server reads version {} and older",
                        document.version,
                        format::VERSION
                    )));
                }
                self.meai(user, document).await?
            }
            _ => {
                return Err(ImportError::Malformed(
                    "expected a meAI export (a JSON object) or ChatGPT's conversations.json (a JSON list)".into(),
                ));
            }
        };
        tracing::info!(
            imported = report.count(Outcome::Imported),
            skipped = report.count(Outcome::Skipped),
            failed = report.count(Outcome::Failed),
            "import done"
        );
        Ok(report)
    }

    async fn chatgpt(
        &self,
        user: UserId,
        conversations: Vec<chatgpt::Conversation>,
        now: DateTime<Utc>,
    ) -> Result<ImportReport, ImportError> {
        let mut items = Vec::with_capacity(conversations.len());
        for (i, c) in conversations.iter().enumerate() {
            let source = c.source_id().map_or_else(|| format!("#{}", i + 1), str::to_owned);
            let mut item = ImportItem::new(ItemKind::Conversation, source);
            item.title = c.title.clone();
            let converted = match c.convert(now) {
                Ok(converted) => converted,
                Err(reason) => {
                    items.push(item.failed(reason));
                    continue;
                }
            };
            item.title = converted.title.clone();
            item.left_out = converted.left_out.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
            let (item, _) = self
                .conversation(user, item, &converted.key, &converted.conversation)
                .await?;
            items.push(item);
        }
        Ok(ImportReport {
            format: ImportFormat::Chatgpt,
            items,
        })
    }

    async fn meai(&self, user: UserId, document: ExportDocument) -> Result<ImportReport, ImportError> {
        let mut items = Vec::new();
        let me = self.store.get_user(user).await.map_err(ImportError::Store)?;
        let same_person = document
            .profile
            .as_ref()
            .is_some_and(|p| p.email.eq_ignore_ascii_case(me.email.as_str()));
        if let Some(p) = &document.profile {
            items.push(
                ImportItem::new(ItemKind::Profile, p.user_id.to_string())
                    .skipped("your profile comes from how you sign in"),
            );
        }
        if document.memory_settings.is_some() {
            items.push(
                ImportItem::new(ItemKind::MemorySettings, "memory_settings")
                    .skipped("settings are not imported: turn memory on or off yourself"),
            );
        }
        for c in &document.toolkit_connections {
            items.push(
                ImportItem::new(ItemKind::ToolkitConnection, c.toolkit_slug.clone())
                    .skipped("connect the toolkit again (credentials are never exported)"),
            );
        }
        // Exported message id -> the message it became, for memories' sources.
        let mut moved: HashMap<i64, Message> = HashMap::new();
        for c in &document.conversations {
            let mut item = ImportItem::new(ItemKind::Conversation, c.conversation_id.to_string());
            item.title = c.title.clone();
            if same_person && self.already_here(user, c).await? {
                item.conversation_id = Some(ConversationId(c.conversation_id));
                items.push(item.skipped("already in this account"));
                continue;
            }
            let conversation = match exported_conversation(c) {
                Ok(conversation) => conversation,
                Err(reason) => {
                    items.push(item.failed(reason));
                    continue;
                }
            };
            let key = format!("meai:{}@{}", c.conversation_id, c.created_at.to_rfc3339());
            let (item, stored) = self.conversation(user, item, &key, &conversation).await?;
            for (exported, message) in c.messages.iter().zip(stored) {
                moved.insert(exported.message_id, message);
            }
            items.push(item);
        }
        for m in &document.memories {
            let mut item = ImportItem::new(ItemKind::Memory, m.memory_id.to_string());
            item.title = Some(m.content.clone());
            let source = m
                .source_message_id
                .and_then(|id| moved.get(&id))
                .map(|msg| MemorySource {
                    message_id: msg.id,
                    conversation_id: msg.conversation_id,
                });
            match self
                .memory
                .add_memory(user, &m.content, MemoryOrigin::Imported, source)
                .await
            {
                Ok(Remembered::New(fact)) => {
                    item.memory_id = Some(fact.id);
                    items.push(item);
                }
                Ok(Remembered::Duplicate(fact)) => {
                    item.memory_id = Some(fact.id);
                    items.push(item.skipped("already remembered"));
                }
                Err(crate::memory::MemoryError::Invalid(reason)) => items.push(item.failed(reason)),
                Err(crate::memory::MemoryError::Store(StoreError::Conflict(reason))) => {
                    items.push(item.skipped(reason))
                }
                Err(crate::memory::MemoryError::Store(e)) => return Err(ImportError::Store(e)),
                Err(other) => items.push(item.failed(other.to_string())),
            }
        }
        Ok(ImportReport {
            format: ImportFormat::Meai,
            items,
        })
    }

    /// Whether the person's own export names a conversation they still have.
    async fn already_here(&self, user: UserId, c: &ExportedConversation) -> Result<bool, ImportError> {
        match self
            .store
            .get_conversation(user, ConversationId(c.conversation_id))
            .await
        {
            Ok(found) => Ok(found.created_at == c.created_at),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(ImportError::Store(e)),
        }
    }

    /// Stores one conversation (or finds it imported before) and indexes its messages.
    async fn conversation(
        &self,
        user: UserId,
        mut item: ImportItem,
        key: &str,
        conversation: &ImportedConversation,
    ) -> Result<(ImportItem, Vec<Message>), ImportError> {
        if conversation.messages.is_empty() {
            return Ok((item.skipped("no messages to import"), Vec::new()));
        }
        let Some(key) = ImportKey::parse(key) else {
            return Ok((item.failed("its id is too long"), Vec::new()));
        };
        match self.store.import_conversation(user, &key, conversation).await {
            Ok(Imported::New { conversation, messages }) => {
                item.conversation_id = Some(conversation.id);
                item.messages = messages.len() as u32;
                let mut indexed = true;
                for batch in messages.chunks(INDEX_BATCH) {
                    if let Err(error) = self.memory.index(batch).await {
                        tracing::warn!(%error, "imported messages not indexed (recall misses them until `meai reindex`)");
                        indexed = false;
                        break;
                    }
                }
                item.indexed = Some(indexed);
                Ok((item, messages))
            }
            Ok(Imported::Existing(id)) => {
                item.conversation_id = Some(id);
                Ok((item.skipped("imported before"), Vec::new()))
            }
            Err(e) => {
                store_failure(e)?;
                Ok((item.failed("it could not be stored"), Vec::new()))
            }
        }
    }
}

/// An exported conversation as the store takes it, or why it cannot be.
fn exported_conversation(c: &ExportedConversation) -> Result<ImportedConversation, String> {
    let mut messages = Vec::with_capacity(c.messages.len());
    // Exported id -> index, for the parents (always earlier messages).
    let mut index: HashMap<i64, usize> = HashMap::new();
    for (i, m) in c.messages.iter().enumerate() {
        let kind = MessageKind::parse(&m.kind)
            .ok_or_else(|| format!("message {} has the unknown type {:?}", m.message_id, m.kind))?;
        let parent = match m.parent_id {
            None => ImportedParent::Previous,
            Some(None) => ImportedParent::Root,
            Some(Some(p)) => ImportedParent::At(*index.get(&p).ok_or_else(|| {
                format!(
                    "message {} follows {p}, which is not an earlier message of it",
                    m.message_id
                )
            })?),
        };
        index.insert(m.message_id, i);
        messages.push(ImportedMessage {
            kind,
            content: m.content.clone(),
            created_at: m.created_at,
            parent,
        });
    }
    let active_leaf = match c.active_leaf_id {
        Some(leaf) => Some(
            *index
                .get(&leaf)
                .ok_or_else(|| format!("its active leaf {leaf} is not one of its messages"))?,
        ),
        None => None,
    };
    let title = match c.title.as_deref() {
        Some(t) => Some(Title::parse(t).map_err(|e| format!("its title: {e}"))?),
        None => None,
    };
    Ok(ImportedConversation {
        title,
        summary: c.summary_text.clone(),
        created_at: c.created_at,
        updated_at: c.updated_at,
        messages,
        active_leaf,
    })
}
