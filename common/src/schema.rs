//! The tables common's code reads and writes (permissions, audit, installation, the delivery
//! queue) are defined once, in `common/migrations/`, and each service's migrator applies them
//! beside its own tables. sqlx runs one list of versions per database, so a service names the
//! version each shared migration has in its history; the numbers are the ones the services
//! gave their former copies of these files, so databases migrated before this change keep a
//! history that matches (sqlx compares versions and checksums, and the SQL is the same).

use sqlx::migrate::{Migration, Migrator};

/// common's migrations for SQLite: security (permissions, audit), installation, delivery.
static SQLITE: [Migrator; 3] = [
    sqlx::migrate!("migrations/security/sqlite"),
    sqlx::migrate!("migrations/installation/sqlite"),
    sqlx::migrate!("migrations/delivery/sqlite"),
];

/// The same for PostgreSQL.
static POSTGRES: [Migrator; 3] = [
    sqlx::migrate!("migrations/security/postgres"),
    sqlx::migrate!("migrations/installation/postgres"),
    sqlx::migrate!("migrations/delivery/postgres"),
];

/// A shared migration as a service applies it: at `version` in the service's history, the
/// migration common's file names `description` (its file name after the number, underscores
/// as spaces: `0002_audit.sql` is `audit`).
pub type Shared = (i64, &'static str);

/// The shared migrations as the form engine and the engagement index apply them on SQLite:
/// both histories gave common's tables the same versions.
pub const ENGINE_AND_INDEX_SQLITE: &[Shared] = &[
    (3, "permissions"),
    (4, "audit"),
    (5, "security times as text"),
    (6, "installation"),
    (7, "delivery times as text"),
    (40, "delivery retention"),
    (42, "delivery dead index"),
];

/// The same on PostgreSQL.
pub const ENGINE_AND_INDEX_POSTGRES: &[Shared] = &[
    (3, "permissions"),
    (4, "audit"),
    (6, "installation"),
    (40, "delivery retention"),
    (42, "delivery dead index"),
    (70, "audit partitioned"),
    (71, "delivery partitioned"),
    (74, "delivery payload lz4"),
    (77, "delivery payload json"),
    (79, "delivery lean indexes"),
];

/// A service's SQLite migrator: its own migrations and the shared ones it names.
///
/// # Panics
/// When a name is not one of common's migrations or two migrations share a version: a
/// mistake in the service's list, found by any test that opens a database.
#[must_use]
pub fn sqlite(own: &Migrator, shared: &[Shared]) -> Migrator {
    combine(own, &SQLITE, shared)
}

/// A service's PostgreSQL migrator: its own migrations and the shared ones it names.
///
/// # Panics
/// As [`sqlite`].
#[must_use]
pub fn postgres(own: &Migrator, shared: &[Shared]) -> Migrator {
    combine(own, &POSTGRES, shared)
}

fn combine(own: &Migrator, common: &[Migrator], shared: &[Shared]) -> Migrator {
    let mut migrations: Vec<Migration> = own.iter().cloned().collect();
    for &(version, description) in shared {
        let found = common
            .iter()
            .flat_map(Migrator::iter)
            .find(|migration| migration.description == description)
            .unwrap_or_else(|| panic!("common has no migration named `{description}`"));
        migrations.push(Migration {
            version,
            ..found.clone()
        });
    }
    let combined = Migrator::with_migrations(migrations);
    let sorted: Vec<&Migration> = combined.iter().collect();
    if let Some(pair) = sorted
        .windows(2)
        .find(|pair| pair[0].version == pair[1].version)
    {
        panic!(
            "migrations `{}` and `{}` share version {}",
            pair[0].description, pair[1].description, pair[0].version
        );
    }
    combined
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_migrations_take_the_service_version_and_keep_their_sql() {
        let own = Migrator::DEFAULT;
        let combined = sqlite(&own, &[(7, "audit"), (3, "permissions")]);
        let versions: Vec<i64> = combined.iter().map(|m| m.version).collect();
        assert_eq!(versions, [3, 7]);
        let audit = SQLITE[0].iter().find(|m| m.description == "audit").unwrap();
        assert_eq!(combined.iter().last().unwrap().checksum, audit.checksum);
    }

    #[test]
    #[should_panic(expected = "share version 3")]
    fn two_migrations_at_one_version_are_refused() {
        let _ = postgres(&Migrator::DEFAULT, &[(3, "audit"), (3, "permissions")]);
    }

    #[test]
    #[should_panic(expected = "no migration named `audits`")]
    fn an_unknown_name_is_refused() {
        let _ = postgres(&Migrator::DEFAULT, &[(3, "audits")]);
    }
}
