//! Which database URLs `SqlStore::connect` accepts, and how it refuses the others.

use meai_sql::SqlStore;

#[tokio::test]
async fn unknown_schemes_are_rejected() {
    let err = SqlStore::connect("mysql://localhost/meai").await.unwrap_err();
    assert!(err.to_string().contains("sqlite:"), "{err}");
}

#[cfg(not(feature = "postgres"))]
#[tokio::test]
async fn postgres_without_its_feature_names_the_feature() {
    let err = SqlStore::connect("postgres://localhost/meai").await.unwrap_err();
    assert!(err.to_string().contains("`postgres` cargo feature"), "{err}");
}

#[cfg(not(feature = "sqlite"))]
#[tokio::test]
async fn sqlite_without_its_feature_names_the_feature() {
    let err = SqlStore::connect("sqlite://meai.db").await.unwrap_err();
    assert!(err.to_string().contains("`sqlite` cargo feature"), "{err}");
}
