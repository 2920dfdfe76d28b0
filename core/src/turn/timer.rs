/// Waiting, for the few things the turn times itself (pacing checkpoints, bounding how long a
/// delete waits for the answer it stops). The core has no runtime: the edge passes its own.
pub trait Timer: Send + Sync + 'static {
    fn sleep(&self, duration: std::time::Duration) -> futures::future::BoxFuture<'static, ()>;
}
