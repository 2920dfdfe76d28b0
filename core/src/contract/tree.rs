//! The message tree part of the Store contract (run by `store_contract_tests!`): where appends
//! go, which branch a conversation shows, what a delete removes, how imports keep branches.

use super::store::{assert_not_found, conv, user};
use crate::store::{ImportKey, Imported, ImportedConversation, ImportedMessage, ImportedParent};
use crate::*;
use chrono::{Duration, SubsecRound, Utc};

async fn put(store: &dyn Store, u: UserId, c: ConversationId, m: NewMessage) -> Message {
    store.append_message(u, c, &m).await.expect("append message")
}

fn human(text: &str) -> NewMessage {
    NewMessage::new(MessageKind::Human, text)
}

fn ai(text: &str) -> NewMessage {
    NewMessage::new(MessageKind::Ai, text)
}

async fn shown(store: &dyn Store, u: UserId, c: ConversationId) -> Vec<MessageId> {
    let list = store.list_messages(u, c, Page::all()).await.unwrap();
    list.iter().map(|m| m.id).collect()
}

pub async fn appends_form_one_branch_and_edits_start_another(store: &dyn Store) {
    let u = user(store).await;
    let c = conv(store, u.id, "tree").await;
    let q1 = put(store, u.id, c.id, human("q1")).await;
    let a1 = put(store, u.id, c.id, ai("a1")).await;
    assert_eq!((q1.parent_id, a1.parent_id), (None, Some(q1.id)));
    // An edit of q1: a second root, shown at once.
    let q1b = put(store, u.id, c.id, human("q1, better").under(None)).await;
    assert_eq!(q1b.parent_id, None);
    assert_eq!(shown(store, u.id, c.id).await, vec![q1b.id]);
    let a1b = put(store, u.id, c.id, ai("a1b")).await;
    assert_eq!(a1b.parent_id, Some(q1b.id));
    // A second answer to q1 (a regeneration): under q1, beside a1.
    let a1c = put(store, u.id, c.id, ai("a1c").under(Some(q1.id))).await;
    assert_eq!(shown(store, u.id, c.id).await, vec![q1.id, a1c.id]);
    let tree = store.message_tree(u.id, c.id).await.unwrap();
    assert_eq!(tree.active_leaf, Some(a1c.id));
    assert_eq!(tree.siblings(a1.id), vec![a1.id, a1c.id]);
    assert_eq!(tree.siblings(q1.id), vec![q1.id, q1b.id]);
    assert_eq!(tree.kind_of(q1b.id), Some(MessageKind::Human));
    // The whole record keeps every branch.
    let all = store.messages_page(u.id, c.id, None, 100).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[4].parent_id, Some(q1.id));
}

pub async fn the_active_leaf_is_chosen_and_paged(store: &dyn Store) {
    let u = user(store).await;
    let c = conv(store, u.id, "switch").await;
    let q = put(store, u.id, c.id, human("q")).await;
    let a = put(store, u.id, c.id, ai("a")).await;
    let q2 = put(store, u.id, c.id, human("q2")).await;
    let b = put(store, u.id, c.id, ai("b").under(Some(q.id))).await;
    assert_eq!(shown(store, u.id, c.id).await, vec![q.id, b.id]);
    store.set_active_leaf(u.id, c.id, q2.id).await.unwrap();
    assert_eq!(shown(store, u.id, c.id).await, vec![q.id, a.id, q2.id]);
    let page = Page {
        limit: Some(2),
        before: Some(q2.id),
    };
    let older: Vec<MessageId> = store
        .list_messages(u.id, c.id, page)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(older, vec![q.id, a.id]);
    // The next message continues the branch shown.
    let next = put(store, u.id, c.id, ai("after q2")).await;
    assert_eq!(next.parent_id, Some(q2.id));
    // Only a message of this conversation, of this user.
    let other = conv(store, u.id, "other").await;
    let elsewhere = put(store, u.id, other.id, human("x")).await;
    assert_not_found(
        store.set_active_leaf(u.id, c.id, elsewhere.id).await,
        "leaf of another conversation",
    );
    assert_not_found(
        store
            .append_message(u.id, c.id, &ai("y").under(Some(elsewhere.id)))
            .await,
        "parent in another conversation",
    );
    let mallory = user(store).await;
    assert_not_found(
        store.set_active_leaf(mallory.id, c.id, q.id).await,
        "someone else's leaf",
    );
    assert_not_found(store.message_tree(mallory.id, c.id).await, "someone else's tree");
}

pub async fn a_delete_takes_the_subtree(store: &dyn Store) {
    let u = user(store).await;
    let c = conv(store, u.id, "subtree").await;
    let q = put(store, u.id, c.id, human("q")).await;
    let a = put(store, u.id, c.id, ai("a")).await;
    let q2 = put(store, u.id, c.id, human("q2")).await;
    let b = put(store, u.id, c.id, ai("b").under(Some(q.id))).await;
    // Deleting a cuts a -> q2 (not shown): the branch shown stays.
    let mut gone = store.delete_message(u.id, c.id, a.id).await.unwrap();
    gone.sort();
    assert_eq!(gone, vec![a.id, q2.id]);
    assert_eq!(shown(store, u.id, c.id).await, vec![q.id, b.id]);
    // Deleting the shown leaf shows its parent.
    assert_eq!(store.delete_message(u.id, c.id, b.id).await.unwrap(), vec![b.id]);
    assert_eq!(shown(store, u.id, c.id).await, vec![q.id]);
    let next = put(store, u.id, c.id, ai("again")).await;
    assert_eq!(next.parent_id, Some(q.id));
    // Deleting the root empties the conversation.
    store.delete_message(u.id, c.id, q.id).await.unwrap();
    assert!(shown(store, u.id, c.id).await.is_empty());
    assert!(store.messages_page(u.id, c.id, None, 10).await.unwrap().is_empty());
    let first = put(store, u.id, c.id, human("fresh")).await;
    assert_eq!(first.parent_id, None);
    assert_not_found(store.delete_message(u.id, c.id, q.id).await, "a deleted subtree");
}

pub async fn imports_keep_their_branches(store: &dyn Store) {
    let u = user(store).await;
    let at = (Utc::now() - Duration::days(3)).trunc_subsecs(6);
    let m = |text: &str, kind, parent| ImportedMessage {
        kind,
        content: text.into(),
        created_at: at,
        parent,
    };
    let imported = ImportedConversation {
        title: None,
        summary: None,
        created_at: at,
        updated_at: at,
        messages: vec![
            m("q", MessageKind::Human, ImportedParent::Root),
            m("a", MessageKind::Ai, ImportedParent::Previous),
            m("a again", MessageKind::Ai, ImportedParent::At(0)),
            m("q edited", MessageKind::Human, ImportedParent::Root),
            m("a to the edit", MessageKind::Ai, ImportedParent::Previous),
        ],
        active_leaf: Some(2),
    };
    let key = ImportKey::parse(&format!("test:tree:{}", u.id)).unwrap();
    let Imported::New { conversation, messages } = store.import_conversation(u.id, &key, &imported).await.unwrap()
    else {
        panic!("imported before?")
    };
    let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
    let parents: Vec<Option<MessageId>> = messages.iter().map(|m| m.parent_id).collect();
    assert_eq!(parents, vec![None, Some(ids[0]), Some(ids[0]), None, Some(ids[3])]);
    assert_eq!(shown(store, u.id, conversation.id).await, vec![ids[0], ids[2]]);
}
