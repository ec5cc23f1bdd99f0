//! The operator console over plain HTTP: every page renders with an empty store and carries the strict
//! CSP; without a session pages redirect to sign-in and actions answer 401; a state-changing request
//! without the CSRF token is refused; the cookie's attributes; 503 without an admin token; `console =
//! false`; the log stream's `Last-Event-ID` resume.

use std::time::Duration;

use futures::StreamExt as _;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};

use crate::support::api::{ADMIN, ApiServer, event};

/// Every console page (with an address or id where the path needs one).
pub const PAGES: [&str; 9] = [
    "/",
    "/ui/userops",
    "/ui/senders/0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "/ui/bundlers",
    "/ui/paymasters",
    "/ui/workflows",
    "/ui/logs",
    "/ui/userops?sender=&paymaster=&success=true&fromBlock=0&toBlock=100",
    "/ui/logs?service=x&level=warn&q=text",
];

/// A client that does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Signs in with the form; returns the `Cookie` header value and the raw `Set-Cookie`.
pub async fn sign_in(server: &ApiServer) -> (String, String) {
    let res = client()
        .post(server.url("/ui/login"))
        .form(&[("token", ADMIN)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "sign-in answers a redirect"
    );
    assert_eq!(res.headers()[LOCATION], "/");
    let set = res.headers()[SET_COOKIE].to_str().unwrap().to_string();
    let pair = set.split(';').next().unwrap().to_string();
    (pair, set)
}

/// The CSRF token a signed-in page carries (`data-csrf` on `<body>`).
pub async fn csrf(server: &ApiServer, cookie: &str) -> String {
    let page = client()
        .get(server.url("/ui/bundlers"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page.find("data-csrf=\"").expect("data-csrf on the page") + 11;
    page[at..at + 64].to_string()
}

fn assert_secure_headers(res: &reqwest::Response, what: &str) {
    let csp = res
        .headers()
        .get(CONTENT_SECURITY_POLICY)
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"))
        .to_str()
        .unwrap();
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{what}: CSP `{csp}` lacks {part}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff", "{what}");
}

#[tokio::test]
async fn every_page_renders_with_an_empty_store_and_carries_the_csp() {
    let server = ApiServer::start("", &[]);
    let (cookie, _) = sign_in(&server).await;
    for path in PAGES {
        let res = client()
            .get(server.url(path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        assert_secure_headers(&res, path);
        let ct = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        let body = res.text().await.unwrap();
        assert!(body.contains("<h1>"), "{path}: {body}");
        assert!(
            !body.contains("<script>") && !body.contains(" style="),
            "{path}: no inline script or style"
        );
    }
    for path in [
        "/ui/login",
        "/ui/assets/console.js",
        "/ui/assets/console.css",
        "/ui/assets/nope.js",
        "/ui/workflows/0x01",
    ] {
        let res = client()
            .get(server.url(path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_secure_headers(&res, path);
    }
}

#[tokio::test]
async fn without_a_session_pages_redirect_to_sign_in_and_actions_answer_401() {
    let server = ApiServer::start("", &[]);
    let c = client();
    for cookie in [None, Some("butler_console=00ff")] {
        for path in PAGES {
            let mut req = c.get(server.url(path));
            if let Some(k) = cookie {
                req = req.header("cookie", k);
            }
            let res = req.send().await.unwrap();
            assert_eq!(
                res.status(),
                StatusCode::SEE_OTHER,
                "GET {path} ({cookie:?})"
            );
            assert_eq!(res.headers()[LOCATION], "/ui/login", "GET {path}");
            assert_secure_headers(&res, path);
        }
        for path in [
            "/ui/logout",
            "/ui/bundlers/spawn",
            "/ui/bundlers/x/stop",
            "/ui/paymasters/action",
        ] {
            let mut req = c
                .post(server.url(path))
                .form(&[("csrf_token", "x"), ("confirm", "yes")]);
            if let Some(k) = cookie {
                req = req.header("cookie", k);
            }
            let res = req.send().await.unwrap();
            assert_eq!(
                res.status(),
                StatusCode::UNAUTHORIZED,
                "POST {path} ({cookie:?})"
            );
        }
        for path in ["/ui/logs/stream", "/ui/status/stream"] {
            let res = c.get(server.url(path)).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "GET {path}");
        }
    }
    let wrong = c
        .post(server.url("/ui/login"))
        .form(&[("token", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong.headers().get(SET_COOKIE).is_none(),
        "no session for a wrong token"
    );
    let api = c
        .get(server.url("/api/admin/userops"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        api.status(),
        StatusCode::OK,
        "the bearer header still works for the API"
    );
}

#[tokio::test]
async fn a_state_changing_request_without_the_csrf_token_is_refused() {
    let server = ApiServer::start("", &[]);
    let (cookie, set) = sign_in(&server).await;
    for attr in ["HttpOnly", "SameSite=Strict", "Max-Age=", "Path=/"] {
        assert!(set.contains(attr), "cookie `{set}` lacks {attr}");
    }
    assert!(
        !set.contains("Secure"),
        "plain HTTP: no Secure attribute ({set})"
    );
    assert!(!set.contains(ADMIN), "the cookie is not the token");
    let token = csrf(&server, &cookie).await;
    let c = client();
    let post = |path: &str, form: Vec<(&'static str, String)>| {
        c.post(server.url(path))
            .header("cookie", &cookie)
            .form(&form)
    };
    for (path, form) in [
        ("/ui/logout", vec![]),
        ("/ui/logout", vec![("csrf_token", "0".repeat(64))]),
        (
            "/ui/bundlers/spawn",
            vec![
                ("base", "alto".to_string()),
                ("name", "x".to_string()),
                ("confirm", "yes".to_string()),
            ],
        ),
        (
            "/ui/paymasters/action",
            vec![
                ("paymaster", "p".to_string()),
                ("action", "deposit".to_string()),
            ],
        ),
    ] {
        let res = post(path, form.clone()).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "POST {path} {form:?}");
        assert_secure_headers(&res, path);
    }
    let foreign = post("/ui/logout", vec![("csrf_token", token.clone())])
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        foreign.status(),
        StatusCode::FORBIDDEN,
        "another origin is refused"
    );
    let by_header = c
        .post(server.url("/ui/bundlers/spawn"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &token)
        .form(&[("base", "alto"), ("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_header.status(),
        StatusCode::CONFLICT,
        "the header token passes the check (then: no [supervisor] here)"
    );
    let out = post("/ui/logout", vec![("csrf_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        out.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = c
        .get(server.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        StatusCode::SEE_OTHER,
        "the session ended with sign-out"
    );
}

#[tokio::test]
async fn without_an_admin_token_the_console_answers_503_naming_the_key() {
    let server = ApiServer::start_with("", &[], false);
    for path in ["/", "/ui/login", "/ui/logs"] {
        let res = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "GET {path}");
        let v: serde_json::Value = res.json().await.unwrap();
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .contains("[api] admin_token_file"),
            "{v}"
        );
    }
    let res = client()
        .post(server.url("/ui/login"))
        .form(&[("token", "anything")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn console_false_turns_the_console_off_and_an_https_url_makes_the_cookie_secure() {
    let off = ApiServer::start("[api]\nconsole = false\n", &[]);
    for path in ["/", "/ui/login", "/ui/logs"] {
        let res = client().get(off.url(path)).send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "GET {path} with console = false"
        );
    }
    let tls = ApiServer::start("[api]\nurl = \"https://butler.example\"\n", &[]);
    let (_, set) = sign_in(&tls).await;
    assert!(set.contains("; Secure"), "{set}");
}

#[tokio::test]
async fn the_log_stream_resumes_after_last_event_id() {
    let server = ApiServer::start("", &[]);
    let (cookie, _) = sign_in(&server).await;
    let c = client();
    let ingest = |msg: &str| {
        c.post(server.url("/api/logs/ingest"))
            .json(&event(msg))
            .send()
    };
    let first: serde_json::Value = ingest("first").await.unwrap().json().await.unwrap();
    ingest("second").await.unwrap();
    let id = first["lastId"].as_u64().unwrap();
    let res = c
        .get(server.url("/ui/logs/stream"))
        .header("cookie", &cookie)
        .header("last-event-id", id.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.bytes_stream();
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !seen.contains("\"second\"") {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("the resumed stream sends the next event")
            .expect("stream open")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        !seen.contains("\"first\""),
        "events up to Last-Event-ID are not sent again: {seen}"
    );
    let later = c
        .get(server.url("/ui/logs/stream?after=abc"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        later.status(),
        StatusCode::BAD_REQUEST,
        "a bad resume id is refused"
    );
}

#[tokio::test]
async fn the_userops_filters_of_the_console_are_parameters_of_the_api() {
    let server = ApiServer::start("", &[]);
    let c = client();
    let get = |q: &str| {
        c.get(server.url(&format!("/api/admin/userops{q}")))
            .bearer_auth(ADMIN)
            .send()
    };
    let ok = get("?paymaster=0x0000000000000000000000000000000000000000&fromBlock=1&toBlock=9&offset=10&limit=5")
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    for (q, status, want) in [
        ("?paymaster=0x12", 422, "parameter `paymaster`"),
        ("?fromBlock=x", 422, "parameter `fromBlock`"),
        ("?toBlock=-1", 422, "parameter `toBlock`"),
        ("?offset=1000001", 422, "parameter `offset`"),
        ("?from_block=1", 400, "from_block"),
    ] {
        let res = get(q).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{q}");
        let v: serde_json::Value = res.json().await.unwrap();
        assert!(v["error"].as_str().unwrap().contains(want), "{q}: {v}");
    }
    let (cookie, _) = sign_in(&server).await;
    let page = c
        .get(server.url("/ui/userops?fromBlock=x"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "the page shows the API's refusal"
    );
    assert!(page.text().await.unwrap().contains("parameter `fromBlock`"));
    // a parameter no page takes is refused with the console's error page, naming it
    for path in [
        "/ui/userops?bogus=1",
        "/ui/workflows?bogus=1",
        "/ui/logs?bogus=1",
        "/ui/logs/stream?bogus=1",
    ] {
        let res = c
            .get(server.url(path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(res.text().await.unwrap().contains("bogus"), "{path}");
    }
}
