//! Lua scripts run in Redis: each is one atomic step on the keys it names.

use super::{Link, RemoteError};

/// A Lua script, loaded into Redis once and then called by its hash.
pub struct Script {
    source: &'static str,
    hash: String,
}

impl Script {
    /// The script `source`.
    pub fn new(source: &'static str) -> Script {
        Script {
            source,
            hash: redis::Script::new(source).get_hash().to_string(),
        }
    }

    /// Calls the script on `keys` with `args` by its hash, loading it first where Redis does
    /// not have it (the first call, or after Redis restarted).
    pub async fn call<T: redis::FromRedisValue>(
        &self,
        link: &Link,
        keys: &[String],
        args: &[String],
    ) -> Result<T, RemoteError> {
        let call = |by: &str, what: &str| {
            let mut cmd = redis::cmd(by);
            cmd.arg(what).arg(keys.len()).arg(keys).arg(args);
            cmd
        };
        match link.query(&call("EVALSHA", &self.hash)).await {
            Err(e) if e.0.contains("NOSCRIPT") || e.0.contains("NoScript") => {
                link.query(&call("EVAL", self.source)).await
            }
            other => other,
        }
    }
}
