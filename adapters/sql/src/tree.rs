//! A conversation's tree read in one round trip and one row: the stored active leaf, and every
//! message's id, parent and type packed by the database into one string (`id,parent,type;...`).
//! Every message page, every turn's history and every branch switch reads the tree; as rows it
//! was two queries and one row per message through the driver, which cost more than the page.

use crate::error::db_err;
use crate::mapping::corrupt;
use meai_core::{ConversationId, MessageId, MessageKind, MessageTree, StoreError, TreeNode, UserId};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// The conversation's leaf and its messages, packed; no row when the conversation is not the
/// user's. The aggregate's order does not matter: [`MessageTree::new`] sorts.
const SQLITE: &str = "SELECT c.active_leaf_id, \
     (SELECT group_concat(m.id || ',' || ifnull(m.parent_id, '') || ',' || m.type, ';') \
      FROM messages m WHERE m.conversation_id = c.id) \
     FROM conversations c WHERE c.id = ? AND c.user_id = ?";
const POSTGRES: &str = "SELECT c.active_leaf_id, \
     (SELECT string_agg(m.id || ',' || coalesce(m.parent_id::text, '') || ',' || m.type, ';') \
      FROM messages m WHERE m.conversation_id = c.id) \
     FROM conversations c WHERE c.id = $1 AND c.user_id = $2";

/// The user's conversation as a tree (`NotFound` when it is not theirs).
pub(crate) async fn read(
    db: &impl ConnectionTrait,
    user: UserId,
    conversation: ConversationId,
) -> Result<MessageTree, StoreError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => POSTGRES,
        _ => SQLITE,
    };
    let statement = Statement::from_sql_and_values(backend, sql, [conversation.0.into(), user.0.into()]);
    let row = db
        .query_one_raw(statement)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::NotFound)?;
    let leaf: Option<i64> = row.try_get_by_index(0).map_err(db_err)?;
    let packed: Option<String> = row.try_get_by_index(1).map_err(db_err)?;
    let nodes = match packed {
        Some(packed) => unpack(&packed)?,
        None => Vec::new(),
    };
    Ok(MessageTree::new(nodes, leaf.map(MessageId)))
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
