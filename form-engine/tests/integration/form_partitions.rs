//! Forms partitioned by month on PostgreSQL (skipped without `TEST_DATABASE_URL`): a new
//! form's id is a UUIDv7 of its creation, so it is stored in its month's partition; ids from
//! before or from elsewhere stay in the default partition; the retention job makes months
//! ahead (moving a form of such a month out of the default partition with its reminders) and
//! drops a past month only once the keepUntil sweep has deleted its last form. Forms are read
//! through the contracts the same wherever they are stored. The clock is the test's.

use crate::support;

use std::sync::Arc;

use chrono::{DateTime, Datelike as _, Days, Months, NaiveDate, TimeZone as _, Utc};
use common::partitions::uuid_v7_floor;
use common::retention::{Cleaned, RetentionConfig, RetentionJob};
use common::testing::TestDatabase;
use form_engine::Config;
use form_engine::domain::form::sweeper::Sweeper;
use form_engine::store::{self, FormStore};
use serde_json::json;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use support::{Engine, FakeIndex, TOLVAN};
use tokio::sync::Notify;
use uuid::Uuid;

async fn maintain(store: &Arc<dyn FormStore>, at: DateTime<Utc>) -> Cleaned {
    RetentionJob::new("form-engine", RetentionConfig::default(), store.retention())
        .with_clock(Arc::new(move || at))
        .run_once()
        .await
        .unwrap()
}

async fn partition_of(pool: &PgPool, form_id: Uuid) -> String {
    sqlx::query_scalar("SELECT tableoid::regclass::text FROM form WHERE form_id = $1")
        .bind(form_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn partitions(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'form'::regclass ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn reminder_days(pool: &PgPool, form_id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM form_reminder_days WHERE form_id = $1")
        .bind(form_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn month_name(month: NaiveDate) -> String {
    format!("form_p{:04}{:02}", month.year(), month.month())
}

fn start_of(month: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&month.and_time(chrono::NaiveTime::MIN))
}

/// A copy of the stored form `of` under `id`, kept for ever (no keepUntil), as a form brought
/// in from another system would be.
async fn copy_form(pool: &PgPool, of: Uuid, id: Uuid) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "CREATE TEMPORARY TABLE copied ON COMMIT DROP AS SELECT * FROM form WHERE form_id = $1",
    )
    .bind(of)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("UPDATE copied SET form_id = $1, keep_until = NULL")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("INSERT INTO form SELECT * FROM copied")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn forms_live_in_their_month_and_a_month_goes_once_its_forms_are_purged() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let index = FakeIndex::start().await;
    let engine = Engine::start_with(support::config(&database.config, &index.url())).await;
    engine.save_template(&support::example()).await;
    let (store, _) = store::open(&database.config).await.unwrap();
    let pool = PgPool::connect(database.config.url.as_deref().unwrap())
        .await
        .unwrap();
    let now = Utc::now();
    let this_month = now.date_naive().with_day(1).unwrap();
    let month = |ahead: u32| this_month.checked_add_months(Months::new(ahead)).unwrap();

    // The service's start made this month and three ahead.
    let made = partitions(&pool).await;
    for ahead in 0..=3 {
        assert!(made.contains(&month_name(month(ahead))), "{made:?}");
    }

    // A new form: a UUIDv7 of now, in this month's partition, its reminder days beside it.
    let today = common::riv_time::today_in_sweden();
    let mut request = support::form_request(TOLVAN);
    request["expireDate"] = json!(common::riv_time::format_date(today + Days::new(1)));
    request["keepUntil"] = json!(common::riv_time::format_date(today + Days::new(1)));
    request["reminderDaysBefore"] = json!([3]);
    let (status, body) = engine
        .call("CreateFormRequest", &json!({ "formRequests": [request] }))
        .await;
    assert_eq!(status, 200, "{body}");
    let new: Uuid = body["formRequestResponses"][0]["formId"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .parse()
        .unwrap();
    assert_eq!(new.get_version_num(), 7, "{new}");
    assert_eq!(partition_of(&pool, new).await, month_name(month(0)));

    // Two forms from another system: a random UUIDv4 (in no month: the default partition) and
    // one whose id happens to fall in the month five ahead, which has no partition yet.
    let elsewhere = Uuid::new_v4();
    let in_a_later_month = Uuid::from_u128(uuid_v7_floor(start_of(month(5))).as_u128() | 0x4242);
    copy_form(&pool, new, elsewhere).await;
    copy_form(&pool, new, in_a_later_month).await;
    sqlx::query("INSERT INTO form_reminder_days (form_id, days) VALUES ($1, '[7]')")
        .bind(in_a_later_month)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(partition_of(&pool, elsewhere).await, "form_default");
    assert_eq!(partition_of(&pool, in_a_later_month).await, "form_default");

    // Five months on: the months up to eight ahead are made, and the later month's form moves
    // out of the default partition with its reminder days. This month still holds a form
    // (its keepUntil passed, but the sweep has not run): it stays.
    let later = start_of(month(5)) + chrono::Duration::days(3);
    let cleaned = maintain(&store, later).await;
    let made = partitions(&pool).await;
    assert!(made.contains(&month_name(month(8))), "{made:?}");
    assert!(made.contains(&month_name(month(0))), "{made:?}");
    assert_eq!(
        partition_of(&pool, in_a_later_month).await,
        month_name(month(5))
    );
    assert_eq!(partition_of(&pool, elsewhere).await, "form_default");
    let days = reminder_days(&pool, in_a_later_month).await;
    assert_eq!(days, 1, "the reminder days moved with their form");
    // The empty months between, over by then, went.
    for ahead in 1..=4 {
        assert!(
            !made.contains(&month_name(month(ahead))),
            "{ahead}: {made:?}"
        );
    }
    assert_eq!(cleaned.of("form"), 0, "{cleaned:?}");

    // Every form reads as before, wherever it is stored.
    for id in [new, elsewhere, in_a_later_month] {
        let form = engine.get_form(&id.to_string(), TOLVAN).await;
        assert_eq!(form["formId"], id.to_string(), "{form}");
    }

    // The sweep purges the new form after its keepUntil (and posts the delete); its reminder
    // days go with it. Then its month is empty and over, and the next run drops it.
    let swept = Sweeper::new(
        Arc::clone(&store),
        form_engine::api::poster(&Config::default()),
        form_engine::config::FormsConfig::default().rules(),
        Arc::new(Notify::new()),
    )
    .sweep(today + Days::new(2))
    .await
    .unwrap();
    assert_eq!(swept.purged, 1, "{swept:?}");
    let days = reminder_days(&pool, new).await;
    assert_eq!(days, 0);
    maintain(&store, later).await;
    let made = partitions(&pool).await;
    assert!(!made.contains(&month_name(month(0))), "{made:?}");
    assert!(made.contains(&month_name(month(5))), "{made:?}");
    assert!(made.contains(&"form_default".to_owned()), "{made:?}");
    for id in [elsewhere, in_a_later_month] {
        let form = engine.get_form(&id.to_string(), TOLVAN).await;
        assert_eq!(form["formId"], id.to_string(), "{form}");
    }
    engine.stop();
    database.cleanup().await;
}

#[tokio::test]
async fn a_database_of_the_previous_version_keeps_its_forms_in_the_default_partition() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let url = database.config.url.clone().unwrap();
    // The database as the previous version left it: every migration before 0076.
    let before = Migrator {
        migrations: store::postgres_migrations()
            .migrations
            .iter()
            .filter(|migration| migration.version < 76)
            .cloned()
            .collect(),
        ..Migrator::DEFAULT
    };
    let pool = PgPool::connect(&url).await.unwrap();
    before.run(&pool).await.unwrap();
    // 2000 forms with random ids, as that version made them, and reminders of one of them.
    sqlx::query(
        "INSERT INTO form (form_id, status, subject_of_care, care_unit, template_id, \
         template_version, form_name, origin, created_at, progress, revision) \
         SELECT gen_random_uuid(), 'ONGOING', '191212121212', 'SE0000000001-CU01', 'HALSA-1', \
         1, 'Hälsodeklaration', 'REQUEST', now() - make_interval(days => n), '{\"path\": [1], \"answers\": {}}', 1 \
         FROM generate_series(1, 2000) AS n",
    )
    .execute(&pool)
    .await
    .unwrap();
    let old: Uuid = sqlx::query_scalar("SELECT form_id FROM form ORDER BY created_at LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO form_reminder_days (form_id, days) VALUES ($1, '[3]')")
        .bind(old)
        .execute(&pool)
        .await
        .unwrap();

    // The new version starts on it.
    let (store, _) = store::open(&database.config).await.unwrap();
    maintain(&store, Utc::now()).await;
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT tableoid::regclass::text, count(*) FROM form GROUP BY 1 ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 2000, "{counts:?}");
    let in_default = counts
        .iter()
        .find(|(name, _)| name == "form_default")
        .map_or(0, |(_, n)| *n);
    assert!(
        in_default >= 1990,
        "random ids stay in no month: {counts:?}"
    );
    let this_month = month_name(Utc::now().date_naive().with_day(1).unwrap());
    assert!(partitions(&pool).await.contains(&this_month));
    assert!(store.form(old).await.unwrap().is_some(), "found by its id");
    // The reminders still refer to their form, and go with it.
    sqlx::query("DELETE FROM form WHERE form_id = $1")
        .bind(old)
        .execute(&pool)
        .await
        .unwrap();
    let left = reminder_days(&pool, old).await;
    assert_eq!(left, 0);
    database.cleanup().await;
}
