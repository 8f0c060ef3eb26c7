//! A moto server for tests of crates built on these adapters (feature `moto`): started
//! on a free loopback port, stopped on drop, and an SDK configuration pointing at it.
//! `tests/moto_contract.rs` includes this file by path; moto is a hard requirement, not an
//! optional extra (scripts/setup.sh installs `moto[server,stepfunctions]`).

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::{Credentials, Region};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A moto server on 127.0.0.1 (not localhost: S3 path-style), killed on drop.
pub struct MotoServer {
    child: Child,
    endpoint: String,
    log: PathBuf,
}

impl MotoServer {
    /// Start `moto_server` and wait until it answers HTTP. Panics with the reason (not
    /// on PATH, exited early, never answered, with its log): this is test support.
    pub fn start() -> Self {
        // Ask the OS for a free port, release it, and hand it to moto. Another process
        // could grab it in between; on a test machine that is rare enough.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind an ephemeral port on 127.0.0.1")
            .port();
        let log = std::env::temp_dir().join(format!("stresslab-moto-{port}.log"));
        // moto logs every request: a pipe nobody drains would fill and stall it.
        let log_file = std::fs::File::create(&log).expect("create the moto log file");
        let stderr = log_file.try_clone().expect("clone the moto log handle");
        let child = match Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(stderr)
            .spawn()
        {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_file(&log);
                panic!(
                    "cannot start `moto_server` ({e}). These tests need it on PATH: \
                     pip install 'moto[server,stepfunctions]==5.2.5'"
                )
            }
        };
        let mut server = MotoServer {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_until_ready(port, Duration::from_secs(60));
        server
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// SDK configuration pointing at this server, built explicitly rather than through
    /// process environment variables, so tests cannot disturb each other or the
    /// developer's AWS profile.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .load()
            .await
    }

    fn wait_until_ready(&mut self, port: u16, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "moto_server exited early ({status}); its log:\n{}",
                    self.log_text()
                );
            }
            if answers_http(port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "moto_server did not answer HTTP on port {port} within {timeout:?}; its log:\n{}",
            self.log_text()
        );
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn answers_http(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}
