//! The deployment agrees with the registry: every workflow's Lambdas have a crate, a
//! template function and a sample event; every workflow has its state machine in the
//! template, with its personas arranged by their dependency graph (independent ones in
//! one Parallel state, each after the personas it reads); a state machine with a
//! Distributed Map may start, describe and stop its own child executions and no other
//! state machine has any Step Functions grant; and nothing is left over — no crate,
//! function, event or ASL file the registry does not know.
//!
//! Adds nothing to the deployment: it only reads `template.yaml`, `statemachines/`,
//! `functions/` and `events/`.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use stresslab_registry::{catalog, lambda_names};

/// Lambdas that start runs rather than serve a workflow stage: they have a crate, a
/// template function and a sample event like the registry's, but no persona or
/// operation entry in the registry.
const ENTRY_POINTS: &[&str] = &["upload-trigger", "api", "realtime-risk"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn names_in(dir: &str, suffix: &str) -> BTreeSet<String> {
    std::fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(suffix).map(str::to_owned)
        })
        .collect()
}

/// `Binary: <name>` values of the template's functions (the cargo-lambda build target).
fn template_binaries(template: &str) -> BTreeSet<String> {
    template
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("Binary:")
                .map(|b| b.trim().to_owned())
        })
        .collect()
}

/// `partition` → `PartitionFunction`, the template's logical id convention.
fn logical_id(lambda: &str) -> String {
    let camel: String = lambda
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("{camel}Function")
}

#[test]
fn every_lambda_has_a_crate_a_template_function_and_a_sample_event_and_nothing_is_left_over() {
    let template = read(&repo().join("template.yaml"));
    let lambdas: BTreeSet<String> = lambda_names()
        .into_iter()
        .chain(ENTRY_POINTS.iter().copied())
        .map(str::to_owned)
        .collect();
    let crates: BTreeSet<String> = std::fs::read_dir(repo().join("functions"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        crates, lambdas,
        "functions/ crates vs the registry's Lambdas and the entry points"
    );
    assert_eq!(
        template_binaries(&template),
        lambdas,
        "template functions vs the registry's Lambdas and the entry points"
    );
    for lambda in &lambdas {
        assert!(
            template.contains(&format!("\n  {}:\n", logical_id(lambda))),
            "template.yaml has no resource {}",
            logical_id(lambda)
        );
    }
    let mut expected_events: BTreeSet<String> = lambdas.clone();
    for w in catalog() {
        expected_events.insert(format!("{}.execution", w.name));
    }
    assert_eq!(
        names_in("events", ".json"),
        expected_events,
        "events/*.json vs the registry"
    );
}

/// Where each persona's Task sits in the state machine: the index of the top-level
/// state that runs it (a Parallel state's branches share one index).
fn persona_positions(asl: &Value) -> BTreeMap<String, usize> {
    let states = asl["States"].as_object().expect("States");
    let mut order = Vec::new();
    let mut at = asl["StartAt"].as_str().map(str::to_owned);
    while let Some(name) = at {
        let state = &states[&name];
        order.push(state.clone());
        at = state["Next"].as_str().map(str::to_owned);
    }
    let mut positions = BTreeMap::new();
    let mut record = |state: &Value, index: usize| {
        if let Some(f) = state["Parameters"]["FunctionName"].as_str() {
            positions.insert(f.to_owned(), index);
        }
    };
    for (index, state) in order.iter().enumerate() {
        record(state, index);
        // Parallel branches and a Map's item processor sit at their state's position.
        let nested = state["Branches"]
            .as_array()
            .into_iter()
            .flatten()
            .chain([&state["ItemProcessor"], &state["Iterator"]]);
        for graph in nested {
            for inner in graph["States"]
                .as_object()
                .into_iter()
                .flat_map(|m| m.values())
            {
                record(inner, index);
            }
        }
    }
    positions
}

#[test]
fn every_workflow_has_its_state_machine_with_personas_ordered_by_their_graph() {
    let template = read(&repo().join("template.yaml"));
    let workflows: BTreeSet<String> = catalog().iter().map(|w| w.name.to_owned()).collect();
    assert_eq!(
        names_in("statemachines", ".asl.json"),
        workflows,
        "statemachines/ vs the registry"
    );
    for w in catalog() {
        assert!(
            template.contains(&format!("DefinitionUri: {}", w.state_machine)),
            "template.yaml does not deploy {}",
            w.state_machine
        );
        let asl: Value = serde_json::from_str(&read(&repo().join(&w.state_machine))).unwrap();
        let positions = persona_positions(&asl);
        let at = |lambda: &str| {
            *positions
                .get(&format!("${{{}Arn}}", logical_id(lambda)))
                .unwrap_or_else(|| panic!("{}: no Task invokes {lambda}", w.state_machine))
        };
        for op in stresslab_registry::OPERATIONS {
            at(op);
        }
        for (level, personas) in w.persona_levels.iter().enumerate() {
            // One dependency level, one state: its personas run concurrently.
            let states: BTreeSet<usize> = personas.iter().map(|p| at(p)).collect();
            assert_eq!(
                states.len(),
                1,
                "{}: level {level} {personas:?} is not one Parallel state",
                w.name
            );
        }
        for p in &w.personas {
            assert!(
                at(p.name) > at("aggregate") && at(p.name) < at("synthesize"),
                "{}",
                p.name
            );
            for read in &p.reads {
                assert!(
                    at(p.name) > at(read),
                    "{} runs before {read}, whose findings it reads",
                    p.name
                );
            }
        }
    }
}

/// Every Map state in DISTRIBUTED mode of a definition (Parallel branches and item
/// processors included), by name.
fn distributed_maps(graph: &Value, out: &mut Vec<(String, Value)>) {
    for (name, state) in graph["States"].as_object().into_iter().flatten() {
        let processor = if state["ItemProcessor"].is_object() {
            &state["ItemProcessor"]
        } else {
            &state["Iterator"]
        };
        if state["Type"] == "Map" && processor["ProcessorConfig"]["Mode"] == "DISTRIBUTED" {
            out.push((name.clone(), state.clone()));
        }
        if processor.is_object() {
            distributed_maps(processor, out);
        }
        for branch in state["Branches"].as_array().into_iter().flatten() {
            distributed_maps(branch, out);
        }
    }
}

/// The template text of the state machine resource that deploys `definition_uri`, and
/// its logical id.
fn state_machine_resource<'t>(template: &'t str, definition_uri: &str) -> (String, &'t str) {
    let at = template
        .find(&format!("DefinitionUri: {definition_uri}\n"))
        .unwrap_or_else(|| panic!("template.yaml does not deploy {definition_uri}"));
    // Resources sit at two spaces of indentation: `\n  Name:\n`.
    let start = template[..at]
        .rmatch_indices("\n  ")
        .find(|(i, _)| {
            let line = &template[i + 3..];
            !line.starts_with(' ') && !line.starts_with('#')
        })
        .map(|(i, _)| i + 1)
        .expect("a resource before DefinitionUri");
    let end = template[at..]
        .match_indices("\n  ")
        .find(|(i, _)| {
            let line = &template[at + i + 3..];
            !line.starts_with(' ') && !line.starts_with('#')
        })
        .map_or(template.len(), |(i, _)| at + i + 1);
    let logical = template[start..]
        .trim_start()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    (logical, &template[start..end])
}

/// A Distributed Map runs its items as child executions of its own state machine, so
/// that state machine's role must be allowed to start them and to describe and stop
/// them — on itself only (a fixed name makes its ARN nameable without a circular
/// reference) — and a state machine without one gets no Step Functions grant at all.
/// Its children must be STANDARD when a task may outlive Express's five minutes.
#[test]
fn a_distributed_map_has_its_child_execution_grant_and_only_it_does() {
    let template = read(&repo().join("template.yaml"));
    let mut distributed_somewhere = false;
    for w in catalog() {
        let asl: Value = serde_json::from_str(&read(&repo().join(&w.state_machine))).unwrap();
        let mut maps = Vec::new();
        distributed_maps(&asl, &mut maps);
        let (logical, resource) = state_machine_resource(&template, &w.state_machine);
        let own_name = format!("${{AWS::StackName}}-{logical}");
        if maps.is_empty() {
            assert!(
                !resource.contains("states:"),
                "{logical}: no Distributed Map, so no Step Functions grant"
            );
            continue;
        }
        distributed_somewhere = true;
        assert!(
            resource.contains(&format!("Name: !Sub \"{own_name}\"")),
            "{logical}: a Distributed Map needs the state machine's name fixed to {own_name}"
        );
        for (grant, arn) in [
            (
                "Action: states:StartExecution\n",
                format!(":stateMachine:{own_name}\""),
            ),
            (
                "- states:DescribeExecution\n",
                format!(":execution:{own_name}/*\""),
            ),
            (
                "- states:StopExecution\n",
                format!(":execution:{own_name}/*\""),
            ),
        ] {
            let at = resource
                .find(grant)
                .unwrap_or_else(|| panic!("{logical}: no `{}` grant", grant.trim()));
            let statement_end = resource[at..]
                .find("\n            - ")
                .map_or(resource.len(), |i| at + i);
            assert!(
                resource[at..statement_end].contains(&arn),
                "{logical}: `{}` must be scoped to {arn}",
                grant.trim()
            );
        }
        for (name, map) in maps {
            let config = &map["ItemProcessor"]["ProcessorConfig"];
            let longest_task = map["ItemProcessor"]["States"]
                .as_object()
                .into_iter()
                .flat_map(|m| m.values())
                .filter_map(|s| s["TimeoutSeconds"].as_u64())
                .max()
                .unwrap_or(0);
            if longest_task > 300 {
                assert_eq!(
                    config["ExecutionType"], "STANDARD",
                    "{}: {name}'s children run tasks of {longest_task} s, beyond Express's 5 minutes",
                    w.name
                );
            }
            assert!(
                map["ItemReader"].is_null() && map["ResultWriter"].is_null(),
                "{}: {name} reads or writes S3, which the state machine has no grant for",
                w.name
            );
        }
    }
    assert!(
        distributed_somewhere,
        "the hedging fan-out is a Distributed Map"
    );
}

/// The text of the template resource `logical` (two spaces of indentation up to the
/// next resource, section comment or section).
fn resource<'t>(template: &'t str, logical: &str) -> &'t str {
    let start = template
        .find(&format!("\n  {logical}:\n"))
        .unwrap_or_else(|| panic!("template.yaml has no resource {logical}"))
        + 1;
    let end = template[start + 1..]
        .match_indices('\n')
        .map(|(i, _)| start + 1 + i + 1)
        .find(|&i| {
            let line = &template[i..];
            !line.starts_with("   ") && !line.starts_with('\n')
        })
        .unwrap_or(template.len());
    &template[start..end]
}

/// The upload trigger may start exactly the workflows' state machines (named by
/// reference, one per workflow, each also passed in its environment variable), read
/// and write only under portfolios/ (writes: rejection reports only), and holds no
/// wildcard action; its rule fires on Object Created under portfolios/ in the
/// artifact bucket. Nothing else starts a workflow on upload.
#[test]
fn the_upload_trigger_starts_only_the_workflows_state_machines() {
    let template = read(&repo().join("template.yaml"));
    let trigger = resource(&template, "UploadTriggerFunction");
    assert!(trigger.contains("Binary: upload-trigger\n"));
    let grant = trigger
        .find("Action: states:StartExecution\n")
        .expect("the trigger starts executions");
    let statement = &trigger[grant..];
    let statement = &statement[..statement
        .find("\n            - ")
        .unwrap_or(statement.len())];
    let mut machines = BTreeSet::new();
    for w in catalog() {
        let (logical, _) = state_machine_resource(&template, &w.state_machine);
        let var = format!("{}_STATE_MACHINE_ARN", w.name.to_ascii_uppercase());
        assert!(
            statement.contains(&format!("- !Ref {logical}\n")),
            "StartExecution must name {logical}"
        );
        assert!(
            trigger.contains(&format!("{var}: !Ref {logical}\n")),
            "{var} must be {logical}'s ARN"
        );
        machines.insert(logical);
    }
    assert_eq!(
        statement.matches("- ").count(),
        machines.len(),
        "StartExecution on the workflows' state machines only: {statement}"
    );
    for line in trigger.lines().map(str::trim) {
        if let Some(action) = line.strip_prefix("Action:").or_else(|| {
            line.strip_prefix("- ")
                .filter(|a| a.contains(':') && !a.contains(' '))
        }) {
            assert!(
                !action.contains('*'),
                "wildcard action in the trigger: {line}"
            );
        }
    }
    let bucket = "${ArtifactBucket}";
    for (action, resource) in [
        ("s3:GetObject", format!("{bucket}/portfolios/*\"")),
        (
            "s3:PutObject",
            format!("{bucket}/portfolios/*.rejected.json\""),
        ),
    ] {
        let at = trigger
            .find(&format!("Action: {action}\n"))
            .unwrap_or_else(|| panic!("no {action}"));
        let line = trigger[at..].lines().nth(1).unwrap_or_default();
        assert!(
            line.trim_start().starts_with("Resource:") && line.ends_with(&resource),
            "{action} must be on {resource} only: {line}"
        );
    }
    // Invoked asynchronously: what exhausts Lambda's retries is kept, not lost.
    assert!(trigger.contains("TargetArn: !GetAtt UploadTriggerDeadLetterQueue.Arn\n"));
    assert!(trigger.contains("source: [aws.s3]\n"));
    assert!(trigger.contains("detail-type: [Object Created]\n"));
    assert!(trigger.contains("name: [!Ref ArtifactBucket]\n"));
    assert!(trigger.contains("key: [{wildcard: \"portfolios/*\"}]\n"));
    assert_eq!(
        template.matches("detail-type: [Object Created]").count(),
        1,
        "only the trigger reacts to uploads"
    );
    assert!(
        template.contains("LogGroupName: !Sub \"/aws/lambda/${UploadTriggerFunction}\"\n"),
        "the trigger's log group"
    );
}

/// Whether the statement holding the key on line `i` (0-based) says `Effect: Deny`: its
/// sibling keys are the lines around it at the key's indentation (the statement's first
/// key carries the list's `- `), up to the first line indented less.
fn in_deny_statement(lines: &[&str], i: usize) -> bool {
    let key_indent = |l: &str| {
        let t = l.trim_start();
        let indent = l.len() - t.len();
        if t.starts_with("- ") {
            indent + 2
        } else {
            indent
        }
    };
    let k = key_indent(lines[i]);
    let sibling = |l: &str| l.trim_start().trim_start_matches("- ") == "Effect: Deny";
    let within =
        |l: &str| l.trim().is_empty() || l.trim_start().starts_with('#') || key_indent(l) >= k;
    let mut j = i;
    loop {
        if key_indent(lines[j]) == k && sibling(lines[j]) {
            return true;
        }
        if j == 0 || lines[j].trim_start().starts_with("- ") && key_indent(lines[j]) == k {
            break;
        }
        j -= 1;
        if !within(lines[j]) {
            break;
        }
    }
    for l in &lines[i + 1..] {
        if !within(l) || (l.trim_start().starts_with("- ") && key_indent(l) == k) {
            break;
        }
        if key_indent(l) == k && sibling(l) {
            return true;
        }
    }
    false
}

/// The actions of every IAM statement in the template that grants (`Effect: Allow`;
/// Deny statements, such as the bucket policy's TLS guards, rightly deny `s3:*`):
/// `Action: x`, `Action: [x, y]` and block lists under `Action:`, with line numbers.
fn template_actions(template: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = template.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start().trim_start_matches("- ");
        let Some(rest) = trimmed
            .strip_prefix("Action:")
            .or_else(|| trimmed.strip_prefix("NotAction:"))
        else {
            i += 1;
            continue;
        };
        if in_deny_statement(&lines, i) {
            i += 1;
            continue;
        }
        let rest = rest.trim();
        if rest.is_empty() {
            // A block list: the following, deeper-indented `- x` lines.
            let indent = line.len() - line.trim_start().len();
            i += 1;
            while i < lines.len() {
                let l = lines[i];
                let t = l.trim_start();
                if t.starts_with('#') {
                    i += 1;
                    continue;
                }
                if l.len() - t.len() < indent || !t.starts_with("- ") {
                    break;
                }
                out.push((i + 1, t[2..].trim().trim_matches('"').to_owned()));
                i += 1;
            }
        } else {
            for a in rest
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
            {
                out.push((i + 1, a.trim().trim_matches('"').to_owned()));
            }
            i += 1;
        }
    }
    out
}

/// Issue 9: no `*` action in any policy — every grant names its actions.
#[test]
fn no_policy_grants_a_wildcard_action() {
    let template = read(&repo().join("template.yaml"));
    let actions = template_actions(&template);
    assert!(
        actions.len() > 40,
        "found only {} actions: the scan is broken",
        actions.len()
    );
    assert!(actions.iter().any(|(_, a)| a == "states:StartExecution"));
    let wildcards: Vec<_> = actions.iter().filter(|(_, a)| a.contains('*')).collect();
    assert!(wildcards.is_empty(), "wildcard actions: {wildcards:?}");
    // Not vacuous: the scan sees a wildcard in each form it reads, and skips only Deny.
    for form in [
        "  - Effect: Allow\n    Action: s3:*\n",
        "  - Action: [s3:GetObject, \"*\"]\n    Effect: Allow\n",
        "  - Sid: X\n    Effect: Allow\n    Action:\n      - s3:GetObject\n      - dynamodb:*\n",
    ] {
        assert!(
            template_actions(form).iter().any(|(_, a)| a.contains('*')),
            "{form}"
        );
    }
    let deny = "  - Sid: X\n    Effect: Deny\n    Principal: \"*\"\n    Action: \"s3:*\"\n  - Sid: Y\n    Effect: Allow\n    Action: s3:GetObject\n";
    assert_eq!(template_actions(deny), vec![(7, "s3:GetObject".to_owned())]);
}

/// The statement of `function` whose `Sid` is `sid`, up to the next statement.
fn statement<'t>(function: &'t str, sid: &str) -> &'t str {
    let at = function
        .find(&format!("- Sid: {sid}\n"))
        .unwrap_or_else(|| panic!("no statement {sid}"));
    let rest = &function[at + 2..];
    // Its lines are indented deeper than the statement's `- ` (12 spaces).
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i)
        .find(|&i| {
            let line = &rest[i + 1..];
            line.len() - line.trim_start_matches(' ').len() <= 12
        })
        .unwrap_or(rest.len());
    &rest[..end]
}

/// `METHOD /path` of a function's HttpApi events.
fn http_events(function: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = function.lines().map(str::trim).collect();
    let mut declared = BTreeSet::new();
    for w in lines.windows(3) {
        if let (Some(_), Some(m), Some(p)) = (
            w[0].strip_prefix("ApiId: !Ref HttpApi"),
            w[1].strip_prefix("Method: "),
            w[2].strip_prefix("Path: "),
        ) {
            declared.insert(format!("{m} {p}"));
        }
    }
    declared
}

/// The realtime-risk function serves exactly the assessment routes, IAM-authorised
/// (no route overrides the API's default), capped by its reserved concurrency, and may
/// only put and get items whose partition key is an assessment's.
#[test]
fn the_realtime_risk_function_serves_the_assessments_and_holds_only_their_items() {
    let template = read(&repo().join("template.yaml"));
    let f = resource(&template, "RealtimeRiskFunction");
    assert!(f.contains("Binary: realtime-risk\n"));
    assert!(!f.contains("Authorizer:"), "a route overrides AWS_IAM");
    assert!(f.contains(
        "ReservedConcurrentExecutions: !If [CapRealtimeRisk, !Ref RealtimeRiskReservedConcurrency, !Ref AWS::NoValue]\n"
    ));
    let expected: BTreeSet<String> = stresslab_api::assessments::ROUTES
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert_eq!(http_events(f), expected);
    let statement = statement(f, "AssessmentRecords");
    let actions: Vec<&str> = statement
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- dynamodb:"))
        .collect();
    assert_eq!(actions, vec!["PutItem", "GetItem"], "{statement}");
    assert!(
        statement.contains("Resource: !GetAtt RunTable.Arn\n"),
        "{statement}"
    );
    assert!(
        statement
            .trim_end()
            .ends_with("dynamodb:LeadingKeys:\n                    - \"ASSESSMENT#*\""),
        "{statement}"
    );
    assert_eq!(f.matches("Sid: ").count(), 1, "no other statement: {f}");
    assert!(
        template.contains("LogGroupName: !Sub \"/aws/lambda/${RealtimeRiskFunction}\"\n"),
        "the realtime-risk function's log group"
    );
}

/// The API function is IAM-authorised on every route of the OpenAPI document, capped by
/// its reserved concurrency, and may do no more than its routes need: start, list and
/// describe executions of the workflows' state machines only, read (GetItem, Query) the
/// run table and its ByPortfolio index only, read inputs and deliverables, write only
/// inline inputs under inputs/ — and holds no wildcard action.
#[test]
fn the_api_function_is_iam_authorised_and_holds_only_what_its_routes_need() {
    let template = read(&repo().join("template.yaml"));
    let api = resource(&template, "ApiFunction");
    assert!(api.contains("Binary: api\n"));
    let http_api = resource(&template, "HttpApi");
    assert!(
        http_api.contains("DefaultAuthorizer: AWS_IAM\n"),
        "{http_api}"
    );
    // No route opts out of the default authorizer.
    assert!(!api.contains("Authorizer:"), "a route overrides AWS_IAM");
    assert!(api.contains(
        "ReservedConcurrentExecutions: !If [CapApi, !Ref ApiReservedConcurrency, !Ref AWS::NoValue]\n"
    ));
    // Every route of the contract, and no other, is an event of the function.
    let openapi: Value =
        serde_json::from_str(&read(&repo().join("openapi/stresslab-api.json"))).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in openapi["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.insert(format!("{} {path}", method.to_ascii_uppercase()));
            }
        }
    }
    // The assessment routes are RealtimeRiskFunction's; together the two serve the
    // document, each route once.
    let realtime = resource(&template, "RealtimeRiskFunction");
    let (declared, assessments) = (http_events(api), http_events(realtime));
    assert!(
        declared.is_disjoint(&assessments),
        "a route on both functions"
    );
    assert_eq!(
        declared
            .union(&assessments)
            .cloned()
            .collect::<BTreeSet<_>>(),
        documented,
        "HttpApi events vs the OpenAPI paths"
    );

    let start = statement(api, "StartWorkflowRuns");
    let list = statement(api, "ListWorkflowRuns");
    let describe = statement(api, "DescribeWorkflowRuns");
    for w in catalog() {
        let (logical, _) = state_machine_resource(&template, &w.state_machine);
        for s in [start, list] {
            assert!(
                s.lines().any(|l| l.trim() == format!("- !Ref {logical}")),
                "{s}"
            );
        }
        assert!(
            describe.contains(&format!(":execution:${{{logical}.Name}}:*\"")),
            "DescribeExecution on {logical}'s executions: {describe}"
        );
        let var = format!("{}_STATE_MACHINE_ARN", w.name.to_ascii_uppercase());
        assert!(api.contains(&format!("{var}: !Ref {logical}\n")), "{var}");
    }
    for s in [start, list, describe] {
        assert_eq!(
            s.matches("\n                - ").count(),
            catalog().len(),
            "{s}"
        );
    }
    assert!(start.contains("Action: states:StartExecution\n"));
    assert!(list.contains("Action: states:ListExecutions\n"));
    assert!(describe.contains("Action: states:DescribeExecution\n"));

    let records = statement(api, "ReadRunRecords");
    assert!(records.contains("- dynamodb:GetItem\n") && records.contains("- dynamodb:Query\n"));
    assert_eq!(records.matches("dynamodb:").count(), 2, "{records}");
    assert!(records.contains("- !GetAtt RunTable.Arn\n"));
    assert!(records.contains("- !Sub \"${RunTable.Arn}/index/ByPortfolio\""));

    let bucket = "arn:${AWS::Partition}:s3:::${ArtifactBucket}";
    let write = statement(api, "WriteInlineInputs");
    assert!(write.contains("Action: s3:PutObject\n"));
    assert!(
        write.ends_with(&format!("Resource: !Sub \"{bucket}/inputs/*\"")),
        "{write}"
    );
    let deliverables = statement(api, "ReadDeliverables");
    for file in ["report.html", "results.json", "summary.md", "audit.json"] {
        assert!(
            deliverables.contains(&format!("{bucket}/runs/*/{file}\"")),
            "{file}"
        );
    }
    assert_eq!(deliverables.matches("runs/*/").count(), 4, "{deliverables}");
    // The only writes, and no action beyond these statements'.
    assert_eq!(api.matches("s3:PutObject").count(), 1);
    assert!(!api.contains("dynamodb:PutItem") && !api.contains("dynamodb:UpdateItem"));
    assert!(!api.contains("s3:DeleteObject") && !api.contains("ManagedPolicy"));
    for line in api.lines().map(str::trim) {
        if let Some(action) = line.strip_prefix("Action:").or_else(|| {
            line.strip_prefix("- ")
                .filter(|a| a.contains(':') && !a.contains(' ') && !a.starts_with('!'))
        }) {
            assert!(!action.contains('*'), "wildcard action in the API: {line}");
        }
    }
    assert!(
        template.contains("LogGroupName: !Sub \"/aws/lambda/${ApiFunction}\"\n"),
        "the API function's log group"
    );
}
