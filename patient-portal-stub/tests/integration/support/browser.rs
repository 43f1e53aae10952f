//! A citizen's browser: keeps cookies as the portal sets them, does not follow redirects (the
//! tests look at them), and posts forms the way a browser encodes them.

use std::collections::HashMap;

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use scraper::{Html, Selector};

pub struct Browser {
    base: String,
    http: reqwest::Client,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    /// The texts of every element matching `selector`, whitespace collapsed.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let selector = Selector::parse(selector).expect("a valid selector");
        self.html()
            .select(&selector)
            .map(|e| e.text().collect::<Vec<_>>().join(" "))
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    /// The `attribute` of every element matching `selector`.
    pub fn attributes(&self, selector: &str, attribute: &str) -> Vec<String> {
        let selector = Selector::parse(selector).expect("a valid selector");
        self.html()
            .select(&selector)
            .filter_map(|e| e.value().attr(attribute).map(str::to_owned))
            .collect()
    }

    /// The value of the first hidden input named `name`.
    pub fn hidden(&self, name: &str) -> String {
        self.attributes(&format!("input[type=hidden][name={name}]"), "value")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no hidden input {name} in {}", self.body))
    }

    /// The CSRF token of the form that posts to `action`.
    pub fn form_token(&self, action: &str) -> String {
        self.attributes(
            &format!("form[action='{action}'] input[type=hidden][name=csrf_token]"),
            "value",
        )
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no form to {action} in {}", self.body))
    }

    /// The `Set-Cookie` line for cookie `name`, if the response set it.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|line| line.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }
}

impl Browser {
    pub fn new(base: &str) -> Self {
        common::http_client::install_crypto_provider();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client");
        Self {
            base: base.to_owned(),
            http,
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        for line in headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = response.text().await.expect("a body");
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookie_header())
            .send()
            .await
            .expect("the portal answers");
        self.finish(response).await
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(fields).expect("encodable");
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("the portal answers");
        self.finish(response).await
    }

    /// Signs in as the citizen with this id through the sign-in page; the inbox page.
    pub async fn sign_in(&mut self, citizen_id: &str) -> Page {
        let page = self.get("/sign-in").await;
        assert_eq!(page.status, StatusCode::OK);
        let token = page.form_token("/sign-in");
        let answer = self
            .post_form(
                "/sign-in",
                &[("csrf_token", &token), ("citizen", citizen_id)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert_eq!(answer.location(), "/inbox");
        self.get("/inbox").await
    }
}
