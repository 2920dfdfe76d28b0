//! Deleting the account: `DELETE /auth/me`.

use super::detail::Detail;
use super::session::Authenticated;
use super::{ApiError, ApiTags, cookie};
use crate::state::AppState;
use meai_core::CoreError;
use meai_core::service::DeletionError;
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use std::collections::BTreeMap;

pub struct AccountApi;

#[derive(Debug, Object)]
struct DeleteAccount {
    /// The account's e-mail address, exactly as `GET /auth/me` shows it (case aside): the
    /// deletion cannot be undone.
    confirm: String,
}

/// What was removed.
#[derive(Debug, Object)]
struct AccountDeleted {
    message: String,
    /// Rows removed, per kind (`conversations`, `messages`, `memories`, ...).
    removed: BTreeMap<String, u64>,
    /// Connected accounts deleted at Composio (their credentials go with them).
    toolkit_accounts_deleted: Vec<String>,
    /// False when this server has no Composio configured (nothing could be asked to delete).
    toolkits_configured: bool,
    /// The vector index the person's vectors were removed from (`local`, `chroma`, `qdrant`).
    vector_index: String,
}

#[derive(ApiResponse)]
enum Deleted {
    /// The account and everything of it are gone; the session cookie is cleared and every
    /// token of the account is refused from now on.
    #[oai(status = 200)]
    Ok(Json<AccountDeleted>, #[oai(header = "Set-Cookie")] String),
}

fn failed(e: DeletionError) -> ApiError {
    match e {
        DeletionError::NotConfirmed => ApiError::bad_request(e.to_string()),
        DeletionError::Unauthenticated => ApiError::unauthorized(),
        DeletionError::Store(s) => CoreError::Storage(s).into(),
        DeletionError::Sessions(c) => c.into(),
        DeletionError::Toolkits(_) | DeletionError::Vectors(_) => {
            tracing::error!(error = %e, "account deletion stopped before deleting anything");
            ApiError::Unavailable(Json(Detail::new(format!("{e}. Nothing was deleted yet: try again"))))
        }
    }
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AccountApi {
    /// Delete the account
    ///
    /// Removes the signed-in person and everything of theirs: conversations and messages,
    /// memories, toolkit connections (and the connected accounts at Composio), their vectors in
    /// the vector index, and their sessions. Send the account's e-mail as `confirm`; 400 when it
    /// does not match. 503 when Composio or the vector index cannot be reached: nothing is
    /// deleted then.
    #[oai(path = "/auth/me", method = "delete", operation_id = "deleteMe")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        body: Json<DeleteAccount>,
    ) -> Result<Deleted, ApiError> {
        // Every session of the account ends at once, on every instance (live sockets close).
        let deleted = state
            .account
            .delete(session.0.user_id, &body.0.confirm, &state.sessions)
            .await
            .map_err(failed)?;
        let removed = deleted
            .rows
            .iter()
            .filter(|r| r.rows > 0)
            .map(|r| (r.what.to_owned(), r.rows))
            .collect();
        Ok(Deleted::Ok(
            Json(AccountDeleted {
                message: "Your account and everything in it were deleted".into(),
                removed,
                toolkit_accounts_deleted: deleted.toolkit_accounts,
                toolkits_configured: deleted.toolkits_configured,
                vector_index: deleted.vector_index.to_owned(),
            }),
            cookie::cleared(&state.config),
        ))
    }
}
