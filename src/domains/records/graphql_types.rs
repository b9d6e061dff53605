//! The GraphQL shapes of unified records: golden values with provenance and alternatives,
//! members and why they are linked, related records, history, review pairs, rules.
use async_graphql::{Context, Enum, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::learn::Model;
use super::model::{HistoryLine, MatchCandidate, MemberRecord, Related, UnifiedRecord};
use super::related;
use super::service;
use super::survivorship::{Rules, SurvivorshipRule};
use crate::domains::auth::model::Role;
use crate::graphql::context::{to_id, ContextExt};
use crate::graphql::pagination::{self, Conn};

/// Where a value came from: the source record, connector, source field, mapping version and
/// transform, and the survivorship rule that chose it.
#[derive(SimpleObject, Default)]
pub struct ValueProvenance {
    pub canonical_record_id: Option<ID>,
    pub connector_id: Option<ID>,
    pub source_system: Option<String>,
    pub source_record_id: Option<String>,
    pub source_field: Option<String>,
    pub mapping_id: Option<ID>,
    pub mapping_version: Option<i32>,
    pub transformed: bool,
    /// The rule that chose this value (none on an alternative).
    pub rule: Option<SurvivorshipRule>,
    pub updated_at: Option<String>,
}

impl From<&Value> for ValueProvenance {
    fn from(v: &Value) -> Self {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let id = |k: &str| text(k).map(ID);
        Self {
            canonical_record_id: id("canonicalRecordId"),
            connector_id: id("connectorId"),
            source_system: text("sourceSystem"),
            source_record_id: text("sourceRecordId"),
            source_field: text("sourceField"),
            mapping_id: id("mappingId"),
            mapping_version: v
                .get("mappingVersion")
                .and_then(Value::as_i64)
                .map(|n| n as i32),
            transformed: v
                .get("transformed")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            rule: text("rule").and_then(|r| r.parse().ok()),
            updated_at: text("updatedAt"),
        }
    }
}

#[derive(SimpleObject)]
pub struct AlternativeValue {
    pub value: Json<Value>,
    pub provenance: ValueProvenance,
}

#[derive(SimpleObject)]
pub struct UnifiedValue {
    pub field: String,
    pub value: Json<Value>,
    pub provenance: ValueProvenance,
    /// The other members' values of the field.
    pub alternatives: Vec<AlternativeValue>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum LinkRule {
    /// The record started this unified record.
    New,
    /// A deterministic key (email, website domain, identifier) is shared.
    Key,
    /// The match probability reached the auto-link threshold.
    Score,
    /// A person placed it (review decision, merge, split, unlink).
    Manual,
}

#[derive(SimpleObject)]
pub struct RecordMember {
    pub canonical_id: ID,
    pub source_system: String,
    pub connector_id: Option<ID>,
    pub source_entity: String,
    pub source_record_id: String,
    pub data: Json<Value>,
    pub link_rule: LinkRule,
    pub link_score: Option<f64>,
    /// The comparisons behind the link (levels and weights), or the decision.
    pub link_evidence: Json<Value>,
    pub linked_by: Option<String>,
    pub linked_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<MemberRecord> for RecordMember {
    fn from(m: MemberRecord) -> Self {
        Self {
            canonical_id: to_id(m.canonical_id),
            source_system: m.source_system,
            connector_id: m.connector_id.map(to_id),
            source_entity: m.source_entity,
            source_record_id: m.source_record_id,
            data: Json(m.data),
            link_rule: match m.rule.as_str() {
                "KEY" => LinkRule::Key,
                "SCORE" => LinkRule::Score,
                "MANUAL" => LinkRule::Manual,
                _ => LinkRule::New,
            },
            link_score: m.score,
            link_evidence: Json(m.evidence),
            linked_by: m.linked_by,
            linked_at: m.linked_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct RelatedRecord {
    /// The reference field (`account_id`).
    pub field: String,
    pub entity: String,
    pub id: ID,
    /// True when the other record refers to this one (an account's contacts).
    pub incoming: bool,
}

impl From<Related> for RelatedRecord {
    fn from(r: Related) -> Self {
        Self {
            field: r.field,
            entity: r.entity,
            id: to_id(r.id),
            incoming: r.incoming,
        }
    }
}

#[derive(SimpleObject)]
pub struct RecordHistoryEntry {
    pub id: ID,
    /// CREATED, UPDATED, LINKED, UNLINKED, MERGED, MERGED_INTO, SPLIT, SPLIT_FROM.
    pub kind: String,
    pub actor: Option<String>,
    pub detail: Json<Value>,
    pub at: DateTime<Utc>,
}

impl From<HistoryLine> for RecordHistoryEntry {
    fn from(h: HistoryLine) -> Self {
        Self {
            id: to_id(h.id),
            kind: h.kind,
            actor: h.actor,
            detail: Json(h.detail),
            at: h.at,
        }
    }
}

/// A golden record of an entity, unified from its member records.
pub struct GqlUnifiedRecord(pub UnifiedRecord);

#[Object(name = "UnifiedRecord")]
impl GqlUnifiedRecord {
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }
    async fn entity(&self) -> &str {
        &self.0.entity
    }
    /// The golden values as one object.
    async fn data(&self) -> Json<Value> {
        Json(self.0.data.clone())
    }
    /// Each golden value with its provenance and alternatives (`fields`: only these).
    async fn values(
        &self,
        ctx: &Context<'_>,
        fields: Option<Vec<String>>,
    ) -> async_graphql::Result<Vec<UnifiedValue>> {
        let scope = ctx.scope(Role::Viewer)?;
        let Some(data) = self.0.data.as_object() else {
            return Ok(Vec::new());
        };
        let mut golden = service::golden(&ctx.app()?.db, &scope, &self.0.entity, self.0.id).await?;
        Ok(data
            .iter()
            .filter(|(k, _)| fields.as_ref().is_none_or(|f| f.contains(k)))
            .map(|(field, value)| UnifiedValue {
                field: field.clone(),
                value: Json(value.clone()),
                provenance: golden
                    .provenance
                    .get(field)
                    .map(ValueProvenance::from)
                    .unwrap_or_default(),
                alternatives: match golden.alternatives.remove(field) {
                    Some(Value::Array(alts)) => alts
                        .iter()
                        .map(|a| AlternativeValue {
                            value: Json(a.get("value").cloned().unwrap_or(Value::Null)),
                            provenance: ValueProvenance::from(a),
                        })
                        .collect(),
                    _ => Vec::new(),
                },
            })
            .collect())
    }
    async fn member_count(&self) -> i32 {
        self.0.member_count
    }
    /// Bumped at every change of the golden values.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The canonical records unified here, each with why it is linked.
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RecordMember>> {
        let scope = ctx.scope(Role::Viewer)?;
        let rows = service::members(&ctx.app()?.db, &scope, &self.0.entity, self.0.id).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
    /// Records this one refers to, and records referring to it, across sources.
    async fn related(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RelatedRecord>> {
        let scope = ctx.scope(Role::Viewer)?;
        let app = ctx.app()?;
        let rows = related::related(
            &app.db,
            &scope,
            &app.settings.records,
            &self.0.entity,
            self.0.id,
        )
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
    /// What happened to the record, newest first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<RecordHistoryEntry>> {
        let scope = ctx.scope(Role::Viewer)?;
        let app = ctx.app()?;
        let page = pagination::page_request(&app.settings.graphql, first, after.as_deref())?;
        let rows = service::history(&app.db, &scope, &self.0.entity, self.0.id, page).await?;
        Ok(pagination::connection(
            rows,
            after.is_some(),
            |h| h.id,
            Into::into,
        ))
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum MatchDecision {
    Link,
    KeepApart,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum MatchStatus {
    /// Waiting for a person, the two records still apart.
    #[default]
    Pending,
    /// Every pair, decided or not.
    All,
}

pub struct GqlMatchCandidate(pub MatchCandidate);

#[Object(name = "MatchCandidate")]
impl GqlMatchCandidate {
    async fn id(&self) -> ID {
        to_id(self.0.id)
    }
    async fn entity(&self) -> &str {
        &self.0.entity
    }
    /// The match probability (Fellegi–Sunter).
    async fn score(&self) -> f64 {
        self.0.score
    }
    /// Each compared field's level and weight.
    async fn evidence(&self) -> Json<Value> {
        Json(self.0.evidence.clone())
    }
    /// PENDING, LINKED or KEPT_APART.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn decided_by(&self) -> Option<&str> {
        self.0.decided_by.as_deref()
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn left_id(&self) -> ID {
        to_id(self.0.left_id)
    }
    async fn right_id(&self) -> ID {
        to_id(self.0.right_id)
    }
    /// The two canonical records, as they are now.
    async fn records(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RecordMember>> {
        let scope = ctx.scope(Role::Viewer)?;
        let rows = service::pair(&ctx.app()?.db, &scope, &self.0).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

#[derive(SimpleObject)]
pub struct SurvivorshipRuleView {
    /// None: the entity's rule (used by every field without its own).
    pub field: Option<String>,
    pub rule: SurvivorshipRule,
    pub source_priority: Vec<String>,
}

pub fn rule_views(rules: Rules) -> Vec<SurvivorshipRuleView> {
    let mut out = vec![SurvivorshipRuleView {
        field: None,
        rule: rules.entity.rule,
        source_priority: rules.entity.source_priority,
    }];
    let mut fields: Vec<_> = rules.fields.into_iter().collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    out.extend(fields.into_iter().map(|(f, s)| SurvivorshipRuleView {
        field: Some(f),
        rule: s.rule,
        source_priority: s.source_priority,
    }));
    out
}

/// What resolution learned of a tenant's records of an entity: per compared field and level, how
/// often records of one thing show it (m, estimated from the pairs it compared) and other
/// things' records do (u), and the prior. Scores use these in place of the built-in values.
#[derive(SimpleObject)]
pub struct MatchModelView {
    pub entity: String,
    /// log2 of the prior odds that a compared pair is a match.
    pub prior_weight: f64,
    /// Compared pairs the model was learned from, and those of them a strong identifier (an
    /// equal email, phone or registry id) links, which m is estimated from.
    pub pairs: f64,
    pub anchored_pairs: f64,
    pub trained_at: DateTime<Utc>,
    pub levels: Vec<MatchLevelView>,
}

#[derive(SimpleObject)]
pub struct MatchLevelView {
    pub field: String,
    pub level: String,
    pub m: f64,
    pub u: f64,
    /// log2(m / u): what the level adds to a pair's match weight.
    pub weight: f64,
}

pub fn match_model_view(
    entity: String,
    (model, trained_at): (Model, DateTime<Utc>),
) -> MatchModelView {
    let levels = model
        .levels
        .into_iter()
        .flat_map(|(field, levels)| {
            levels
                .into_iter()
                .map(move |(level, (m, u))| MatchLevelView {
                    field: field.clone(),
                    level,
                    m,
                    u,
                    weight: (m / u).log2(),
                })
        })
        .collect();
    MatchModelView {
        entity,
        prior_weight: model.prior,
        pairs: model.pairs,
        anchored_pairs: model.anchored,
        trained_at,
        levels,
    }
}
