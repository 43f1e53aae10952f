//! Direct ProcessNotification (TKB 2.1.1 §2.6, docs/follow-up.md): per care unit or source
//! system, the engine posts to the engagement index (`index`), notifies the care system
//! itself (`direct`) or both, through the same delivery worker (retries, dead letters, admin,
//! metrics). On SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::response::{IntoResponse as _, Response};
use common::testing::TestDatabase;
use form_engine::Config;
use form_engine::config::RouteConfig;
use form_engine::domain::notification::Route;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{CARE_UNIT, Engine, FakeIndex, TOLVAN, config, example, form_request, post};

const ENGINE: &str = "SE0000000001-FE01";
/// Source systems: one left on the default route, one notified directly, one both ways.
const VIA_INDEX: &str = "SE0000000001-CSI";
const DIRECT: &str = "SE0000000001-CSD";
const BOTH: &str = "SE0000000001-CSB";

/// How the fake care system answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Accept,
    /// 503: worth another try.
    Unavailable,
    /// 400: refused for good.
    Refuse,
}

/// A care system's ProcessNotification endpoint: keeps every POST (with its
/// x-notification-id and x-rivta-logical-address) and answers as told.
#[derive(Clone)]
struct CareSystem {
    answer: Arc<Mutex<Answer>>,
    /// (notification id, logical address, body) of every POST, accepted or not.
    received: Arc<Mutex<Vec<(String, String, Value)>>>,
    url: String,
}

impl CareSystem {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let system = Self {
            answer: Arc::new(Mutex::new(Answer::Accept)),
            received: Arc::default(),
            url: format!(
                "http://{}/processnotification",
                listener.local_addr().unwrap()
            ),
        };
        let state = system.clone();
        let app = axum::Router::new().route(
            "/processnotification",
            axum::routing::post(
                move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| {
                    let state = state.clone();
                    async move { state.receive(&headers, body) }
                },
            ),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        system
    }

    fn receive(&self, headers: &HeaderMap, body: Value) -> Response {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        self.received.lock().unwrap().push((
            header("x-notification-id"),
            header("x-rivta-logical-address"),
            body,
        ));
        match *self.answer.lock().unwrap() {
            Answer::Accept => axum::Json(json!({"ResultCode": "OK"})).into_response(),
            Answer::Unavailable => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            Answer::Refuse => (
                StatusCode::BAD_REQUEST,
                [("content-type", "application/problem+json")],
                json!({"type": "about:blank", "title": "Bad Request", "status": 400, "code": "EI004"})
                    .to_string(),
            )
                .into_response(),
        }
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn received(&self) -> Vec<(String, String, Value)> {
        self.received.lock().unwrap().clone()
    }

    /// (categorization, deleteFlag, formId) of every transaction received, in order.
    fn posts(&self) -> Vec<(String, bool, String)> {
        self.received()
            .iter()
            .flat_map(|(_, _, body)| transactions(body))
            .map(|t| post(&t))
            .collect()
    }

    async fn wait_for(&self, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn transactions(body: &Value) -> Vec<Value> {
    body["engagementTransaction"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn route(source_system: &str, route: Route, url: &str) -> RouteConfig {
    RouteConfig {
        care_unit: None,
        source_system: Some(common::identity::HsaId::parse(source_system).unwrap()),
        route,
        url: Some(url.to_owned()),
        logical_address: None,
    }
}

/// A page number with its answers as `[(block, [(valueID, value)])]`.
type Page = (u32, Vec<(u32, Vec<(&'static str, Value)>)>);

impl Engine {
    /// CreateFormRequest for Tolvan from `source_system`; the formId.
    async fn request_from(&self, source_system: &str) -> String {
        let mut item = form_request(TOLVAN);
        item["healthcare_systemID"] = json!(source_system);
        let (status, body) = self
            .call("CreateFormRequest", &json!({ "formRequests": [item] }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["formRequestResponses"][0]["formId"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Answers the example form along its shortest path and sends it.
    async fn complete(&self, form_id: &str) {
        let pages: [Page; 3] = [
            (
                1,
                vec![
                    (1, vec![("height", json!(180)), ("weight", json!(80))]),
                    (2, vec![("smoker", json!(2))]),
                ],
            ),
            (
                2,
                vec![(
                    1,
                    vec![("conditions", json!([1])), ("drugAllergy", json!(2))],
                )],
            ),
            (
                4,
                vec![(1, vec![("pain", json!(2)), ("interpreter", json!(2))])],
            ),
        ];
        for (page, blocks) in pages {
            let (_, body) = self.save_page(form_id, TOLVAN, page, &blocks, false).await;
            assert_eq!(body["resultCode"], "OK", "page {page}: {body}");
        }
        let (_, body) = self
            .call(
                "SaveForm",
                &json!({"formId": form_id, "subjectOfCare": TOLVAN}),
            )
            .await;
        assert_ne!(body["resultCode"], "ERROR", "{body}");
    }

    async fn admin(&self, method: reqwest::Method, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn each_route_notifies_whom_it_names_with_what_the_index_would_send() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let index = FakeIndex::start().await;
        let care_system = CareSystem::start().await;
        let mut config: Config = config(&database.config, &index.url());
        config.notification.routes = vec![
            route(DIRECT, Route::Direct, &care_system.url),
            route(BOTH, Route::Both, &care_system.url),
        ];
        let engine = Engine::start_with(config).await;
        engine.save_template(&example()).await;

        let via_index = engine.request_from(VIA_INDEX).await;
        let direct = engine.request_from(DIRECT).await;
        let both = engine.request_from(BOTH).await;
        engine.complete(&direct).await;
        engine.complete(&both).await;

        let created = |id: &str| (String::from("FormCreated"), false, id.to_owned());
        let deleted = |id: &str| (String::from("FormCreated"), true, id.to_owned());
        let complete = |id: &str| (String::from("FormComplete"), false, id.to_owned());
        // The index: the default route's and both's posts, never the direct route's.
        let posts: Vec<_> = index.wait_for(4).await.iter().map(post).collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let posts_later: Vec<_> = index.transactions().iter().map(post).collect();
        assert_eq!(
            posts, posts_later,
            "{backend}: nothing more reaches the index"
        );
        assert_eq!(
            posts,
            [
                created(&via_index),
                created(&both),
                deleted(&both),
                complete(&both)
            ],
            "{backend}"
        );

        // The care system: direct's and both's, never the default route's; one notification
        // per change, as the index's subscribers get them.
        care_system
            .wait_for("the care system has both forms' completion", |c| {
                c.posts().len() >= 6
            })
            .await;
        let mut by_form: Vec<_> = care_system.posts();
        by_form.sort_by_key(|(_, _, id)| usize::from(*id != direct));
        assert_eq!(
            by_form,
            [
                created(&direct),
                deleted(&direct),
                complete(&direct),
                created(&both),
                deleted(&both),
                complete(&both)
            ],
            "{backend}"
        );
        let received = care_system.received();
        assert_eq!(received.len(), 4, "{backend}: one POST per change");
        let mut ids: Vec<_> = received.iter().map(|(id, _, _)| id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 4, "{backend}: each with its own notification id");
        let addressed: Vec<_> = received.iter().map(|(_, to, _)| to.as_str()).collect();
        assert_eq!(
            addressed.iter().filter(|a| **a == DIRECT).count(),
            2,
            "{backend}: x-rivta-logical-address names the care system: {addressed:?}"
        );
        let first = &transactions(&received[0].2)[0]["engagement"];
        assert_eq!(first["registeredResidentIdentification"], TOLVAN);
        assert_eq!(
            first["serviceDomain"],
            "riv:infrastructure:eservicesupply:forminteraction"
        );
        assert_eq!(first["categorization"], "FormCreated");
        assert_eq!(first["logicalAddress"], ENGINE);
        assert_eq!(first["sourceSystem"], ENGINE);
        assert_eq!(first["dataController"], CARE_UNIT);
        assert_eq!(first["clinicalProcessInterestId"], "NA");
        assert_eq!(
            first["owner"], ENGINE,
            "{backend}: the engine stands in for the index"
        );
        for field in ["mostRecentContent", "creationTime", "updateTime"] {
            let time = first[field].as_str().unwrap_or_default();
            assert_eq!(time.len(), 14, "{backend}: {field} {first}");
        }

        // Operators see the routes and their queues.
        let (status, view) = engine
            .admin(reqwest::Method::GET, "/admin/notification-routes")
            .await;
        assert_eq!(status, StatusCode::OK, "{view}");
        assert_eq!(view["defaultRoute"], "index");
        assert_eq!(view["routes"][0]["scope"], "source-system");
        assert_eq!(view["routes"][0]["hsaId"], DIRECT);
        assert_eq!(view["routes"][0]["route"], "direct");
        assert_eq!(view["routes"][0]["url"], care_system.url.as_str());
        assert_eq!(
            view["routes"][0]["destination"],
            format!("direct:source-system:{DIRECT}")
        );
        assert_eq!(view["routes"][1]["route"], "both");
        engine.stop();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_failing_care_system_is_retried_a_refusing_one_dead_lettered_and_redriven() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let index = FakeIndex::start().await;
        let care_system = CareSystem::start().await;
        let mut config = config(&database.config, &index.url());
        config.notification.routes = vec![route(DIRECT, Route::Direct, &care_system.url)];
        let engine = Engine::start_with(config).await;
        engine.save_template(&example()).await;
        let queue = format!("/admin/notification-routes/source-system/{DIRECT}");

        // Unavailable: tried again, with the same notification id, until it answers.
        care_system.answer(Answer::Unavailable);
        let first = engine.request_from(DIRECT).await;
        care_system
            .wait_for("a few attempts", |c| c.received().len() >= 3)
            .await;
        let (_, pending) = engine
            .admin(reqwest::Method::GET, &format!("{queue}/deliveries"))
            .await;
        assert_eq!(
            pending["deliveries"].as_array().unwrap().len(),
            1,
            "{backend}: {pending}"
        );
        assert!(pending["deliveries"][0]["attempts"].as_i64().unwrap() >= 1);
        care_system.answer(Answer::Accept);
        care_system
            .wait_for("the notification is delivered", |c| {
                c.posts()
                    .contains(&("FormCreated".into(), false, first.clone()))
            })
            .await;
        let ids: Vec<_> = care_system
            .received()
            .iter()
            .map(|(id, _, _)| id.clone())
            .collect();
        assert!(
            ids.windows(2).all(|w| w[0] == w[1]),
            "{backend}: every attempt carries the same notification id: {ids:?}"
        );
        wait_until_empty(&engine, &queue, "pending", backend).await;

        // Refused: a dead letter at once, listed and counted; redriven once fixed.
        let dead_before = dead_lettered(&engine).await;
        care_system.answer(Answer::Refuse);
        let second = engine.request_from(DIRECT).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let dead = loop {
            let (_, dead) = engine
                .admin(
                    reqwest::Method::GET,
                    &format!("{queue}/deliveries?state=dead"),
                )
                .await;
            if !dead["deliveries"].as_array().unwrap().is_empty() {
                break dead;
            }
            assert!(Instant::now() < deadline, "{backend}: no dead letter");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let letter = &dead["deliveries"][0];
        assert_eq!(
            post(&transactions(&letter["payload"])[0]),
            ("FormCreated".into(), false, second.clone())
        );
        assert!(
            letter["lastError"].as_str().unwrap().contains("HTTP 400"),
            "{backend}: {letter}"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while dead_lettered(&engine).await <= dead_before {
            assert!(
                Instant::now() < deadline,
                "{backend}: the dead letter is not counted"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        care_system.answer(Answer::Accept);
        let (status, redriven) = engine
            .admin(reqwest::Method::POST, &format!("{queue}/redrive"))
            .await;
        assert_eq!(status, StatusCode::OK, "{redriven}");
        assert_eq!(redriven["redriven"], 1);
        care_system
            .wait_for("the redriven notification is delivered", |c| {
                c.posts()
                    .iter()
                    .filter(|p| **p == ("FormCreated".into(), false, second.clone()))
                    .count()
                    >= 2
            })
            .await;
        wait_until_empty(&engine, &queue, "dead", backend).await;
        assert!(
            index.transactions().is_empty(),
            "{backend}: nothing to the index"
        );

        // A route that is not configured, and a scope that is none.
        let (status, body) = engine
            .admin(
                reqwest::Method::GET,
                "/admin/notification-routes/care-unit/SE0000000001-XX/deliveries",
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "NOTIFICATION_ROUTE_NOT_FOUND");
        let (status, _) = engine
            .admin(
                reqwest::Method::POST,
                &format!("/admin/notification-routes/unit/{DIRECT}/redrive"),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        engine.stop();
        database.cleanup().await;
    }
}

async fn wait_until_empty(engine: &Engine, queue: &str, state: &str, backend: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, list) = engine
            .admin(
                reqwest::Method::GET,
                &format!("{queue}/deliveries?state={state}"),
            )
            .await;
        if list["deliveries"].as_array().is_some_and(Vec::is_empty) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{backend}: {state} stays: {list}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The engine's `deliveries_dead_lettered_total` for the direct route's queue.
async fn dead_lettered(engine: &Engine) -> u64 {
    let text = engine
        .http
        .get(format!("{}/metrics", engine.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let destination = format!("destination=\"direct:source-system:{DIRECT}\"");
    text.lines()
        .find(|line| {
            line.starts_with("deliveries_dead_lettered_total{")
                && line.contains(&destination)
                && line.contains("cause=\"refused\"")
        })
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// A configuration file with `text` as its `[notification]`; the error of loading it.
fn load_error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("form-engine.toml");
    std::fs::write(&file, text).unwrap();
    Config::load(Some(&file), None).unwrap_err().to_string()
}

#[test]
fn a_wrong_route_names_its_key() {
    let error = load_error(
        "[[notification.routes]]\ncare_unit = \"SE1-CU\"\nroute = \"sideways\"\nurl = \"http://care.example/n\"\n",
    );
    assert!(
        error.contains("notification.routes") && error.contains("route"),
        "{error}"
    );
    assert!(error.contains("sideways"), "{error}");

    let error = load_error("[[notification.routes]]\ncare_unit = \"SE1-CU\"\nroute = \"direct\"\n");
    assert!(error.contains("notification.routes[0].url"), "{error}");

    let error = load_error(
        "[[notification.routes]]\ncare_unit = \"SE1-CU\"\nroute = \"both\"\nurl = \"care.example\"\n",
    );
    assert!(error.contains("notification.routes[0].url"), "{error}");

    let error = load_error("[[notification.routes]]\nroute = \"index\"\n");
    assert!(
        error.contains("notification.routes[0].care_unit"),
        "{error}"
    );

    let error = load_error(
        "[[notification.routes]]\nsource_system = \"SE1-CS\"\nroute = \"index\"\n\
         [[notification.routes]]\nsource_system = \"SE1-CS\"\nroute = \"direct\"\nurl = \"https://care.example/n\"\n",
    );
    assert!(
        error.contains("notification.routes[1].source_system"),
        "{error}"
    );

    let error = load_error(
        "[[notification.routes]]\ncare_unit = \"SE1-CU\"\nroute = \"direct\"\nurl = \"https://care.example/n\"\nport = 1\n",
    );
    assert!(error.contains("port"), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("form-engine.toml");
    std::fs::write(
        &file,
        "[[notification.routes]]\ncare_unit = \"SE1-CU\"\nroute = \"direct\"\nurl = \"https://care.example/n\"\n",
    )
    .unwrap();
    let config = Config::load(Some(&file), None).unwrap();
    let routes = config.notification.routes();
    let found = routes.for_form("SE1-CU", None).unwrap();
    assert_eq!(found.route, Route::Direct);
    assert_eq!(found.logical_address.as_str(), "SE1-CU");
}

#[tokio::test]
async fn alarms_are_relayed_to_a_direct_care_system_exactly_once_by_two_processes() {
    use form_engine::domain::form::sweeper::Sweeper;
    use form_engine::domain::notification::relay::AlarmRelay;
    use form_engine::store::{self, FormStore};
    use tokio::sync::Notify;

    for database in TestDatabase::all().await {
        let backend = database.backend;
        let index = FakeIndex::start().await;
        let care_system = CareSystem::start().await;
        let mut config = config(&database.config, &index.url());
        config.notification.routes = vec![route(DIRECT, Route::Direct, &care_system.url)];
        // The engines' own relays look only at start: the two below race each other.
        config.notification.alarm_relay_interval_ms = 3_600_000;
        let first = Engine::start_with(config.clone()).await;
        let second = Engine::start_with(config.clone()).await;
        first.save_template(&example()).await;

        let mut direct = Vec::new();
        for engine in [&first, &second, &first] {
            direct.push(engine.request_from(DIRECT).await);
        }
        let via_index = second.request_from(VIA_INDEX).await;
        // The third is sent, then the citizen asks for it to be revoked, twice.
        first.complete(&direct[2]).await;
        for engine in [&first, &second] {
            let (status, body) = engine
                .call(
                    "CancelForm",
                    &json!({"formId": direct[2], "subjectOfCare": TOLVAN}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        }

        // The day after expireDate: the unanswered forms expire (and raise their alarms).
        let stores: Vec<Arc<dyn FormStore>> = vec![
            store::open(&database.config).await.unwrap().0,
            store::open(&database.config).await.unwrap().0,
        ];
        let poster = form_engine::api::poster(&config);
        let expired = Sweeper::new(
            Arc::clone(&stores[0]),
            poster.clone(),
            config.forms.rules(),
            Arc::new(Notify::new()),
        )
        .sweep(common::riv_time::today_in_sweden() + chrono::Days::new(31))
        .await
        .unwrap()
        .expired;
        assert_eq!(expired, 3, "{backend}");

        // Two processes relay at once: each alarm of the direct route is queued once.
        let relay = |store: &Arc<dyn FormStore>| {
            AlarmRelay::new(
                Arc::clone(store),
                poster.clone(),
                Duration::from_hours(1),
                Arc::new(Notify::new()),
            )
        };
        let (a, b) = (relay(&stores[0]), relay(&stores[1]));
        let (a, b) = tokio::join!(a.relay(), b.relay());
        assert_eq!(
            a.unwrap() + b.unwrap(),
            3,
            "{backend}: two expired, one revocation"
        );
        assert_eq!(relay(&stores[1]).relay().await.unwrap(), 0, "{backend}");

        let alarm = |kind: &str, id: &str| (kind.to_owned(), false, id.to_owned());
        let mut expected = [
            alarm("FormExpired", &direct[0]),
            alarm("FormExpired", &direct[1]),
            alarm("FormRevocationRequested", &direct[2]),
        ];
        let alarms = |c: &CareSystem| {
            c.posts()
                .into_iter()
                .filter(|(kind, _, _)| kind == "FormExpired" || kind == "FormRevocationRequested")
                .collect::<Vec<_>>()
        };
        care_system
            .wait_for("the alarms arrive", |c| alarms(c).len() >= 3)
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut got = alarms(&care_system);
        got.sort();
        expected.sort();
        assert_eq!(
            got, expected,
            "{backend}: each once, none of the index route's ({via_index})"
        );
        let body = care_system
            .received()
            .into_iter()
            .map(|(_, _, body)| body)
            .find(|body| transactions(body)[0]["engagement"]["categorization"] == "FormExpired")
            .unwrap();
        let engagement = &transactions(&body)[0]["engagement"];
        assert_eq!(engagement["registeredResidentIdentification"], TOLVAN);
        assert_eq!(engagement["dataController"], CARE_UNIT);
        assert_eq!(engagement["owner"], ENGINE);
        assert_eq!(engagement["logicalAddress"], ENGINE);
        assert_eq!(engagement["creationTime"].as_str().unwrap().len(), 14);

        // The expiry's delete of FormCreated went to the care system too, not to the index.
        let posts = index.transactions();
        assert!(
            posts.iter().map(post).all(|(_, _, id)| id == via_index),
            "{backend}: the index hears only of the index route's form: {posts:?}"
        );
        first.stop();
        second.stop();
        database.cleanup().await;
    }
}
