//! PostgreSQL: a batch goes by binary `COPY` into a temporary table dropped at commit, then
//! one `INSERT ... SELECT ... ON CONFLICT DO UPDATE` moves it into `engagement`, updating only
//! posts that differ, so a batch sent again writes nothing.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone as _, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres};

use super::{KEY_COLUMNS, MigrationBackend};
use crate::domain::Engagement;
use crate::store::StoreError;
use crate::store::reads::{COLUMNS, engagement};

const STAGING_TABLE: &str = "CREATE TEMPORARY TABLE migration_engagement (
    registered_resident_identification  TEXT NOT NULL,
    service_domain                      TEXT NOT NULL,
    categorization                      TEXT NOT NULL,
    logical_address                     TEXT NOT NULL,
    business_object_instance_identifier TEXT NOT NULL,
    clinical_process_interest_id        TEXT NOT NULL,
    source_system                       TEXT NOT NULL,
    data_controller                     TEXT NOT NULL,
    owner                               TEXT NOT NULL,
    most_recent_content                 TIMESTAMPTZ,
    creation_time                       TIMESTAMPTZ NOT NULL,
    update_time                         TIMESTAMPTZ
) ON COMMIT DROP";

/// Moves the staged posts in; a stored post is rewritten only when a time differs. Rows are
/// taken in key order, so concurrent batches lock the posts they share in the same order and
/// never deadlock.
fn upsert_sql() -> String {
    format!(
        "INSERT INTO engagement ({COLUMNS}, changed_at) \
         SELECT {COLUMNS}, COALESCE(update_time, creation_time) FROM migration_engagement \
         ORDER BY {KEY_COLUMNS} \
         ON CONFLICT ON CONSTRAINT engagement_business_key DO UPDATE SET \
             most_recent_content = EXCLUDED.most_recent_content, \
             creation_time = EXCLUDED.creation_time, \
             update_time = EXCLUDED.update_time, \
             changed_at = EXCLUDED.changed_at \
         WHERE (engagement.most_recent_content, engagement.creation_time, engagement.update_time) \
             IS DISTINCT FROM (EXCLUDED.most_recent_content, EXCLUDED.creation_time, EXCLUDED.update_time)"
    )
}

/// PostgreSQL's binary `COPY` encoding (the file header, tuples of length-prefixed fields, the
/// trailer): text as its UTF-8 bytes, `timestamptz` as microseconds since 2000-01-01 UTC.
struct BinaryCopy {
    bytes: Vec<u8>,
}

impl BinaryCopy {
    const FIELDS: i16 = 12;

    fn with_capacity(rows: usize) -> Self {
        let mut bytes = Vec::with_capacity(19 + rows * 400 + 2);
        bytes.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        bytes.extend_from_slice(&0_i32.to_be_bytes()); // flags
        bytes.extend_from_slice(&0_i32.to_be_bytes()); // header extension length
        Self { bytes }
    }

    fn text(&mut self, value: &str) {
        let length = i32::try_from(value.len()).expect("a key field is at most 255 bytes");
        self.bytes.extend_from_slice(&length.to_be_bytes());
        self.bytes.extend_from_slice(value.as_bytes());
    }

    fn time(&mut self, value: Option<DateTime<Utc>>) {
        match value {
            None => self.bytes.extend_from_slice(&(-1_i32).to_be_bytes()),
            Some(time) => {
                let epoch = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
                let micros = (time - epoch).num_microseconds().unwrap_or(i64::MAX);
                self.bytes.extend_from_slice(&8_i32.to_be_bytes());
                self.bytes.extend_from_slice(&micros.to_be_bytes());
            }
        }
    }

    fn row(&mut self, engagement: &Engagement) {
        let key = &engagement.key;
        self.bytes.extend_from_slice(&Self::FIELDS.to_be_bytes());
        for value in [
            key.registered_resident_identification.as_str(),
            &key.service_domain,
            &key.categorization,
            &key.logical_address,
            &key.business_object_instance_identifier,
            &key.clinical_process_interest_id,
            &key.source_system,
            &key.data_controller,
            &key.owner,
        ] {
            self.text(value);
        }
        self.time(engagement.most_recent_content);
        self.time(Some(engagement.creation_time));
        self.time(engagement.update_time);
    }

    fn finish(mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(&(-1_i16).to_be_bytes());
        self.bytes
    }
}

#[async_trait]
impl MigrationBackend for Postgres {
    const COLUMNS: &'static str = COLUMNS;

    const ENGAGEMENT: fn(&PgRow) -> Result<Engagement, StoreError> = engagement::<sqlx::Postgres>;

    async fn upsert(pool: &PgPool, engagements: &[Engagement]) -> Result<u64, StoreError> {
        if engagements.is_empty() {
            return Ok(0);
        }
        let mut copy = BinaryCopy::with_capacity(engagements.len());
        for engagement in engagements {
            copy.row(engagement);
        }
        // The COPY runs on its own task: when a client gives up on a batch, axum drops the
        // request's future, and a COPY abandoned half-way leaves its connection out of step
        // with the server; back in the pool, that connection answers the next queries wrongly.
        let pool = pool.clone();
        let rows = copy.finish();
        let written = tokio::spawn(async move {
            let mut tx = pool.begin().await?;
            sqlx::query(STAGING_TABLE).execute(&mut *tx).await?;
            let mut sink = tx
                .copy_in_raw(&format!(
                    "COPY migration_engagement ({COLUMNS}) FROM STDIN WITH (FORMAT binary)"
                ))
                .await?;
            sink.send(rows).await?;
            sink.finish().await?;
            let written = sqlx::query(sqlx::AssertSqlSafe(upsert_sql()))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok::<u64, sqlx::Error>(written)
        })
        .await
        .map_err(|_| StoreError::Interrupted)??;
        Ok(written)
    }
}
