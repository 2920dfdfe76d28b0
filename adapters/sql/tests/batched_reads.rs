//! Trees and list versions asked for at the same time go to the database in one statement.
//! Many users reading at once, each their own conversations and someone else's, with writes
//! landing in between: every read gets exactly its own answer, a stranger's conversation is
//! not found, and a read asked after a write sees it. On SQLite and PostgreSQL.

mod common;

use chrono::Utc;
use futures::future::join_all;
use meai_core::store::{ConversationStore, MessageStore, UserStore};
use meai_core::*;
use meai_sql::SqlStore;

const USERS: usize = 6;
const ROUNDS: usize = 4;

async fn user(store: &SqlStore, n: usize) -> UserId {
    let profile = NewUser {
        email: Email::parse(&format!("batch{n}@example.com")).unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Local,
    };
    store.upsert_user(&profile, Utc::now()).await.unwrap().id
}

async fn say(store: &SqlStore, user: UserId, conversation: ConversationId, text: &str) {
    store
        .append_message(user, conversation, &NewMessage::new(MessageKind::Human, text))
        .await
        .unwrap();
}

async fn texts(store: &SqlStore, user: UserId, conversation: ConversationId) -> Result<Vec<String>, StoreError> {
    let messages = store.list_messages(user, conversation, Page::all()).await?;
    Ok(messages.into_iter().map(|m| m.content).collect())
}

async fn titles(store: &SqlStore, user: UserId) -> Vec<String> {
    let page = Page {
        limit: Some(101),
        before: None,
    };
    let listed = store.list_conversations(user, page).await.unwrap();
    listed
        .into_iter()
        .map(|c| c.title.unwrap().as_str().to_owned())
        .collect()
}

async fn every_read_gets_its_own(store: &SqlStore) {
    let mut people = Vec::new();
    for n in 0..USERS {
        let user = user(store, n).await;
        let title = Title::parse(&format!("chat {n}")).unwrap();
        let conversation = store.create_conversation(user, Some(&title)).await.unwrap().id;
        say(store, user, conversation, &format!("{n}:0")).await;
        people.push((n, user, conversation));
    }
    for round in 1..=ROUNDS {
        // Every user's page and list, and each one asking for the next user's conversation,
        // all at once: far more reads than one statement's turn.
        let own = people.iter().map(|&(n, user, conversation)| async move {
            let texts = texts(store, user, conversation).await.unwrap();
            let titles = titles(store, user).await;
            (n, texts, titles)
        });
        let strangers = people.iter().map(|&(n, _, _)| {
            let (_, user, _) = people[n];
            let (_, _, theirs) = people[(n + 1) % USERS];
            async move { texts(store, user, theirs).await }
        });
        let (own, strangers) = futures::join!(join_all(own), join_all(strangers));
        for (n, texts, titles) in own {
            let expected: Vec<String> = (0..round).map(|r| format!("{n}:{r}")).collect();
            assert_eq!(texts, expected, "user {n}'s page in round {round}");
            let title = match (n % 2, round) {
                (0, 2..) => format!("chat {n}.{}", round - 1),
                _ => format!("chat {n}"),
            };
            assert_eq!(titles, [title], "user {n}'s list in round {round}");
        }
        for answer in strangers {
            assert!(
                matches!(answer, Err(StoreError::NotFound)),
                "a stranger's read: {answer:?}"
            );
        }
        // A write each, then reads asked after it see it (half the users rename as well).
        for &(n, user, conversation) in &people {
            say(store, user, conversation, &format!("{n}:{round}")).await;
            if n % 2 == 0 {
                let title = Title::parse(&format!("chat {n}.{round}")).unwrap();
                store.rename_conversation(user, conversation, &title).await.unwrap();
            }
        }
    }
    // Two conversations of one user asked for at once, one of them gone.
    let (_, user, conversation) = people[0];
    let title = Title::parse("second").unwrap();
    let second = store.create_conversation(user, Some(&title)).await.unwrap().id;
    say(store, user, second, "only").await;
    store.delete_conversation(user, conversation).await.unwrap();
    let (gone, kept, listed) = futures::join!(
        texts(store, user, conversation),
        texts(store, user, second),
        titles(store, user)
    );
    assert!(
        matches!(gone, Err(StoreError::NotFound)),
        "a deleted conversation: {gone:?}"
    );
    assert_eq!(kept.unwrap(), ["only"]);
    assert_eq!(listed, ["second"]);
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_concurrent_reads_each_get_their_own() {
    let db = common::TempSqlite::new().await;
    every_read_gets_its_own(&db).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_concurrent_reads_each_get_their_own() {
    let db = common::TempPostgres::new().await;
    every_read_gets_its_own(&db).await;
}
