//! A conversation's tree read in one round trip and one row: the stored active leaf, its
//! `tree_version`, and every message's id, parent and type packed by the database into one
//! string (`id,parent,type;...`), left out when the caller already holds the tree at that
//! version ([`crate::tree_cache`]). Every message page, every turn's history and every branch
//! switch reads the tree; as rows it was two queries and one row per message through the
//! driver, which cost more than the page.

use crate::error::db_err;
use crate::mapping::corrupt;
use crate::tree_cache::{Shape, TreeCache};
use meai_core::{ConversationId, MessageId, MessageKind, MessageTree, StoreError, TreeNode, UserId};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

/// The conversation's leaf, version and messages, packed unless the version is `$1`; no row
/// when the conversation is not the user's. The aggregate's order does not matter (sorted after).
const SQLITE: &str = "SELECT c.active_leaf_id, c.tree_version, CASE WHEN c.tree_version = $1 THEN NULL ELSE \
     (SELECT group_concat(m.id || ',' || ifnull(m.parent_id, '') || ',' || m.type, ';') \
      FROM messages m WHERE m.conversation_id = c.id) END \
     FROM conversations c WHERE c.id = $2 AND c.user_id = $3";
const POSTGRES: &str = "SELECT c.active_leaf_id, c.tree_version, CASE WHEN c.tree_version = $1 THEN NULL ELSE \
     (SELECT string_agg(m.id || ',' || coalesce(m.parent_id::text, '') || ',' || m.type, ';') \
      FROM messages m WHERE m.conversation_id = c.id) END \
     FROM conversations c WHERE c.id = $2 AND c.user_id = $3";

/// No version is negative: asks for the packed messages.
const UNKNOWN: i64 = -1;

/// The user's conversation as a tree (`NotFound` when it is not theirs), read whole: for reads
/// inside a transaction, which must see its own changes and must not be kept.
pub(crate) async fn read(
    db: &impl ConnectionTrait,
    user: UserId,
    conversation: ConversationId,
) -> Result<MessageTree, StoreError> {
    let (leaf, _, nodes) = query(db, user, conversation, UNKNOWN).await?;
    Ok(MessageTree::new(nodes.unwrap_or_default(), leaf))
}

/// The same, taken from `cache` while the stored version is the one kept, and kept otherwise.
pub(crate) async fn read_cached(
    db: &DatabaseConnection,
    cache: &TreeCache,
    user: UserId,
    conversation: ConversationId,
) -> Result<MessageTree, StoreError> {
    let kept = cache.get(conversation.0);
    let known = kept.as_ref().map_or(UNKNOWN, |shape| shape.version);
    let (leaf, version, fresh) = query(db, user, conversation, known).await?;
    match (fresh, kept) {
        (Some(nodes), _) => {
            let tree = MessageTree::new(nodes, leaf);
            let nodes = tree.nodes.clone();
            cache.put(conversation.0, Shape { version, nodes });
            Ok(tree)
        }
        (None, Some(shape)) => Ok(MessageTree::new(shape.nodes.clone(), leaf)),
        // Left out only for the kept version, which is never negative.
        (None, None) => Err(corrupt("conversations", "tree_version", &version.to_string())),
    }
}

/// The leaf, the version, and the nodes unless the version is `known`.
async fn query(
    db: &impl ConnectionTrait,
    user: UserId,
    conversation: ConversationId,
    known: i64,
) -> Result<(Option<MessageId>, i64, Option<Vec<TreeNode>>), StoreError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => POSTGRES,
        _ => SQLITE,
    };
    let values = [known.into(), conversation.0.into(), user.0.into()];
    let statement = Statement::from_sql_and_values(backend, sql, values);
    let row = db
        .query_one_raw(statement)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound)?;
    let leaf: Option<i64> = row.try_get_by_index(0).map_err(db_err)?;
    let version: i64 = row.try_get_by_index(1).map_err(db_err)?;
    let nodes = if version == known {
        None
    } else {
        // No messages aggregate to NULL.
        let packed: Option<String> = row.try_get_by_index(2).map_err(db_err)?;
        Some(match packed {
            Some(packed) => unpack(&packed)?,
            None => Vec::new(),
        })
    };
    Ok((leaf.map(MessageId), version, nodes))
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
