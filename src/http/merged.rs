//! One entry per path in the spec, whichever API area declares its operations.
//!
//! poem-openapi writes the paths of each `#[OpenApi]` impl of a tuple separately, so a path with
//! operations in two areas (`GET /conversations/{id}/messages` in conversations, `POST` in chat)
//! appeared twice in `paths`: JSON parsers keep only the last (the GET was lost in `/docs`) and
//! openapi-typescript refuses the document. [`Merged`] joins them; routing is unchanged.

use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem_openapi::OpenApi;
use poem_openapi::registry::{MetaApi, MetaPath, Registry};
use std::collections::HashMap;

pub struct Merged<T>(pub T);

impl<T: OpenApi> OpenApi for Merged<T> {
    fn meta() -> Vec<MetaApi> {
        let mut paths: Vec<MetaPath> = Vec::new();
        for path in T::meta().into_iter().flat_map(|api| api.paths) {
            match paths.iter_mut().find(|p| p.path == path.path) {
                Some(existing) => existing.operations.extend(path.operations),
                None => paths.push(path),
            }
        }
        vec![MetaApi { paths }]
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn add_routes(self, route_table: &mut HashMap<String, HashMap<Method, BoxEndpoint<'static>>>) {
        self.0.add_routes(route_table);
    }
}

#[cfg(test)]
mod tests {
    use super::Merged;
    use poem_openapi::{OpenApi, OpenApiService, payload::PlainText};

    struct Reads;
    #[OpenApi]
    impl Reads {
        #[oai(path = "/things/:id", method = "get")]
        async fn read(&self, id: poem_openapi::param::Path<i64>) -> PlainText<String> {
            PlainText(id.0.to_string())
        }
    }

    struct Writes;
    #[OpenApi]
    impl Writes {
        #[oai(path = "/things/:id", method = "post")]
        async fn write(&self, id: poem_openapi::param::Path<i64>) -> PlainText<String> {
            PlainText(id.0.to_string())
        }
    }

    #[test]
    fn a_path_declared_by_two_areas_appears_once_with_both_operations() {
        let spec = OpenApiService::new(Merged((Reads, Writes)), "t", "1").spec();
        assert_eq!(spec.matches("\"/things/{id}\"").count(), 1, "{spec}");
        let parsed: serde_json::Value = serde_json::from_str(&spec).unwrap();
        let ops = parsed["paths"]["/things/{id}"].as_object().unwrap();
        assert!(ops.contains_key("get") && ops.contains_key("post"), "{ops:?}");
    }
}
