use async_graphql::{ComplexObject, Context, Enum, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::events_store::EventFilter;
use super::model::{Quarantined, StoredEvent, StoredRecord};
use super::service::{self, Pipeline, SyncRun};
use super::store::SchemaVersion;
use super::sync::SyncCounts;
use crate::domains::auth::model::Role;
use crate::domains::connectors::drift::{self, DriftRecord};
use crate::graphql::context::{parse_id, to_id, ContextExt};
use crate::graphql::pagination::{connection, page_request, Conn};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::domains::jobs::JobStatus")]
pub enum SyncStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Partial,
    Cancelled,
}

#[derive(SimpleObject)]
pub struct SyncRunError {
    pub entity: Option<String>,
    pub message: String,
}

#[derive(SimpleObject)]
#[graphql(name = "SyncRun", complex)]
pub struct GqlSyncRun {
    pub id: ID,
    pub connector_id: Option<ID>,
    pub status: SyncStatus,
    pub counts: SyncCounts,
    pub errors: Vec<SyncRunError>,
    /// How many times a process started on it (more than one: resumed after a crash).
    pub attempts: i32,
    pub trace_id: Option<String>,
    /// The schedule's slot that started the run; none when a request did.
    pub scheduled_for: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<SyncRun> for GqlSyncRun {
    fn from(r: SyncRun) -> Self {
        Self {
            id: to_id(r.id),
            connector_id: r.connector_id.map(to_id),
            status: r.status.into(),
            counts: r.counts,
            errors: r
                .errors
                .into_iter()
                .map(|e| SyncRunError {
                    entity: e.entity,
                    message: e.message,
                })
                .collect(),
            attempts: r.attempts,
            trace_id: r.trace_id,
            scheduled_for: r.slot,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct QuarantinedRecord {
    pub id: ID,
    pub source_entity: String,
    /// 1-based data row of the file (or position in the source).
    pub row_number: i64,
    pub reason: String,
    /// The row as read (truncated to 2,000 characters).
    pub raw: String,
}

impl From<Quarantined> for QuarantinedRecord {
    fn from(q: Quarantined) -> Self {
        Self {
            id: to_id(q.id),
            source_entity: q.source_entity,
            row_number: q.row_number,
            reason: q.reason,
            raw: q.raw,
        }
    }
}

#[ComplexObject]
impl GqlSyncRun {
    /// Rows the source could not read, and records lacking a required canonical field (or whose
    /// value of one did not fit), in source order.
    async fn quarantined(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<QuarantinedRecord>> {
        let scope = ctx.scope(Role::Viewer)?;
        let app = ctx.app()?;
        let page = page_request(&app.settings.graphql, first, after.as_deref())?;
        let result = service::quarantined(
            ctx.service::<Pipeline>()?,
            &scope,
            parse_id("id", &self.id)?,
            page,
        )
        .await?;
        Ok(connection(result, after.is_some(), |q| q.id, Into::into))
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DriftKind {
    FieldAdded,
    FieldRemoved,
    FieldRenamed,
    TypeChanged,
}

#[derive(SimpleObject)]
pub struct DriftEvent {
    pub id: ID,
    pub connector_id: ID,
    pub source_entity: String,
    pub kind: DriftKind,
    /// The field's name now (for removals, the name it had).
    pub field_name: String,
    /// `{name, dataType, samples}` before and after.
    pub previous: Option<Json<Value>>,
    pub current: Option<Json<Value>>,
    pub schema_version: i32,
    /// It takes away, renames or retypes a field an active mapping read.
    pub breaking: bool,
    pub detected_at: DateTime<Utc>,
}

impl From<DriftRecord> for DriftEvent {
    fn from(d: DriftRecord) -> Self {
        Self {
            id: to_id(d.id),
            connector_id: to_id(d.connector_id),
            source_entity: d.source_entity,
            kind: match d.kind {
                drift::DriftKind::FieldAdded => DriftKind::FieldAdded,
                drift::DriftKind::FieldRemoved => DriftKind::FieldRemoved,
                drift::DriftKind::FieldRenamed => DriftKind::FieldRenamed,
                drift::DriftKind::TypeChanged => DriftKind::TypeChanged,
            },
            field_name: d.field_name,
            previous: d.previous.map(Json),
            current: d.current.map(Json),
            schema_version: d.schema_version,
            breaking: d.breaking,
            detected_at: d.detected_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct SourceFieldSchema {
    pub name: String,
    pub data_type: String,
    pub samples: Vec<String>,
}

/// One version of a source entity's schema: the connector's schema timeline.
#[derive(SimpleObject)]
pub struct SourceSchemaVersion {
    pub source_entity: String,
    pub version: i32,
    pub fingerprint: String,
    pub is_current: bool,
    pub discovered_at: DateTime<Utc>,
    pub fields: Vec<SourceFieldSchema>,
}

impl From<SchemaVersion> for SourceSchemaVersion {
    fn from(s: SchemaVersion) -> Self {
        Self {
            source_entity: s.entity,
            version: s.version,
            fingerprint: s.fingerprint,
            is_current: s.is_current,
            discovered_at: s.discovered_at,
            fields: s
                .fields
                .into_iter()
                .map(|f| SourceFieldSchema {
                    name: f.name,
                    data_type: f.data_type,
                    samples: f.samples,
                })
                .collect(),
        }
    }
}

/// Where one canonical value came from.
#[derive(SimpleObject)]
pub struct FieldLineage {
    pub connector: Option<ID>,
    pub source_system: String,
    pub source_entity: String,
    pub source_field: String,
    pub record_id: String,
    pub mapping_id: Option<ID>,
    pub mapping_version: Option<i32>,
    /// When the value was written.
    pub at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct CanonicalValue {
    pub name: String,
    pub value: Json<Value>,
    pub lineage: Option<FieldLineage>,
}

struct Origin<'a> {
    connector: Option<uuid::Uuid>,
    system: &'a str,
    entity: &'a str,
    record: &'a str,
    at: DateTime<Utc>,
}

fn values(data: &Value, lineage: &Value, o: &Origin<'_>) -> Vec<CanonicalValue> {
    service::fields_of(data, lineage)
        .into_iter()
        .map(|f| CanonicalValue {
            name: f.name,
            value: Json(f.value),
            lineage: f.lineage.map(|l| FieldLineage {
                connector: o.connector.map(to_id),
                source_system: o.system.to_owned(),
                source_entity: o.entity.to_owned(),
                source_field: l["sourceField"].as_str().unwrap_or_default().to_owned(),
                record_id: o.record.to_owned(),
                mapping_id: l["mappingId"].as_str().map(|s| ID(s.to_owned())),
                mapping_version: l["mappingVersion"].as_i64().map(|v| v as i32),
                at: o.at,
            }),
        })
        .collect()
}

/// The current state of one canonical record, with the lineage of every value.
#[derive(SimpleObject)]
pub struct CanonicalRecord {
    pub entity: String,
    pub id: ID,
    pub fields: Vec<CanonicalValue>,
    /// Source fields no active mapping covers, kept as read.
    pub extras: Json<Value>,
    pub source_system: String,
    pub connector_id: Option<ID>,
    pub source_entity: String,
    pub source_record_id: String,
    pub updated_at: DateTime<Utc>,
}

impl From<StoredRecord> for CanonicalRecord {
    fn from(r: StoredRecord) -> Self {
        let origin = Origin {
            connector: r.connector_id,
            system: &r.source_system,
            entity: &r.source_entity,
            record: &r.source_record_id,
            at: r.updated_at,
        };
        Self {
            fields: values(&r.data, &r.lineage, &origin),
            entity: r.entity.clone(),
            id: to_id(r.id),
            extras: Json(r.extras.clone()),
            source_system: r.source_system.clone(),
            connector_id: r.connector_id.map(to_id),
            source_entity: r.source_entity.clone(),
            source_record_id: r.source_record_id.clone(),
            updated_at: r.updated_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct EventMeta {
    pub tenant_id: ID,
    pub trace_id: Option<String>,
    pub schema_version: i32,
    pub emitted_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct EventSourceRef {
    pub system: String,
    pub connector_id: Option<ID>,
    pub entity: String,
    pub record_id: String,
    pub record_version: String,
}

/// A source value that did not fit its canonical field's type.
#[derive(SimpleObject)]
pub struct ValueError {
    pub field: String,
    pub source_field: String,
    pub value: String,
    pub reason: String,
}

/// `{ entity, data, meta, source }`: one source record's contribution to one canonical record.
#[derive(SimpleObject)]
pub struct CanonicalEvent {
    pub id: ID,
    pub entity: String,
    pub canonical_id: ID,
    pub data: Json<Value>,
    pub extras: Json<Value>,
    pub errors: Vec<ValueError>,
    pub meta: EventMeta,
    pub source: EventSourceRef,
    pub fields: Vec<CanonicalValue>,
}

fn to_event(e: StoredEvent, tenant: uuid::Uuid) -> CanonicalEvent {
    let origin = Origin {
        connector: e.connector_id,
        system: &e.source_system,
        entity: &e.source_entity,
        record: &e.source_record_id,
        at: e.emitted_at,
    };
    let fields = values(&e.data, &e.lineage, &origin);
    let text = |v: &Value, k: &str| match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    CanonicalEvent {
        id: to_id(e.id),
        entity: e.entity,
        canonical_id: to_id(e.canonical_id),
        errors: e
            .errors
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| ValueError {
                        field: text(v, "field"),
                        source_field: text(v, "sourceField"),
                        value: text(v, "value"),
                        reason: text(v, "reason"),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        data: Json(e.data),
        extras: Json(e.extras),
        meta: EventMeta {
            tenant_id: to_id(tenant),
            trace_id: e.trace_id,
            schema_version: e.schema_version,
            emitted_at: e.emitted_at,
        },
        source: EventSourceRef {
            system: e.source_system,
            connector_id: e.connector_id.map(to_id),
            entity: e.source_entity,
            record_id: e.source_record_id,
            record_version: e.record_version,
        },
        fields,
    }
}

#[derive(InputObject, Default)]
pub struct CanonicalEventFilter {
    pub entity: Option<String>,
    pub connector_id: Option<ID>,
    pub source_record_id: Option<String>,
    pub canonical_id: Option<ID>,
    /// Only events with (true) or without (false) value errors.
    pub with_errors: Option<bool>,
}

#[derive(Default)]
pub struct PipelineQuery;

#[Object]
impl PipelineQuery {
    async fn sync_run(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<GqlSyncRun> {
        let scope = ctx.scope(Role::Viewer)?;
        Ok(
            service::get(ctx.service::<Pipeline>()?, &scope, parse_id("id", &id)?)
                .await?
                .into(),
        )
    }

    /// Sync runs, newest first; of one connector when given.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn sync_runs(
        &self,
        ctx: &Context<'_>,
        connector_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<GqlSyncRun>> {
        let scope = ctx.scope(Role::Viewer)?;
        let app = ctx.app()?;
        let page = page_request(&app.settings.graphql, first, after.as_deref())?;
        let connector = connector_id
            .map(|c| parse_id("connectorId", &c))
            .transpose()?;
        let result = service::list(ctx.service::<Pipeline>()?, &scope, connector, page).await?;
        Ok(connection(result, after.is_some(), |r| r.id, Into::into))
    }

    /// Schema changes of a connector's sources, newest first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn drift_events(
        &self,
        ctx: &Context<'_>,
        connector_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<DriftEvent>> {
        let scope = ctx.scope(Role::Viewer)?;
        let app = ctx.app()?;
        let page = page_request(&app.settings.graphql, first, after.as_deref())?;
        let result = service::drift_events(
            ctx.service::<Pipeline>()?,
            &scope,
            parse_id("connectorId", &connector_id)?,
            page,
        )
        .await?;
        Ok(connection(result, after.is_some(), |d| d.id, Into::into))
    }

    /// Every schema version of every entity of a connector (entity order, newest first).
    async fn source_schemas(
        &self,
        ctx: &Context<'_>,
        connector_id: ID,
    ) -> async_graphql::Result<Vec<SourceSchemaVersion>> {
        let scope = ctx.scope(Role::Viewer)?;
        Ok(service::schema_timeline(
            ctx.service::<Pipeline>()?,
            &scope,
            parse_id("connectorId", &connector_id)?,
        )
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
    }

    async fn canonical_record(
        &self,
        ctx: &Context<'_>,
        entity: String,
        id: ID,
    ) -> async_graphql::Result<CanonicalRecord> {
        let scope = ctx.scope(Role::Viewer)?;
        Ok(service::record(
            ctx.service::<Pipeline>()?,
            &scope,
            &entity,
            parse_id("id", &id)?,
        )
        .await?
        .into())
    }

    /// Canonical events, newest first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn canonical_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<CanonicalEventFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<CanonicalEvent>> {
        let scope = ctx.scope(Role::Viewer)?;
        let app = ctx.app()?;
        let page = page_request(&app.settings.graphql, first, after.as_deref())?;
        let f = filter.unwrap_or_default();
        let filter = EventFilter {
            entity: f.entity,
            connector: f
                .connector_id
                .map(|c| parse_id("filter.connectorId", &c))
                .transpose()?,
            source_record_id: f.source_record_id,
            canonical_id: f
                .canonical_id
                .map(|c| parse_id("filter.canonicalId", &c))
                .transpose()?,
            with_errors: f.with_errors,
        };
        let tenant = scope.tenant_id();
        let result = service::events(ctx.service::<Pipeline>()?, &scope, filter, page).await?;
        Ok(connection(
            result,
            after.is_some(),
            |e| e.id,
            |e| to_event(e, tenant),
        ))
    }
}

#[derive(Default)]
pub struct PipelineMutation;

#[Object]
impl PipelineMutation {
    /// Starts a sync run: introspection → drift check → proposals for new fields → records
    /// through the active mappings → canonical events. Returns the run at once (QUEUED or
    /// RUNNING), or when it has finished with `wait: true`. One run of a connector at a time:
    /// while one is queued or running, another is a CONFLICT naming it.
    async fn sync_connector(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default = false)] wait: bool,
    ) -> async_graphql::Result<GqlSyncRun> {
        let scope = ctx.scope(Role::Editor)?;
        Ok(service::start(
            ctx.service::<Pipeline>()?,
            &scope,
            parse_id("id", &id)?,
            wait,
        )
        .await?
        .into())
    }

    /// Stops a sync run: a queued one at once, a running one at its next checkpoint (status
    /// CANCELLED; every batch it committed is kept, and what it left unresolved waits for the
    /// next run). A finished run is a CONFLICT.
    async fn cancel_sync_run(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<GqlSyncRun> {
        let scope = ctx.scope(Role::Editor)?;
        Ok(
            service::cancel(ctx.service::<Pipeline>()?, &scope, parse_id("id", &id)?)
                .await?
                .into(),
        )
    }
}
