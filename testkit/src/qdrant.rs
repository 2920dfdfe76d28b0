//! A fake Qdrant gRPC server on 127.0.0.1 and a random port: qdrant-client's generated server traits
//! served by tonic over collections held in memory, so the Qdrant vector index is tested as it talks to
//! Qdrant.
//!
//! - RPCs: `Qdrant/HealthCheck`; `Collections/{List, Create, Delete, CollectionExists}`;
//!   `Points/{Upsert, Delete, CreateFieldIndex, Query}`. Every other RPC, and every option the real
//!   server accepts but the fake does not model (named, sparse or multi vectors, distances other than
//!   cosine, range or nested-key filters, prefetch, returned vectors, ...), answers `Unimplemented`,
//!   so a test never passes on an option the fake silently ignored.
//! - Cosine only, exact: vectors are normalised at insert and queries at query time, then scored by
//!   dot product, as Qdrant scores `Distance::Cosine`; ties go to the lower point id.
//! - Filters: `must`, `should`, `must_not`, nested filters, `has_id`, and `match` of an integer,
//!   keyword or boolean (one value or any of several) on a top-level payload key; a list payload
//!   value matches when one of its elements does.
//! - Refusals with the real server's codes and wording: an unknown collection is `NotFound`, a vector
//!   of the wrong size or a malformed request `InvalidArgument`, creating an existing collection
//!   `AlreadyExists`, a missing or wrong `api-key` ([`FakeQdrant::start_with_api_key`])
//!   `PermissionDenied`.
//! - Test hooks: [`FakeQdrant::collections`], [`FakeQdrant::point_count`],
//!   [`FakeQdrant::points_with`] (points by payload value, across collections),
//!   [`FakeQdrant::field_indexes`].
//!
//! ```no_run
//! # async fn demo() {
//! let fake = meai_testkit::qdrant::FakeQdrant::start().await;
//! let client = qdrant_client::Qdrant::from_url(&fake.url()).build().unwrap();
//! # }
//! ```

use qdrant_client::qdrant::collections_server::{Collections, CollectionsServer};
use qdrant_client::qdrant::points_server::{Points, PointsServer};
use qdrant_client::qdrant::qdrant_server::{Qdrant, QdrantServer};
use qdrant_client::qdrant::{self as pb, r#match::MatchValue, value::Kind};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::oneshot;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// The server version the fake reports (qdrant-client warns when the minor versions differ by more
/// than one).
pub const VERSION: &str = "1.20.0";

/// A running fake Qdrant. Dropping it stops the server.
pub struct FakeQdrant {
    url: String,
    state: Arc<State>,
    _shutdown: oneshot::Sender<()>,
}

impl FakeQdrant {
    /// Starts a fake that serves every request.
    pub async fn start() -> Self {
        Self::serve(None)
    }

    /// Starts a fake that, like a server with `service.api_key` set, serves only requests carrying
    /// `api-key: key` (or `authorization: Bearer key`).
    pub async fn start_with_api_key(key: &str) -> Self {
        Self::serve(Some(key.into()))
    }

    fn serve(api_key: Option<Arc<str>>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port for the fake Qdrant");
        let addr = listener.local_addr().expect("fake Qdrant address");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let state = Arc::new(State::default());
        let service = Service(state.clone());
        let (shutdown, stopped) = oneshot::channel::<()>();
        // Its own thread and runtime: qdrant-client's builder blocks the calling thread on a health
        // check, which would starve a server spawned on a current-thread test runtime.
        std::thread::Builder::new()
            .name(format!("fake-qdrant-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("fake Qdrant runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("fake Qdrant listener");
                    let auth = move |request: Request<()>| authorise(api_key.as_deref(), request);
                    let served = Server::builder()
                        .add_service(QdrantServer::with_interceptor(service.clone(), auth.clone()))
                        .add_service(CollectionsServer::with_interceptor(service.clone(), auth.clone()))
                        .add_service(PointsServer::with_interceptor(service, auth))
                        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                            let _ = stopped.await;
                        })
                        .await;
                    if let Err(e) = served {
                        tracing::warn!(error = %e, "fake Qdrant stopped");
                    }
                });
            })
            .expect("spawn the fake Qdrant thread");
        Self {
            url: format!("http://{addr}"),
            state,
            _shutdown: shutdown,
        }
    }

    /// `http://127.0.0.1:<port>`: the gRPC URL a Qdrant client connects to.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The names of the collections, sorted.
    pub fn collections(&self) -> Vec<String> {
        self.state.store().collections.keys().cloned().collect()
    }

    /// How many points `collection` holds, or `None` when it does not exist.
    pub fn point_count(&self, collection: &str) -> Option<usize> {
        self.state.store().collections.get(collection).map(|c| c.points.len())
    }

    /// How many points, in every collection, have the integer `value` at payload `key` (e.g. every
    /// point of a user: `("user_id", 7)`).
    pub fn points_with(&self, key: &str, value: i64) -> usize {
        let wanted = |p: &Point| matches!(p.payload.get(key).and_then(|v| v.kind.as_ref()), Some(Kind::IntegerValue(i)) if *i == value);
        self.state
            .store()
            .collections
            .values()
            .map(|c| c.points.values().filter(|p| wanted(p)).count())
            .sum()
    }

    /// The payload indexes of `collection` (field name and type), or `None` when it does not exist.
    pub fn field_indexes(&self, collection: &str) -> Option<BTreeMap<String, pb::FieldType>> {
        self.state
            .store()
            .collections
            .get(collection)
            .map(|c| c.field_indexes.clone())
    }
}

fn authorise(key: Option<&str>, request: Request<()>) -> Result<Request<()>, Status> {
    let Some(key) = key else { return Ok(request) };
    let header = |name: &str| request.metadata().get(name).and_then(|v| v.to_str().ok());
    let given = header("api-key").or_else(|| header("authorization").and_then(|v| v.strip_prefix("Bearer ")));
    match given {
        Some(given) if given == key => Ok(request),
        Some(_) => Err(Status::permission_denied("Invalid API key or JWT")),
        None => Err(Status::permission_denied(
            "Must provide an API key or an Authorization bearer token",
        )),
    }
}

fn not_found(collection: &str) -> Status {
    Status::not_found(format!("Not found: Collection `{collection}` doesn't exist!"))
}

fn wrong_input(description: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("Wrong input: {description}"))
}

/// Something the real server accepts but the fake does not model.
fn unsupported(what: &str) -> Status {
    Status::unimplemented(format!("the fake Qdrant does not support {what}"))
}

#[derive(Default)]
struct State {
    store: Mutex<Store>,
}

impl State {
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Default)]
struct Store {
    collections: BTreeMap<String, Collection>,
    /// The last update operation's number: operation ids and point versions.
    operation: u64,
}

impl Store {
    fn collection(&self, name: &str) -> Result<&Collection, Status> {
        self.collections.get(name).ok_or_else(|| not_found(name))
    }

    /// The collection and the number of the update about to be applied to it.
    fn update(&mut self, name: &str) -> Result<(&mut Collection, u64), Status> {
        let collection = self.collections.get_mut(name).ok_or_else(|| not_found(name))?;
        self.operation += 1;
        Ok((collection, self.operation))
    }
}

struct Collection {
    size: usize,
    points: BTreeMap<Id, Point>,
    field_indexes: BTreeMap<String, pb::FieldType>,
}

impl Collection {
    fn check_size(&self, len: usize) -> Result<(), Status> {
        if len == self.size {
            Ok(())
        } else {
            Err(wrong_input(format_args!(
                "Vector dimension error: expected dim: {}, got {len}",
                self.size
            )))
        }
    }
}

struct Point {
    /// Normalised, as Qdrant stores cosine vectors.
    vector: Vec<f32>,
    payload: HashMap<String, pb::Value>,
    version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Id {
    Num(u64),
    Uuid(uuid::Uuid),
}

impl Id {
    fn of(id: Option<&pb::PointId>) -> Result<Self, Status> {
        match id.and_then(|id| id.point_id_options.as_ref()) {
            Some(pb::point_id::PointIdOptions::Num(n)) => Ok(Self::Num(*n)),
            Some(pb::point_id::PointIdOptions::Uuid(s)) => uuid::Uuid::parse_str(s)
                .map(Self::Uuid)
                .map_err(|e| wrong_input(format_args!("Unable to parse UUID: {s}: {e}"))),
            None => Err(wrong_input("point id is required")),
        }
    }

    fn to_pb(&self) -> pb::PointId {
        match self {
            Self::Num(n) => (*n).into(),
            Self::Uuid(u) => u.to_string().into(),
        }
    }
}

fn normalised(mut vector: Vec<f32>) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    // Qdrant leaves a (near) zero vector as it is rather than divide by zero.
    if norm > f32::EPSILON {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
    vector
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn dense(vectors: Option<pb::Vectors>) -> Result<Vec<f32>, Status> {
    match vectors.and_then(|v| v.vectors_options) {
        Some(pb::vectors::VectorsOptions::Vector(v)) => v.try_into_dense().map_err(wrong_input),
        Some(pb::vectors::VectorsOptions::Vectors(_)) => Err(unsupported("named vectors")),
        None => Err(wrong_input("point vector is required")),
    }
}

/// A filter compiled once per request, so an unsupported condition is refused even when no point is
/// there to test it on.
enum Cond {
    Filter {
        must: Vec<Cond>,
        should: Vec<Cond>,
        must_not: Vec<Cond>,
    },
    HasId(HashSet<Id>),
    Match {
        key: String,
        matcher: Matcher,
    },
}

enum Matcher {
    Integers(HashSet<i64>),
    Keywords(HashSet<String>),
    Boolean(bool),
}

impl Cond {
    fn filter(filter: &pb::Filter) -> Result<Self, Status> {
        if filter.min_should.is_some() {
            return Err(unsupported("min_should"));
        }
        let all = |conditions: &[pb::Condition]| conditions.iter().map(Self::condition).collect::<Result<_, _>>();
        Ok(Self::Filter {
            must: all(&filter.must)?,
            should: all(&filter.should)?,
            must_not: all(&filter.must_not)?,
        })
    }

    fn condition(condition: &pb::Condition) -> Result<Self, Status> {
        use pb::condition::ConditionOneOf;
        match &condition.condition_one_of {
            Some(ConditionOneOf::Field(field)) => Self::field(field),
            Some(ConditionOneOf::HasId(has)) => Ok(Self::HasId(
                has.has_id.iter().map(|id| Id::of(Some(id))).collect::<Result<_, _>>()?,
            )),
            Some(ConditionOneOf::Filter(filter)) => Self::filter(filter),
            Some(_) => Err(unsupported("conditions other than match, has_id and nested filters")),
            None => Err(wrong_input("empty condition")),
        }
    }

    fn field(field: &pb::FieldCondition) -> Result<Self, Status> {
        let other = field.range.is_some()
            || field.geo_bounding_box.is_some()
            || field.geo_radius.is_some()
            || field.values_count.is_some()
            || field.geo_polygon.is_some()
            || field.datetime_range.is_some()
            || field.is_empty.is_some()
            || field.is_null.is_some();
        if other {
            return Err(unsupported("field conditions other than match"));
        }
        if field.key.contains(['.', '[']) {
            return Err(unsupported("nested payload keys"));
        }
        let Some(value) = field.r#match.as_ref().and_then(|m| m.match_value.as_ref()) else {
            return Err(wrong_input(format_args!(
                "condition on `{}` has nothing to match",
                field.key
            )));
        };
        let matcher = match value {
            MatchValue::Integer(i) => Matcher::Integers(HashSet::from([*i])),
            MatchValue::Integers(is) => Matcher::Integers(is.integers.iter().copied().collect()),
            MatchValue::Keyword(s) => Matcher::Keywords(HashSet::from([s.clone()])),
            MatchValue::Keywords(ss) => Matcher::Keywords(ss.strings.iter().cloned().collect()),
            MatchValue::Boolean(b) => Matcher::Boolean(*b),
            _ => return Err(unsupported("match kinds other than integer, keyword and boolean")),
        };
        Ok(Self::Match {
            key: field.key.clone(),
            matcher,
        })
    }

    fn test(&self, id: &Id, payload: &HashMap<String, pb::Value>) -> bool {
        match self {
            Self::Filter { must, should, must_not } => {
                must.iter().all(|c| c.test(id, payload))
                    && (should.is_empty() || should.iter().any(|c| c.test(id, payload)))
                    && !must_not.iter().any(|c| c.test(id, payload))
            }
            Self::HasId(ids) => ids.contains(id),
            Self::Match { key, matcher } => payload.get(key).is_some_and(|v| matcher.test(v)),
        }
    }
}

impl Matcher {
    fn test(&self, value: &pb::Value) -> bool {
        match (&value.kind, self) {
            (Some(Kind::ListValue(list)), _) => list.values.iter().any(|v| self.test(v)),
            (Some(Kind::IntegerValue(i)), Self::Integers(set)) => set.contains(i),
            (Some(Kind::StringValue(s)), Self::Keywords(set)) => set.contains(s),
            (Some(Kind::BoolValue(b)), Self::Boolean(want)) => b == want,
            _ => false,
        }
    }
}

/// Which payload a query returns.
enum PayloadSelection {
    None,
    All,
    Include(HashSet<String>),
    Exclude(HashSet<String>),
}

impl PayloadSelection {
    fn of(selector: Option<&pb::WithPayloadSelector>) -> Self {
        use pb::with_payload_selector::SelectorOptions;
        match selector.and_then(|s| s.selector_options.as_ref()) {
            None | Some(SelectorOptions::Enable(false)) => Self::None,
            Some(SelectorOptions::Enable(true)) => Self::All,
            Some(SelectorOptions::Include(i)) => Self::Include(i.fields.iter().cloned().collect()),
            Some(SelectorOptions::Exclude(e)) => Self::Exclude(e.fields.iter().cloned().collect()),
        }
    }

    fn select(&self, payload: &HashMap<String, pb::Value>) -> HashMap<String, pb::Value> {
        let keep = |key: &String| match self {
            Self::None => false,
            Self::All => true,
            Self::Include(keys) => keys.contains(key),
            Self::Exclude(keys) => !keys.contains(key),
        };
        payload
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn updated(operation: u64, wait: Option<bool>, started: Instant) -> pb::PointsOperationResponse {
    let status = if wait.unwrap_or(false) {
        pb::UpdateStatus::Completed
    } else {
        pb::UpdateStatus::Acknowledged
    };
    pb::PointsOperationResponse {
        result: Some(pb::UpdateResult {
            operation_id: Some(operation),
            status: status.into(),
        }),
        time: started.elapsed().as_secs_f64(),
        usage: None,
    }
}

fn check_collection_name(name: &str) -> Result<(), Status> {
    const FORBIDDEN: [char; 10] = ['<', '>', ':', '"', '/', '\\', '|', '?', '*', '\0'];
    if name.is_empty() || name.len() > 255 || name.contains(FORBIDDEN) {
        return Err(Status::invalid_argument(format!(
            "Validation error in body: [collection_name: invalid collection name `{name}`]"
        )));
    }
    Ok(())
}

impl State {
    fn create_collection(&self, request: pb::CreateCollection) -> Result<pb::CollectionOperationResponse, Status> {
        let started = Instant::now();
        let name = request.collection_name;
        check_collection_name(&name)?;
        let params = match request.vectors_config.and_then(|c| c.config) {
            Some(pb::vectors_config::Config::Params(params)) => params,
            Some(pb::vectors_config::Config::ParamsMap(_)) => return Err(unsupported("named vectors")),
            None => return Err(unsupported("collections without a dense vector")),
        };
        if request.sparse_vectors_config.is_some() {
            return Err(unsupported("sparse vectors"));
        }
        if params.multivector_config.is_some() {
            return Err(unsupported("multi vectors"));
        }
        if params
            .datatype
            .is_some_and(|d| d != pb::Datatype::Default as i32 && d != pb::Datatype::Float32 as i32)
        {
            return Err(unsupported("vector datatypes other than float32"));
        }
        if !(1..=65_536).contains(&params.size) {
            return Err(Status::invalid_argument(format!(
                "Validation error in body: [vectors_config.size: value {} invalid, must be from 1 to 65536]",
                params.size
            )));
        }
        match pb::Distance::try_from(params.distance) {
            Ok(pb::Distance::Cosine) => {}
            Ok(pb::Distance::UnknownDistance) | Err(_) => {
                return Err(wrong_input(format_args!("unknown distance {}", params.distance)));
            }
            Ok(other) => return Err(unsupported(&format!("{} distance", other.as_str_name()))),
        }
        let mut store = self.store();
        if store.collections.contains_key(&name) {
            return Err(Status::already_exists(format!(
                "Wrong input: Collection `{name}` already exists!"
            )));
        }
        let collection = Collection {
            size: params.size as usize,
            points: BTreeMap::new(),
            field_indexes: BTreeMap::new(),
        };
        store.collections.insert(name, collection);
        Ok(pb::CollectionOperationResponse {
            result: true,
            time: started.elapsed().as_secs_f64(),
        })
    }

    fn upsert(&self, request: pb::UpsertPoints) -> Result<pb::PointsOperationResponse, Status> {
        let started = Instant::now();
        if request.update_filter.is_some() {
            return Err(unsupported("update_filter"));
        }
        if request.update_mode.is_some_and(|m| m != pb::UpdateMode::Upsert as i32) {
            return Err(unsupported("update modes other than upsert"));
        }
        let mut store = self.store();
        let collection = store.collection(&request.collection_name)?;
        // The whole batch is checked before any point is written.
        let mut points = Vec::with_capacity(request.points.len());
        for point in request.points {
            let id = Id::of(point.id.as_ref())?;
            let vector = dense(point.vectors)?;
            collection.check_size(vector.len())?;
            points.push((id, normalised(vector), point.payload));
        }
        let (collection, operation) = store.update(&request.collection_name)?;
        for (id, vector, payload) in points {
            let point = Point {
                vector,
                payload,
                version: operation,
            };
            collection.points.insert(id, point);
        }
        Ok(updated(operation, request.wait, started))
    }

    fn delete_points(&self, request: pb::DeletePoints) -> Result<pb::PointsOperationResponse, Status> {
        use pb::points_selector::PointsSelectorOneOf;
        let started = Instant::now();
        let selected = match request.points.and_then(|p| p.points_selector_one_of) {
            Some(PointsSelectorOneOf::Points(list)) => {
                Cond::HasId(list.ids.iter().map(|id| Id::of(Some(id))).collect::<Result<_, _>>()?)
            }
            Some(PointsSelectorOneOf::Filter(filter)) => Cond::filter(&filter)?,
            None => return Err(wrong_input("points selector is required")),
        };
        let mut store = self.store();
        let (collection, operation) = store.update(&request.collection_name)?;
        collection.points.retain(|id, point| !selected.test(id, &point.payload));
        Ok(updated(operation, request.wait, started))
    }

    fn create_field_index(
        &self,
        request: pb::CreateFieldIndexCollection,
    ) -> Result<pb::PointsOperationResponse, Status> {
        let started = Instant::now();
        let Some(field_type) = request.field_type else {
            return Err(unsupported("field indexes without field_type"));
        };
        let field_type = pb::FieldType::try_from(field_type).map_err(wrong_input)?;
        let mut store = self.store();
        let (collection, operation) = store.update(&request.collection_name)?;
        // Creating an index that exists is accepted, as by the real server.
        collection.field_indexes.insert(request.field_name, field_type);
        Ok(updated(operation, request.wait, started))
    }

    fn query(&self, request: pb::QueryPoints) -> Result<pb::QueryResponse, Status> {
        use pb::{query::Variant, vector_input::Variant as Input, with_vectors_selector::SelectorOptions};
        let started = Instant::now();
        if !request.prefetch.is_empty() {
            return Err(unsupported("prefetch"));
        }
        if request.lookup_from.is_some() {
            return Err(unsupported("lookup_from"));
        }
        let with_vectors = request.with_vectors.and_then(|w| w.selector_options);
        if !matches!(with_vectors, None | Some(SelectorOptions::Enable(false))) {
            return Err(unsupported("with_vectors"));
        }
        let vector = match request.query.and_then(|q| q.variant) {
            Some(Variant::Nearest(pb::VectorInput {
                variant: Some(Input::Dense(dense)),
            })) => dense.data,
            None => return Err(unsupported("queries without a vector")),
            Some(_) => return Err(unsupported("queries other than nearest to a dense vector")),
        };
        if let Some(using) = request.using.filter(|u| !u.is_empty()) {
            return Err(wrong_input(format_args!("Not existing vector name error: {using}")));
        }
        let filter = request.filter.as_ref().map(Cond::filter).transpose()?;
        let payload = PayloadSelection::of(request.with_payload.as_ref());
        let limit = request.limit.unwrap_or(10) as usize;
        let offset = request.offset.unwrap_or(0) as usize;

        let store = self.store();
        let collection = store.collection(&request.collection_name)?;
        collection.check_size(vector.len())?;
        let query = normalised(vector);
        let mut scored: Vec<(f32, &Id, &Point)> = collection
            .points
            .iter()
            .filter(|(id, point)| filter.as_ref().is_none_or(|f| f.test(id, &point.payload)))
            .map(|(id, point)| (dot(&query, &point.vector), id, point))
            .filter(|(score, ..)| request.score_threshold.is_none_or(|t| *score >= t))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let result = scored
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(score, id, point)| pb::ScoredPoint {
                id: Some(id.to_pb()),
                payload: payload.select(&point.payload),
                score,
                version: point.version,
                ..Default::default()
            })
            .collect();
        Ok(pb::QueryResponse {
            result,
            time: started.elapsed().as_secs_f64(),
            usage: None,
        })
    }
}

#[derive(Clone)]
struct Service(Arc<State>);

/// Implements a generated service trait for [`Service`]: the RPCs written out, and every listed one
/// as `Unimplemented` (the traits have no default methods).
macro_rules! service {
    ($service:ident { $($implemented:tt)* } unimplemented { $($rpc:ident: $req:ident => $resp:ident,)* }) => {
        #[tonic::async_trait]
        impl $service for Service {
            $($implemented)*
            $(
                async fn $rpc(&self, _: Request<pb::$req>) -> Result<Response<pb::$resp>, Status> {
                    Err(unsupported(concat!("the ", stringify!($service), "/", stringify!($rpc), " RPC")))
                }
            )*
        }
    };
}

service! {
    Qdrant {
        async fn health_check(
            &self,
            _: Request<pb::HealthCheckRequest>,
        ) -> Result<Response<pb::HealthCheckReply>, Status> {
            Ok(Response::new(pb::HealthCheckReply {
                title: "qdrant - vector search engine".into(),
                version: VERSION.into(),
                commit: None,
            }))
        }
    }
    unimplemented {}
}

service! {
    Collections {
        async fn list(
            &self,
            _: Request<pb::ListCollectionsRequest>,
        ) -> Result<Response<pb::ListCollectionsResponse>, Status> {
            let started = Instant::now();
            let names: Vec<String> = self.0.store().collections.keys().cloned().collect();
            Ok(Response::new(pb::ListCollectionsResponse {
                collections: names.into_iter().map(|name| pb::CollectionDescription { name }).collect(),
                time: started.elapsed().as_secs_f64(),
            }))
        }

        async fn create(
            &self,
            request: Request<pb::CreateCollection>,
        ) -> Result<Response<pb::CollectionOperationResponse>, Status> {
            self.0.create_collection(request.into_inner()).map(Response::new)
        }

        async fn delete(
            &self,
            request: Request<pb::DeleteCollection>,
        ) -> Result<Response<pb::CollectionOperationResponse>, Status> {
            let started = Instant::now();
            // `false` when there was nothing to delete, as the real server answers.
            let removed = self.0.store().collections.remove(&request.get_ref().collection_name);
            Ok(Response::new(pb::CollectionOperationResponse {
                result: removed.is_some(),
                time: started.elapsed().as_secs_f64(),
            }))
        }

        async fn collection_exists(
            &self,
            request: Request<pb::CollectionExistsRequest>,
        ) -> Result<Response<pb::CollectionExistsResponse>, Status> {
            let started = Instant::now();
            let exists = self.0.store().collections.contains_key(&request.get_ref().collection_name);
            Ok(Response::new(pb::CollectionExistsResponse {
                result: Some(pb::CollectionExists { exists }),
                time: started.elapsed().as_secs_f64(),
            }))
        }
    }
    unimplemented {
        get: GetCollectionInfoRequest => GetCollectionInfoResponse,
        update: UpdateCollection => CollectionOperationResponse,
        update_aliases: ChangeAliases => CollectionOperationResponse,
        list_collection_aliases: ListCollectionAliasesRequest => ListAliasesResponse,
        list_aliases: ListAliasesRequest => ListAliasesResponse,
        collection_cluster_info: CollectionClusterInfoRequest => CollectionClusterInfoResponse,
        update_collection_cluster_setup: UpdateCollectionClusterSetupRequest => UpdateCollectionClusterSetupResponse,
        create_shard_key: CreateShardKeyRequest => CreateShardKeyResponse,
        delete_shard_key: DeleteShardKeyRequest => DeleteShardKeyResponse,
        list_shard_keys: ListShardKeysRequest => ListShardKeysResponse,
    }
}

service! {
    Points {
        async fn upsert(
            &self,
            request: Request<pb::UpsertPoints>,
        ) -> Result<Response<pb::PointsOperationResponse>, Status> {
            self.0.upsert(request.into_inner()).map(Response::new)
        }

        async fn delete(
            &self,
            request: Request<pb::DeletePoints>,
        ) -> Result<Response<pb::PointsOperationResponse>, Status> {
            self.0.delete_points(request.into_inner()).map(Response::new)
        }

        async fn create_field_index(
            &self,
            request: Request<pb::CreateFieldIndexCollection>,
        ) -> Result<Response<pb::PointsOperationResponse>, Status> {
            self.0.create_field_index(request.into_inner()).map(Response::new)
        }

        async fn query(
            &self,
            request: Request<pb::QueryPoints>,
        ) -> Result<Response<pb::QueryResponse>, Status> {
            self.0.query(request.into_inner()).map(Response::new)
        }
    }
    unimplemented {
        get: GetPoints => GetResponse,
        update_vectors: UpdatePointVectors => PointsOperationResponse,
        delete_vectors: DeletePointVectors => PointsOperationResponse,
        set_payload: SetPayloadPoints => PointsOperationResponse,
        overwrite_payload: SetPayloadPoints => PointsOperationResponse,
        delete_payload: DeletePayloadPoints => PointsOperationResponse,
        clear_payload: ClearPayloadPoints => PointsOperationResponse,
        delete_field_index: DeleteFieldIndexCollection => PointsOperationResponse,
        create_vector_name: CreateVectorNameRequest => PointsOperationResponse,
        delete_vector_name: DeleteVectorNameRequest => PointsOperationResponse,
        search: SearchPoints => SearchResponse,
        search_batch: SearchBatchPoints => SearchBatchResponse,
        search_groups: SearchPointGroups => SearchGroupsResponse,
        scroll: ScrollPoints => ScrollResponse,
        recommend: RecommendPoints => RecommendResponse,
        recommend_batch: RecommendBatchPoints => RecommendBatchResponse,
        recommend_groups: RecommendPointGroups => RecommendGroupsResponse,
        discover: DiscoverPoints => DiscoverResponse,
        discover_batch: DiscoverBatchPoints => DiscoverBatchResponse,
        count: CountPoints => CountResponse,
        update_batch: UpdateBatchPoints => UpdateBatchResponse,
        query_batch: QueryBatchPoints => QueryBatchResponse,
        query_groups: QueryPointGroups => QueryGroupsResponse,
        facet: FacetCounts => FacetResponse,
        search_matrix_pairs: SearchMatrixPoints => SearchMatrixPairsResponse,
        search_matrix_offsets: SearchMatrixPoints => SearchMatrixOffsetsResponse,
    }
}

#[cfg(test)]
mod tests {
    use super::FakeQdrant;
    use qdrant_client::qdrant::{
        Condition, CreateCollectionBuilder, DeletePointsBuilder, Distance, Filter, PointStruct, PointsIdsList,
        QueryPointsBuilder, ScoredPoint, ScrollPointsBuilder, UpsertPointsBuilder, VectorParamsBuilder,
    };
    use qdrant_client::{Payload, Qdrant, QdrantError};
    use tonic::Code;

    const C: &str = "c";

    /// A client and a fresh two-dimensional cosine collection `c`.
    async fn setup(fake: &FakeQdrant) -> Qdrant {
        let client = Qdrant::from_url(&fake.url()).build().expect("client");
        let create = CreateCollectionBuilder::new(C).vectors_config(VectorParamsBuilder::new(2, Distance::Cosine));
        client.create_collection(create).await.expect("create");
        client
    }

    fn point(id: u64, user: i64, conversation: i64, vector: [f32; 2]) -> PointStruct {
        let payload = Payload::from([("user_id", user.into()), ("conversation_id", conversation.into())]);
        PointStruct::new(id, vector.to_vec(), payload)
    }

    async fn upsert(client: &Qdrant, points: Vec<PointStruct>) {
        client
            .upsert_points(UpsertPointsBuilder::new(C, points).wait(true))
            .await
            .expect("upsert");
    }

    async fn query(client: &Qdrant, vector: [f32; 2], filter: Filter) -> Vec<ScoredPoint> {
        let query = QueryPointsBuilder::new(C)
            .query(vector.to_vec())
            .filter(filter)
            .with_payload(true);
        client.query(query).await.expect("query").result
    }

    fn ids(points: &[ScoredPoint]) -> Vec<u64> {
        use qdrant_client::qdrant::point_id::PointIdOptions;
        let num = |p: &ScoredPoint| match p.id.as_ref().and_then(|id| id.point_id_options.as_ref()) {
            Some(PointIdOptions::Num(n)) => *n,
            other => panic!("numeric id expected: {other:?}"),
        };
        points.iter().map(num).collect()
    }

    fn code<T: std::fmt::Debug>(result: Result<T, QdrantError>) -> Code {
        match result {
            Err(QdrantError::ResponseError { status }) => status.code(),
            other => panic!("a status expected: {other:?}"),
        }
    }

    // A current-thread runtime on purpose: the client's builder blocks this thread on a health
    // check, which the fake's own server thread answers.
    #[tokio::test]
    async fn scores_are_the_cosine_of_the_directions() {
        let fake = FakeQdrant::start().await;
        let client = setup(&fake).await;
        upsert(
            &client,
            vec![
                point(1, 1, 1, [3.0, 4.0]),
                point(2, 1, 1, [5.0, 0.0]),
                point(3, 1, 1, [0.0, -2.0]),
            ],
        )
        .await;
        let found = query(&client, [2.0, 0.0], Filter::default()).await;
        assert_eq!(ids(&found), vec![2, 1, 3], "nearest first");
        let scores: Vec<f32> = found.iter().map(|p| p.score).collect();
        for (got, want) in scores.iter().zip([1.0, 0.6, 0.0]) {
            assert!((got - want).abs() < 1e-6, "{scores:?}");
        }
        assert_eq!(found[0].payload.get("user_id").and_then(|v| v.as_integer()), Some(1));

        let bare = client
            .query(QueryPointsBuilder::new(C).query(vec![1.0, 1.0]).limit(1).offset(1))
            .await
            .expect("query")
            .result;
        assert_eq!(ids(&bare), vec![2], "offset then limit");
        assert!(bare[0].payload.is_empty(), "payload only when asked for");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn filters_never_leak_another_users_points() {
        let fake = FakeQdrant::start().await;
        let client = setup(&fake).await;
        upsert(
            &client,
            vec![
                point(1, 1, 10, [1.0, 0.0]),
                point(2, 2, 20, [1.0, 0.0]),
                point(3, 2, 10, [1.0, 0.1]),
            ],
        )
        .await;
        let mine = Filter::must([Condition::matches("user_id", 1_i64)]);
        assert_eq!(ids(&query(&client, [1.0, 0.0], mine).await), vec![1]);
        // User 1 naming conversation 10, which user 2 also has points in.
        let mine_in = Filter::must([
            Condition::matches("user_id", 1_i64),
            Condition::matches("conversation_id", 10_i64),
        ]);
        assert_eq!(ids(&query(&client, [1.0, 0.0], mine_in).await), vec![1]);
        let nobody = Filter::must([Condition::matches("user_id", 3_i64)]);
        assert!(query(&client, [1.0, 0.0], nobody).await.is_empty());
        let either = Filter::should([
            Condition::matches("conversation_id", vec![20_i64, 30]),
            Condition::has_id([1]),
        ]);
        assert_eq!(ids(&query(&client, [1.0, 0.0], either).await), vec![1, 2]);
        let not_two = Filter::must_not([Condition::matches("user_id", 2_i64)]);
        assert_eq!(ids(&query(&client, [1.0, 0.0], not_two).await), vec![1]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deletes_by_ids_and_by_filter() {
        let fake = FakeQdrant::start().await;
        let client = setup(&fake).await;
        upsert(
            &client,
            vec![
                point(1, 1, 1, [1.0, 0.0]),
                point(2, 1, 2, [1.0, 0.0]),
                point(3, 2, 2, [1.0, 0.0]),
            ],
        )
        .await;
        let ids_ = PointsIdsList { ids: vec![1.into()] };
        client
            .delete_points(DeletePointsBuilder::new(C).points(ids_).wait(true))
            .await
            .expect("delete by id");
        assert_eq!(fake.point_count(C), Some(2));
        let users_conversation = Filter::must([
            Condition::matches("user_id", 1_i64),
            Condition::matches("conversation_id", 2_i64),
        ]);
        client
            .delete_points(DeletePointsBuilder::new(C).points(users_conversation).wait(true))
            .await
            .expect("delete by filter");
        assert_eq!(ids(&query(&client, [1.0, 0.0], Filter::default()).await), vec![3]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refuses_what_the_real_server_refuses() {
        let fake = FakeQdrant::start().await;
        let client = setup(&fake).await;
        let wrong_size = PointStruct::new(1, vec![1.0, 0.0, 0.0], Payload::new());
        let upserted = client
            .upsert_points(UpsertPointsBuilder::new(C, vec![wrong_size]))
            .await;
        assert_eq!(code(upserted), Code::InvalidArgument);
        assert_eq!(fake.point_count(C), Some(0), "nothing written");
        let queried = client
            .query(QueryPointsBuilder::new(C).query(vec![1.0, 0.0, 0.0]))
            .await;
        assert_eq!(code(queried), Code::InvalidArgument);

        let elsewhere = client
            .query(QueryPointsBuilder::new("missing").query(vec![1.0, 0.0]))
            .await;
        assert_eq!(code(elsewhere), Code::NotFound);
        let upserted = client
            .upsert_points(UpsertPointsBuilder::new("missing", vec![point(1, 1, 1, [1.0, 0.0])]))
            .await;
        assert_eq!(code(upserted), Code::NotFound);

        let again = CreateCollectionBuilder::new(C).vectors_config(VectorParamsBuilder::new(2, Distance::Cosine));
        assert_eq!(code(client.create_collection(again).await), Code::AlreadyExists);
        assert!(!client.delete_collection("missing").await.expect("delete").result);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_it_does_not_model_is_unimplemented() {
        let fake = FakeQdrant::start().await;
        let client = setup(&fake).await;
        let dot = CreateCollectionBuilder::new("d").vectors_config(VectorParamsBuilder::new(2, Distance::Dot));
        assert_eq!(code(client.create_collection(dot).await), Code::Unimplemented);
        assert_eq!(
            code(client.scroll(ScrollPointsBuilder::new(C)).await),
            Code::Unimplemented
        );
        let range = Filter::must([Condition::range("user_id", Default::default())]);
        let ranged = client
            .query(QueryPointsBuilder::new(C).query(vec![1.0, 0.0]).filter(range))
            .await;
        assert_eq!(code(ranged), Code::Unimplemented, "even with no point to test");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serves_only_the_api_key() {
        let fake = FakeQdrant::start_with_api_key("sesame").await;
        let client = |key: Option<&str>| {
            Qdrant::from_url(&fake.url())
                .api_key(key.map(str::to_owned))
                .skip_compatibility_check()
                .build()
                .expect("client")
        };
        assert_eq!(code(client(None).list_collections().await), Code::PermissionDenied);
        assert_eq!(
            code(client(Some("open")).list_collections().await),
            Code::PermissionDenied
        );
        let listed = client(Some("sesame")).list_collections().await.expect("list");
        assert!(listed.collections.is_empty());
    }
}
