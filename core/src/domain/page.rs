/// Keyset pagination: at most `limit` items strictly before the item `before`
/// (in the list's own order). `Page::all()` keeps the original API's full list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page<Id> {
    pub limit: Option<u64>,
    pub before: Option<Id>,
}

impl<Id> Page<Id> {
    pub const fn all() -> Self {
        Self {
            limit: None,
            before: None,
        }
    }
}

impl<Id> Default for Page<Id> {
    fn default() -> Self {
        Self::all()
    }
}
