//! The engine's own side of the engagement-index posts, on SQLite and (with TEST_DATABASE_URL)
//! PostgreSQL: every form change and its post are written in one transaction (or neither),
//! anonymous forms post nothing, and the background job expires and purges each form once,
//! whichever of several engine processes gets there first.

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use common::delivery::DeliveryState;
use common::identity::{HsaId, PersonalIdentityNumber};
use common::testing::TestDatabase;
use form_engine::config::FormsConfig;
use form_engine::demo;
use form_engine::domain::form::answering::Given;
use form_engine::domain::form::engagement::{ENGAGEMENT_INDEX, Poster};
use form_engine::domain::form::model::{Form, FormStatus};
use form_engine::domain::form::service::{FormOrder, FormService, ItemOutcome, PageSaved};
use form_engine::domain::form::sweeper::{Sweeper, Swept};
use form_engine::domain::template::service::TemplateService;
use form_engine::store::{
    self, Created, FormQuery, FormStore, IdempotentAnswer, NewForms, StoreError,
};
use serde_json::{Value, json};
use tokio::sync::Notify;

const TOLVAN: &str = "191212121212";

struct World {
    store: Arc<dyn FormStore>,
    forms: FormService,
    poster: Poster,
}

async fn world(database: &TestDatabase) -> World {
    let (store, _) = store::open(&database.config).await.unwrap();
    let templates = Arc::new(TemplateService::new(Arc::clone(&store)));
    templates.save(demo::health_declaration()).await.unwrap();
    let mut anonymous = demo::health_declaration();
    anonymous.template_id = "ANON-1".into();
    anonymous.anonymous_form = true;
    templates.save(anonymous).await.unwrap();
    let poster = Poster {
        engine: HsaId::parse("SE0000000001-FE01").unwrap(),
        service_domain: "riv:infrastructure:eservicesupply:forminteraction".into(),
        routes: Arc::default(),
    };
    let forms = FormService::new(
        Arc::clone(&store),
        templates,
        poster.clone(),
        FormsConfig::default().rules(),
        Arc::new(Notify::new()),
    );
    World {
        store,
        forms,
        poster,
    }
}

fn today() -> NaiveDate {
    common::riv_time::today_in_sweden()
}

fn order(
    template: &str,
    subject: Option<&str>,
    expire: NaiveDate,
    keep: Option<NaiveDate>,
) -> FormOrder {
    FormOrder {
        care_unit: HsaId::parse("SE0000000001-CU01").unwrap(),
        care_unit_name: Some("Vårdcentralen Exempel".into()),
        care_giver: None,
        med_unit: None,
        system_id: None,
        subject_of_care: subject.map(|s| PersonalIdentityNumber::parse(s).unwrap()),
        template_id: template.into(),
        template_version: None,
        clinical_process_interest_id: None,
        form_text: None,
        expire_date: Some(expire),
        keep_until: keep,
        reminder_days_before: None,
    }
}

/// Requests forms and returns them as stored.
async fn request(world: &World, orders: Vec<FormOrder>) -> Vec<Form> {
    let ids = std::cell::RefCell::new(Vec::new());
    world
        .forms
        .request_forms(orders.into_iter().map(Ok).collect(), None, |outcomes| {
            *ids.borrow_mut() = outcomes
                .iter()
                .map(|o| match o {
                    ItemOutcome::Created(form) => form.id,
                    ItemOutcome::Refused(reason) => panic!("{reason}"),
                })
                .collect();
            Value::Null
        })
        .await
        .unwrap();
    let mut stored = Vec::new();
    for id in ids.into_inner() {
        stored.push(world.store.form(id).await.unwrap().unwrap());
    }
    stored
}

/// (categorization, deleteFlag, formId) of every post waiting in the outbox, in order.
async fn outbox(store: &Arc<dyn FormStore>) -> Vec<(String, bool, String)> {
    store
        .deliveries()
        .list(ENGAGEMENT_INDEX, DeliveryState::Pending, 1000)
        .await
        .unwrap()
        .iter()
        .flat_map(|d| {
            d.payload["engagementTransaction"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|t| {
            (
                t["engagement"]["categorization"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                t["deleteFlag"].as_bool().unwrap(),
                t["engagement"]["businessObjectInstanceIdentifier"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect()
}

fn created(form: &Form) -> (String, bool, String) {
    ("FormCreated".into(), false, form.id.to_string())
}

#[tokio::test]
async fn a_form_change_and_its_post_are_written_together_or_not_at_all() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let world = world(&database).await;
        let later = today() + Days::new(10);
        let forms = request(
            &world,
            vec![
                order("HALSA-1", Some(TOLVAN), later, None),
                order("ANON-1", None, later, None),
            ],
        )
        .await;
        let (named, anonymous) = (&forms[0], &forms[1]);
        assert_eq!(
            outbox(&world.store).await,
            [created(named)],
            "{backend}: an anonymous form posts nothing"
        );
        let rows = world
            .store
            .deliveries()
            .list(ENGAGEMENT_INDEX, DeliveryState::Pending, 10)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "one row is one Update body");
        assert_eq!(rows[0].item_count, 1);
        assert_eq!(
            rows[0].payload["engagementTransaction"][0]["engagement"]["registeredResidentIdentification"],
            TOLVAN
        );

        // A write that lost a race changes nothing, posts included.
        let delivery = form_engine::domain::form::engagement::update(world.poster.removed(named));
        let mut stale = named.clone();
        stale.status = FormStatus::Completed;
        stale.revision = named.revision; // names revision - 1, which is no longer stored
        assert!(matches!(
            world.store.update_form(&stale, delivery.as_ref()).await,
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            world
                .store
                .delete_form(named.id, named.revision + 5, delivery.as_ref())
                .await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(outbox(&world.store).await, [created(named)]);
        assert_eq!(
            world.store.form(named.id).await.unwrap().unwrap().status,
            FormStatus::Ongoing
        );

        // A write that wins takes its post along.
        world
            .store
            .delete_form(named.id, named.revision, delivery.as_ref())
            .await
            .unwrap();
        assert_eq!(
            outbox(&world.store).await,
            [
                created(named),
                ("FormCreated".into(), true, named.id.to_string())
            ]
        );
        assert!(world.store.form(named.id).await.unwrap().is_none());
        let nothing =
            form_engine::domain::form::engagement::update(world.poster.removed(anonymous));
        assert!(nothing.is_none());
        database.cleanup().await;
    }
}

#[tokio::test]
async fn an_idempotent_answer_is_stored_once_with_its_forms() {
    for database in TestDatabase::all().await {
        let world = world(&database).await;
        let template = request(
            &world,
            vec![order("HALSA-1", Some(TOLVAN), today() + Days::new(5), None)],
        )
        .await;
        let mut form = template[0].clone();
        form.id = uuid::Uuid::new_v4();
        let new = NewForms {
            forms: vec![form.clone()],
            deliveries: form_engine::domain::form::engagement::update(world.poster.created(&form))
                .into_iter()
                .collect(),
            idempotency: Some(IdempotentAnswer {
                scope: "CreateFormRequest:-".into(),
                key: "k-1".into(),
                request: json!({"a": 1}),
                response: json!({"resultCode": "OK"}),
            }),
            reminder_days: Vec::new(),
        };
        assert_eq!(
            world.store.create_forms(&new).await.unwrap(),
            Created::Stored
        );
        let mut again = new.clone();
        again.forms[0].id = uuid::Uuid::new_v4();
        assert_eq!(
            world.store.create_forms(&again).await.unwrap(),
            Created::AlreadyAnswered {
                request: json!({"a": 1}),
                response: json!({"resultCode": "OK"})
            }
        );
        assert!(
            world.store.form(again.forms[0].id).await.unwrap().is_none(),
            "{}",
            database.backend
        );
        assert_eq!(
            outbox(&world.store).await.len(),
            2,
            "the first request's post and the new form's; none for the retry"
        );
        // Old answers are forgotten.
        let forgotten = world
            .store
            .forget_idempotent_answers(chrono::Utc::now() + chrono::Duration::seconds(1))
            .await
            .unwrap();
        assert_eq!(forgotten, 1);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn an_expired_form_cannot_be_answered_and_leaves_the_active_list_once() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let world = world(&database).await;
        let expiring = request(&world, vec![order("HALSA-1", Some(TOLVAN), today(), None)])
            .await
            .remove(0);
        let lasting = request(
            &world,
            vec![order("HALSA-1", Some(TOLVAN), today() + Days::new(3), None)],
        )
        .await
        .remove(0);
        let anonymous = request(&world, vec![order("ANON-1", None, today(), None)])
            .await
            .remove(0);

        // A form whose last day was yesterday (stored as such: requests refuse past dates).
        let mut overdue = lasting.clone();
        overdue.id = uuid::Uuid::new_v4();
        overdue.expire_date = Some(today() - Days::new(1));
        world
            .store
            .create_forms(&NewForms {
                forms: vec![overdue.clone()],
                ..NewForms::default()
            })
            .await
            .unwrap();
        let subject = PersonalIdentityNumber::parse(TOLVAN).unwrap();
        let answer = [Given {
            block: 1,
            value_id: "height".into(),
            value: json!(180),
        }];
        match world
            .forms
            .save_page(overdue.id, Some(&subject), 1, &answer, true, None)
            .await
            .unwrap()
        {
            PageSaved::Refused(reason, _) => assert!(reason.contains("har gått ut"), "{reason}"),
            other @ PageSaved::Done { .. } => panic!("{backend}: {other:?}"),
        }

        // Two engine processes sweep at once, the day after the last day of two forms.
        let sweeper = || {
            Sweeper::new(
                Arc::clone(&world.store),
                world.poster.clone(),
                FormsConfig::default().rules(),
                Arc::new(Notify::new()),
            )
        };
        let (first, second) = (sweeper(), sweeper());
        let tomorrow = today() + Days::new(1);
        let (a, b) = tokio::join!(first.sweep(tomorrow), second.sweep(tomorrow));
        let expired = a.unwrap().expired + b.unwrap().expired;
        assert_eq!(
            expired, 3,
            "{backend}: overdue, expiring and anonymous, once each"
        );
        let posts = outbox(&world.store).await;
        let deletes: Vec<_> = posts.iter().filter(|p| p.1).cloned().collect();
        let mut expected = vec![
            ("FormCreated".to_owned(), true, overdue.id.to_string()),
            ("FormCreated".to_owned(), true, expiring.id.to_string()),
        ];
        expected.sort();
        let mut deletes_sorted = deletes.clone();
        deletes_sorted.sort();
        assert_eq!(
            deletes_sorted, expected,
            "{backend}: one delete each, none for the anonymous form"
        );
        assert_eq!(
            first.sweep(tomorrow).await.unwrap(),
            Swept::default(),
            "nothing left to do"
        );

        let active = world
            .store
            .find_forms(&FormQuery {
                subject_of_care: Some(TOLVAN.into()),
                limit: 10,
                ..FormQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(
            active.iter().map(|f| f.id).collect::<Vec<_>>(),
            [lasting.id]
        );
        let all = world
            .store
            .find_forms(&FormQuery {
                subject_of_care: Some(TOLVAN.into()),
                include_expired: true,
                limit: 10,
                ..FormQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        assert!(
            world
                .store
                .form(anonymous.id)
                .await
                .unwrap()
                .unwrap()
                .expired_at
                .is_some()
        );
        database.cleanup().await;
    }
}

#[tokio::test]
async fn forms_are_purged_after_keep_until_with_their_posts() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let world = world(&database).await;
        let keep = today() + Days::new(2);
        let ongoing = request(
            &world,
            vec![order(
                "HALSA-1",
                Some(TOLVAN),
                today() + Days::new(1),
                Some(keep),
            )],
        )
        .await
        .remove(0);
        let mut completed = request(
            &world,
            vec![order(
                "HALSA-1",
                Some(TOLVAN),
                today() + Days::new(1),
                Some(keep),
            )],
        )
        .await
        .remove(0);
        completed.status = FormStatus::Completed;
        completed.completed_at = Some(chrono::Utc::now());
        completed.revision += 1;
        world.store.update_form(&completed, None).await.unwrap();
        let kept = request(
            &world,
            vec![order("HALSA-1", Some(TOLVAN), today() + Days::new(1), None)],
        )
        .await
        .remove(0);
        let before = outbox(&world.store).await.len();

        let sweeper = Sweeper::new(
            Arc::clone(&world.store),
            world.poster.clone(),
            FormsConfig::default().rules(),
            Arc::new(Notify::new()),
        );
        let swept = sweeper.sweep(keep + Days::new(1)).await.unwrap();
        assert_eq!((swept.expired, swept.purged), (2, 2), "{backend}");
        assert!(world.store.form(ongoing.id).await.unwrap().is_none());
        assert!(world.store.form(completed.id).await.unwrap().is_none());
        assert!(
            world.store.form(kept.id).await.unwrap().is_some(),
            "no keepUntil: kept"
        );
        let posts = outbox(&world.store).await.split_off(before);
        let mut posts_sorted = posts.clone();
        posts_sorted.sort();
        let mut expected = vec![
            // Expired first (its FormCreated post goes), then purged (nothing left to delete).
            ("FormCreated".to_owned(), true, ongoing.id.to_string()),
            ("FormCreated".to_owned(), true, kept.id.to_string()),
            ("FormComplete".to_owned(), true, completed.id.to_string()),
        ];
        expected.sort();
        assert_eq!(posts_sorted, expected, "{backend}");
        database.cleanup().await;
    }
}

#[tokio::test]
async fn calculation_outcomes_are_stored_with_the_form_exactly() {
    use form_engine::domain::template::formula::CalculationOutcome;
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let world = world(&database).await;
        let later = today() + Days::new(10);
        let forms = request(&world, vec![order("HALSA-1", Some(TOLVAN), later, None)]).await;
        let stored = &forms[0];
        assert_eq!(
            stored.progress.outcomes, None,
            "{backend}: nothing is evaluated before a page is saved"
        );
        let mut changed = stored.clone();
        changed.progress.outcomes = Some(vec![
            CalculationOutcome {
                calculation_id: "bmi".into(),
                outcome: Some(22.86),
                error_message: None,
            },
            CalculationOutcome {
                calculation_id: "change".into(),
                outcome: Some(-3.0),
                error_message: None,
            },
            CalculationOutcome {
                calculation_id: "phq9-total".into(),
                outcome: None,
                error_message: Some("Frågan `phq4` är inte besvarad.".into()),
            },
        ]);
        changed.revision += 1;
        world.store.update_form(&changed, None).await.unwrap();
        let read = world.store.form(stored.id).await.unwrap().unwrap();
        assert_eq!(read, changed, "{backend}: read back as written");
        database.cleanup().await;
    }
}
