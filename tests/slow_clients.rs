//! Connection hygiene: connections that send nothing, half a request, or sit idle after a
//! request are closed after the configured timeouts while normal requests keep being served;
//! connections beyond `MAX_CONNECTIONS` wait; oversized request heads get `{"detail"}` with 431
//! or 414 (heads over twice `MAX_HEADER_BYTES` get hyper's own bare 431, not tested here: the
//! server closes with the rest unread, so a client may see a reset instead). Raw TCP on 127.0.0.1 against the real server.

mod common;

use common::{TestApp, spawn_mock_app};
use reqwest::StatusCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection (at most `within`); what it sent before.
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    });
    assert!(read.await.is_ok(), "the server never closed the connection");
    got
}

async fn health(app: &TestApp) -> StatusCode {
    reqwest::get(app.url("/health")).await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_partial_connections_are_closed_while_requests_are_served() {
    let app = spawn_mock_app(
        &[("HTTP_HEADER_TIMEOUT_SECONDS", "1"), ("HTTP_KEEP_ALIVE_SECONDS", "2")],
        |a| a,
    )
    .await;
    // Sends nothing.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    // Half a request line, then nothing.
    let mut partial = TcpStream::connect(app.addr).await.unwrap();
    partial.write_all(b"GET /hea").await.unwrap();
    // A whole request head, a byte at a time, slower than the timeout allows.
    let mut trickle = TcpStream::connect(app.addr).await.unwrap();
    // One request on a keep-alive connection, then idle.
    let mut kept = TcpStream::connect(app.addr).await.unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();

    // Meanwhile, and after, everyone else is served.
    for _ in 0..3 {
        assert_eq!(health(&app).await, StatusCode::OK);
    }
    let trickling = tokio::spawn(async move {
        for b in b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" {
            if trickle.write_all(&[*b]).await.is_err() {
                return (trickle, true);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        (trickle, false)
    });

    let within = Duration::from_secs(10);
    assert!(closed_by_server(&mut silent, within).await.is_empty());
    assert!(
        closed_by_server(&mut partial, within).await.is_empty(),
        "no answer to half a request"
    );
    let answered = closed_by_server(&mut kept, within).await;
    assert!(
        answered.starts_with(b"HTTP/1.1 200"),
        "answered, then closed when idle: {}",
        String::from_utf8_lossy(&answered)
    );
    let (mut trickle, cut) = trickling.await.unwrap();
    let trickled = closed_by_server(&mut trickle, within).await;
    assert!(
        cut || !trickled.starts_with(b"HTTP/1.1 200"),
        "a head slower than the header timeout is not answered"
    );
    assert_eq!(health(&app).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let app = spawn_mock_app(
        &[("MAX_CONNECTIONS", "2"), ("HTTP_HEADER_TIMEOUT_SECONDS", "60")],
        |a| a,
    )
    .await;
    let first = TcpStream::connect(app.addr).await.unwrap();
    let _second = TcpStream::connect(app.addr).await.unwrap();
    // Both slots are taken: this request waits to be accepted.
    let waiting = tokio::spawn(reqwest::get(app.url("/health")));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "not served while every slot is taken");
    drop(first);
    let served = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("served once a slot is free")
        .unwrap()
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_heads_get_431_and_414_with_detail() {
    let app = spawn_mock_app(&[("MAX_HEADER_BYTES", "8192"), ("MAX_URI_BYTES", "2048")], |a| a).await;
    let http = reqwest::Client::new();
    let big = http
        .get(app.url("/health"))
        .header("x-filler", "a".repeat(9000))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(common::json(big).await["detail"], "Request header fields too large");
    let long = http
        .get(app.url(&format!("/health?q={}", "a".repeat(3000))))
        .send()
        .await
        .unwrap();
    assert_eq!(long.status(), StatusCode::URI_TOO_LONG);
    assert_eq!(common::json(long).await["detail"], "Request URI too long");
    // Heads within the limits are served.
    let ok = http
        .get(app.url("/health"))
        .header("x-filler", "a".repeat(4000))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}
