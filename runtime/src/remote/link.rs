//! The connection to Redis: commands retried with backoff while Redis is unreachable, for at
//! most the run's `--redis-timeout`, then one clear error naming Redis.
//!
//! Invariant: the password of the URL appears in no message; every error says which Redis
//! (the URL without its password) and why.

use super::coordinator::RemoteOptions;
use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, ErrorKind, FromRedisValue, IntoConnectionInfo, RedisError,
    TlsCertificates,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A Redis server as the run reaches it.
pub struct Link {
    client: Client,
    /// The URL with its password masked, for messages.
    shown: String,
    /// The password, to mask wherever a message might echo it.
    secret: Option<String>,
    /// How long Redis may stay unreachable before an operation fails.
    timeout: Duration,
    /// The file of the client certificate shown to the server, if one is.
    client_cert: Option<String>,
    /// The shared connection for short commands.
    conn: Mutex<Option<MultiplexedConnection>>,
}

/// Why an operation on Redis failed for good.
#[derive(Clone, Debug)]
pub struct RemoteError(pub String);

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Extra time a blocking read may take beyond its `BLOCK` before it counts as lost.
const BLOCK_SLACK: Duration = Duration::from_secs(5);

impl Link {
    /// Parses the URL (`redis://[user:password@]host:port/db`, `rediss://` for TLS) and
    /// connects, retrying for at most the options' timeout.
    pub async fn open(options: &RemoteOptions) -> Result<Link, RemoteError> {
        let (url, timeout) = (options.url.as_str(), options.timeout);
        let shown = masked(url);
        let tls = url.starts_with("rediss://");
        // The parser's message may quote the URL, password included: it is not shown.
        let not_url = |_| {
            RemoteError(format!(
                "--redis {shown}: not a Redis URL (redis://[user:password@]host:port/db, or rediss:// for TLS)"
            ))
        };
        let client = if options.ca.is_none() && options.cert.is_none() && options.key.is_none() {
            Client::open(url).map_err(not_url)?
        } else {
            let info = url.into_connection_info().map_err(not_url)?;
            Client::build_with_tls(info, certificates(options, &shown, tls)?).map_err(|e| {
                RemoteError(format!(
                    "--redis {shown}: the TLS certificates cannot be used ({})",
                    describe(&e)
                ))
            })?
        };
        let secret = client
            .get_connection_info()
            .redis_settings()
            .password()
            .map(str::to_string);
        let link = Link {
            client,
            shown,
            secret,
            timeout,
            client_cert: options.cert.as_ref().map(|c| c.display().to_string()),
            conn: Mutex::new(None),
        };
        let _: String = link.query(&redis::cmd("PING")).await?;
        Ok(link)
    }

    /// The URL without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Runs one command (or a pipeline, through [`Link::pipe`]) on the shared connection.
    pub async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, RemoteError> {
        self.retrying(|mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    /// Runs a pipeline (atomic when built with `.atomic()`) on the shared connection.
    pub async fn pipe<T: FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T, RemoteError> {
        self.retrying(|mut c| async move { pipe.query_async(&mut c).await })
            .await
    }

    /// A blocking connection of its own, for reads made where the run cannot wait
    /// asynchronously (`state.name` in expressions), answering within the run's timeout.
    pub fn blocking(&self) -> Result<redis::Connection, RemoteError> {
        let connect = self.timeout.min(Duration::from_secs(5));
        let conn = self
            .client
            .get_connection_with_timeout(connect)
            .map_err(|e| self.explain(&e))?;
        conn.set_read_timeout(Some(self.timeout))
            .and_then(|()| conn.set_write_timeout(Some(self.timeout)))
            .map_err(|e| self.explain(&e))?;
        Ok(conn)
    }

    /// The error of a command run on a [`Link::blocking`] connection, naming this Redis.
    pub fn failed(&self, e: &RedisError) -> RemoteError {
        self.explain(e)
    }

    /// Every entry of stream `key`, oldest first (none if it does not exist), read in pages.
    pub async fn range(&self, key: &str) -> Result<Vec<redis::streams::StreamId>, RemoteError> {
        const PAGE: usize = 10_000;
        let mut entries = Vec::new();
        let mut from = "-".to_string();
        loop {
            let mut cmd = redis::cmd("XRANGE");
            cmd.arg(key).arg(&from).arg("+").arg("COUNT").arg(PAGE);
            let page: redis::streams::StreamRangeReply = self.query(&cmd).await?;
            let n = page.ids.len();
            if let Some(last) = page.ids.last() {
                from = format!("({}", last.id);
            }
            entries.extend(page.ids);
            if n < PAGE {
                return Ok(entries);
            }
        }
    }

    /// A connection of its own for blocking reads (`BLOCK block`), with a response timeout
    /// that allows for the block.
    pub async fn reader(self: &Arc<Self>, block: Duration) -> Result<Reader, RemoteError> {
        let mut reader = Reader {
            link: self.clone(),
            block,
            conn: None,
        };
        reader.connect().await?;
        Ok(reader)
    }

    /// Runs `op` on a connection, reconnecting with backoff while Redis is unreachable.
    async fn retrying<T, F, Fut>(&self, op: F) -> Result<T, RemoteError>
    where
        F: Fn(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let mut backoff = Backoff::new();
        loop {
            let conn = {
                let mut slot = self.conn.lock().await;
                match &*slot {
                    Some(c) => Ok(c.clone()),
                    None => match self.connect(Some(self.timeout)).await {
                        Ok(c) => {
                            *slot = Some(c.clone());
                            Ok(c)
                        }
                        Err(e) => Err(e),
                    },
                }
            };
            let error = match conn {
                Ok(c) => match op(c).await {
                    Ok(v) => return Ok(v),
                    Err(e) => e,
                },
                Err(e) => e,
            };
            if !transient(&error) {
                return Err(self.explain(&error));
            }
            *self.conn.lock().await = None;
            backoff.wait(self, &error).await?;
        }
    }

    async fn connect(
        &self,
        response: Option<Duration>,
    ) -> redis::RedisResult<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout.min(Duration::from_secs(5))))
            .set_response_timeout(response);
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    fn unreachable(&self, e: &RedisError) -> RemoteError {
        RemoteError(self.mask(format!(
            "Redis at {} was unreachable for {}: {}",
            self.shown,
            hive_plan::duration(self.timeout.as_millis().min(u128::from(u64::MAX)) as u64),
            describe(e)
        )))
    }

    fn explain(&self, e: &RedisError) -> RemoteError {
        let text = e.to_string();
        let cause = match e.kind() {
            _ if tls_failure(e).is_some() => {
                let failure = tls_failure(e).unwrap_or_default();
                let refused = [
                    "UnknownCA",
                    "BadCertificate",
                    "CertificateUnknown",
                    "DecryptError",
                ];
                if failure.contains("UnknownIssuer") {
                    format!(
                        "its certificate is not trusted ({failure}); give the authority that signed it with --redis-ca FILE"
                    )
                } else if let Some(cert) = self
                    .client_cert
                    .as_ref()
                    .filter(|_| failure.contains("Unable to build client with TLS"))
                {
                    format!(
                        "the client certificate of --redis-cert {cert} cannot be used ({failure})"
                    )
                } else if failure.contains("CertificateRequired") {
                    format!(
                        "it asks for a client certificate ({failure}); give one with --redis-cert FILE --redis-key FILE"
                    )
                } else if let Some(cert) = self
                    .client_cert
                    .as_ref()
                    .filter(|_| refused.iter().any(|r| failure.contains(r)))
                {
                    format!(
                        "it refused the client certificate of --redis-cert {cert} ({failure}): is it signed by an authority the server trusts (tls-ca-cert-file)?"
                    )
                } else {
                    format!("TLS failed: {failure}")
                }
            }
            _ if text.contains("WRONGPASS") || text.contains("NOAUTH") => {
                "it refused the credentials (check the user and password of --redis)".to_string()
            }
            ErrorKind::AuthenticationFailed => {
                "it refused the credentials (check the user and password of --redis)".to_string()
            }
            _ => describe(e),
        };
        RemoteError(self.mask(format!("Redis at {}: {cause}", self.shown)))
    }

    /// Masks the password wherever it appears in `text`.
    fn mask(&self, text: String) -> String {
        match &self.secret {
            Some(s) if !s.is_empty() => text.replace(s.as_str(), "***"),
            _ => text,
        }
    }
}

/// The authority (`--redis-ca`) and the client's certificate and key (`--redis-cert`,
/// `--redis-key`) of a `rediss://` URL, read and checked, each error naming its flag.
fn certificates(
    options: &RemoteOptions,
    shown: &str,
    tls: bool,
) -> Result<TlsCertificates, RemoteError> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let flags = [
        ("--redis-ca", &options.ca),
        ("--redis-cert", &options.cert),
        ("--redis-key", &options.key),
    ];
    if !tls && let Some((flag, Some(path))) = flags.iter().find(|(_, p)| p.is_some()) {
        return Err(RemoteError(format!(
            "{flag} {}: certificates are for a rediss:// URL, and --redis {shown} is not one",
            path.display()
        )));
    }
    let read = |flag: &str, path: &std::path::Path| {
        std::fs::read(path)
            .map_err(|e| RemoteError(format!("{flag} {}: cannot read it: {e}", path.display())))
    };
    let certs = |flag: &str, path: &std::path::Path| {
        let pem = read(flag, path)?;
        let parsed = CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>();
        if !parsed.is_ok_and(|c| !c.is_empty()) {
            return Err(RemoteError(format!(
                "{flag} {}: not a PEM file of certificates (-----BEGIN CERTIFICATE-----)",
                path.display()
            )));
        }
        Ok(pem)
    };
    let root_cert = options
        .ca
        .as_deref()
        .map(|p| certs("--redis-ca", p))
        .transpose()?;
    let client_tls = match (&options.cert, &options.key) {
        (None, None) => None,
        (Some(cert), None) => {
            return Err(RemoteError(format!(
                "--redis-cert {}: the certificate's private key is missing: give it with --redis-key FILE",
                cert.display()
            )));
        }
        (None, Some(key)) => {
            return Err(RemoteError(format!(
                "--redis-key {}: the key's certificate is missing: give it with --redis-cert FILE",
                key.display()
            )));
        }
        (Some(cert), Some(key)) => {
            let client_cert = certs("--redis-cert", cert)?;
            let client_key = read("--redis-key", key)?;
            if PrivateKeyDer::from_pem_slice(&client_key).is_err() {
                return Err(RemoteError(format!(
                    "--redis-key {}: not a PEM private key (-----BEGIN PRIVATE KEY-----)",
                    key.display()
                )));
            }
            Some(redis::ClientTlsConfig {
                client_cert,
                client_key,
            })
        }
    };
    Ok(TlsCertificates {
        client_tls,
        root_cert,
    })
}

/// A connection for blocking reads, reconnected like [`Link::query`]'s.
pub struct Reader {
    link: Arc<Link>,
    block: Duration,
    conn: Option<MultiplexedConnection>,
}

impl Reader {
    async fn connect(&mut self) -> Result<(), RemoteError> {
        let response = Some(self.block + BLOCK_SLACK);
        let mut backoff = Backoff::new();
        loop {
            match self.link.connect(response).await {
                Ok(c) => {
                    self.conn = Some(c);
                    return Ok(());
                }
                Err(e) if !transient(&e) => return Err(self.link.explain(&e)),
                Err(e) => backoff.wait(&self.link, &e).await?,
            }
        }
    }

    /// Runs a (blocking) command on this reader's connection.
    pub async fn query<T: FromRedisValue>(&mut self, cmd: &redis::Cmd) -> Result<T, RemoteError> {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                self.connect().await?;
                continue;
            };
            match cmd.query_async(conn).await {
                Ok(v) => return Ok(v),
                Err(e) if transient(&e) => {
                    self.conn = None;
                    self.connect().await?;
                }
                Err(e) => return Err(self.link.explain(&e)),
            }
        }
    }
}

/// Growing pauses between attempts to reach Redis, for at most the link's timeout.
struct Backoff {
    start: Instant,
    pause: Duration,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff {
            start: Instant::now(),
            pause: Duration::from_millis(50),
        }
    }

    /// Waits before the next attempt, or gives the error that ends them.
    async fn wait(&mut self, link: &Link, error: &RedisError) -> Result<(), RemoteError> {
        if self.start.elapsed() + self.pause > link.timeout {
            return Err(link.unreachable(error));
        }
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(Duration::from_secs(2));
        Ok(())
    }
}

/// Whether an error may go away by reconnecting: not a refused certificate or handshake.
fn transient(e: &RedisError) -> bool {
    tls_failure(e).is_none() && transient_kind(e)
}

fn transient_kind(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_unrecoverable_error() && e.kind() != ErrorKind::AuthenticationFailed
}

/// The TLS failure under `e`, if the server's certificate or the handshake was refused.
/// redis hides the io error's inner rustls error from downcasts, so its message is read.
fn tls_failure(e: &RedisError) -> Option<String> {
    const REFUSALS: [&str; 7] = [
        "invalid peer certificate",
        "peer is incompatible",
        "peer misbehaved",
        "received fatal alert",
        "received corrupt message",
        "peer sent no certificates",
        "peer doesn't support any known protocol",
    ];
    let text = e.to_string();
    REFUSALS.iter().any(|r| text.contains(r)).then_some(text)
}

/// A Redis error for a person, without the details that may carry the URL.
fn describe(e: &RedisError) -> String {
    if e.is_connection_refusal() {
        "connection refused".into()
    } else if e.is_timeout() {
        "no answer in time".into()
    } else if e.is_connection_dropped() {
        "the connection was closed".into()
    } else {
        e.to_string()
    }
}

/// `url` with the password (the part between `:` and `@` of the authority) replaced by
/// `***`.
pub fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = match user.split_once(':') {
                Some((name, _)) => format!("{name}:***"),
                None => user.to_string(),
            };
            format!("{scheme}://{user}@{host}{path}")
        }
        None => url.to_string(),
    }
}
