//! A conversation's tree read in one round trip and one row: the stored active leaf, its
//! `tree_version`, and every message's id, parent and type packed by the database into one
//! string (`id,parent,type;...`), left out when the caller already holds the tree at that
//! version ([`crate::tree_cache`]). Every message page, every turn's history and every branch
//! switch reads the tree; as rows it was two queries and one row per message through the
//! driver, which cost more than the page. Trees asked for at the same time go in one statement.

use crate::batch::Batcher;
use crate::error::db_err;
use crate::mapping::corrupt;
use crate::tree_cache::{Shape, TreeCache};
use meai_core::{ConversationId, MessageId, MessageKind, MessageTree, StoreError, TreeNode, UserId};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use std::fmt::Write;

/// A tree asked for: the conversation, its user, and the version the caller holds.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Asked {
    conversation: i64,
    user: i64,
    known: i64,
}

/// What comes back: the leaf, the version, and the nodes unless the version is the known one.
#[derive(Clone)]
pub(crate) struct Found {
    leaf: Option<MessageId>,
    version: i64,
    nodes: Option<Vec<TreeNode>>,
}

/// Concurrent trees read outside transactions, sent together ([`crate::batch`]).
pub(crate) type TreeReads = Batcher<Asked, Found>;

/// No version is negative: asks for the packed messages.
const UNKNOWN: i64 = -1;

/// The user's conversation as a tree (`NotFound` when it is not theirs), read whole: for reads
/// inside a transaction, which must see its own changes and must not be kept.
pub(crate) async fn read(
    db: &impl ConnectionTrait,
    user: UserId,
    conversation: ConversationId,
) -> Result<MessageTree, StoreError> {
    let asked = Asked {
        conversation: conversation.0,
        user: user.0,
        known: UNKNOWN,
    };
    let mut found = query(db, std::slice::from_ref(&asked)).await?;
    let (_, found) = found.pop().ok_or(StoreError::NotFound)?;
    Ok(MessageTree::new(found.nodes.unwrap_or_default(), found.leaf))
}

/// The same, taken from `cache` while the stored version is the one kept, and kept otherwise;
/// read together with the other trees asked for at the same time.
pub(crate) async fn read_cached(
    db: &DatabaseConnection,
    cache: &TreeCache,
    reads: &TreeReads,
    user: UserId,
    conversation: ConversationId,
) -> Result<MessageTree, StoreError> {
    let kept = cache.get(conversation.0);
    let asked = Asked {
        conversation: conversation.0,
        user: user.0,
        known: kept.as_ref().map_or(UNKNOWN, |shape| shape.version),
    };
    let found = reads
        .get(asked, |asked| async move { query(db, &asked).await })
        .await?
        .ok_or(StoreError::NotFound)?;
    match (found.nodes, kept) {
        (Some(nodes), _) => {
            let tree = MessageTree::new(nodes, found.leaf);
            let nodes = tree.nodes.clone();
            let version = found.version;
            cache.put(conversation.0, Shape { version, nodes });
            Ok(tree)
        }
        (None, Some(shape)) => Ok(MessageTree::new(shape.nodes.clone(), found.leaf)),
        // Left out only for the kept version, which is never negative.
        (None, None) => Err(corrupt("conversations", "tree_version", &found.version.to_string())),
    }
}

/// Each asked conversation that is its user's, with its leaf, version and (unless the version
/// is the known one) its messages packed by the database into one string: one row each.
async fn query(db: &impl ConnectionTrait, asked: &[Asked]) -> Result<Vec<(Asked, Found)>, StoreError> {
    let backend = db.get_database_backend();
    let concat = match backend {
        DbBackend::Postgres => "string_agg(m.id || ',' || coalesce(m.parent_id::text, '') || ',' || m.type, ';')",
        _ => "group_concat(m.id || ',' || ifnull(m.parent_id, '') || ',' || m.type, ';')",
    };
    let mut sql = String::from("WITH k(id, user_id, known) AS (VALUES ");
    // Padded to a power of two with repeats, so a few statement texts serve every batch size
    // (the driver keeps a bounded cache of prepared statements); a repeat's row is the same.
    let rows = asked.len().next_power_of_two();
    let mut values: Vec<Value> = Vec::with_capacity(rows * 3);
    for (i, a) in asked.iter().cycle().take(rows).enumerate() {
        let n = i * 3;
        let comma = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{comma}(${}, ${}, ${})", n + 1, n + 2, n + 3);
        values.extend([a.conversation.into(), a.user.into(), a.known.into()]);
    }
    // The aggregate's order does not matter (sorted after).
    let _ = write!(
        sql,
        ") SELECT k.id, k.user_id, k.known, c.active_leaf_id, c.tree_version, \
         CASE WHEN c.tree_version = k.known THEN NULL ELSE \
         (SELECT {concat} FROM messages m WHERE m.conversation_id = c.id) END \
         FROM k JOIN conversations c ON c.id = k.id AND c.user_id = k.user_id"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            let asked = Asked {
                conversation: row.try_get_by_index(0).map_err(db_err)?,
                user: row.try_get_by_index(1).map_err(db_err)?,
                known: row.try_get_by_index(2).map_err(db_err)?,
            };
            let leaf: Option<i64> = row.try_get_by_index(3).map_err(db_err)?;
            let version: i64 = row.try_get_by_index(4).map_err(db_err)?;
            let nodes = if version == asked.known {
                None
            } else {
                // No messages aggregate to NULL.
                let packed: Option<String> = row.try_get_by_index(5).map_err(db_err)?;
                Some(match packed {
                    Some(packed) => unpack(&packed)?,
                    None => Vec::new(),
                })
            };
            let leaf = leaf.map(MessageId);
            Ok((asked, Found { leaf, version, nodes }))
        })
        .collect()
}

/// `id,parent,type;...` back into nodes (an empty parent is a root).
fn unpack(packed: &str) -> Result<Vec<TreeNode>, StoreError> {
    packed.split(';').map(node).collect()
}

fn node(entry: &str) -> Result<TreeNode, StoreError> {
    let bad = || corrupt("messages", "tree", entry);
    let mut fields = entry.splitn(3, ',');
    let (Some(id), Some(parent), Some(kind)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(bad());
    };
    Ok(TreeNode {
        id: MessageId(id.parse().map_err(|_| bad())?),
        parent: match parent {
            "" => None,
            p => Some(MessageId(p.parse().map_err(|_| bad())?)),
        },
        kind: MessageKind::parse(kind).ok_or_else(bad)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_nodes_come_back_with_roots_and_kinds() {
        let nodes = unpack("1,,Human;2,1,AI;3,1,Tool;10,3,System").unwrap();
        let got: Vec<_> = nodes.iter().map(|n| (n.id.0, n.parent.map(|p| p.0), n.kind)).collect();
        assert_eq!(
            got,
            [
                (1, None, MessageKind::Human),
                (2, Some(1), MessageKind::Ai),
                (3, Some(1), MessageKind::Tool),
                (10, Some(3), MessageKind::System),
            ]
        );
    }

    #[test]
    fn a_damaged_entry_is_reported_not_guessed() {
        for packed in ["1,,Human;2,1", "x,,Human", "2,y,AI", "3,1,Robot", ""] {
            assert!(
                matches!(unpack(packed), Err(StoreError::Backend(_))),
                "{packed:?} should be refused"
            );
        }
    }
}
