//! Grants served from memory. Every request of an enforcing service checks a grant, and grants
//! change rarely (an operator's PUT or DELETE, or a new configuration at start), so reading
//! them from the database on every request costs a round trip for nothing.
//!
//! The whole table is held (a grant per caller, role and scope: hundreds of rows, not
//! millions). A change through this process ([`PermissionStore::put`], `delete`, `declare`)
//! reloads it before answering, so it is visible at once here; a change made by another
//! process (a second replica's admin API) is seen at the next reload, at most `refresh` after
//! the previous one. A failed reload keeps the last table and is tried again at the next
//! lookup; a table never loaded answers the lookup with the failure.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, RwLock};

use super::{
    ANY_SCOPE, GrantSource, Permission, PermissionError, PermissionGrant, PermissionStore, Removal,
    Role,
};
use crate::identity::HsaId;

/// How long a loaded table is used before it is read again, by default.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(2);

/// A [`PermissionStore`] that answers `is_granted` and `scopes` from memory.
pub struct CachedPermissionStore {
    inner: Arc<dyn PermissionStore>,
    refresh: Duration,
    table: RwLock<Option<Table>>,
    /// One reload at a time; requests arriving meanwhile use the table they find.
    reloading: Mutex<()>,
}

struct Table {
    loaded: Instant,
    /// The scopes of each caller and role.
    scopes: HashMap<(String, Role), BTreeSet<String>>,
}

impl CachedPermissionStore {
    pub fn new(inner: Arc<dyn PermissionStore>, refresh: Duration) -> Self {
        Self {
            inner,
            refresh,
            table: RwLock::new(None),
            reloading: Mutex::new(()),
        }
    }

    async fn reload(&self) -> Result<(), PermissionError> {
        let grants = self.inner.list(None).await?;
        let mut scopes: HashMap<(String, Role), BTreeSet<String>> = HashMap::new();
        for Permission {
            caller,
            role,
            scope,
            ..
        } in grants
        {
            scopes.entry((caller, role)).or_default().insert(scope);
        }
        *self.table.write().await = Some(Table {
            loaded: Instant::now(),
            scopes,
        });
        Ok(())
    }

    /// The scopes of `caller` as `role`, from a table no older than `refresh`.
    async fn lookup(
        &self,
        caller: &HsaId,
        role: Role,
    ) -> Result<BTreeSet<String>, PermissionError> {
        let fresh = |table: &Option<Table>| {
            table
                .as_ref()
                .is_some_and(|t| t.loaded.elapsed() < self.refresh)
        };
        if !fresh(&*self.table.read().await) {
            let _one = self.reloading.lock().await;
            // Another request may have reloaded while this one waited.
            if !fresh(&*self.table.read().await)
                && let Err(error) = self.reload().await
            {
                if self.table.read().await.is_none() {
                    return Err(error);
                }
                tracing::warn!(%error, "cannot reload the grants; using the ones read before");
            }
        }
        let table = self.table.read().await;
        Ok(table
            .as_ref()
            .and_then(|t| t.scopes.get(&(caller.as_str().to_owned(), role)))
            .cloned()
            .unwrap_or_default())
    }

    /// After a change through this process: the next lookup reads the table again.
    async fn changed(&self) {
        *self.table.write().await = None;
    }
}

#[async_trait]
impl PermissionStore for CachedPermissionStore {
    async fn is_granted(
        &self,
        caller: &HsaId,
        role: Role,
        scope: &str,
    ) -> Result<bool, PermissionError> {
        let scopes = self.lookup(caller, role).await?;
        Ok(scopes.contains(scope) || scopes.contains(ANY_SCOPE))
    }

    async fn scopes(&self, caller: &HsaId, role: Role) -> Result<Vec<String>, PermissionError> {
        Ok(self.lookup(caller, role).await?.into_iter().collect())
    }

    async fn list(&self, caller: Option<&HsaId>) -> Result<Vec<Permission>, PermissionError> {
        // The admin API's listing: always the database's.
        self.inner.list(caller).await
    }

    async fn put(
        &self,
        grant: &PermissionGrant,
        source: GrantSource,
        now: DateTime<Utc>,
    ) -> Result<bool, PermissionError> {
        let result = self.inner.put(grant, source, now).await;
        self.changed().await;
        result
    }

    async fn delete(&self, grant: &PermissionGrant) -> Result<Removal, PermissionError> {
        let result = self.inner.delete(grant).await;
        self.changed().await;
        result
    }

    async fn declare(
        &self,
        grants: &[PermissionGrant],
        now: DateTime<Utc>,
    ) -> Result<(), PermissionError> {
        let result = self.inner.declare(grants, now).await;
        self.changed().await;
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;

    /// Grants in memory, counting how often the whole table is read; can be made to fail.
    #[derive(Default)]
    struct Grants {
        rows: StdMutex<Vec<Permission>>,
        reads: AtomicUsize,
        broken: AtomicBool,
    }

    impl Grants {
        fn add(&self, caller: &str, role: Role, scope: &str) {
            self.rows.lock().unwrap().push(Permission {
                caller: caller.to_owned(),
                role,
                scope: scope.to_owned(),
                source: GrantSource::Admin,
                created_at: Utc::now(),
            });
        }
    }

    #[async_trait]
    impl PermissionStore for Grants {
        async fn is_granted(&self, _: &HsaId, _: Role, _: &str) -> Result<bool, PermissionError> {
            unreachable!("the cache answers from its table")
        }
        async fn scopes(&self, _: &HsaId, _: Role) -> Result<Vec<String>, PermissionError> {
            unreachable!("the cache answers from its table")
        }
        async fn list(&self, _: Option<&HsaId>) -> Result<Vec<Permission>, PermissionError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if self.broken.load(Ordering::SeqCst) {
                return Err(PermissionError::Invalid("the database is away".into()));
            }
            Ok(self.rows.lock().unwrap().clone())
        }
        async fn put(
            &self,
            grant: &PermissionGrant,
            _: GrantSource,
            _: DateTime<Utc>,
        ) -> Result<bool, PermissionError> {
            self.add(grant.caller.as_str(), grant.role, &grant.scope);
            Ok(true)
        }
        async fn delete(&self, grant: &PermissionGrant) -> Result<Removal, PermissionError> {
            self.rows.lock().unwrap().retain(|p| {
                !(p.caller == grant.caller.as_str()
                    && p.role == grant.role
                    && p.scope == grant.scope)
            });
            Ok(Removal::Removed)
        }
        async fn declare(
            &self,
            _: &[PermissionGrant],
            _: DateTime<Utc>,
        ) -> Result<(), PermissionError> {
            Ok(())
        }
    }

    fn hsa(id: &str) -> HsaId {
        HsaId::parse(id).unwrap()
    }

    #[tokio::test]
    async fn lookups_are_served_from_one_read_of_the_table() {
        let grants = Arc::new(Grants::default());
        grants.add("SE1-CS1", Role::CareSystem, "SE1-CU1");
        grants.add("SE1-ADM", Role::Admin, ANY_SCOPE);
        let cache = CachedPermissionStore::new(grants.clone(), Duration::from_mins(1));
        for _ in 0..100 {
            assert!(
                cache
                    .is_granted(&hsa("SE1-CS1"), Role::CareSystem, "SE1-CU1")
                    .await
                    .unwrap()
            );
            assert!(
                !cache
                    .is_granted(&hsa("SE1-CS1"), Role::CareSystem, "SE1-CU2")
                    .await
                    .unwrap()
            );
            assert!(
                !cache
                    .is_granted(&hsa("SE1-CS1"), Role::Eservice, "SE1-CU1")
                    .await
                    .unwrap()
            );
            assert!(
                cache
                    .is_granted(&hsa("SE1-ADM"), Role::Admin, "anything")
                    .await
                    .unwrap()
            );
        }
        assert_eq!(
            cache
                .scopes(&hsa("SE1-CS1"), Role::CareSystem)
                .await
                .unwrap(),
            ["SE1-CU1"]
        );
        assert_eq!(grants.reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_change_through_this_process_is_seen_at_once() {
        let grants = Arc::new(Grants::default());
        let cache = CachedPermissionStore::new(grants.clone(), Duration::from_mins(1));
        let grant = PermissionGrant::new(hsa("SE1-CS1"), Role::CareSystem, "SE1-CU1");
        assert!(
            !cache
                .is_granted(&grant.caller, grant.role, &grant.scope)
                .await
                .unwrap()
        );
        cache
            .put(&grant, GrantSource::Admin, Utc::now())
            .await
            .unwrap();
        assert!(
            cache
                .is_granted(&grant.caller, grant.role, &grant.scope)
                .await
                .unwrap()
        );
        cache.delete(&grant).await.unwrap();
        assert!(
            !cache
                .is_granted(&grant.caller, grant.role, &grant.scope)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_change_by_another_process_is_seen_after_the_refresh() {
        let grants = Arc::new(Grants::default());
        let cache = CachedPermissionStore::new(grants.clone(), Duration::from_millis(30));
        assert!(
            !cache
                .is_granted(&hsa("SE1-CS1"), Role::CareSystem, "SE1-CU1")
                .await
                .unwrap()
        );
        // Another replica grants it in the shared database.
        grants.add("SE1-CS1", Role::CareSystem, "SE1-CU1");
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(
            cache
                .is_granted(&hsa("SE1-CS1"), Role::CareSystem, "SE1-CU1")
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_failed_reload_keeps_the_grants_read_before_but_a_first_read_fails() {
        let grants = Arc::new(Grants::default());
        grants.add("SE1-CS1", Role::CareSystem, "SE1-CU1");
        grants.broken.store(true, Ordering::SeqCst);
        let cache = CachedPermissionStore::new(grants.clone(), Duration::ZERO);
        assert!(
            cache
                .is_granted(&hsa("SE1-CS1"), Role::CareSystem, "SE1-CU1")
                .await
                .is_err()
        );
        grants.broken.store(false, Ordering::SeqCst);
        assert!(
            cache
                .is_granted(&hsa("SE1-CS1"), Role::CareSystem, "SE1-CU1")
                .await
                .unwrap()
        );
        grants.broken.store(true, Ordering::SeqCst);
        assert!(
            cache
                .is_granted(&hsa("SE1-CS1"), Role::CareSystem, "SE1-CU1")
                .await
                .unwrap()
        );
    }
}
