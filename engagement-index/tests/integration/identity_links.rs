//! Issue 15: identity links in the index, through the HTTP API of a running index with a real
//! push subscriber, on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL. The engagements of
//! the old number move to the new one; subscribers hear the delete of each old key and the
//! new post; the audit log shows both numbers; linking again changes nothing; chains
//! resolve and cycles are refused.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use common::config::HttpConfig;
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use engagement_index::{Application, Config};
use serde_json::{Value, json};

const DOMAIN: &str = "riv:infrastructure:eservicesupply:forminteraction";
/// A reserve number, the personnummer it becomes, and a third number of the same person.
const RESERVE: &str = "19121212A123";
const PERSONNUMMER: &str = "191212121212";
const OTHER: &str = "191212121213";
const LINKS: &str = "/admin/identity-links";

struct Index {
    base: String,
    http: reqwest::Client,
    shutdown: Shutdown,
}

impl Index {
    async fn start(database: &TestDatabase) -> Self {
        common::telemetry::init_for_tests();
        let mut config = Config {
            http: HttpConfig::with_port(0),
            database: database.config.clone(),
            ..Config::default()
        };
        config.delivery.initial_backoff_ms = 20;
        config.delivery.max_backoff_ms = 200;
        config.delivery.poll_interval_ms = 20;
        config.notification.linger_ms = Some(10);
        let app = Application::build(config).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        let shutdown = Shutdown::new();
        tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Self {
            base,
            http: common::testing::http(),
            shutdown,
        }
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn update(&self, transactions: Vec<Value>) {
        let (status, _, body) = self
            .post(
                "/engagementindex/v1/Update",
                &json!({ "engagementTransaction": transactions }),
            )
            .await;
        assert_eq!((status, &body["ResultCode"]), (200, &json!("OK")), "{body}");
    }

    async fn find(&self, resident: &str) -> (reqwest::header::HeaderMap, Value) {
        let (status, headers, body) = self
            .post(
                "/engagementindex/v1/FindContent",
                &json!({"registeredResidentIdentification": resident, "serviceDomain": DOMAIN}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        (headers, body)
    }

    async fn link(&self, from: &str, to: &str) -> (u16, Value) {
        let (status, _, body) = self
            .post(
                LINKS,
                &json!({"from": from, "to": to, "reason": "reserve number replaced"}),
            )
            .await;
        (status, body)
    }

    async fn audit_of(&self, patient: &str) -> Vec<Value> {
        let (status, _, body) = self
            .post("/admin/audit/by-patient", &json!({ "patient": patient }))
            .await;
        assert_eq!(status, 200, "{body}");
        body["events"].as_array().cloned().unwrap()
    }
}

fn post_for(resident: &str, category: &str, most_recent: &str) -> Value {
    json!({"deleteFlag": false, "engagement": {
        "registeredResidentIdentification": resident,
        "serviceDomain": DOMAIN,
        "categorization": category,
        "logicalAddress": "SE2321000016-1HZ3",
        "businessObjectInstanceIdentifier": format!("form-{category}"),
        "clinicalProcessInterestId": "NA",
        "mostRecentContent": most_recent,
        "sourceSystem": "SE2321000016-FE01",
        "dataController": "SE2321000016-1HZ3",
    }})
}

/// A push subscriber: every engagement transaction it received, in order.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    async fn start() -> (Self, SocketAddr) {
        let receiver = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/notify", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, address)
    }

    fn transactions(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }

    /// `(deleteFlag, resident, categorization)` of each transaction from `start` on.
    fn summary(&self, start: usize) -> Vec<(bool, String, String)> {
        self.transactions()[start..]
            .iter()
            .map(|t| {
                let e = &t["engagement"];
                (
                    t["deleteFlag"].as_bool().unwrap(),
                    e["registeredResidentIdentification"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    e["categorization"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

async fn receive(State(receiver): State<Receiver>, body: axum::Json<Value>) -> axum::Json<Value> {
    let transactions = body.0["engagementTransaction"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    receiver.received.lock().unwrap().extend(transactions);
    axum::Json(json!({ "ResultCode": "OK" }))
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn posts_follow_the_person_subscribers_hear_delete_and_post_and_the_audit_names_both() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let index = Index::start(&database).await;
        let (receiver, address) = Receiver::start().await;
        let (status, _, body) = index.put_subscriber(address).await;
        assert_eq!(status, 201, "{body}");
        // Two posts under the reserve number; the personnummer already has a newer copy of
        // the second one, so that one merges by newer-wins.
        index
            .update(vec![
                post_for(RESERVE, "FormCreated", "20240101100000"),
                post_for(RESERVE, "FormComplete", "20240101110000"),
                post_for(PERSONNUMMER, "FormComplete", "20240102110000"),
            ])
            .await;
        eventually("the three posts are notified", || {
            receiver.transactions().len() == 3
        })
        .await;
        let (_, before) = index.find(RESERVE).await;
        let created = before["engagement"][0]["creationTime"].clone();

        let (status, answer) = index.link(RESERVE, PERSONNUMMER).await;
        assert_eq!(status, 200, "{backend}: {answer}");
        assert_eq!(
            answer,
            json!({"from": RESERVE, "to": PERSONNUMMER, "linkedTo": PERSONNUMMER,
                   "created": true, "moved": 2}),
            "{backend}"
        );

        // Subscribers: the delete of each old key, the new post where it changed something.
        eventually("the move is notified", || {
            receiver.transactions().len() >= 6
        })
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            receiver.transactions().len(),
            6,
            "{backend}: {:?}",
            receiver.summary(0)
        );
        let summary = receiver.summary(3);
        assert!(summary.contains(&(true, RESERVE.to_owned(), "FormCreated".to_owned())));
        assert!(summary.contains(&(true, RESERVE.to_owned(), "FormComplete".to_owned())));
        assert!(summary.contains(&(false, PERSONNUMMER.to_owned(), "FormCreated".to_owned())));

        // The old number answers nothing, saying it was linked; the new one has both posts,
        // the moved one with its creationTime, the merged one with the newer content.
        let (headers, old) = index.find(RESERVE).await;
        assert_eq!(
            old,
            json!({"engagement": [], "identityLinked": true}),
            "{backend}"
        );
        assert_eq!(headers["nordform-identity-linked"], "true");
        assert!(
            !old.to_string().contains(PERSONNUMMER),
            "the new number is not disclosed"
        );
        let (headers, new) = index.find(PERSONNUMMER).await;
        assert!(!headers.contains_key("nordform-identity-linked"));
        let posts = new["engagement"].as_array().unwrap();
        assert_eq!(posts.len(), 2, "{backend}: {new}");
        let moved = posts
            .iter()
            .find(|p| p["categorization"] == "FormCreated")
            .unwrap();
        assert_eq!(
            moved["creationTime"], created,
            "{backend}: creationTime kept"
        );
        let merged = posts
            .iter()
            .find(|p| p["categorization"] == "FormComplete")
            .unwrap();
        assert_eq!(merged["mostRecentContent"], "20240102110000", "{backend}");

        // The audit log: each moved post under both numbers.
        for number in [RESERVE, PERSONNUMMER] {
            let moves: Vec<String> = index
                .audit_of(number)
                .await
                .iter()
                .filter(|e| e["action"] == "IdentityLinkMove")
                .map(|e| e["resource"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                moves.len(),
                2,
                "{backend}: the moves are audited under {number}"
            );
            assert!(moves.iter().any(|r| r.ends_with("form-FormCreated")));
        }

        // Linking again changes nothing and says so.
        let (status, again) = index.link(RESERVE, PERSONNUMMER).await;
        assert_eq!(status, 200);
        assert_eq!(again["created"], false, "{backend}");
        assert_eq!(again["moved"], 0, "{backend}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            receiver.transactions().len(),
            6,
            "{backend}: nothing notified"
        );
        assert_eq!(index.find(PERSONNUMMER).await.1, new);

        // The admin sees where the number went.
        let (status, _, found) = index
            .post("/admin/identity-links/search", &json!({"number": RESERVE}))
            .await;
        assert_eq!(status, 200);
        assert_eq!(found["resolvedTo"], PERSONNUMMER);
        assert_eq!(found["links"][0]["reason"], "reserve number replaced");
        assert_eq!(found["links"][0]["linkedBy"], "anonymous");

        index.shutdown.cancel();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_chain_resolves_a_cycle_is_refused_and_bad_input_names_the_field() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let index = Index::start(&database).await;
        index
            .update(vec![post_for(RESERVE, "FormCreated", "20240101100000")])
            .await;
        assert_eq!(index.link(RESERVE, PERSONNUMMER).await.0, 200);
        // The personnummer is then linked on to a third number: the reserve number's post
        // ends there, and both earlier numbers answer "linked".
        let (status, second) = index.link(PERSONNUMMER, OTHER).await;
        assert_eq!(status, 200, "{backend}: {second}");
        assert_eq!(second["moved"], 1);
        for number in [RESERVE, PERSONNUMMER] {
            let (headers, body) = index.find(number).await;
            assert_eq!(body["identityLinked"], true, "{backend}: {number}");
            assert_eq!(headers["nordform-identity-linked"], "true");
        }
        assert_eq!(
            index.find(OTHER).await.1["engagement"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        // Linking the reserve number to the personnummer again resolves to the third number.
        let (_, again) = index.link(RESERVE, PERSONNUMMER).await;
        assert_eq!(
            (again["created"].clone(), again["linkedTo"].clone()),
            (json!(false), json!(OTHER)),
            "{backend}"
        );

        // A cycle, directly or through the chain, or a link to itself: 409, nothing changed.
        for (from, to) in [(OTHER, RESERVE), (OTHER, PERSONNUMMER), (OTHER, OTHER)] {
            let (status, body) = index.link(from, to).await;
            assert_eq!(status, 409, "{backend}: {body}");
            assert_eq!(body["code"], "IDENTITY_LINK_CYCLE");
        }
        // Two links made at once that would close a cycle between them: exactly one is made.
        let (one, two) = tokio::join!(
            index.link("191212121217", "191212121218"),
            index.link("191212121218", "191212121217"),
        );
        let mut statuses = [one.0, two.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "{backend}: {one:?} {two:?}");

        // A number linked elsewhere already.
        let (status, body) = index.link(PERSONNUMMER, "191212121214").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("IDENTITY_ALREADY_LINKED"))
        );

        // Bad input: a problem naming the field.
        for (request, field) in [
            (
                json!({"from": "1912121212", "to": OTHER, "reason": "x"}),
                "from:",
            ),
            (
                json!({"from": OTHER, "to": "19121212121x", "reason": "x"}),
                "to:",
            ),
            (json!({"to": OTHER, "reason": "x"}), "from:"),
            (
                json!({"from": RESERVE, "to": OTHER, "reason": " "}),
                "reason:",
            ),
        ] {
            let (status, _, body) = index.post(LINKS, &request).await;
            assert_eq!(status, 400, "{backend}: {body}");
            assert!(
                body["detail"].as_str().unwrap().starts_with(field),
                "{body}"
            );
        }

        // The contract-style door for the source of truth does the same.
        index
            .update(vec![post_for(
                "191212121215",
                "FormCreated",
                "20240101100000",
            )])
            .await;
        let (status, _, body) = index
            .post(
                "/engagementindex/v1/LinkRegisteredResidentIdentity",
                &json!({"from": "191212121215", "to": "191212121216", "reason": "merged"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["ResultCode"], "OK");
        assert_eq!(
            index.find("191212121216").await.1["engagement"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        index.shutdown.cancel();
        database.cleanup().await;
    }
}

impl Index {
    async fn put_subscriber(
        &self,
        address: SocketAddr,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let response = self
            .http
            .put(format!("{}/admin/subscribers/SUB-IDENTITY", self.base))
            .json(&json!({"url": format!("http://{address}/notify"), "delivery": "push"}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.json().await.unwrap_or(Value::Null),
        )
    }
}

/// Who may link: the contract-style door needs `source_system` for the scope
/// `identity-links`, the admin door `admin`; a refusal changes nothing and is audited.
#[tokio::test]
async fn only_the_granted_source_of_truth_or_an_admin_may_link() {
    use common::permissions::Role;
    use common::testing::security::{TestService, TokenSetup, grant};

    const REGISTER: &str = "SE1-POPULATION-REGISTER";
    const SOURCE: &str = "SE1-SRC-A";
    const ADMIN: &str = "SE1-ADMIN";
    for database in TestDatabase::all().await {
        let backend = database.backend;
        common::telemetry::init_for_tests();
        let tokens = TokenSetup::new(
            "identity-test-key",
            vec![
                grant(REGISTER, Role::SourceSystem, "identity-links"),
                grant(SOURCE, Role::SourceSystem, SOURCE),
                grant(ADMIN, Role::Admin, "*"),
            ],
        );
        let config = Config {
            http: HttpConfig::with_port(0),
            database: database.config.clone(),
            auth: tokens.auth,
            ..Config::default()
        };
        let app = Application::build(config).await.unwrap();
        let service = TestService::new(app.scheme(), app.local_addr(), tokens.client, ADMIN)
            .keeping(tokens.dir)
            .with_signer(tokens.signer);
        tokio::spawn(app.run_until_stopped(service.shutdown()));
        let body = json!({"from": RESERVE, "to": PERSONNUMMER, "reason": "replaced"});
        let contract = "/engagementindex/v1/LinkRegisteredResidentIdentity";

        for (caller, path, code) in [
            (SOURCE, contract, "FORBIDDEN_SOURCE_SYSTEM"),
            (ADMIN, contract, "FORBIDDEN_SOURCE_SYSTEM"),
            (REGISTER, LINKS, "FORBIDDEN_ADMIN"),
            (SOURCE, LINKS, "FORBIDDEN_ADMIN"),
        ] {
            let answer = service
                .request(Some(caller), http::Method::POST, path, Some(&body))
                .await;
            assert_eq!(answer.status.as_u16(), 403, "{backend}: {caller} {path}");
            assert_eq!(answer.body["code"], code, "{backend}: {caller} {path}");
        }
        let answer = service
            .request(Some(REGISTER), http::Method::POST, contract, Some(&body))
            .await;
        assert_eq!(answer.status.as_u16(), 200, "{backend}: {:?}", answer.body);
        assert_eq!(answer.body["ResultCode"], "OK");
        let answer = service
            .request(Some(ADMIN), http::Method::POST, LINKS, Some(&body))
            .await;
        assert_eq!(answer.status.as_u16(), 200, "{backend}: {:?}", answer.body);
        assert_eq!(answer.body["created"], false, "{backend}: linked already");
        let found = service
            .request(
                Some(ADMIN),
                http::Method::POST,
                "/admin/identity-links/search",
                Some(&json!({"number": RESERVE})),
            )
            .await;
        assert_eq!(found.body["links"][0]["linkedBy"], REGISTER, "{backend}");
        // The refused attempt at the contract door is in the audit log.
        let audit = service
            .request(
                Some(ADMIN),
                http::Method::POST,
                "/admin/audit/by-patient",
                Some(&json!({"patient": RESERVE})),
            )
            .await;
        let refused = audit.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "IdentityLink" && e["outcome"] == "refused")
            .count();
        assert_eq!(refused, 2, "{backend}: {:?}", audit.body);
        service.shutdown().cancel();
        database.cleanup().await;
    }
}
