//! Grants, which every service holds (`/admin/permissions`): their migration record
//! (`{"service"?, "caller", "role", "scope", "createdAt"}`), checked as
//! `PUT /admin/permissions/{caller}/{role}/{scope}` checks a grant, and their export. A
//! service holds a few hundred grants at most, so they are read whole.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Batch, BatchAnswer, canonical_time, internal, invalid_record, key_of, parse_canonical_time,
};
use crate::permissions::{GrantSource, Permission, PermissionStore, Removal, grant};
use crate::problem::Problem;

/// A grant's natural key.
pub const KEY_FIELDS: [&str; 3] = ["caller", "role", "scope"];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GrantRecord {
    /// Which service the record is for (the export's `grants.ndjson` holds both); not kept.
    service: Option<String>,
    caller: String,
    role: String,
    scope: String,
    created_at: String,
}

/// The record of a stored grant, as the export writes it.
pub fn record(permission: &Permission) -> Value {
    json!({
        "caller": permission.caller,
        "role": permission.role.as_str(),
        "scope": permission.scope,
        "createdAt": canonical_time(permission.created_at),
    })
}

/// Every grant's record, in natural-key order (bytes of caller, role, scope).
pub async fn records(store: &dyn PermissionStore) -> Result<Vec<Value>, Problem> {
    let mut permissions = store.list(None).await.map_err(|e| internal(&e))?;
    permissions.sort_by(|a, b| {
        (a.caller.as_bytes(), a.role.as_str(), a.scope.as_bytes()).cmp(&(
            b.caller.as_bytes(),
            b.role.as_str(),
            b.scope.as_bytes(),
        ))
    });
    Ok(permissions.iter().map(record).collect())
}

/// Writes a batch of grants for `service`: new ones are added as admin grants with their
/// `createdAt`, an admin grant held with another `createdAt` is replaced, one held already
/// is unchanged. A grant declared in the configuration is kept as declared (refused with
/// `PERMISSION_FROM_CONFIG` when the record's time differs).
pub async fn migrate(
    store: &dyn PermissionStore,
    service: &str,
    batch: &Batch,
) -> Result<BatchAnswer, Problem> {
    let mut answer = BatchAnswer::default();
    let held: HashMap<(String, String, String), Permission> = store
        .list(None)
        .await
        .map_err(|e| internal(&e))?
        .into_iter()
        .map(|p| {
            (
                (
                    p.caller.clone(),
                    p.role.as_str().to_owned(),
                    p.scope.clone(),
                ),
                p,
            )
        })
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, value) in batch.records.iter().enumerate() {
        let key = key_of(value, &KEY_FIELDS);
        if let Err(problem) = super::check_control_characters(value) {
            answer.reject(index, key, problem);
            continue;
        }
        let record: GrantRecord = match serde_json::from_value(value.clone()) {
            Ok(record) => record,
            Err(error) => {
                answer.reject(index, key, invalid_record(error));
                continue;
            }
        };
        if let Some(named) = record.service.as_deref().filter(|named| *named != service) {
            answer.reject(
                index,
                key,
                Problem::bad_request(
                    "WRONG_SERVICE",
                    format!("The grant is for the {named}; this is the {service}."),
                ),
            );
            continue;
        }
        let grant = match grant(&record.caller, &record.role, record.scope.clone()) {
            Ok(grant) => grant,
            Err(problem) => {
                answer.reject(index, key, problem);
                continue;
            }
        };
        let created_at = match parse_canonical_time("createdAt", &record.created_at) {
            Ok(time) => time,
            Err(detail) => {
                answer.reject(index, key, invalid_record(detail));
                continue;
            }
        };
        if let Some(first) = seen.insert(key.clone(), index) {
            answer.reject(index, key, super::duplicate_key(first));
            continue;
        }
        let held_key = (record.caller, record.role, record.scope);
        match held.get(&held_key) {
            Some(existing) if existing.created_at == created_at => answer.unchanged += 1,
            Some(existing) if existing.source == GrantSource::Config => answer.reject(
                index,
                key,
                Problem::conflict(
                    "PERMISSION_FROM_CONFIG",
                    "This grant is declared in the configuration ([[auth.permissions]]) with \
                     another createdAt; it stays as declared.",
                ),
            ),
            existing => {
                if existing.is_some()
                    && store.delete(&grant).await.map_err(|e| internal(&e))? != Removal::Removed
                {
                    tracing::error!("a held grant could not be replaced");
                    return Err(Problem::internal());
                }
                store
                    .put(&grant, GrantSource::Admin, created_at)
                    .await
                    .map_err(|e| internal(&e))?;
                answer.accepted += 1;
            }
        }
    }
    Ok(answer)
}
