//! The MessageSource contract, for adapters that are also a [`Store`] (the source reads what the
//! store wrote). Each case uses fresh users, so cases may share one database.

use crate::memory::MessageSource;
use crate::*;
use chrono::Utc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Runs every MessageSource contract case as its own `#[tokio::test]`.
#[macro_export]
macro_rules! message_source_contract_tests {
    ($factory:expr) => {
        $crate::message_source_contract_tests!(@cases $factory;
            by_ids_are_scoped_to_the_user, matching_is_case_insensitive_newest_first_and_bounded,
            matching_is_by_words_and_prefixes, after_scans_in_id_order);
    };
    (@cases $factory:expr; $($case:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let handle = ($factory)().await;
                $crate::contract::source::$case(&*handle).await;
            }
        )+
    };
}

static SEQ: AtomicU64 = AtomicU64::new(0);

async fn user<S: Store + ?Sized>(store: &S) -> UserId {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let profile = NewUser {
        email: Email::parse(&format!("source{n}.{nanos}@example.com")).unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Google,
    };
    store.upsert_user(&profile, Utc::now()).await.expect("upsert user").id
}

async fn conversation<S: Store + ?Sized>(store: &S, u: UserId, title: &str) -> ConversationId {
    let title = Title::parse(title).unwrap();
    store.create_conversation(u, Some(&title)).await.expect("create").id
}

async fn say<S: Store + ?Sized>(store: &S, u: UserId, c: ConversationId, kind: MessageKind, text: &str) -> MessageId {
    store
        .append_message(u, c, &NewMessage::new(kind, text))
        .await
        .expect("append")
        .id
}

fn ids(found: &[memory::FoundMessage]) -> Vec<MessageId> {
    found.iter().map(|f| f.message.id).collect()
}

pub async fn by_ids_are_scoped_to_the_user<S: Store + MessageSource + ?Sized>(s: &S) {
    let (a, b) = (user(s).await, user(s).await);
    let c = conversation(s, a, "Trips").await;
    let m1 = say(s, a, c, MessageKind::Human, "first").await;
    let m2 = say(s, a, c, MessageKind::Ai, "second").await;
    let mut found = s.messages_by_ids(a, &[m1, m2, MessageId(i64::MAX)]).await.unwrap();
    found.sort_by_key(|f| f.message.id);
    assert_eq!(ids(&found), vec![m1, m2], "missing ids are left out");
    assert_eq!(found[0].conversation_title.as_deref(), Some("Trips"));
    assert_eq!(found[1].message.content, "second");
    assert!(
        s.messages_by_ids(b, &[m1, m2]).await.unwrap().is_empty(),
        "another user's are too"
    );
    assert!(s.messages_by_ids(a, &[]).await.unwrap().is_empty());
}

pub async fn matching_is_case_insensitive_newest_first_and_bounded<S: Store + MessageSource + ?Sized>(s: &S) {
    let (a, b) = (user(s).await, user(s).await);
    let c = conversation(s, a, "Lisbon").await;
    let old = say(s, a, c, MessageKind::Human, "Plan a trip to LISBON").await;
    say(s, a, c, MessageKind::Ai, "Paris is nice too").await;
    say(s, a, c, MessageKind::Tool, "[SEARCH] lisbon hotels").await;
    let new = say(s, a, c, MessageKind::Ai, "Lisbon has trams").await;
    let theirs = conversation(s, b, "Theirs").await;
    say(s, b, theirs, MessageKind::Human, "lisbon for me too").await;
    let terms = ["lisbon".to_owned()];
    let found = s.messages_matching(a, &terms, 10).await.unwrap();
    assert_eq!(
        ids(&found),
        vec![new, old],
        "newest first, tool output and other users left out"
    );
    assert_eq!(ids(&s.messages_matching(a, &terms, 1).await.unwrap()), vec![new]);
    let either = ["paris".to_owned(), "trams".to_owned()];
    assert_eq!(
        s.messages_matching(a, &either, 10).await.unwrap().len(),
        2,
        "any term matches"
    );
    assert!(s.messages_matching(a, &[], 10).await.unwrap().is_empty());
}

pub async fn matching_is_by_words_and_prefixes<S: Store + MessageSource + ?Sized>(s: &S) {
    let a = user(s).await;
    let c = conversation(s, a, "Odds").await;
    let sure = say(s, a, c, MessageKind::Human, "a 100% sure thing, by e-mail").await;
    let other = say(s, a, c, MessageKind::Human, "nothing special").await;
    let find = |term: &str| {
        let terms = vec![term.to_owned()];
        async move { s.messages_matching(a, &terms, 10).await }
    };
    assert_eq!(
        ids(&find("sur").await.unwrap()),
        vec![sure],
        "a word's beginning matches"
    );
    assert!(find("ure").await.unwrap().is_empty(), "the middle of a word does not");
    assert_eq!(ids(&find("100").await.unwrap()), vec![sure]);
    assert!(find("%").await.unwrap().is_empty(), "punctuation is not searchable");
    assert!(find("_").await.unwrap().is_empty());
    assert_eq!(
        ids(&find("e-mail").await.unwrap()),
        vec![sure],
        "each word of a term must match"
    );
    assert!(find("special-sure").await.unwrap().is_empty());
    assert_eq!(ids(&find("NOTHING").await.unwrap()), vec![other]);
    // Kept in sync with writes: a deleted message is no longer found.
    s.delete_message(a, c, other).await.unwrap();
    assert!(find("nothing").await.unwrap().is_empty());
}

pub async fn after_scans_in_id_order<S: Store + MessageSource + ?Sized>(s: &S) {
    let a = user(s).await;
    let c = conversation(s, a, "Scan").await;
    let m1 = say(s, a, c, MessageKind::Human, "one").await;
    say(s, a, c, MessageKind::Tool, "[T] skipped").await;
    let m2 = say(s, a, c, MessageKind::Ai, "two").await;
    let m3 = say(s, a, c, MessageKind::Human, "three").await;
    let mine = |all: Vec<Message>| -> Vec<MessageId> {
        all.into_iter()
            .filter(|m| m.conversation_id == c)
            .map(|m| m.id)
            .collect()
    };
    let all = s.messages_after(Some(MessageId(m1.0 - 1)), 1000).await.unwrap();
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "id order");
    assert_eq!(mine(all), vec![m1, m2, m3], "only what people and the assistant said");
    assert_eq!(mine(s.messages_after(Some(m1), 1000).await.unwrap()), vec![m2, m3]);
    assert_eq!(s.messages_after(Some(m1), 1).await.unwrap().len(), 1, "bounded");
}
