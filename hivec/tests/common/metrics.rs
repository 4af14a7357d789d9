//! `/metrics` read as Prometheus reads it: fetched over HTTP and parsed by a Prometheus
//! text parser.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;

/// `GET /metrics` on `127.0.0.1:port`: the status, the content type and the body.
pub fn fetch(port: u16, token: Option<&str>) -> (u16, String, String) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new(), String::new());
    };
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let head =
        format!("GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}\r\n");
    stream.write_all(head.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

/// The text parsed; a text it cannot parse fails the test.
pub fn parse(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses")
}

/// The value of the sample `name` whose labels include `labels` (0 when there is none,
/// as Prometheus reads a series never written).
pub fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let matching: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(h) => h.last().map_or(0.0, |b| b.count),
            prometheus_parse::Value::Summary(_) => f64::NAN,
        })
        .collect();
    assert!(matching.len() <= 1, "{name} {labels:?}: several series");
    matching.first().copied().unwrap_or(0.0)
}

/// Whether the text has `# HELP` and `# TYPE` lines for `family`.
pub fn described(text: &str, family: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with(&format!("# HELP {family} ")))
        && text
            .lines()
            .any(|l| l.starts_with(&format!("# TYPE {family} ")))
}
