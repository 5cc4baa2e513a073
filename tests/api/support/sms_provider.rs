//! A fake SMS provider as strict as the real API: an axum server on a free port that
//! accepts `POST /2010-04-01/Accounts/{sid}/Messages.json` only with the right basic
//! auth, a form body, exactly the known fields, a `To` in E.164, the configured `From` and
//! a body of 1 to 1600 characters, and answers with the provider's JSON shapes and error
//! codes. It records what it accepted and can be told to fail with 500.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde_json::json;

/// An SMS the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedSms {
    /// The sid it answered with.
    pub sid: String,
    /// `To`.
    pub to: String,
    /// `From`.
    pub from: String,
    /// `Body`.
    pub body: String,
    /// `StatusCallback`, when sent.
    pub status_callback: Option<String>,
}

struct Account {
    sid: String,
    token: String,
    from: String,
}

#[derive(Default)]
struct Record {
    requests: usize,
    fail_next: usize,
    accepted: Vec<AcceptedSms>,
}

/// One running fake provider; stops when dropped.
pub struct FakeSmsProvider {
    /// What `notify.sms.base_url` must be set to.
    pub base_url: String,
    record: Arc<Mutex<Record>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeSmsProvider {
    /// Starts a provider that knows one account, with one sender number.
    pub async fn start(account_sid: &str, auth_token: &str, from: &str) -> Self {
        let account = Arc::new(Account {
            sid: account_sid.into(),
            token: auth_token.into(),
            from: from.into(),
        });
        let record = Arc::new(Mutex::new(Record::default()));
        let state = (account, record.clone());
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (account, record) = state.clone();
                async move { handle(&account, &record, &method, &uri, &headers, &body) }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base_url: format!("http://{addr}"),
            record,
            task,
        }
    }

    /// Messages accepted so far, in order.
    pub fn accepted(&self) -> Vec<AcceptedSms> {
        self.record.lock().expect("lock").accepted.clone()
    }

    /// Requests received so far, accepted or not.
    pub fn requests(&self) -> usize {
        self.record.lock().expect("lock").requests
    }

    /// The next `n` requests get a 500, whatever they hold.
    pub fn fail_next(&self, n: usize) {
        self.record.lock().expect("lock").fail_next = n;
    }
}

impl Drop for FakeSmsProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The provider's error body.
fn error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, Json(body)).into_response()
}

fn handle(
    account: &Account,
    record: &Mutex<Record>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut record = record.lock().expect("lock");
    record.requests += 1;
    if record.fail_next > 0 {
        record.fail_next -= 1;
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            "Internal Server Error",
        );
    }
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", account.sid, account.token))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&expected_auth)
    {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let path = format!("/2010-04-01/Accounts/{}/Messages.json", account.sid);
    if uri.path() != path || uri.query().is_some() {
        let message = format!("The requested resource {} was not found", uri.path());
        return error(StatusCode::NOT_FOUND, 20404, &message);
    }
    if method != Method::POST {
        return error(StatusCode::METHOD_NOT_ALLOWED, 20004, "Method not allowed");
    }
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return error(StatusCode::BAD_REQUEST, 20001, "Expected a form body");
    }
    let fields: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    for (i, (name, _)) in fields.iter().enumerate() {
        if !["To", "From", "Body", "StatusCallback"].contains(&name.as_str()) {
            return error(
                StatusCode::BAD_REQUEST,
                20001,
                &format!("Unknown parameter {name}"),
            );
        }
        if fields[..i].iter().any(|(n, _)| n == name) {
            return error(
                StatusCode::BAD_REQUEST,
                20001,
                &format!("Repeated parameter {name}"),
            );
        }
    }
    let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let Some(to) = get("To") else {
        return error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        );
    };
    let Some(from) = get("From") else {
        return error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number is required.",
        );
    };
    let body = get("Body").unwrap_or_default();
    if body.is_empty() {
        return error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    }
    let digits = to.strip_prefix('+').unwrap_or("");
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        // Like the real provider, the message repeats the number: clients must not log it.
        let message = format!("The 'To' number {to} is not a valid phone number.");
        return error(StatusCode::BAD_REQUEST, 21211, &message);
    }
    if from != account.from {
        let message = format!("The 'From' number {from} is not a valid phone number, shortcode, or alphanumeric sender ID.");
        return error(StatusCode::BAD_REQUEST, 21212, &message);
    }
    if body.chars().count() > 1600 {
        return error(
            StatusCode::BAD_REQUEST,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
    }
    let status_callback = get("StatusCallback");
    if let Some(url) = &status_callback {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return error(StatusCode::BAD_REQUEST, 21609, "Invalid StatusCallback");
        }
    }
    let sid = format!("SM{}", hex::encode(rand::random::<[u8; 16]>()));
    record.accepted.push(AcceptedSms {
        sid: sid.clone(),
        to: to.clone(),
        from: from.clone(),
        body: body.clone(),
        status_callback,
    });
    let now = chrono::Utc::now().to_rfc2822();
    let uri = format!("/2010-04-01/Accounts/{}/Messages/{sid}.json", account.sid);
    let answer = json!({
        "account_sid": account.sid,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": now,
        "date_sent": null,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": from,
        "messaging_service_sid": null,
        "num_media": "0",
        "num_segments": "1",
        "price": null,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": { "media": uri.replace(".json", "/Media.json") },
        "to": to,
        "uri": uri,
    });
    (StatusCode::CREATED, Json(answer)).into_response()
}
