//! Unified records over GraphQL: `records` (filter, search, sort, cursor pages), `record` with
//! each value's provenance and alternatives, members, related records and history; the match
//! review queue; merge, split, unlink; survivorship rules.
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Json, Object, SimpleObject, ID};
use serde_json::Value;

use super::aggregate::{AggregateOp, AggregateRequest, Measure, TimeUnit};
use super::curate::Curate;
use super::graphql_types::{
    match_model_view, rule_views, GqlMatchCandidate, GqlUnifiedRecord, MatchDecision,
    MatchModelView, MatchStatus, SurvivorshipRuleView,
};
use super::query::{Filter, Sort};
use super::reads::ListRequest;
use super::service;
use super::survivorship::{RuleSpec, SurvivorshipRule};
use crate::domains::auth::model::Role;
use crate::domains::lineage::graphql::{FilterOp, SortDirection};
use crate::domains::lineage::grid::{self, Cursor};
use crate::domains::telemetry::publisher::Telemetry;
use crate::error::AppError;
use crate::graphql::context::{parse_id, ContextExt};
use crate::graphql::pagination::{self, Conn, ConnectionTotals};

/// Exactly one of: `and`, `or`, `not`, or a condition (`field` + `op` + `value`).
#[derive(InputObject)]
pub struct RecordFilter {
    pub and: Option<Vec<RecordFilter>>,
    pub or: Option<Vec<RecordFilter>>,
    pub not: Option<Box<RecordFilter>>,
    /// A canonical field of the entity.
    pub field: Option<String>,
    pub op: Option<FilterOp>,
    /// A string, number, boolean, ISO 8601 date or timestamp, or a list of them for IN.
    pub value: Option<Json<Value>>,
}

fn to_filter(f: RecordFilter) -> Result<Filter, AppError> {
    let bad = |m: &str| AppError::bad_field("filter", m.to_owned());
    let set = [
        f.and.is_some(),
        f.or.is_some(),
        f.not.is_some(),
        f.field.is_some(),
    ];
    if set.iter().filter(|b| **b).count() != 1 {
        return Err(bad(
            "each level needs exactly one of and, or, not, or field + op",
        ));
    }
    let all = |parts: Vec<RecordFilter>| {
        parts
            .into_iter()
            .map(to_filter)
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(match (f.and, f.or, f.not, f.field) {
        (Some(parts), ..) => Filter::And(all(parts)?),
        (_, Some(parts), ..) => Filter::Or(all(parts)?),
        (_, _, Some(inner), _) => Filter::Not(Box::new(to_filter(*inner)?)),
        (_, _, _, Some(field)) => Filter::Cond {
            field,
            op: f.op.ok_or_else(|| bad("a condition needs op"))?.into(),
            value: f.value.map(|v| v.0).unwrap_or(Value::Null),
        },
        _ => return Err(bad("empty filter")),
    })
}

#[derive(InputObject)]
pub struct RecordSort {
    pub field: String,
    #[graphql(default)]
    pub direction: SortDirection,
}

#[derive(InputObject)]
pub struct MeasureInput {
    pub op: AggregateOp,
    /// A number field (any field for COUNT; none counts records).
    pub field: Option<String>,
}

#[derive(InputObject)]
pub struct TimeBucketInput {
    /// A date or timestamp field.
    pub field: String,
    pub unit: TimeUnit,
}

#[derive(SimpleObject)]
pub struct AggregateGroup {
    /// The group's values, one per `groupBy` field.
    pub keys: Vec<Json<Value>>,
    /// Start of the time bucket (UTC), when bucketed.
    pub bucket: Option<String>,
    /// One per measure, in order (null: no values to aggregate).
    pub values: Vec<Option<f64>>,
}

#[derive(SimpleObject)]
pub struct RecordAggregates {
    pub groups: Vec<AggregateGroup>,
    /// More than 1000 groups: the rest were cut.
    pub truncated: bool,
}

const RECORDS_PAGE: i32 = 50;
const RECORDS_MAX_PAGE: i32 = 500;

#[derive(Default)]
pub struct RecordsQuery;

#[Object]
impl RecordsQuery {
    /// Unified records of an entity: filter (AND/OR/NOT over typed conditions on canonical
    /// fields), search (every word begins a word of the values), sort on any field, cursor pages.
    #[graphql(complexity = "first.unwrap_or(50).max(0) as usize * child_complexity / 5")]
    #[allow(clippy::too_many_arguments)]
    async fn records(
        &self,
        ctx: &Context<'_>,
        entity: String,
        filter: Option<RecordFilter>,
        search: Option<String>,
        sort: Option<RecordSort>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<GqlUnifiedRecord>> {
        let scope = ctx.scope(Role::Viewer)?;
        let first = first.unwrap_or(RECORDS_PAGE);
        if !(1..=RECORDS_MAX_PAGE).contains(&first) {
            return Err(AppError::bad_field(
                "first",
                format!("must be between 1 and {RECORDS_MAX_PAGE}"),
            )
            .into());
        }
        if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(AppError::bad_field("search", "must be at most 200 characters").into());
        }
        let sort = sort.map_or(
            Sort {
                field: None,
                descending: false,
            },
            |s| Sort {
                field: Some(s.field),
                descending: s.direction == SortDirection::Desc,
            },
        );
        let after_cursor: Option<Cursor> = after
            .as_deref()
            .map(grid::decode_cursor)
            .transpose()
            .map_err(|(f, m)| AppError::bad_field(f, m))?;
        let with_total = ctx.look_ahead().field("totalCount").exists();
        let request = ListRequest {
            entity,
            filter: filter.map(to_filter).transpose()?,
            search: search
                .as_deref()
                .map(grid::search_words)
                .unwrap_or_default(),
            sort: sort.clone(),
            after: after_cursor,
            limit: first as u64,
            with_total,
        };
        let page = service::list(&ctx.app()?.db, &scope, request).await?;
        let mut conn = Connection::with_additional_fields(
            after.is_some(),
            page.has_next,
            ConnectionTotals {
                total_count: page
                    .total
                    .map_or(-1, |t| i64::try_from(t).unwrap_or(i64::MAX)),
            },
        );
        conn.edges.extend(page.records.into_iter().map(|r| {
            let cursor = grid::encode_cursor(&Cursor {
                key: super::query::sort_key(&sort, &r.data),
                id: r.id,
            });
            Edge::new(cursor, GqlUnifiedRecord(r))
        }));
        Ok(conn)
    }

    /// One unified record, with provenance, alternatives, members, related records, history.
    async fn record(
        &self,
        ctx: &Context<'_>,
        entity: String,
        id: ID,
    ) -> async_graphql::Result<Option<GqlUnifiedRecord>> {
        let scope = ctx.scope(Role::Viewer)?;
        let id = parse_id("id", &id)?;
        Ok(service::get(&ctx.app()?.db, &scope, &entity, id)
            .await?
            .map(GqlUnifiedRecord))
    }

    /// The match review queue: pairs whose probability is in the review band, best first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn match_candidates(
        &self,
        ctx: &Context<'_>,
        entity: Option<String>,
        #[graphql(default)] status: MatchStatus,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<GqlMatchCandidate>> {
        let scope = ctx.scope(Role::Viewer)?;
        let app = ctx.app()?;
        let page = pagination::page_request(&app.settings.graphql, first, after.as_deref())?;
        let rows = service::candidates(
            &app.db,
            &scope,
            entity.as_deref(),
            status == MatchStatus::Pending,
            page,
        )
        .await?;
        Ok(pagination::connection(
            rows,
            after.is_some(),
            |c| c.id,
            GqlMatchCandidate,
        ))
    }

    /// Count, sum, avg, min, max of golden values, grouped by fields and a time bucket (e.g.
    /// opportunity amount by stage by month), under the same filter and search as `records`.
    #[allow(clippy::too_many_arguments)]
    async fn record_aggregates(
        &self,
        ctx: &Context<'_>,
        entity: String,
        filter: Option<RecordFilter>,
        search: Option<String>,
        group_by: Option<Vec<String>>,
        time_bucket: Option<TimeBucketInput>,
        measures: Vec<MeasureInput>,
    ) -> async_graphql::Result<RecordAggregates> {
        let scope = ctx.scope(Role::Viewer)?;
        if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(AppError::bad_field("search", "must be at most 200 characters").into());
        }
        let request = AggregateRequest {
            entity,
            filter: filter.map(to_filter).transpose()?,
            search: search
                .as_deref()
                .map(grid::search_words)
                .unwrap_or_default(),
            group_by: group_by.unwrap_or_default(),
            bucket: time_bucket.map(|b| (b.field, b.unit)),
            measures: measures
                .into_iter()
                .map(|m| Measure {
                    op: m.op,
                    field: m.field,
                })
                .collect(),
        };
        let (rows, truncated) = service::aggregate(&ctx.app()?.db, &scope, request).await?;
        Ok(RecordAggregates {
            groups: rows
                .into_iter()
                .map(|r| AggregateGroup {
                    keys: r.keys.into_iter().map(Json).collect(),
                    bucket: r.bucket,
                    values: r.values,
                })
                .collect(),
            truncated,
        })
    }

    /// What resolution learned of the entity's records (none until enough pairs were compared).
    async fn match_model(
        &self,
        ctx: &Context<'_>,
        entity: String,
    ) -> async_graphql::Result<Option<MatchModelView>> {
        let scope = ctx.scope(Role::Viewer)?;
        let model = service::match_model(&ctx.app()?.db, &scope, &entity).await?;
        Ok(model.map(|m| match_model_view(entity, m)))
    }

    /// The entity's survivorship rules: its own first, then per field.
    async fn survivorship_rules(
        &self,
        ctx: &Context<'_>,
        entity: String,
    ) -> async_graphql::Result<Vec<SurvivorshipRuleView>> {
        let scope = ctx.scope(Role::Viewer)?;
        Ok(rule_views(
            service::rules(&ctx.app()?.db, &scope, &entity).await?,
        ))
    }
}

#[derive(InputObject)]
pub struct SurvivorshipRuleInput {
    pub entity: String,
    /// None: the entity's rule.
    pub field: Option<String>,
    pub rule: SurvivorshipRule,
    /// Source systems (connector names), best first: SOURCE_PRIORITY reads it.
    #[graphql(default)]
    pub source_priority: Vec<String>,
}

#[derive(Default)]
pub struct RecordsMutation;

fn curate<'a>(
    ctx: &'a Context<'_>,
    scope: &'a crate::domains::auth::scope::TenantScope,
) -> async_graphql::Result<Curate<'a>> {
    Ok(Curate {
        db: &ctx.app()?.db,
        scope,
        telemetry: ctx.service::<Telemetry>()?,
    })
}

#[Object]
impl RecordsMutation {
    /// Decides a pair of the review queue: LINK joins their unified records, KEEP_APART keeps
    /// them apart for good. Either way no later sync undoes it.
    async fn decide_match(
        &self,
        ctx: &Context<'_>,
        id: ID,
        decision: MatchDecision,
    ) -> async_graphql::Result<GqlMatchCandidate> {
        let scope = ctx.scope(Role::Editor)?;
        let id = parse_id("id", &id)?;
        Ok(GqlMatchCandidate(
            curate(ctx, &scope)?
                .decide(id, decision == MatchDecision::Link)
                .await?,
        ))
    }

    /// Makes these unified records one; the first keeps its id. Undo with `splitRecord`.
    async fn merge_records(
        &self,
        ctx: &Context<'_>,
        entity: String,
        ids: Vec<ID>,
    ) -> async_graphql::Result<GqlUnifiedRecord> {
        let scope = ctx.scope(Role::Editor)?;
        let ids = ids
            .iter()
            .map(|i| parse_id("ids", i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GqlUnifiedRecord(
            curate(ctx, &scope)?.merge(&entity, &ids).await?,
        ))
    }

    /// Moves these member records (canonical ids) into a unified record of their own, kept
    /// apart from the rest. Returns the new record.
    async fn split_record(
        &self,
        ctx: &Context<'_>,
        entity: String,
        id: ID,
        members: Vec<ID>,
    ) -> async_graphql::Result<GqlUnifiedRecord> {
        let scope = ctx.scope(Role::Editor)?;
        let id = parse_id("id", &id)?;
        let members = members
            .iter()
            .map(|i| parse_id("members", i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GqlUnifiedRecord(
            curate(ctx, &scope)?.split(&entity, id, &members).await?,
        ))
    }

    /// Takes one canonical record out of its unified record (into one of its own).
    async fn unlink_record(
        &self,
        ctx: &Context<'_>,
        entity: String,
        canonical_id: ID,
    ) -> async_graphql::Result<GqlUnifiedRecord> {
        let scope = ctx.scope(Role::Editor)?;
        let id = parse_id("canonicalId", &canonical_id)?;
        Ok(GqlUnifiedRecord(
            curate(ctx, &scope)?.unlink(&entity, id).await?,
        ))
    }

    /// Sets how an entity's (or one field's) golden value is chosen, and recomputes them.
    async fn set_survivorship_rule(
        &self,
        ctx: &Context<'_>,
        input: SurvivorshipRuleInput,
    ) -> async_graphql::Result<Vec<SurvivorshipRuleView>> {
        let scope = ctx.scope(Role::Admin)?;
        if input.rule == SurvivorshipRule::SourcePriority && input.source_priority.is_empty() {
            return Err(AppError::bad_field(
                "sourcePriority",
                "SOURCE_PRIORITY needs at least one source",
            )
            .into());
        }
        if input.source_priority.len() > 50
            || input
                .source_priority
                .iter()
                .any(|s| s.is_empty() || s.len() > 200)
        {
            return Err(AppError::bad_field(
                "sourcePriority",
                "at most 50 sources of 1 to 200 characters",
            )
            .into());
        }
        let spec = RuleSpec {
            rule: input.rule,
            source_priority: input.source_priority,
        };
        let rules = curate(ctx, &scope)?
            .set_rule(&input.entity, input.field.as_deref(), &spec)
            .await?;
        Ok(rule_views(rules))
    }
}
