//! Against a real Redis at `TEST_REDIS_URL` (the test fails when it is unset).

use super::*;

fn url() -> String {
    meai_testkit::need::redis_url()
}

/// A registry under a fresh prefix: tests share one Redis without seeing each other's runs.
fn fresh(url: &str, lease: Duration) -> RedisRuns {
    let config = RedisRunsConfig {
        prefix: format!("meai-test:{}", uuid::Uuid::new_v4().simple()),
        lease,
        ..Default::default()
    };
    RedisRuns::new(url, config).unwrap()
}

#[tokio::test]
async fn redis_runs_keep_the_contract() {
    let url = url();
    meai_core::turn::contract::run_registry_contract(|| fresh(&url, Duration::from_secs(10))).await;
}

#[tokio::test]
async fn two_registries_share_runs_and_stops() {
    let url = url();
    let a = fresh(&url, Duration::from_secs(10));
    let b = RedisRuns {
        inner: Arc::new(Inner {
            client: redis::Client::open(url.as_str()).unwrap(),
            con: OnceCell::new(),
            hub: OnceCell::new(),
            config: a.inner.config.clone(),
            store: None,
        }),
    };
    let c = ConversationId(9);
    let w = a.begin(c, UserId(1)).await.unwrap();
    w.publish(TurnEvent::Assistant { content: "x".into() }).await.unwrap();
    assert_eq!(b.active(c).await.unwrap(), Some(w.run()));
    let att = b.attach(c, 0).await.unwrap().unwrap();
    let stopped = w.stopped();
    assert!(b.request_stop(c).await.unwrap());
    tokio::time::timeout(Duration::from_secs(5), stopped)
        .await
        .expect("stop crosses instances");
    w.publish(TurnEvent::LastChunk { stopped: true }).await.unwrap();
    w.finish().await;
    let seqs: Vec<u64> = att.events.map(|e| e.seq).collect().await;
    assert_eq!(seqs, [1, 2]);
}

#[tokio::test]
async fn a_run_whose_instance_died_is_closed_by_its_listeners() {
    let url = url();
    let runs = fresh(&url, Duration::from_millis(600));
    let c = ConversationId(3);
    let w = writer::begin_writer(runs.inner.clone(), c, UserId(1)).await.unwrap();
    w.publish(TurnEvent::Assistant {
        content: "half an ans".into(),
    })
    .await
    .unwrap();
    let att = runs.attach(c, 0).await.unwrap().unwrap();
    w.crash();
    let events: Vec<TurnEvent> = tokio::time::timeout(Duration::from_secs(10), att.events.map(|e| e.event).collect())
        .await
        .expect("listeners get an end");
    assert_eq!(
        events,
        [
            TurnEvent::Assistant {
                content: "half an ans".into()
            },
            TurnEvent::Error {
                error: INSTANCE_LOST.into()
            },
            TurnEvent::LastChunk { stopped: false }
        ]
    );
    assert!(runs.active(c).await.unwrap().is_none());
    runs.begin(c, UserId(1)).await.expect("the conversation is free again");
}

#[tokio::test]
async fn runs_begun_on_one_instance_are_announced_to_the_others() {
    let url = url();
    let a = fresh(&url, Duration::from_secs(10));
    let b = RedisRuns::new(&url, a.inner.config.clone()).unwrap();
    let mut started = b.started().await.unwrap().expect("a shared registry announces runs");
    let w = a.begin(ConversationId(4), UserId(2)).await.unwrap();
    let notice = tokio::time::timeout(Duration::from_secs(5), started.next())
        .await
        .expect("announced")
        .unwrap();
    assert_eq!(
        notice,
        RunStarted {
            conversation: ConversationId(4),
            run: w.run()
        }
    );
    // The announced run is attachable at once.
    assert_eq!(b.attach(ConversationId(4), 0).await.unwrap().unwrap().run, w.run());
    w.finish().await;
}
