//! End to end: every workflow's state machine (the registry lists them), run the way
//! AWS runs it, gives the same bytes as the local runner.
//!
//! The real `statemachines/<workflow>.asl.json` runs under aws-local-stepfunctions
//! (`tests/harness/run-workflow.mjs`) with `events/<workflow>.execution.json` as its
//! input; every Lambda task goes to the real Rust Lambdas
//! behind `cargo lambda watch`'s Lambda API emulator, and they talk to S3 and DynamoDB
//! on a moto server; the table and bucket are created from `template.yaml`'s own
//! definitions. The same request then runs in-process on the local disk adapters, and
//! the run id and every artifact under `runs/<run_id>/` — the aggregate first — must be
//! byte-identical (audit.json aside: it records timings and who started the run): the promise in DESIGN.md that a laptop run and an AWS run of the same
//! inputs and seed agree bit for bit.
//!
//! The watch server runs with `--only-lambda-apis` and the test starts the function
//! binaries itself (built once with `cargo build -p ...`): the watch server's own
//! launcher uses `cargo run --bin NAME`, which cannot see binaries outside the
//! workspace's `default-members`. It also lets the test run two compute-partition
//! instances, so the Map's fan-out is really concurrent.
//!
//! Needs cargo-lambda (`pip install cargo-lambda`), moto server
//! (`pip install 'moto[server]==5.2.5'`), python3 with boto3 and PyYAML, and node 20+
//! with `npm ci` run in `tests/harness`. A missing tool fails the test with that hint —
//! it never skips. It builds every Lambda crate (AWS SDK included) and runs a whole
//! workflow, so it is `#[ignore]`d in a plain `cargo test`; run it with
//!
//! ```text
//! cargo test --test state_machine_harness -- --ignored --nocapture
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use stresslab_core::api::RunRequest;
use stresslab_core::local::{DiskBlobStore, DiskRunStore};
use stresslab_core::narrative::TemplateNarrator;
use stresslab_core::storage::BlobStore;

const UPLOAD_PREFIX: &str = "uploads/";
/// Artifacts that legitimately differ between two runs of the same request: the audit
/// record holds wall-clock timings, who started the run and when.
const PROVENANCE_ONLY: [&str; 1] = ["audit.json"];

/// Every Lambda of the deployment, from the registry (operations, then personas).
fn functions() -> Vec<&'static str> {
    stresslab_registry::lambda_names()
}

/// A workflow's execution input: `events/<workflow>.execution.json`.
fn execution_input(workflow: &str) -> Result<String, String> {
    let path = repo_root().join(format!("events/{workflow}.execution.json"));
    std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
}
const BUCKET: &str = "stresslab-harness-artifacts";
const TABLE: &str = "stresslab-harness-runs";

/// A child process started in its own process group, killed with the whole group when
/// dropped: `cargo lambda watch` starts one process per function, and a panicking test
/// must not leave any of them (or moto) running.
struct ProcessGroup {
    name: String,
    child: Child,
    log: PathBuf,
}

impl ProcessGroup {
    fn spawn(name: impl Into<String>, command: &mut Command, log: PathBuf) -> Result<Self, String> {
        let name = name.into();
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(ProcessGroup { name, child, log })
    }

    /// Fails (with the tail of its log) if the process has already exited.
    fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "{} exited early ({status}); log tail:\n{}",
                self.name,
                log_tail(&self.log)
            )),
            Err(e) => Err(format!("{}: {e}", self.name)),
        }
    }

    fn signal_group(&self, signal: &str) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args([signal, "--", &group])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.signal_group("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // The leader is gone; make sure no straggler in its group survives it.
                self.signal_group("-KILL");
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.signal_group("-KILL");
        let _ = self.child.wait();
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A tool the harness cannot run without: missing means a failed test, with the fix.
fn require_tool(program: &str, args: &[&str], hint: &str) -> Result<(), String> {
    match Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!(
            "`{program} {}` failed ({status}): {hint}",
            args.join(" ")
        )),
        Err(e) => Err(format!("`{program}` is not available ({e}): {hint}")),
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local_addr: {e}"))
}

fn wait_for_port(process: &mut ProcessGroup, port: u16, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let addr = ([127, 0, 0, 1], port).into();
    while Instant::now() < deadline {
        process.check_alive()?;
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Err(format!(
        "{} did not listen on 127.0.0.1:{port} within {timeout:?}; log tail:\n{}",
        process.name,
        log_tail(&process.log)
    ))
}

fn run(command: &mut Command, what: &str) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Waits for a child with a deadline, killing it when the deadline passes.
fn wait_with_deadline(child: &mut Child, timeout: Duration) -> Result<ExitStatus, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every sample input (`events/inputs/*`, the README aside), uploaded under `uploads/`
/// on both sides: each workflow's execution input names what it reads from there.
fn sample_inputs(inputs: &Path) -> Result<Vec<String>, String> {
    let mut files: Vec<String> = std::fs::read_dir(inputs)
        .map_err(|e| format!("{}: {e}", inputs.display()))?
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "README.md")
        .collect();
    files.sort();
    Ok(files)
}

/// The AWS side: moto, the Lambdas under `cargo lambda watch`, one execution of the real
/// ASL. Returns the execution output and the run's artifacts as stored in S3.
fn run_on_local_aws(work: &Path, workflow: &str) -> Result<AwsRun, String> {
    let input = execution_input(workflow)?;
    let repo = repo_root();
    let harness = repo.join("tests/harness");
    let inputs = repo.join("events/inputs");
    let uploads = sample_inputs(&inputs)?;

    let moto_port = free_port()?;
    let endpoint = format!("http://127.0.0.1:{moto_port}");
    let mut moto = ProcessGroup::spawn(
        "moto_server",
        Command::new("moto_server").args(["-H", "127.0.0.1", "-p", &moto_port.to_string()]),
        work.join("moto.log"),
    )?;
    wait_for_port(&mut moto, moto_port, Duration::from_secs(60))?;

    let fixture = harness.join("moto_fixture.py");
    let upload = |file: &str| {
        format!(
            "{UPLOAD_PREFIX}{file}={}",
            inputs.join(file).to_string_lossy()
        )
    };
    run(
        Command::new("python3")
            .arg(&fixture)
            .args(["provision", &endpoint, BUCKET, TABLE])
            .arg(repo.join("template.yaml"))
            .args(uploads.iter().map(|f| upload(f))),
        "moto provisioning",
    )?;

    let binaries = build_functions(&repo)?;
    let lambda_port = free_port()?;
    let mut watch = ProcessGroup::spawn(
        "cargo lambda watch",
        Command::new("cargo").current_dir(&repo).args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &lambda_port.to_string(),
        ]),
        work.join("watch.log"),
    )?;
    wait_for_port(&mut watch, lambda_port, Duration::from_secs(120))?;

    let mut functions = Vec::new();
    for (name, binary) in &binaries {
        let instances = if name == "compute-partition" { 2 } else { 1 };
        for instance in 0..instances {
            let mut command = Command::new(binary);
            command
                // The runtime API of this one function on the watch server.
                .env(
                    "AWS_LAMBDA_RUNTIME_API",
                    format!("http://127.0.0.1:{lambda_port}/.rt/{name}"),
                )
                .env("AWS_LAMBDA_FUNCTION_NAME", name)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
                .env("AWS_ENDPOINT_URL", &endpoint)
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("ARTIFACT_BUCKET", BUCKET)
                .env("RUN_TABLE", TABLE)
                .env("RUST_LOG", "info");
            functions.push(ProcessGroup::spawn(
                format!("Lambda {name}"),
                &mut command,
                work.join(format!("{name}-{instance}.log")),
            )?);
        }
    }
    // A function that cannot start (say, a missing variable) would only show up as a
    // task timeout minutes later: catch it now.
    std::thread::sleep(Duration::from_secs(2));
    for function in &mut functions {
        function.check_alive()?;
    }
    let lambda_logs = |functions: &[ProcessGroup]| {
        functions
            .iter()
            .map(|f| format!("--- {}\n{}", f.log.display(), log_tail(&f.log)))
            .collect::<Vec<_>>()
            .join("\n")
    };

    let started = Instant::now();
    let mut node = Command::new("node")
        .current_dir(&repo)
        .arg(harness.join("run-workflow.mjs"))
        .arg(&input)
        .env("LAMBDA_ENDPOINT", format!("http://127.0.0.1:{lambda_port}"))
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("RUN_TABLE", TABLE)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start node: {e}"))?;
    let mut stdout = node.stdout.take().ok_or("node stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let status = wait_with_deadline(&mut node, Duration::from_secs(1800))
        .map_err(|e| format!("state machine run: {e}\n{}", lambda_logs(&functions)))?;
    let printed = reader.join().map_err(|_| "node stdout reader panicked")?;
    eprintln!(
        "state machine run took {:.0?} ({status})",
        started.elapsed()
    );
    let last_line = printed.lines().last().unwrap_or_default();
    let result: serde_json::Value = serde_json::from_str(last_line).map_err(|e| {
        format!(
            "harness printed no result ({status}, {e}); Lambda logs:\n{}",
            lambda_logs(&functions)
        )
    })?;
    if result["status"] != "SUCCEEDED" {
        return Err(format!(
            "execution did not succeed: {result}\nLambda logs:\n{}",
            lambda_logs(&functions)
        ));
    }
    let output = result["output"].clone();
    let run_id = output["run_id"]
        .as_str()
        .ok_or("execution output has no run_id")?;

    let meta = run(
        Command::new("python3")
            .arg(&fixture)
            .args(["get-meta", &endpoint, TABLE, run_id]),
        "reading the run's META item",
    )?;
    let meta: serde_json::Value =
        serde_json::from_str(meta.trim()).map_err(|e| format!("META item: {e}"))?;
    if meta["status"]["S"] != "SUCCEEDED" {
        return Err(format!("run META is not SUCCEEDED: {meta}"));
    }

    let s3_dir = work.join("s3");
    let listed = run(
        Command::new("python3")
            .arg(&fixture)
            .args(["download", &endpoint, BUCKET, &format!("runs/{run_id}/")])
            .arg(&s3_dir),
        "downloading the run's artifacts from S3",
    )?;
    let keys: Vec<String> =
        serde_json::from_str(listed.trim()).map_err(|e| format!("S3 key list: {e}"))?;
    let mut artifacts = BTreeMap::new();
    for key in keys {
        let path = s3_dir.join(&key);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        artifacts.insert(key, bytes);
    }
    // Everything the run needed is read back; stop the functions and moto before the
    // (CPU-heavy) local run so the two do not compete for the cores.
    drop(functions);
    drop(watch);
    drop(moto);
    Ok(AwsRun { output, artifacts })
}

/// What the state machine run left behind.
struct AwsRun {
    output: serde_json::Value,
    /// Every object under `runs/<run_id>/`, by key.
    artifacts: BTreeMap<String, Vec<u8>>,
}

/// Builds the Lambda crates once (so no invocation spends its state's TimeoutSeconds
/// compiling) and returns each function's executable, from cargo's own build messages.
fn build_functions(repo: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let started = Instant::now();
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build
        .current_dir(repo)
        .args(["build", "--message-format=json-render-diagnostics"]);
    for f in functions() {
        build.args(["-p", f]);
    }
    let output = build
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo build: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the Lambda crates failed ({})",
            output.status
        ));
    }
    let mut found = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let (Some(name), Some(executable)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) {
            found.insert(name.to_owned(), PathBuf::from(executable));
        }
    }
    eprintln!("Lambda crates built in {:.0?}", started.elapsed());
    functions()
        .into_iter()
        .map(|f| {
            found
                .remove(f)
                .map(|path| (f.to_owned(), path))
                .ok_or_else(|| format!("cargo build reported no executable for {f}"))
        })
        .collect()
}

fn aggregate_key(run_id: &str) -> String {
    format!("runs/{run_id}/aggregate.json")
}

/// The local side: the embedded runner (`stresslab run`'s engine) on the local disk
/// adapters, with the inputs stored under the same keys as in S3. Returns the run id and
/// every artifact under `runs/<run_id>/`.
fn run_locally(work: &Path, workflow: &str) -> Result<(String, BTreeMap<String, Vec<u8>>), String> {
    let inputs = repo_root().join("events/inputs");
    let blobs = DiskBlobStore::new(work.join("local/blobs"));
    let runs = DiskRunStore::new(work.join("local/runs"));
    let request: RunRequest = serde_json::from_str(&execution_input(workflow)?)
        .map_err(|e| format!("execution input: {e}"))?;
    let started = Instant::now();
    let result = pollster::block_on(async {
        for file in sample_inputs(&inputs)? {
            let body = std::fs::read(inputs.join(&file)).map_err(|e| format!("{file}: {e}"))?;
            blobs
                .put(
                    &format!("{UPLOAD_PREFIX}{file}"),
                    body,
                    "application/octet-stream",
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        let run_id =
            stresslab_registry::run_local(&blobs, &runs, &TemplateNarrator, &request, 0, &|_| {})
                .map_err(|e| format!("local run: {e}"))?;
        let mut artifacts = BTreeMap::new();
        for key in blobs
            .list(&format!("runs/{run_id}/"))
            .await
            .map_err(|e| e.to_string())?
        {
            let bytes = blobs.get(&key).await.map_err(|e| e.to_string())?;
            artifacts.insert(key, bytes);
        }
        Ok((run_id, artifacts))
    });
    eprintln!("local run took {:.0?}", started.elapsed());
    result
}

#[test]
#[ignore = "end to end: builds every Lambda and needs cargo-lambda, moto, python3 and node; run with -- --ignored"]
fn every_state_machine_matches_the_local_runner() {
    let check = || -> Result<(), String> {
        require_tool(
            "cargo",
            &["lambda", "--version"],
            "pip install cargo-lambda",
        )?;
        require_tool(
            "moto_server",
            &["--help"],
            "pip install 'moto[server]==5.2.5'",
        )?;
        require_tool(
            "python3",
            &["-c", "import boto3, yaml"],
            "pip install boto3 pyyaml",
        )?;
        require_tool("node", &["--version"], "install Node.js 20 or newer")?;
        let harness = repo_root().join("tests/harness");
        if !harness
            .join("node_modules/aws-local-stepfunctions")
            .is_dir()
        {
            return Err(format!(
                "the harness's npm packages are missing: run `npm ci` in {}",
                harness.display()
            ));
        }

        for workflow in stresslab_registry::names() {
            compare_workflow(workflow)?;
        }
        Ok(())
    };
    if let Err(e) = check() {
        panic!("{e}");
    }
}

/// One workflow: its state machine on local AWS versus the embedded runner.
fn compare_workflow(workflow: &str) -> Result<(), String> {
    let work = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let aws = run_on_local_aws(work.path(), workflow)?;
    let (local_run_id, local) = run_locally(work.path(), workflow)?;

    assert_eq!(
        aws.output["run_id"].as_str(),
        Some(local_run_id.as_str()),
        "the same request must give the same run id on AWS and locally"
    );
    let aggregate = aggregate_key(&local_run_id);
    let (Some(aws_aggregate), Some(local_aggregate)) =
        (aws.artifacts.get(&aggregate), local.get(&aggregate))
    else {
        return Err(format!(
            "{aggregate} missing (S3: {:?}, local: {:?})",
            aws.artifacts.keys().collect::<Vec<_>>(),
            local.keys().collect::<Vec<_>>()
        ));
    };
    assert!(
            aws_aggregate == local_aggregate,
            "aggregate.json differs between the state machine run ({} bytes) and the local run ({} bytes)",
            aws_aggregate.len(),
            local_aggregate.len()
        );
    // Beyond the aggregate: findings, report, results and summary must agree too.
    assert_eq!(
        aws.artifacts.keys().collect::<Vec<_>>(),
        local.keys().collect::<Vec<_>>(),
        "the two runs wrote different artifacts"
    );
    // Every persona of the workflow ran on both sides (the state machine invoked each
    // persona Lambda): its findings are among the identical artifacts.
    let info = stresslab_registry::Workflow::from_name(workflow)
        .ok_or_else(|| format!("{workflow}: not in the registry"))?
        .info();
    for persona in &info.personas {
        let key = stresslab_core::stages::findings_key(&local_run_id, persona.name);
        if !local.contains_key(&key) || !aws.artifacts.contains_key(&key) {
            return Err(format!(
                "{workflow}: no findings of {} ({key}) in both runs",
                persona.name
            ));
        }
    }
    let differing: Vec<&String> = local
        .iter()
        .filter(|(key, _)| {
            !PROVENANCE_ONLY
                .iter()
                .any(|p| key.ends_with(&format!("/{p}")))
        })
        .filter(|(key, bytes)| aws.artifacts.get(*key) != Some(*bytes))
        .map(|(key, _)| key)
        .collect();
    // Where each differing artifact first differs, both sides, for the failure message.
    let context: Vec<String> = differing
        .iter()
        .map(|key| {
            let (a, b) = (
                &local[*key],
                aws.artifacts.get(*key).cloned().unwrap_or_default(),
            );
            let at = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            let show = |v: &[u8]| {
                String::from_utf8_lossy(&v[at.saturating_sub(40)..(at + 120).min(v.len())])
                    .into_owned()
            };
            format!(
                "{key} at byte {at}:\n  local: …{:?}…\n  state machine: …{:?}…",
                show(a),
                show(&b)
            )
        })
        .collect();
    assert!(
        differing.is_empty(),
        "artifacts differ between the state machine run and the local run: {differing:?}\n{}",
        context.join("\n")
    );
    eprintln!(
            "{workflow} run {local_run_id}: {} artifacts byte-identical (audit.json excluded), aggregate.json {} bytes, findings of {} personas",
            local.len() - PROVENANCE_ONLY.len(),
            local_aggregate.len(),
            info.personas.len()
        );
    Ok(())
}
