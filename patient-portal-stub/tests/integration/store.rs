//! Store behaviour the HTTP tests cannot reach by the clock: expired messages and sessions.
//! On SQLite and (when TEST_DATABASE_URL is set) PostgreSQL; and a backup copy of the store.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use common::identity::{HsaId, PersonalIdentityNumber};
use common::testing::TestDatabase;
use patient_portal_stub::domain::citizen::{Citizen, CitizenId, CitizenProfile};
use patient_portal_stub::domain::message::{InboxMessage, MessageId};
use patient_portal_stub::store::{self, WebSession};

fn citizen() -> Citizen {
    Citizen {
        id: CitizenId::new(),
        profile: CitizenProfile {
            personal_identity_number: PersonalIdentityNumber::parse("194503152284").unwrap(),
            name: "Greta".into(),
            active: true,
            notification_sms: false,
            notification_email: false,
            phone: None,
            email: None,
        },
    }
}

fn message(citizen: CitizenId, subject: &str, expire_date: Option<NaiveDate>) -> InboxMessage {
    InboxMessage {
        id: MessageId::new(),
        citizen_id: citizen,
        care_unit: HsaId::parse("SE2321000016-1HZ3").unwrap(),
        care_unit_name: "Vårdcentralen".into(),
        subject: subject.into(),
        body: "Rad ett\nrad två".into(),
        url: None,
        source_system: HsaId::parse("SE2321000016-SYS1").unwrap(),
        expire_date,
        received_at: Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap(),
        read_at: None,
    }
}

#[tokio::test]
async fn a_message_leaves_the_inbox_after_its_expire_date() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let (store, _) = store::open(&database.config).await.unwrap();
        let greta = citizen();
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap();
        store.create_citizen(&greta, now).await.unwrap();
        let may_first = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let lasting = message(greta.id, "Varar", None);
        let ending = message(greta.id, "Sista dagen", Some(may_first));
        store.add_message(&lasting, &[]).await.unwrap();
        store.add_message(&ending, &[]).await.unwrap();

        let on_the_day = store.inbox(greta.id, may_first).await.unwrap();
        assert_eq!(on_the_day.len(), 2, "{backend}: shown on its last day");
        assert_eq!(
            on_the_day[0].body, "Rad ett\nrad två",
            "{backend}: kept as sent"
        );
        let next_day = may_first.succ_opt().unwrap();
        let after = store.inbox(greta.id, next_day).await.unwrap();
        assert_eq!(after.len(), 1, "{backend}");
        assert_eq!(after[0].subject, "Varar", "{backend}");
        let opened = store
            .open_message(greta.id, ending.id, next_day, now)
            .await
            .unwrap();
        assert!(
            opened.is_none(),
            "{backend}: an expired message cannot be opened"
        );

        let first = store
            .open_message(greta.id, lasting.id, may_first, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.read_at, Some(now), "{backend}");
        let later = now + Duration::hours(1);
        let again = store
            .open_message(greta.id, lasting.id, may_first, later)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            again.read_at,
            Some(now),
            "{backend}: read once, at the first opening"
        );
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_session_ends_when_it_expires_or_its_citizen_is_deleted() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let (store, _) = store::open(&database.config).await.unwrap();
        let greta = citizen();
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap();
        store.create_citizen(&greta, now).await.unwrap();
        let session = WebSession {
            session_hash: "a".repeat(64),
            citizen_id: greta.id,
            csrf_token: "b".repeat(64),
            created_at: now,
            expires_at: now + Duration::minutes(30),
        };
        store.create_session(&session).await.unwrap();
        assert_eq!(
            store.session(&session.session_hash, now).await.unwrap(),
            Some(session.clone()),
            "{backend}"
        );
        let at_expiry = now + Duration::minutes(30);
        assert!(
            store
                .session(&session.session_hash, at_expiry)
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );
        store
            .extend_session(&session.session_hash, at_expiry + Duration::minutes(30))
            .await
            .unwrap();
        assert!(
            store
                .session(&session.session_hash, at_expiry)
                .await
                .unwrap()
                .is_some(),
            "{backend}: extended"
        );
        let much_later = at_expiry + Duration::hours(2);
        assert_eq!(
            store.delete_expired_sessions(much_later).await.unwrap(),
            1,
            "{backend}"
        );
        assert!(
            store
                .session(&session.session_hash, now)
                .await
                .unwrap()
                .is_none(),
            "{backend}"
        );

        store.create_session(&session).await.unwrap();
        assert!(store.delete_citizen(greta.id).await.unwrap(), "{backend}");
        assert!(
            store
                .session(&session.session_hash, now)
                .await
                .unwrap()
                .is_none(),
            "{backend}: deleted with the citizen"
        );
        database.cleanup().await;
    }
}

/// A backup copy taken as an operator takes it (README, "Backing up and restoring"): the
/// citizens and their inbox are on it, and it takes new messages.
#[tokio::test]
async fn a_backup_copy_holds_the_citizens_and_their_inbox() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let (store, _) = store::open(&database.config).await.unwrap();
        let greta = citizen();
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap();
        store.create_citizen(&greta, now).await.unwrap();
        store
            .add_message(&message(greta.id, "Före kopian", None), &[])
            .await
            .unwrap();
        let Some(copy) =
            common::testing::backup::copy_database(&database, "patient-portal-stub.sqlite").await
        else {
            eprintln!("note: no pg_dump; a dump and restore is not tested");
            continue;
        };
        let (restored, _) = store::open(&copy.config).await.unwrap();
        restored
            .add_message(&message(greta.id, "Efter kopian", None), &[])
            .await
            .unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let mut subjects: Vec<String> = restored
            .inbox(greta.id, day)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.subject)
            .collect();
        subjects.sort();
        assert_eq!(subjects, ["Efter kopian", "Före kopian"], "{backend}");
        database.cleanup().await;
        copy.cleanup().await;
    }
}
