//! The contract of the stores behind data ownership: memories, extraction records, the memory
//! switch, imports and the export's pages. Each case uses fresh users, so cases may share one
//! database.

use crate::store::*;
use crate::*;
use chrono::{Duration, SubsecRound, Utc};
use std::sync::atomic::{AtomicU64, Ordering};

/// Runs every data contract case as its own `#[tokio::test]`.
#[macro_export]
macro_rules! data_contract_tests {
    ($factory:expr) => {
        $crate::data_contract_tests!(@cases $factory;
            memories_are_kept_corrected_and_deleted, memories_are_unique_and_bounded,
            memories_are_isolated, extraction_is_recorded_once_per_message, the_memory_switch_is_per_user,
            imports_are_keyed_and_whole, pages_hold_every_conversation_and_message);
    };
    (@cases $factory:expr; $($case:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let handle = ($factory)().await;
                $crate::contract::data::$case(&*handle).await;
            }
        )+
    };
}

static SEQ: AtomicU64 = AtomicU64::new(0);

async fn user(store: &dyn Store) -> UserId {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let profile = NewUser {
        email: Email::parse(&format!("data{n}.{nanos}@example.com")).unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Google,
    };
    store.upsert_user(&profile, Utc::now()).await.expect("upsert user").id
}

fn memory(text: &str) -> NewMemory {
    NewMemory {
        content: MemoryText::parse(text).unwrap(),
        origin: MemoryOrigin::Person,
        source: None,
    }
}

async fn add(store: &dyn Store, u: UserId, text: &str) -> MemoryFact {
    match store.add_memory(u, &memory(text), 100).await.expect("add memory") {
        Remembered::New(m) => m,
        other => panic!("expected a new memory: {other:?}"),
    }
}

pub async fn memories_are_kept_corrected_and_deleted(store: &dyn Store) {
    let u = user(store).await;
    let tea = add(store, u, "Likes green tea").await;
    let dog = add(store, u, "Has a dog called Rex").await;
    assert_eq!(
        (tea.content.as_str(), tea.origin),
        ("Likes green tea", MemoryOrigin::Person)
    );
    let listed = store.list_memories(u, Page::all()).await.unwrap();
    assert_eq!(
        listed.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![dog.id, tea.id],
        "newest first"
    );
    let page = Page {
        limit: Some(1),
        before: Some(dog.id),
    };
    assert_eq!(store.list_memories(u, page).await.unwrap(), vec![tea.clone()]);
    assert_eq!(store.count_memories(u).await.unwrap(), 2);

    let text = MemoryText::parse("Has a dog called Bartholomew").unwrap();
    let edited = store.edit_memory(u, dog.id, &text).await.unwrap();
    assert_eq!(edited.content, text);
    assert!(edited.updated_at >= dog.updated_at);
    assert_eq!(store.memories_by_ids(u, &[dog.id]).await.unwrap(), vec![edited]);

    store.delete_memory(u, tea.id).await.unwrap();
    assert!(matches!(
        store.delete_memory(u, tea.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.edit_memory(u, tea.id, &text).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.count_memories(u).await.unwrap(), 1);
    let all = store.memories_after(None, 10_000).await.unwrap();
    assert!(all.iter().any(|m| m.id == dog.id) && !all.iter().any(|m| m.id == tea.id));
}

pub async fn memories_are_unique_and_bounded(store: &dyn Store) {
    let u = user(store).await;
    let first = add(store, u, "Lives in Porto").await;
    match store.add_memory(u, &memory("lives in porto!"), 100).await.unwrap() {
        Remembered::Duplicate(m) => assert_eq!(m.id, first.id),
        other => panic!("the same text again is a duplicate: {other:?}"),
    }
    let second = add(store, u, "Works as a nurse").await;
    assert!(matches!(
        store
            .edit_memory(u, second.id, &MemoryText::parse("Lives in Porto.").unwrap())
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.add_memory(u, &memory("Has three cats"), 2).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.count_memories(u).await.unwrap(), 2);
}

pub async fn memories_are_isolated(store: &dyn Store) {
    let (me, other) = (user(store).await, user(store).await);
    let mine = add(store, me, "Plays the cello").await;
    // The same text is another person's own memory.
    add(store, other, "Plays the cello").await;
    assert_eq!(store.list_memories(other, Page::all()).await.unwrap().len(), 1);
    assert!(store.memories_by_ids(other, &[mine.id]).await.unwrap().is_empty());
    let text = MemoryText::parse("Plays the violin").unwrap();
    assert!(matches!(
        store.edit_memory(other, mine.id, &text).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_memory(other, mine.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .list_memories(
                other,
                Page {
                    limit: None,
                    before: Some(mine.id)
                }
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.memories_by_ids(me, &[mine.id]).await.unwrap(), vec![mine]);
}

pub async fn extraction_is_recorded_once_per_message(store: &dyn Store) {
    let u = user(store).await;
    let c = store.create_conversation(u, None).await.unwrap();
    let say = |text: &'static str| async move {
        store
            .append_message(u, c.id, &NewMessage::new(MessageKind::Human, text))
            .await
            .unwrap()
    };
    let (a, b) = (say("my dog is Rex").await, say("I live in Porto").await);
    assert_eq!(store.unextracted(u, &[a.id, b.id]).await.unwrap(), vec![a.id, b.id]);
    let from = |m: &Message, text: &str| NewMemory {
        content: MemoryText::parse(text).unwrap(),
        origin: MemoryOrigin::Extracted,
        source: Some(MemorySource {
            message_id: m.id,
            conversation_id: m.conversation_id,
        }),
    };
    let added = store
        .record_extraction(
            u,
            &[a.id],
            &[from(&a, "The user's dog is Rex"), from(&b, "not from a")],
            100,
        )
        .await
        .unwrap();
    assert_eq!(added.len(), 1, "only memories from the extracted messages: {added:?}");
    assert_eq!(added[0].source.unwrap().message_id, a.id);
    assert_eq!(store.unextracted(u, &[a.id, b.id]).await.unwrap(), vec![b.id]);
    // Deleted, then offered again from the same message: it does not come back.
    store.delete_memory(u, added[0].id).await.unwrap();
    let again = store
        .record_extraction(u, &[a.id], &[from(&a, "The user's dog is Rex")], 100)
        .await
        .unwrap();
    assert!(again.is_empty(), "a message is extracted once");
    assert_eq!(store.count_memories(u).await.unwrap(), 0);
    // The cap holds within one extraction.
    let bounded = store
        .record_extraction(u, &[b.id], &[from(&b, "Lives in Porto"), from(&b, "Likes the sea")], 1)
        .await
        .unwrap();
    assert_eq!(bounded.len(), 1);
    // Another user's message ids are not theirs to mark.
    let other = user(store).await;
    assert_eq!(store.unextracted(other, &[b.id]).await.unwrap(), vec![b.id]);
}

pub async fn the_memory_switch_is_per_user(store: &dyn Store) {
    let (me, other) = (user(store).await, user(store).await);
    assert_eq!(store.memory_switch(me).await.unwrap(), MemorySwitch::default());
    let before = Utc::now().trunc_subsecs(6) - Duration::seconds(1);
    let off = store.set_memory_switch(me, false).await.unwrap();
    assert!(!off.enabled && off.changed_at.is_some_and(|t| t >= before));
    assert_eq!(store.memory_switch(me).await.unwrap(), off);
    assert!(store.memory_switch(other).await.unwrap().enabled);
    assert!(store.set_memory_switch(me, true).await.unwrap().enabled);
    assert!(store.memory_switch(me).await.unwrap().enabled);
    assert!(matches!(
        store.set_memory_switch(UserId(i64::MAX - 7), false).await,
        Err(StoreError::NotFound)
    ));
}

fn imported(texts: &[&str]) -> ImportedConversation {
    let at = (Utc::now() - Duration::days(30)).trunc_subsecs(6);
    ImportedConversation {
        title: Some(Title::parse("From elsewhere").unwrap()),
        summary: Some("An old chat".into()),
        created_at: at,
        updated_at: at + Duration::minutes(5),
        messages: texts
            .iter()
            .enumerate()
            .map(|(i, t)| ImportedMessage {
                kind: if i % 2 == 0 {
                    MessageKind::Human
                } else {
                    MessageKind::Ai
                },
                content: (*t).to_owned(),
                created_at: at + Duration::seconds(i as i64),
                parent: Default::default(),
            })
            .collect(),
        active_leaf: None,
    }
}

pub async fn imports_are_keyed_and_whole(store: &dyn Store) {
    let (me, other) = (user(store).await, user(store).await);
    let key = ImportKey::parse("chatgpt:abc").unwrap();
    let source = imported(&["hello", "hi there", "bye"]);
    let Imported::New { conversation, messages } = store.import_conversation(me, &key, &source).await.unwrap() else {
        panic!("a new import")
    };
    assert_eq!(conversation.title, source.title);
    assert_eq!(conversation.summary, source.summary);
    assert_eq!(
        (conversation.created_at, conversation.updated_at),
        (source.created_at, source.updated_at)
    );
    let read_back = store.get_conversation(me, conversation.id).await.unwrap();
    assert_eq!(
        read_back.updated_at, source.updated_at,
        "the import's own activity time, not its last message's"
    );
    let stored = store.list_messages(me, conversation.id, Page::all()).await.unwrap();
    assert_eq!(stored, messages);
    assert_eq!(
        stored
            .iter()
            .map(|m| (m.kind, m.content.as_str(), m.created_at))
            .collect::<Vec<_>>(),
        source
            .messages
            .iter()
            .map(|m| (m.kind, m.content.as_str(), m.created_at))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        store.import_conversation(me, &key, &source).await.unwrap(),
        Imported::Existing(conversation.id),
        "the same key again imports nothing"
    );
    assert_eq!(store.list_conversations(me, Page::all()).await.unwrap().len(), 1);
    // Keys are per person.
    assert!(matches!(
        store.import_conversation(other, &key, &source).await.unwrap(),
        Imported::New { .. }
    ));
    // A conversation the person deleted comes back when imported again.
    store.delete_conversation(me, conversation.id).await.unwrap();
    assert!(matches!(
        store.import_conversation(me, &key, &source).await.unwrap(),
        Imported::New { .. }
    ));
    // Nothing of a failed import stays: an unknown user writes nothing.
    let stranger = UserId(i64::MAX - 3);
    assert!(store.import_conversation(stranger, &key, &source).await.is_err());
    assert!(
        store
            .list_conversations(stranger, Page::all())
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn pages_hold_every_conversation_and_message(store: &dyn Store) {
    let (me, other) = (user(store).await, user(store).await);
    let mut convs = Vec::new();
    for _ in 0..3 {
        convs.push(store.create_conversation(me, None).await.unwrap().id);
    }
    store.create_conversation(other, None).await.unwrap();
    let first = store.conversations_page(me, None, 2).await.unwrap();
    let rest = store.conversations_page(me, Some(first[1].id), 2).await.unwrap();
    let all: Vec<_> = first.iter().chain(&rest).map(|c| c.id).collect();
    assert_eq!(all, convs, "in id order, this user's only");
    let mut ids = Vec::new();
    for i in 0..5 {
        let m = store
            .append_message(me, convs[0], &NewMessage::new(MessageKind::Human, format!("m{i}")))
            .await
            .unwrap();
        ids.push(m.id);
    }
    let page = store.messages_page(me, convs[0], Some(ids[1]), 2).await.unwrap();
    assert_eq!(page.iter().map(|m| m.id).collect::<Vec<_>>(), ids[2..4]);
    assert!(matches!(
        store.messages_page(other, convs[0], None, 10).await,
        Err(StoreError::NotFound)
    ));
}
