//! A headless Debian `chromium` driven over the DevTools protocol (chromiumoxide) for the console tests:
//! its own profile dir, signing in, polling the page with JavaScript expressions, screenshots under
//! `target/console-screenshots/`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::page::{Page, ScreenshotParams};
use futures::StreamExt as _;

use super::api::{ADMIN, ApiServer};
use super::{missing_part, repo_root};

/// The chromium executable, or `None` (a loud skip, a failure in CI) when it is not installed.
pub fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        missing_part("chromium (Debian package `chromium`)");
    }
    found
}

/// A running headless browser; closed on [`Chrome::close`] (killed on drop otherwise).
pub struct Chrome {
    pub browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    _profile: tempfile::TempDir,
}

impl Chrome {
    /// Starts chromium, or `None` when it is not installed.
    pub async fn start() -> Option<Chrome> {
        let exe = chromium()?;
        let profile = tempfile::tempdir().expect("profile dir");
        let config = BrowserConfig::builder()
            .chrome_executable(exe)
            .user_data_dir(profile.path())
            .no_sandbox()
            .window_size(1280, 900)
            .viewport(None)
            .arg("--disable-gpu")
            .arg("--disable-dev-shm-usage")
            .launch_timeout(Duration::from_secs(60))
            .request_timeout(Duration::from_secs(60))
            .build()
            .expect("browser config");
        let (browser, mut handler) = Browser::launch(config).await.expect("launch chromium");
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Some(Chrome {
            browser,
            handler,
            _profile: profile,
        })
    }

    /// A new tab signed in to `server`'s console (through the sign-in form), on the overview.
    pub async fn signed_in(&self, server: &ApiServer) -> Page {
        let page = self
            .browser
            .new_page(server.url("/ui/login"))
            .await
            .expect("open the sign-in page");
        wait_js(&page, "document.querySelector('#token') !== null", 20).await;
        page.find_element("#token")
            .await
            .expect("token field")
            .click()
            .await
            .expect("focus")
            .type_str(ADMIN)
            .await
            .expect("type the token");
        page.find_element("form.login button")
            .await
            .expect("sign-in button")
            .click()
            .await
            .expect("sign in");
        wait_js(
            &page,
            "location.pathname === '/' && document.querySelector('h1') && document.querySelector('h1').textContent === 'Overview'",
            20,
        )
        .await;
        page
    }

    pub async fn close(mut self) {
        let _ = self.browser.close().await;
        let _ = self.browser.wait().await;
        self.handler.abort();
    }
}

/// Evaluates `expr` in the page.
pub async fn eval<T: serde::de::DeserializeOwned>(page: &Page, expr: &str) -> T {
    page.evaluate(expr)
        .await
        .unwrap_or_else(|e| panic!("evaluate `{expr}`: {e}"))
        .into_value()
        .unwrap_or_else(|e| panic!("value of `{expr}`: {e}"))
}

/// Polls until the boolean expression `expr` holds in the page (`secs` at most).
pub async fn wait_js(page: &Page, expr: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let ok = page
            .evaluate(format!("Boolean({expr})"))
            .await
            .ok()
            .and_then(|v| v.into_value::<bool>().ok())
            .unwrap_or(false);
        if ok {
            return;
        }
        if Instant::now() > deadline {
            let text: String = page
                .evaluate("document.body ? document.body.innerText : ''")
                .await
                .ok()
                .and_then(|v| v.into_value().ok())
                .unwrap_or_default();
            panic!("`{expr}` never held within {secs} s; the page shows:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Opens `path` of `server` in `page` and waits until its `<h1>` is there.
pub async fn open(page: &Page, server: &ApiServer, path: &str) {
    page.goto(server.url(path))
        .await
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    wait_js(
        page,
        "document.readyState === 'complete' && document.querySelector('h1') !== null",
        30,
    )
    .await;
}

/// The page's visible text.
pub async fn text(page: &Page) -> String {
    eval(page, "document.body.innerText").await
}

/// Where the screenshots go: `target/console-screenshots/` (copied into `docs/console/` for the docs).
pub fn screenshot_dir() -> PathBuf {
    let dir = repo_root().join("target").join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// Saves a full-page screenshot `name.png`.
pub async fn screenshot(page: &Page, name: &str) {
    let path = screenshot_dir().join(format!("{name}.png"));
    page.save_screenshot(ScreenshotParams::builder().full_page(true).build(), &path)
        .await
        .unwrap_or_else(|e| panic!("screenshot {}: {e}", path.display()));
}
