//! A JSON response serialized straight from its typed value with serde, documented like
//! poem-openapi's `Json` from the same type. `Json` first builds a `serde_json::Value` tree of
//! the whole body (a map per object, a string per key), which costs more than the query on long
//! lists; the spec stays generated from the `Object` type, and the tests pin that both encodings
//! are the same document.

use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use serde::Serialize;

pub struct TypedJson<T>(pub T);

/// What poem-openapi's `Json` answers with.
const CONTENT_TYPE: &str = "application/json; charset=utf-8";

impl<T: Type> Payload for TypedJson<T> {
    const CONTENT_TYPE: &'static str = CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Serialize + Send> IntoResponse for TypedJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::builder().content_type(CONTENT_TYPE).body(body),
            Err(e) => {
                tracing::error!(error = %e, "could not encode a response");
                poem::Error::from_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR).into_response()
            }
        }
    }
}

// Documented exactly as `Json<T>` is (the bound only borrows its `ToJSON` for that).
impl<T: ToJSON + Serialize + Send> ApiResponse for TypedJson<T> {
    fn meta() -> MetaResponses {
        <Json<T> as ApiResponse>::meta()
    }

    fn register(registry: &mut Registry) {
        <Json<T> as ApiResponse>::register(registry);
    }
}

/// Serializes a field as poem-openapi does (`ToJSON`), for the few types whose serde form
/// differs from it (timestamps): the field's bytes are then the same whichever encoder runs.
pub fn as_openapi<T: ToJSON, S: serde::Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    value.to_json().serialize(serializer)
}
