//! The options of distributed mode that `hivec run` and `hivec worker` share.

use hive_runtime::remote::RemoteOptions;
use std::time::Duration;

/// Where Redis is, under which namespace, and how long it may be unreachable.
#[derive(clap::Args, Clone, Debug)]
pub struct RedisArgs {
    /// Distributed mode: the Redis that carries tasks to workers
    /// (`redis://[user:password@]host:port/db`).
    /// `rediss://…` for TLS.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// The certificate authority (PEM) that signs the certificate of a `rediss://` server,
    /// when the system's roots do not.
    #[arg(long, value_name = "FILE")]
    pub redis_ca: Option<std::path::PathBuf>,
    /// The client certificate (PEM) shown to a `rediss://` server that asks for one
    /// (`tls-auth-clients yes`); with --redis-key.
    #[arg(long, value_name = "FILE")]
    pub redis_cert: Option<std::path::PathBuf>,
    /// The private key (PEM) of --redis-cert.
    #[arg(long, value_name = "FILE")]
    pub redis_key: Option<std::path::PathBuf>,
    /// Keys live under `hive:{namespace}:`; runs and workers meet only within one.
    #[arg(long, default_value = "default", value_name = "NS")]
    pub namespace: String,
    /// How long Redis may be unreachable before the command fails (`500ms`, `30s`, `2m`).
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = duration)]
    pub redis_timeout: Duration,
}

impl RedisArgs {
    /// The runtime's options, when `--redis` was given.
    pub fn options(&self) -> Option<RemoteOptions> {
        self.redis.as_ref().map(|url| RemoteOptions {
            url: url.clone(),
            ca: self.redis_ca.clone(),
            cert: self.redis_cert.clone(),
            key: self.redis_key.clone(),
            namespace: self.namespace.clone(),
            timeout: self.redis_timeout,
            keep: Duration::from_secs(7 * 24 * 3600),
        })
    }
}

/// The tokio runtime `builder` makes, or the usage error (exit 2) of a machine that cannot
/// give one.
pub fn tokio(
    mut builder: tokio::runtime::Builder,
) -> Result<tokio::runtime::Runtime, std::process::ExitCode> {
    builder.enable_all().build().map_err(|e| {
        crate::out::errln!("error: cannot start the runtime: {e}");
        std::process::ExitCode::from(2)
    })
}

/// `250ms`, `30s`, `2m`, `12h`, `7d`.
pub fn duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 500ms, 30s or 2m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        "h" => Ok(Duration::from_secs(n.saturating_mul(3600))),
        "d" => Ok(Duration::from_secs(n.saturating_mul(86_400))),
        _ => Err(format!(
            "`{text}` is not a duration such as 500ms, 30s or 2m"
        )),
    }
}
