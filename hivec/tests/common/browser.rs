//! A real headless Chromium (Debian's `chromium`) driven over the DevTools protocol, for the
//! dashboard's tests. Without the browser a test is skipped, except in CI (`CI=true`), where
//! that is a failure.

#![allow(dead_code)]

#[path = "../../../bench/src/chromium.rs"]
mod chromium;

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, Tab};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The Chromium binary, if there is one.
fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// A browser with a fresh profile under `dir`, or `None` (the test is skipped) when there is
/// no Chromium outside CI.
pub fn launch(dir: &Path) -> Option<Browser> {
    let Some(path) = chromium() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is not installed, and CI must run the dashboard's tests: apt-get install chromium"
        );
        eprintln!("skipped: no chromium (apt-get install chromium)");
        return None;
    };
    let profile = dir.join("chromium-profile");
    let _ = std::fs::remove_dir_all(&profile);
    let options = chromium::options(path, profile).expect("launch options");
    Some(Browser::new(options).expect("start chromium"))
}

/// The value of `expression` evaluated in the page, as JSON.
pub fn eval(tab: &Tab, expression: &str) -> Value {
    let js = format!("JSON.stringify((() => {{ return {expression}; }})())");
    let result = tab.evaluate(&js, false).expect("evaluate");
    result
        .value
        .as_ref()
        .and_then(Value::as_str)
        .map(|s| serde_json::from_str(s).expect("JSON"))
        .unwrap_or(Value::Null)
}

/// Waits until `expression` is true in the page.
pub fn wait_for(tab: &Tab, expression: &str, timeout: Duration) {
    let started = Instant::now();
    while eval(tab, expression) != Value::Bool(true) {
        assert!(
            started.elapsed() < timeout,
            "`{expression}` never held; the page: {}",
            eval(tab, "document.body.innerText")
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Loads `url` in `tab` and waits for its navigation to end.
pub fn open(tab: &Tab, url: &str) {
    tab.navigate_to(url)
        .and_then(|t| t.wait_until_navigated())
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
}

/// Clicks the element `selector` finds.
pub fn click(tab: &Tab, selector: &str) {
    tab.find_element(selector)
        .and_then(|e| e.click().map(|_| ()))
        .unwrap_or_else(|e| panic!("cannot click {selector}: {e}"));
}

/// Saves a PNG of the page as `name` in `dir`.
pub fn screenshot(tab: &Arc<Tab>, dir: &Path, name: &str) {
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .expect("screenshot");
    std::fs::create_dir_all(dir).expect("screenshots dir");
    std::fs::write(dir.join(name), png).expect("write screenshot");
}
