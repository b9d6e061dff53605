//! Walking a REST entity's pages: cursor, offset, page-number and next-link pagination, with
//! guards against APIs that never end or whose cursor does not advance.
use serde_json::Value;
use url::Url;

use super::config::{Pagination, RestEntity};
use super::source::RestSource;
use crate::domains::connectors::source::{scalar, SourceError};

/// A runaway API (a cursor that never ends) stops here.
const MAX_PAGES: usize = 100_000;

/// Walks an entity's pages one request at a time.
pub(super) struct Pager<'a> {
    source: &'a RestSource,
    entity: &'a RestEntity,
    first: Url,
    base_query: Vec<(String, String)>,
    /// The next page's URL; None when the last page has been read.
    next: Option<Url>,
    offset: u64,
    page_no: u32,
    last_cursor: Option<String>,
    pages: usize,
}

impl<'a> Pager<'a> {
    pub(super) fn new(source: &'a RestSource, entity: &'a RestEntity) -> Result<Self, SourceError> {
        let first = source.url(&entity.endpoint)?;
        let mut url = first.clone();
        let page_no: u32 = match &entity.pagination {
            Pagination::Page { start_page, .. } => start_page.unwrap_or(1),
            _ => 0,
        };
        match &entity.pagination {
            Pagination::Cursor {
                limit_param: Some(p),
                limit: Some(n),
                ..
            } => {
                url.query_pairs_mut().append_pair(p, &n.to_string());
            }
            Pagination::Offset {
                offset_param,
                limit_param,
                limit,
            } => {
                url.query_pairs_mut()
                    .append_pair(limit_param, &limit.to_string())
                    .append_pair(offset_param, "0");
            }
            Pagination::Page {
                page_param,
                size_param,
                size,
                ..
            } => {
                let mut q = url.query_pairs_mut();
                q.append_pair(page_param, &page_no.to_string());
                if let (Some(p), Some(n)) = (size_param, size) {
                    q.append_pair(p, &n.to_string());
                }
            }
            _ => {}
        }
        Ok(Pager {
            source,
            entity,
            base_query: url.query_pairs().into_owned().collect(),
            first,
            next: Some(url),
            offset: 0,
            page_no,
            last_cursor: None,
            pages: 0,
        })
    }

    fn with_param(&self, key: &str, value: &str) -> Url {
        let mut url = self.first.clone();
        let mut pairs: Vec<(String, String)> = self
            .base_query
            .iter()
            .filter(|(k, _)| k != key)
            .cloned()
            .collect();
        pairs.push((key.to_owned(), value.to_owned()));
        url.query_pairs_mut().clear().extend_pairs(pairs);
        url
    }

    /// The next page's records; None after the last page.
    pub(super) async fn next_page(&mut self) -> Result<Option<Vec<Value>>, SourceError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        self.pages += 1;
        if self.pages > MAX_PAGES {
            return Err(SourceError::Invalid(format!(
                "{}: more than {MAX_PAGES} pages",
                self.entity.endpoint
            )));
        }
        let body = self.source.get_json(&url).await?;
        let records = match &self.entity.records_path {
            Some(path) => at(&body, path).cloned().unwrap_or(Value::Null),
            None => body.clone(),
        };
        let Value::Array(records) = records else {
            return Err(SourceError::Invalid(format!(
                "GET {}: no array of records at {}",
                url.path(),
                self.entity.records_path.as_deref().unwrap_or("the body")
            )));
        };
        let count = records.len();
        self.next = match &self.entity.pagination {
            Pagination::None => None,
            Pagination::Cursor {
                cursor_param,
                cursor_path,
                has_more_path,
                ..
            } => {
                let more = has_more_path
                    .as_ref()
                    .is_none_or(|p| at(&body, p).and_then(Value::as_bool) == Some(true));
                let cursor = match cursor_path.strip_prefix("$last.") {
                    Some(p) => records.last().and_then(|r| at(r, p)).map(scalar),
                    None => at(&body, cursor_path).map(scalar),
                }
                .filter(|c| !c.is_empty());
                match cursor {
                    Some(c) if more && count > 0 => {
                        if self.last_cursor.as_deref() == Some(c.as_str()) {
                            return Err(SourceError::Invalid(format!(
                                "GET {}: the cursor did not advance ({c})",
                                url.path()
                            )));
                        }
                        let next = self.with_param(cursor_param, &c);
                        self.last_cursor = Some(c);
                        Some(next)
                    }
                    _ => None,
                }
            }
            Pagination::Offset {
                offset_param,
                limit,
                ..
            } => {
                if count == 0 || count < *limit as usize {
                    None
                } else {
                    self.offset += count as u64;
                    Some(self.with_param(offset_param, &self.offset.to_string()))
                }
            }
            Pagination::Page {
                page_param, size, ..
            } => {
                if count == 0 || size.is_some_and(|s| count < s as usize) {
                    None
                } else {
                    self.page_no += 1;
                    Some(self.with_param(page_param, &self.page_no.to_string()))
                }
            }
            Pagination::NextLink { next_link_path } => {
                match at(&body, next_link_path)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                {
                    // Absolute, or relative to the API's origin (Salesforce's nextRecordsUrl).
                    Some(next) => Some(
                        Url::parse(next)
                            .or_else(|_| {
                                let origin = self.first.origin().ascii_serialization();
                                Url::parse(&format!("{origin}{next}"))
                            })
                            .map_err(|e| SourceError::Invalid(format!("next link {next}: {e}")))?,
                    ),
                    None => None,
                }
            }
        };
        Ok(Some(records))
    }
}

/// A dotted path into JSON (`paging.next.after`, `data.0.id`).
pub(super) fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .filter(|p| !p.is_empty())
        .try_fold(value, |v, key| match v {
            Value::Object(m) => m.get(key),
            Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
}
