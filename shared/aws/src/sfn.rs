//! Step Functions for the entry points (feature `sfn`): starting a workflow's execution
//! **named by the run id**, and reading one back. Step Functions refuses a second
//! execution of one name on one state machine (`ExecutionAlreadyExists`, or the
//! original execution back when name and input match a running one), which is what
//! makes "one run id, one run" hold however many uploads or API calls ask for it.
//! Used by the upload trigger and the API Lambda.

use crate::store_error;
use std::collections::BTreeMap;
use std::future::Future;
use stresslab_core::storage::StoreError;
use stresslab_registry::Workflow;

/// What Step Functions said to "start execution `name`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    Started,
    /// An execution of that name exists (running or finished): nothing new started.
    AlreadyExists,
}

/// Start an execution named `name` of the state machine `state_machine_arn`.
pub trait Launcher {
    fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> impl Future<Output = Result<Launch, StoreError>> + Send;
}

/// [`Launcher`] over Step Functions' `StartExecution`.
#[derive(Debug, Clone)]
pub struct StepFunctionsLauncher {
    client: aws_sdk_sfn::Client,
}

impl StepFunctionsLauncher {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self { client }
    }
}

impl Launcher for StepFunctionsLauncher {
    async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<Launch, StoreError> {
        let started = self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await;
        match started {
            Ok(_) => Ok(Launch::Started),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_execution_already_exists()) =>
            {
                Ok(Launch::AlreadyExists)
            }
            Err(e) => Err(store_error(
                &format!("start execution {name} of {state_machine_arn}"),
                e,
            )),
        }
    }
}

/// Each workflow's state machine ARN, from `<WORKFLOW>_STATE_MACHINE_ARN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachines(BTreeMap<Workflow, String>);

impl StateMachines {
    /// The variable naming `workflow`'s state machine: `FACTOR_STATE_MACHINE_ARN`, …
    pub fn env_var(workflow: Workflow) -> String {
        format!(
            "{}_STATE_MACHINE_ARN",
            workflow.name().to_ascii_uppercase().replace('-', "_")
        )
    }

    /// One ARN for every workflow the registry knows, or an error naming every
    /// variable that is missing: a deployment error, reported at cold start rather
    /// than on the first upload of the workflow it concerns.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(crate::config::required_env)
    }

    /// [`Self::from_env`] over any lookup (tests pass a map, not the process env).
    pub fn from_lookup(lookup: impl Fn(&str) -> Result<String, String>) -> Result<Self, String> {
        let mut arns = BTreeMap::new();
        let mut missing = Vec::new();
        for &workflow in Workflow::ALL {
            match lookup(&Self::env_var(workflow)) {
                Ok(arn) => {
                    arns.insert(workflow, arn);
                }
                Err(e) => missing.push(e),
            }
        }
        if missing.is_empty() {
            Ok(Self(arns))
        } else {
            Err(missing.join("; "))
        }
    }

    pub fn arn(&self, workflow: Workflow) -> Option<&str> {
        self.0.get(&workflow).map(String::as_str)
    }
}

/// An execution as [`StepFunctionsLauncher::describe`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub status: ExecutionStatus,
    /// The input it was started with (the `RunRequest` as JSON).
    pub input: Option<String>,
    /// `error: cause` of a failed, timed-out or aborted execution.
    pub failure: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionStatus {
    /// Running, or waiting to be redriven.
    Running,
    Succeeded,
    /// Failed, timed out or aborted.
    Failed,
}

/// The ARN of execution `name` of `state_machine_arn`
/// (`arn:aws:states:<region>:<account>:stateMachine:<machine>` →
/// `…:execution:<machine>:<name>`), or `None` if that is not a state machine ARN.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> Option<String> {
    let (head, machine) = state_machine_arn.split_once(":stateMachine:")?;
    (!machine.is_empty() && !machine.contains(':'))
        .then(|| format!("{head}:execution:{machine}:{name}"))
}

impl StepFunctionsLauncher {
    pub fn client(&self) -> &aws_sdk_sfn::Client {
        &self.client
    }

    /// Execution `name` of `state_machine_arn`, or `None` if there is none.
    pub async fn describe(
        &self,
        state_machine_arn: &str,
        name: &str,
    ) -> Result<Option<Execution>, StoreError> {
        let Some(arn) = execution_arn(state_machine_arn, name) else {
            return Err(StoreError::Permanent(format!(
                "{state_machine_arn:?} is not a state machine ARN"
            )));
        };
        let described = self
            .client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await;
        let out = match described {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_execution_does_not_exist()) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(store_error(&format!("describe execution {arn}"), e)),
        };
        use aws_sdk_sfn::types::ExecutionStatus as S;
        let status = match out.status() {
            S::Succeeded => ExecutionStatus::Succeeded,
            S::Failed | S::TimedOut | S::Aborted => ExecutionStatus::Failed,
            // RUNNING, PENDING_REDRIVE and any status added later: not finished.
            _ => ExecutionStatus::Running,
        };
        let failure = (status == ExecutionStatus::Failed).then(|| {
            let error = out.error().unwrap_or(out.status().as_str());
            match out.cause() {
                Some(cause) => format!("{error}: {cause}"),
                None => error.to_owned(),
            }
        });
        Ok(Some(Execution {
            status,
            input: out.input().map(str::to_owned),
            failure,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execution_arn_is_its_state_machine_s_with_the_name() {
        assert_eq!(
            execution_arn(
                "arn:aws:states:eu-west-1:123456789012:stateMachine:Factor-1a",
                "factor-0123"
            )
            .as_deref(),
            Some("arn:aws:states:eu-west-1:123456789012:execution:Factor-1a:factor-0123")
        );
        assert_eq!(
            execution_arn("arn:aws:lambda:eu-west-1:1:function:f", "x"),
            None
        );
    }
}
