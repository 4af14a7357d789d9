//! How headless Chromium is started for the dashboard: by `hive-bench dashboard` and by the
//! dashboard's tests (which include this file), so that both see the same browser.

use headless_chrome::LaunchOptions;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::Duration;

/// Headless Chromium at `path` with a fresh profile in `profile`, on a laptop-sized window.
/// The machine's network is closed, so nothing Chromium would fetch by itself is asked for.
pub fn options(path: PathBuf, profile: PathBuf) -> Result<LaunchOptions<'static>, String> {
    let args: Vec<&'static OsStr> = [
        "--disable-quic",
        "--disable-component-update",
        "--disable-background-networking",
        "--disable-sync",
        "--no-first-run",
    ]
    .into_iter()
    .map(OsStr::new)
    .collect();
    LaunchOptions::default_builder()
        .path(Some(path))
        .headless(true)
        .sandbox(false)
        .user_data_dir(Some(profile))
        .window_size(Some((1440, 900)))
        .idle_browser_timeout(Duration::from_secs(300))
        .args(args)
        .build()
        .map_err(|e| e.to_string())
}
