//! A `redis-server` of a test's own, on a free port of 127.0.0.1.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A redis-server of the test's own, stopped when dropped.
pub struct Redis {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The server's process.
    pub child: Child,
    /// For a TLS server: the authority (PEM) that signed its certificate.
    pub ca: Option<std::path::PathBuf>,
    /// For a server that asks clients for certificates: a client's certificate and key
    /// (PEM), signed by the same authority.
    pub client: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl Redis {
    /// Starts one with `extra` arguments and waits until it accepts connections.
    pub fn start(extra: &[&str]) -> Redis {
        let port = free_port();
        Redis::spawn(port, &["--port", &port.to_string()], extra, None)
    }

    /// Starts one that speaks only TLS, with a certificate for 127.0.0.1 signed by an
    /// authority made for it with `openssl` (its PEM in [`Redis::ca`]).
    pub fn start_tls(extra: &[&str]) -> Redis {
        Redis::tls(extra, false)
    }

    /// Starts one that speaks only TLS and accepts only clients with a certificate signed by
    /// its authority (`tls-auth-clients yes`): one is made for the test ([`Redis::client`]),
    /// and one self-signed, which it refuses (`stranger.crt`, `stranger.key` next to it).
    pub fn start_mtls(extra: &[&str]) -> Redis {
        Redis::tls(extra, true)
    }

    fn tls(extra: &[&str], clients: bool) -> Redis {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("hive-redis-tls-{port}"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .current_dir(&dir)
                .args(args)
                .output()
                .expect("openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=hive test authority",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").expect("san");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.cnf",
        ]);
        if clients {
            openssl(&[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "client.key",
                "-out",
                "client.csr",
                "-subj",
                "/CN=hive test client",
            ]);
            // An X.509 v3 certificate (with an extension): rustls takes no other.
            std::fs::write(dir.join("client.cnf"), "extendedKeyUsage=clientAuth\n")
                .expect("client.cnf");
            openssl(&[
                "x509",
                "-req",
                "-in",
                "client.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "client.crt",
                "-days",
                "2",
                "-extfile",
                "client.cnf",
            ]);
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "stranger.key",
                "-out",
                "stranger.crt",
                "-days",
                "2",
                "-subj",
                "/CN=hive test stranger",
            ]);
        }
        let file = |name: &str| dir.join(name).display().to_string();
        let tls = [
            "--port".to_string(),
            "0".to_string(),
            "--tls-port".to_string(),
            port.to_string(),
            "--tls-cert-file".to_string(),
            file("server.crt"),
            "--tls-key-file".to_string(),
            file("server.key"),
            "--tls-ca-cert-file".to_string(),
            file("ca.crt"),
            "--tls-auth-clients".to_string(),
            if clients { "yes" } else { "no" }.to_string(),
        ];
        let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
        let mut redis = Redis::spawn(port, &tls, extra, Some(dir.join("ca.crt")));
        if clients {
            redis.client = Some((dir.join("client.crt"), dir.join("client.key")));
        }
        redis
    }

    fn spawn(port: u16, listen: &[&str], extra: &[&str], ca: Option<std::path::PathBuf>) -> Redis {
        let child = Command::new("redis-server")
            .args(listen)
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (.ci/run installs it)");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            port,
            child,
            ca,
            client: None,
        }
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `redis-cli` against this server, its output trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let mut cli = Command::new("redis-cli");
        cli.args(["-p", &self.port.to_string()]);
        if let Some(ca) = &self.ca {
            cli.arg("--tls").arg("--cacert").arg(ca);
        }
        if let Some((cert, key)) = &self.client {
            cli.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        let out = cli.args(args).output().expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = self.ca.as_ref().and_then(|ca| ca.parent()) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
