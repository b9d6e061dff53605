//! Keyset pagination shared by stores and the GraphQL layer. Ids are UUIDv7, so ordering by
//! id is ordering by creation time, and `after` is stable under concurrent inserts.
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: u64,
    pub after: Option<Uuid>,
}

impl PageRequest {
    /// One row more than the page, to learn whether there is a next page.
    pub fn fetch_limit(&self) -> u64 {
        self.limit + 1
    }

    /// Cuts the extra row off and builds the page.
    pub fn finish<T>(&self, mut rows: Vec<T>, total: u64) -> Page<T> {
        let has_next = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        Page {
            items: rows,
            has_next,
            total,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
    pub total: u64,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_next: self.has_next,
            total: self.total,
        }
    }
}
