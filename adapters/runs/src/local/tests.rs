use super::*;
use futures::StreamExt;

#[tokio::test]
async fn local_runs_keep_the_contract() {
    meai_core::turn::contract::run_registry_contract(LocalRuns::default).await;
}

#[tokio::test]
async fn a_lagging_listener_catches_up_from_the_log() {
    let runs = LocalRuns::new(LocalRunsConfig {
        channel_capacity: 2,
        ..Default::default()
    });
    let c = ConversationId(7);
    let w = runs.begin(c, UserId(1)).await.unwrap();
    let att = runs.attach(c, 0).await.unwrap().unwrap();
    for i in 0..50 {
        w.publish(TurnEvent::Assistant { content: i.to_string() })
            .await
            .unwrap();
    }
    w.finish().await;
    let seqs: Vec<u64> = att.events.map(|e| e.seq).collect().await;
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
}

#[tokio::test]
async fn finished_runs_are_forgotten_after_the_retention() {
    let runs = LocalRuns::new(LocalRunsConfig {
        retention: Duration::from_millis(10),
        ..Default::default()
    });
    let c = ConversationId(7);
    runs.begin(c, UserId(1)).await.unwrap().finish().await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    runs.begin(ConversationId(8), UserId(1)).await.unwrap(); // sweeps
    assert!(runs.attach(c, 0).await.unwrap().is_none());
}
