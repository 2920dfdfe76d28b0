//! Sign-in with Google end to end at the wire level: `Logins` + `GoogleIdentity` + biscuit
//! sessions against the fake OpenID provider.

mod support;

use chrono::{Duration, Utc};
use meai_core::identity::{Identity, IdentityError};
use meai_core::service::LoginError;
use meai_core::store::LoginStore;
use meai_core::{AuthMethod, PendingLogin};
use meai_testkit::oidc::{Profile, TokenOutcome};
use reqwest::Url;
use support::{REDIRECT_URI, Rig, code_and_state, follow, query};

#[tokio::test]
async fn full_flow_signs_in_with_a_session_that_authenticates() {
    let rig = Rig::start().await;
    rig.idp
        .set_profile(Profile::new("Ada@Example.com").with_name("Ada Lovelace"));

    let url = rig.logins.start(Some("/conversations/7".into())).await.unwrap();
    let params = query(&Url::parse(&url).unwrap());
    assert!(url.starts_with(&rig.idp.authorize_url()));
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["scope"], "openid email profile");
    assert_eq!(params["redirect_uri"], REDIRECT_URI);
    assert_eq!(params["code_challenge_method"], "S256");
    for random in ["state", "code_challenge", "nonce"] {
        assert!(params[random].len() >= 16, "{random} looks too short");
    }

    let back = follow(&url).await;
    assert_eq!(back["state"], params["state"]);
    let (user, token, claims, return_to) = rig.logins.finish(&back["code"], &back["state"]).await.unwrap();

    assert_eq!(user.email.as_str(), "ada@example.com");
    assert_eq!(user.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(user.avatar_url.as_deref(), Some("https://pictures.example.com/Ada.png"));
    assert_eq!(user.auth_method, AuthMethod::Google);
    assert_eq!(return_to.as_deref(), Some("/conversations/7"));
    assert_eq!(claims.user_id, user.id);

    let session = rig
        .sessions
        .authenticate(token.expose())
        .await
        .expect("the new session authenticates");
    assert_eq!((session.user_id, &session.token_id), (user.id, &claims.token_id));
    assert_eq!(rig.sessions.current_user(&session).await.unwrap().id, user.id);

    // What went over the wire: the PKCE verifier and the exact redirect URI at the token
    // endpoint, client credentials by HTTP Basic, and the access token as a bearer at userinfo.
    let token_requests = rig.idp.requests_to("/token");
    assert_eq!(token_requests.len(), 1);
    let exchange = &token_requests[0];
    assert_eq!(exchange.params["grant_type"], "authorization_code");
    assert_eq!(exchange.params["redirect_uri"], REDIRECT_URI);
    assert!(exchange.params.contains_key("code_verifier"));
    assert!(
        exchange
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic "))
    );
    let userinfo = rig.idp.requests_to("/userinfo");
    assert!(
        userinfo[0]
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Bearer ya29."))
    );
}

#[tokio::test]
async fn a_callback_cannot_be_replayed() {
    let rig = Rig::start().await;
    let (code, state) = code_and_state(&rig.logins, None).await;
    rig.logins.finish(&code, &state).await.expect("first callback signs in");

    let replay = rig.logins.finish(&code, &state).await.unwrap_err();
    assert!(matches!(replay, LoginError::InvalidState), "{replay:?}");
    assert_eq!(replay.code(), "invalid_state");
    assert_eq!(
        rig.idp.requests_to("/token").len(),
        1,
        "a replay never reaches the provider"
    );
}

#[tokio::test]
async fn an_unknown_state_is_refused_without_spending_the_real_one() {
    let rig = Rig::start().await;
    let (code, state) = code_and_state(&rig.logins, None).await;

    for forged in ["forged-state", ""] {
        let err = rig.logins.finish(&code, forged).await.unwrap_err();
        assert!(matches!(err, LoginError::InvalidState), "{err:?}");
    }
    assert!(rig.idp.requests_to("/token").is_empty());
    rig.logins
        .finish(&code, &state)
        .await
        .expect("the genuine callback still works");
}

#[tokio::test]
async fn an_expired_login_is_refused() {
    let rig = Rig::start().await;
    // Started 11 minutes ago: the provider still hands out a code, but the login has lapsed.
    let request = rig.identity.authorize(None, Utc::now() - Duration::minutes(11));
    assert!(request.login.expires_at < Utc::now());
    rig.store.put_login(&request.login).await.unwrap();
    let back = follow(&request.url).await;
    let err = rig.logins.finish(&back["code"], &back["state"]).await.unwrap_err();
    assert!(matches!(err, LoginError::InvalidState), "{err:?}");
}

#[tokio::test]
async fn an_unverified_email_is_refused() {
    let rig = Rig::start().await;
    rig.idp.set_profile(Profile::new("mallory@example.com").unverified());
    let (code, state) = code_and_state(&rig.logins, None).await;

    let err = rig.logins.finish(&code, &state).await.unwrap_err();
    assert!(
        matches!(err, LoginError::Identity(IdentityError::UnverifiedEmail)),
        "{err:?}"
    );
    assert_eq!(err.code(), "unverified_email");
    assert_eq!(rig.store.user_count(), 0, "no account for an unverified address");
}

#[tokio::test]
async fn a_rejected_code_is_reported_as_rejected() {
    let rig = Rig::start().await;
    rig.idp.set_token_outcome(TokenOutcome::Reject);
    let (code, state) = code_and_state(&rig.logins, None).await;

    let err = rig.logins.finish(&code, &state).await.unwrap_err();
    assert!(
        matches!(&err, LoginError::Identity(IdentityError::Rejected(c)) if c == "invalid_grant"),
        "{err:?}"
    );
    assert_eq!(err.code(), "rejected");
    assert_eq!(rig.store.user_count(), 0);
}

#[tokio::test]
async fn a_failing_provider_is_reported_as_unavailable() {
    let rig = Rig::start().await;
    rig.idp.set_token_outcome(TokenOutcome::Unavailable);
    let (code, state) = code_and_state(&rig.logins, None).await;
    let err = rig.logins.finish(&code, &state).await.unwrap_err();
    assert!(
        matches!(err, LoginError::Identity(IdentityError::Unavailable(_))),
        "{err:?}"
    );
    assert_eq!(err.code(), "provider_unavailable");
}

#[tokio::test]
async fn an_unreachable_provider_is_reported_as_unavailable() {
    let rig = Rig::start().await;
    let mut config = support::config(&rig.idp);
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    config.token_url = "http://127.0.0.1:9/token".into();
    let identity = meai_google::GoogleIdentity::new(&config).unwrap();
    let request = identity.authorize(None, Utc::now());
    let back = follow(&request.url).await;
    let err = identity.exchange(&back["code"], &request.login).await.unwrap_err();
    assert!(matches!(err, IdentityError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn signing_in_again_updates_the_same_user() {
    let rig = Rig::start().await;
    rig.idp
        .set_profile(Profile::new("grace@example.com").with_name("Grace"));
    let (code, state) = code_and_state(&rig.logins, None).await;
    let (first, ..) = rig.logins.finish(&code, &state).await.unwrap();

    rig.idp
        .set_profile(Profile::new("grace@example.com").with_name("Grace Hopper"));
    let (code, state) = code_and_state(&rig.logins, None).await;
    let (second, _, claims, _) = rig.logins.finish(&code, &state).await.unwrap();

    assert_eq!(second.id, first.id);
    assert_eq!(second.name.as_deref(), Some("Grace Hopper"));
    assert_eq!(claims.user_id, first.id);
    assert_eq!(rig.store.user_count(), 1);
}

#[tokio::test]
async fn the_pkce_verifier_is_checked() {
    let rig = Rig::start().await;
    let request = rig.identity.authorize(None, Utc::now());
    let back = follow(&request.url).await;

    // The code is presented with the verifier of another login: an intercepted code is useless.
    let other = rig.identity.authorize(None, Utc::now()).login;
    let forged = PendingLogin {
        pkce_verifier: other.pkce_verifier,
        ..request.login.clone()
    };
    let err = rig.identity.exchange(&back["code"], &forged).await.unwrap_err();
    assert_eq!(err, IdentityError::Rejected("invalid_grant".into()));
    assert_ne!(
        rig.idp.requests_to("/token")[0].params["code_verifier"],
        request.login.pkce_verifier
    );

    // And the code was spent by that attempt, like a real provider's.
    let err = rig.identity.exchange(&back["code"], &request.login).await.unwrap_err();
    assert_eq!(err, IdentityError::Rejected("invalid_grant".into()));
}

#[tokio::test]
async fn an_off_site_return_to_is_dropped() {
    let rig = Rig::start().await;
    for evil in ["https://evil.example/", "//evil.example/x"] {
        let (code, state) = code_and_state(&rig.logins, Some(evil)).await;
        let (.., return_to) = rig.logins.finish(&code, &state).await.unwrap();
        assert_eq!(return_to, None, "{evil}");
    }
}

#[tokio::test]
async fn each_login_gets_fresh_randomness() {
    let rig = Rig::start().await;
    let a = rig.identity.authorize(None, Utc::now());
    let b = rig.identity.authorize(None, Utc::now());
    assert_ne!(a.login.state, b.login.state);
    assert_ne!(a.login.pkce_verifier, b.login.pkce_verifier);
    assert_ne!(a.login.nonce, b.login.nonce);
    let expected = Utc::now() + Duration::minutes(10);
    assert!((a.login.expires_at - expected).num_seconds().abs() <= 5);
}

#[tokio::test]
async fn a_denied_consent_comes_back_as_an_error() {
    let rig = Rig::start().await;
    rig.idp.deny_consent(true);
    let url = rig.logins.start(None).await.unwrap();
    let back = follow(&url).await;
    assert_eq!(back.get("error").map(String::as_str), Some("access_denied"));
    assert!(!back.contains_key("code"));
    assert_eq!(back["state"], query(&Url::parse(&url).unwrap())["state"]);
}

#[test]
fn config_debug_hides_the_secret() {
    let config = meai_google::GoogleConfig::new("id.apps.googleusercontent.com", "GOCSPX-very-secret", REDIRECT_URI);
    let shown = format!("{config:?}");
    assert!(!shown.contains("GOCSPX-very-secret"), "{shown}");
    assert!(shown.contains("id.apps.googleusercontent.com"));
    let identity = meai_google::GoogleIdentity::new(&config).unwrap();
    assert!(!format!("{identity:?}").contains("GOCSPX"));
}

#[test]
fn bad_configuration_is_caught_at_start_up() {
    let ok = meai_google::GoogleConfig::new("id", "secret", REDIRECT_URI);
    assert!(meai_google::GoogleIdentity::new(&ok).is_ok());
    let cases = [
        meai_google::GoogleConfig {
            client_id: " ".into(),
            ..ok.clone()
        },
        meai_google::GoogleConfig {
            client_secret: "".into(),
            ..ok.clone()
        },
        meai_google::GoogleConfig {
            redirect_uri: "/auth/google/callback".into(),
            ..ok.clone()
        },
        meai_google::GoogleConfig {
            token_url: "not a url".into(),
            ..ok.clone()
        },
    ];
    for config in cases {
        assert!(meai_google::GoogleIdentity::new(&config).is_err(), "{config:?}");
    }
}
