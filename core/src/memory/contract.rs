//! The VectorIndex contract. Every case uses fresh user, conversation and message ids, so cases
//! may share one index (and run in parallel).

use super::{VectorHit, VectorIndex, VectorItem, VectorKey, VectorPoint, VectorQuery, VectorScope};
use crate::{ConversationId, MemoryId, MessageId, UserId};
use std::sync::atomic::{AtomicI64, Ordering};

/// Runs every VectorIndex contract case as its own `#[tokio::test]`.
#[macro_export]
macro_rules! vector_index_contract_tests {
    ($factory:expr) => {
        $crate::vector_index_contract_tests!(@cases $factory;
            finds_nearest_first, limits_to_k, filters_by_conversation, isolates_users, deletes_messages,
            deletes_conversations, reupsert_is_idempotent, ignores_other_spaces, unknown_user_finds_nothing,
            memories_and_messages_never_collide, deleting_a_conversation_keeps_memories, deletes_users);
    };
    (@cases $factory:expr; $($case:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let handle = ($factory)().await;
                $crate::memory::contract::$case(&*handle).await;
            }
        )+
    };
}

const SPACE: &str = "contract/test-model#4";

static SEQ: AtomicI64 = AtomicI64::new(0);

/// Ids no other case (nor an earlier run against the same server) uses: a per-process random
/// base plus a counter, spaced so each case has room for 1000 ids of each kind.
fn fresh_base() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        // Below 2^53 so every id survives a JSON number round trip.
        ((nanos / 1_000) % 1_000_000_000) as i64 * 1_000_000
    });
    base + SEQ.fetch_add(1, Ordering::Relaxed) * 1_000
}

struct Ids(i64);

impl Ids {
    fn new() -> Self {
        Self(fresh_base())
    }
    fn user(&self, n: i64) -> UserId {
        UserId(self.0 + n)
    }
    fn conv(&self, n: i64) -> ConversationId {
        ConversationId(self.0 + 100 + n)
    }
    fn msg(&self, n: i64) -> MessageId {
        MessageId(self.0 + 200 + n)
    }
    fn memory(&self, n: i64) -> MemoryId {
        MemoryId(self.0 + 300 + n)
    }
    fn point(&self, user: i64, conv: i64, msg: i64, vector: [f32; 4]) -> VectorPoint {
        VectorPoint {
            item: VectorItem::Message {
                id: self.msg(msg),
                conversation: self.conv(conv),
            },
            user_id: self.user(user),
            vector: vector.to_vec(),
        }
    }
    fn memory_point(&self, user: i64, memory: i64, vector: [f32; 4]) -> VectorPoint {
        VectorPoint {
            item: VectorItem::Memory {
                id: self.memory(memory),
            },
            user_id: self.user(user),
            vector: vector.to_vec(),
        }
    }
}

async fn search(
    index: &dyn VectorIndex,
    user: UserId,
    conv: Option<ConversationId>,
    v: [f32; 4],
    k: usize,
) -> Vec<VectorHit> {
    let scope = match conv {
        Some(c) => VectorScope::Conversation(c),
        None => VectorScope::Messages,
    };
    let query = VectorQuery {
        user,
        scope,
        vector: &v,
        k,
    };
    let hits = index.search(SPACE, &query).await.expect("search");
    assert!(
        hits.iter().all(|h| h.message().is_some()),
        "a message search finds messages only: {hits:?}"
    );
    hits
}

async fn search_memories(index: &dyn VectorIndex, user: UserId, v: [f32; 4]) -> Vec<MemoryId> {
    let query = VectorQuery {
        user,
        scope: VectorScope::Memories,
        vector: &v,
        k: 10,
    };
    let hits = index.search(SPACE, &query).await.expect("search memories");
    hits.iter()
        .map(|h| {
            h.memory()
                .unwrap_or_else(|| panic!("a memory search finds memories only: {hits:?}"))
        })
        .collect()
}

fn ids(hits: &[VectorHit]) -> Vec<MessageId> {
    hits.iter().filter_map(|h| h.message()).map(|(id, _)| id).collect()
}

fn msgs(ids: &[MessageId]) -> Vec<VectorKey> {
    ids.iter().copied().map(VectorKey::Message).collect()
}

pub async fn finds_nearest_first(index: &dyn VectorIndex) {
    let ids_ = Ids::new();
    let points = [
        ids_.point(1, 1, 1, [1.0, 0.0, 0.0, 0.0]),
        ids_.point(1, 1, 2, [0.8, 0.6, 0.0, 0.0]),
        ids_.point(1, 2, 3, [0.0, 1.0, 0.0, 0.0]),
        ids_.point(1, 2, 4, [-1.0, 0.0, 0.0, 0.0]),
    ];
    index.upsert(SPACE, &points).await.expect("upsert");
    let hits = search(index, ids_.user(1), None, [2.0, 0.0, 0.0, 0.0], 10).await;
    assert_eq!(ids(&hits), vec![ids_.msg(1), ids_.msg(2), ids_.msg(3), ids_.msg(4)]);
    assert!(
        (hits[0].score - 1.0).abs() < 1e-3,
        "cosine of equal directions is 1: {hits:?}"
    );
    assert!((hits[1].score - 0.8).abs() < 1e-3, "{hits:?}");
    assert!(hits[3].score < -0.9, "opposite directions score -1: {hits:?}");
    assert_eq!(
        hits[2].message().map(|(_, c)| c),
        Some(ids_.conv(2)),
        "hits carry their conversation"
    );
}

pub async fn limits_to_k(index: &dyn VectorIndex) {
    let ids_ = Ids::new();
    let points: Vec<_> = (0..6)
        .map(|i| ids_.point(1, 1, i, [1.0, i as f32 * 0.1, 0.0, 0.0]))
        .collect();
    index.upsert(SPACE, &points).await.expect("upsert");
    let hits = search(index, ids_.user(1), None, [1.0, 0.0, 0.0, 0.0], 3).await;
    assert_eq!(ids(&hits), vec![ids_.msg(0), ids_.msg(1), ids_.msg(2)]);
}

pub async fn filters_by_conversation(index: &dyn VectorIndex) {
    let ids_ = Ids::new();
    let points = [
        ids_.point(1, 1, 1, [1.0, 0.0, 0.0, 0.0]),
        ids_.point(1, 2, 2, [1.0, 0.1, 0.0, 0.0]),
        ids_.point(1, 2, 3, [0.0, 1.0, 0.0, 0.0]),
    ];
    index.upsert(SPACE, &points).await.expect("upsert");
    let hits = search(index, ids_.user(1), Some(ids_.conv(2)), [1.0, 0.0, 0.0, 0.0], 10).await;
    assert_eq!(ids(&hits), vec![ids_.msg(2), ids_.msg(3)]);
    assert!(
        search(index, ids_.user(1), Some(ids_.conv(9)), [1.0, 0.0, 0.0, 0.0], 10)
            .await
            .is_empty()
    );
}

pub async fn isolates_users(index: &dyn VectorIndex) {
    let ids_ = Ids::new();
    let points = [
        ids_.point(1, 1, 1, [1.0, 0.0, 0.0, 0.0]),
        ids_.point(2, 2, 2, [1.0, 0.0, 0.0, 0.0]),
        ids_.point(2, 2, 3, [0.9, 0.1, 0.0, 0.0]),
    ];
    index.upsert(SPACE, &points).await.expect("upsert");
    let hits = search(index, ids_.user(1), None, [1.0, 0.0, 0.0, 0.0], 10).await;
    assert_eq!(ids(&hits), vec![ids_.msg(1)], "only the user's own vectors");
    // Even naming the other user's conversation finds nothing.
    assert!(
        search(index, ids_.user(1), Some(ids_.conv(2)), [1.0, 0.0, 0.0, 0.0], 10)
            .await
            .is_empty()
    );
    // Deleting through another user's id leaves the vectors alone.
    index.delete(ids_.user(1), &msgs(&[ids_.msg(2)])).await.expect("delete");
    index.delete_user(ids_.user(1)).await.expect("delete user");
    index
        .delete_conversation(ids_.user(1), ids_.conv(2))
        .await
        .expect("delete");
    assert_eq!(
        search(index, ids_.user(2), None, [1.0, 0.0, 0.0, 0.0], 10).await.len(),
        2
    );
}

pub async fn deletes_messages(index: &dyn VectorIndex) {
    let ids_ = Ids::new();
    let points: Vec<_> = (0..3).map(|i| ids_.point(1, 1, i, [1.0, i as f32, 0.0, 0.0])).collect();
    index.upsert(SPACE, &points).await.expect("upsert");
    index
        .delete(ids_.user(1), &msgs(&[ids_.msg(0), ids_.msg(2), ids_.msg(99)]))
        .await
        .expect("delete");
    let hits = search(index, ids_.user(1), None, [1.0, 0.0, 0.0, 0.0], 10).await;
    assert_eq!(ids(&hits), vec![ids_.msg(1)]);
    index.delete(ids_.user(1), &[]).await.expect("deleting nothing is fine");
}

pub async fn deletes_conversations(index: &dyn VectorIndex) {
    let ids_ = Ids::new();
    let points = [
        ids_.point(1, 1, 1, [1.0, 0.0, 0.0, 0.0]),
        ids_.point(1, 1, 2, [0.0, 1.0, 0.0, 0.0]),
        ids_.point(1, 2, 3, [1.0, 1.0, 0.0, 0.0]),
    ];
    index.upsert(SPACE, &points).await.expect("upsert");
    index
        .delete_conversation(ids_.user(1), ids_.conv(1))
        .await
        .expect("delete");
    let hits = search(index, ids_.user(1), None, [1.0, 0.0, 0.0, 0.0], 10).await;
    assert_eq!(ids(&hits), vec![ids_.msg(3)]);
    assert!(
        search(index, ids_.user(1), Some(ids_.conv(1)), [1.0, 0.0, 0.0, 0.0], 10)
            .await
            .is_empty()
    );
}

pub async fn reupsert_is_idempotent(index: &dyn VectorIndex) {
    let ids_ = Ids::new();
    let first = ids_.point(1, 1, 1, [1.0, 0.0, 0.0, 0.0]);
    index.upsert(SPACE, std::slice::from_ref(&first)).await.expect("upsert");
    index
        .upsert(SPACE, std::slice::from_ref(&first))
        .await
        .expect("same again");
    assert_eq!(
        search(index, ids_.user(1), None, [1.0, 0.0, 0.0, 0.0], 10).await.len(),
        1
    );
    // Writing the message again with a new vector replaces the old one.
    let moved = ids_.point(1, 1, 1, [0.0, 1.0, 0.0, 0.0]);
    index.upsert(SPACE, &[moved]).await.expect("replace");
    let hits = search(index, ids_.user(1), None, [0.0, 1.0, 0.0, 0.0], 10).await;
    assert_eq!(ids(&hits), vec![ids_.msg(1)]);
    assert!(
        (hits[0].score - 1.0).abs() < 1e-3,
        "the new vector is the one searched: {hits:?}"
    );
}

pub async fn ignores_other_spaces(index: &dyn VectorIndex) {
    let ids_ = Ids::new();
    index
        .upsert(SPACE, &[ids_.point(1, 1, 1, [1.0, 0.0, 0.0, 0.0])])
        .await
        .expect("upsert");
    let other = "contract/other-model#3";
    let point = VectorPoint {
        vector: vec![1.0, 0.0, 0.0],
        ..ids_.point(1, 1, 2, [0.0; 4])
    };
    index.upsert(other, &[point]).await.expect("upsert in another space");
    let hits = search(index, ids_.user(1), None, [1.0, 0.0, 0.0, 0.0], 10).await;
    assert_eq!(
        ids(&hits),
        vec![ids_.msg(1)],
        "vectors of another model are not compared"
    );
    let v = [1.0, 0.0, 0.0];
    let query = VectorQuery {
        user: ids_.user(1),
        scope: VectorScope::Messages,
        vector: &v,
        k: 10,
    };
    assert_eq!(
        ids(&index.search(other, &query).await.expect("search")),
        vec![ids_.msg(2)]
    );
}

pub async fn unknown_user_finds_nothing(index: &dyn VectorIndex) {
    let ids_ = Ids::new();
    assert!(
        search(index, ids_.user(7), None, [1.0, 0.0, 0.0, 0.0], 10)
            .await
            .is_empty()
    );
    assert!(
        search(index, ids_.user(7), Some(ids_.conv(7)), [1.0, 0.0, 0.0, 0.0], 10)
            .await
            .is_empty()
    );
    index
        .delete_conversation(ids_.user(7), ids_.conv(7))
        .await
        .expect("deleting nothing is fine");
}

pub async fn memories_and_messages_never_collide(index: &dyn VectorIndex) {
    let ids_ = Ids::new();
    // Message 5 and memory 5 share the number, not the point.
    let message = VectorPoint {
        item: VectorItem::Message {
            id: MessageId(ids_.0 + 5),
            conversation: ids_.conv(1),
        },
        user_id: ids_.user(1),
        vector: vec![1.0, 0.0, 0.0, 0.0],
    };
    let memory = VectorPoint {
        item: VectorItem::Memory {
            id: MemoryId(ids_.0 + 5),
        },
        user_id: ids_.user(1),
        vector: vec![0.0, 1.0, 0.0, 0.0],
    };
    index
        .upsert(SPACE, &[message.clone(), memory.clone()])
        .await
        .expect("upsert both kinds");
    index
        .upsert(SPACE, &[ids_.memory_point(1, 1, [0.9, 0.1, 0.0, 0.0])])
        .await
        .expect("upsert a memory");
    let messages = search(index, ids_.user(1), None, [1.0, 0.0, 0.0, 0.0], 10).await;
    assert_eq!(ids(&messages), vec![MessageId(ids_.0 + 5)]);
    assert_eq!(
        search_memories(index, ids_.user(1), [0.0, 1.0, 0.0, 0.0]).await,
        vec![MemoryId(ids_.0 + 5), ids_.memory(1)]
    );
    // Re-embedding the memory (an edit) replaces its vector and leaves the message alone.
    let edited = VectorPoint {
        vector: vec![0.0, 0.0, 1.0, 0.0],
        ..memory.clone()
    };
    index.upsert(SPACE, &[edited]).await.expect("replace the memory");
    assert_eq!(
        search_memories(index, ids_.user(1), [0.0, 0.0, 1.0, 0.0]).await[0],
        MemoryId(ids_.0 + 5)
    );
    assert_eq!(
        search(index, ids_.user(1), None, [1.0, 0.0, 0.0, 0.0], 10).await[0].score,
        messages[0].score,
        "the message's vector is untouched"
    );
    // Deleting the memory leaves message 5, and deleting message 5 leaves the other memory.
    index
        .delete(ids_.user(1), &[VectorKey::Memory(MemoryId(ids_.0 + 5))])
        .await
        .expect("delete the memory");
    assert_eq!(
        ids(&search(index, ids_.user(1), None, [1.0, 0.0, 0.0, 0.0], 10).await),
        vec![MessageId(ids_.0 + 5)]
    );
    assert_eq!(
        search_memories(index, ids_.user(1), [0.0, 1.0, 0.0, 0.0]).await,
        vec![ids_.memory(1)]
    );
    index
        .delete(ids_.user(1), &[VectorKey::Message(MessageId(ids_.0 + 5))])
        .await
        .expect("delete the message");
    assert!(
        search(index, ids_.user(1), None, [1.0, 0.0, 0.0, 0.0], 10)
            .await
            .is_empty()
    );
    assert_eq!(
        search_memories(index, ids_.user(1), [0.0, 1.0, 0.0, 0.0]).await,
        vec![ids_.memory(1)]
    );
    // Deleting through another user's id leaves the memory alone.
    index
        .upsert(SPACE, &[ids_.memory_point(2, 2, [1.0, 0.0, 0.0, 0.0])])
        .await
        .expect("upsert");
    index
        .delete(ids_.user(2), &[VectorKey::Memory(ids_.memory(1))])
        .await
        .expect("delete");
    assert_eq!(
        search_memories(index, ids_.user(1), [0.0, 1.0, 0.0, 0.0]).await,
        vec![ids_.memory(1)],
        "user 1's memory stays"
    );
}

pub async fn deleting_a_conversation_keeps_memories(index: &dyn VectorIndex) {
    let ids_ = Ids::new();
    index
        .upsert(
            SPACE,
            &[
                ids_.point(1, 1, 1, [1.0, 0.0, 0.0, 0.0]),
                ids_.memory_point(1, 1, [1.0, 0.0, 0.0, 0.0]),
            ],
        )
        .await
        .expect("upsert");
    index
        .delete_conversation(ids_.user(1), ids_.conv(1))
        .await
        .expect("delete conversation");
    assert!(
        search(index, ids_.user(1), None, [1.0, 0.0, 0.0, 0.0], 10)
            .await
            .is_empty()
    );
    assert_eq!(
        search_memories(index, ids_.user(1), [1.0, 0.0, 0.0, 0.0]).await,
        vec![ids_.memory(1)]
    );
}

pub async fn deletes_users(index: &dyn VectorIndex) {
    let ids_ = Ids::new();
    let other_space = "contract/other-model#3";
    for user in [1, 2] {
        index
            .upsert(
                SPACE,
                &[
                    ids_.point(user, user, user * 10, [1.0, 0.0, 0.0, 0.0]),
                    ids_.point(user, user + 2, user * 10 + 1, [0.0, 1.0, 0.0, 0.0]),
                    ids_.memory_point(user, user, [1.0, 0.0, 0.0, 0.0]),
                ],
            )
            .await
            .expect("upsert");
        let elsewhere = VectorPoint {
            vector: vec![1.0, 0.0, 0.0],
            ..ids_.memory_point(user, user + 10, [0.0; 4])
        };
        index
            .upsert(other_space, &[elsewhere])
            .await
            .expect("upsert in another space");
    }
    index.delete_user(ids_.user(1)).await.expect("delete user 1");
    assert!(
        search(index, ids_.user(1), None, [1.0, 0.0, 0.0, 0.0], 10)
            .await
            .is_empty()
    );
    assert!(
        search_memories(index, ids_.user(1), [1.0, 0.0, 0.0, 0.0])
            .await
            .is_empty()
    );
    let v = [1.0, 0.0, 0.0];
    let in_other = |user| VectorQuery {
        user,
        scope: VectorScope::Memories,
        vector: &v,
        k: 10,
    };
    assert!(
        index
            .search(other_space, &in_other(ids_.user(1)))
            .await
            .expect("search")
            .is_empty(),
        "every space"
    );
    // User 2 keeps everything.
    assert_eq!(
        search(index, ids_.user(2), None, [1.0, 0.0, 0.0, 0.0], 10).await.len(),
        2
    );
    assert_eq!(
        search_memories(index, ids_.user(2), [1.0, 0.0, 0.0, 0.0]).await,
        vec![ids_.memory(2)]
    );
    assert_eq!(
        index
            .search(other_space, &in_other(ids_.user(2)))
            .await
            .expect("search")
            .len(),
        1
    );
    index.delete_user(ids_.user(1)).await.expect("deleting again is fine");
}
