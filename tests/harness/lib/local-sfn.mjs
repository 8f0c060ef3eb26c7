// Runs a real statemachines/*.asl.json locally with aws-local-stepfunctions, routing each
// Task to where our tests run the thing it names:
//   - `arn:aws:states:::lambda:invoke` and plain Lambda ARNs -> the Rust Lambdas served by
//     `cargo lambda watch` (Lambda Invoke API on 127.0.0.1),
//   - `arn:aws:states:::dynamodb:updateItem` -> a DynamoDB endpoint (moto server).
//
// Why the optimized `lambda:invoke` integration in the ASL and an emulation here: it is
// what AWS recommends (it adds the Lambda service retries we list in `Retry`), and
// aws-local-stepfunctions knows nothing about service integrations — it would hand our
// override the integration's `Parameters` ({FunctionName, Payload}) and use whatever we
// return as the task result. So the override does what Step Functions does: invoke
// FunctionName with Payload, wrap the answer as {ExecutedVersion, Payload, StatusCode}
// (the ASL's `OutputPath`/`ResultSelector` then read `$.Payload`), and turn a function
// error into a state error named after the Lambda's errorType with the error JSON as the
// cause, which is what `Retry`/`Catch` on "Retryable" match in AWS.

import { readFileSync } from 'node:fs';
import http from 'node:http';

/** aws-local-stepfunctions 3 targets Node 22; Node 20 lacks Promise.withResolvers. */
export function installPolyfills() {
  if (typeof Promise.withResolvers !== 'function') {
    Promise.withResolvers = function withResolvers() {
      let resolve;
      let reject;
      const promise = new this((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    };
  }
}

/** Step Functions' hard cap on any state's input or output (uncatchable when exceeded). */
export const STATE_DATA_LIMIT_BYTES = 256 * 1024;

const ACCOUNT = '123456789012';

/** `ComputePartition` -> `compute-partition`: the crate (and `cargo lambda watch`) name. */
export function kebabCase(pascal) {
  return pascal.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** `${Name}` placeholders of a definition text, as DefinitionSubstitutions fills them. */
export function placeholders(text) {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))].sort();
}

/**
 * Keys of the DefinitionSubstitutions block of one state machine in template.yaml. A
 * regex rather than a YAML parser: CloudFormation tags (!GetAtt) are not plain YAML.
 */
export function templateSubstitutionKeys(templateText, definitionUri) {
  const lines = templateText.split('\n');
  const start = lines.findIndex((l) => l.trim() === `DefinitionUri: ${definitionUri}`);
  if (start < 0) throw new Error(`template.yaml has no state machine with DefinitionUri ${definitionUri}`);
  const subs = lines.findIndex((l, i) => i > start && l.trim() === 'DefinitionSubstitutions:');
  if (subs < 0) throw new Error(`no DefinitionSubstitutions for ${definitionUri}`);
  const indent = lines[subs + 1].search(/\S/);
  const keys = [];
  for (let i = subs + 1; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === '' || l.search(/\S/) < indent) break;
    const m = /^\s*([A-Za-z0-9_]+):/.exec(l);
    if (m && l.search(/\S/) === indent) keys.push(m[1]);
  }
  return keys.sort();
}

/**
 * Local values for the placeholders: `<Name>FunctionArn` becomes the ARN of a function
 * named after the crate (`cargo lambda watch` serves crates by name); anything else must
 * be given in `values` (e.g. RunTable).
 */
export function localSubstitutions(names, values = {}, region = 'us-east-1') {
  const out = {};
  for (const name of names) {
    const fn = /^(.+)FunctionArn$/.exec(name);
    if (fn) {
      out[name] = `arn:aws:lambda:${region}:${ACCOUNT}:function:${kebabCase(fn[1])}`;
    } else if (name in values) {
      out[name] = values[name];
    } else {
      throw new Error(`no local value for placeholder \${${name}}`);
    }
  }
  return out;
}

/**
 * Load an ASL file and fill its placeholders; an unfilled one is an error. Distributed
 * Maps come back inline (see `inlineDistributedMaps`): every local run goes through here.
 */
export function loadDefinition(path, substitutions) {
  let text = readFileSync(path, 'utf8');
  for (const [name, value] of Object.entries(substitutions)) {
    text = text.split(`\${${name}}`).join(value);
  }
  const left = placeholders(text);
  if (left.length > 0) throw new Error(`unsubstituted placeholders in ${path}: ${left.join(', ')}`);
  return inlineDistributedMaps(JSON.parse(text));
}

/**
 * THE ONE PLACE the harness departs from the ASL as written: every Map state in
 * DISTRIBUTED mode is run INLINE. Why: aws-local-stepfunctions has no distributed mode
 * (no child executions, no Map Runs; 3.0.0 does not even read ProcessorConfig, so it
 * would run the Map inline anyway while silently ignoring every distributed-only field),
 * and the hedging state machine fans its partitions out with a Distributed Map so that
 * AWS can run thousands at once. Doing it here, explicitly, keeps that departure in
 * one visible place and refuses the fields whose meaning inline would change.
 *
 * What stays the same: the item list (ItemsPath), the item processor's states with their
 * Retry, every payload, MaxConcurrency, ResultPath and the Map's Catch, so each
 * partition is computed exactly as a child execution computes it. What differs: the
 * distributed-only fields are dropped — ExecutionType, Label, and a
 * ToleratedFailurePercentage/ToleratedFailureCount of 0 (inline already fails on the first
 * failed item) — and a failed partition reaches the Catch under its own error name
 * instead of States.ExceedToleratedFailureThreshold. Anything inline cannot mean the same
 * (ItemReader, ItemBatcher, ResultWriter, a non-zero tolerance) is refused, not dropped.
 */
export function inlineDistributedMaps(definition) {
  for (const [name, state] of Object.entries(definition.States ?? {})) {
    const processor = state.ItemProcessor ?? state.Iterator;
    if (state.Type === 'Map' && processor?.ProcessorConfig?.Mode === 'DISTRIBUTED') {
      for (const field of ['ItemReader', 'ItemBatcher', 'ResultWriter']) {
        if (field in state) throw new Error(`Map ${name}: the harness cannot run ${field} inline`);
      }
      for (const field of ['ToleratedFailurePercentage', 'ToleratedFailureCount']) {
        if ((state[field] ?? 0) !== 0) throw new Error(`Map ${name}: ${field} ${state[field]} has no inline equivalent`);
        delete state[field];
      }
      delete state.Label;
      processor.ProcessorConfig = { Mode: 'INLINE' };
    }
    if (processor) inlineDistributedMaps(processor);
    for (const branch of state.Branches ?? []) inlineDistributedMaps(branch);
  }
  return definition;
}

/** Every Task state (name -> definition), including those inside Map and Parallel. */
export function taskStates(definition, out = {}) {
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Task') out[name] = state;
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) taskStates(processor, out);
    for (const branch of state.Branches ?? []) taskStates(branch, out);
  }
  return out;
}

/** POST a JSON body; resolves with {status, headers, body}. No client-side timeout:
 * the state's own TimeoutSeconds bounds every task, as in Step Functions. */
export function postJson(url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': data.length, ...headers },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** A state error the way Step Functions reports it: `name` is what Retry/Catch match. */
export function stateError(name, cause) {
  const err = new Error(cause);
  err.name = name;
  return err;
}

function functionNameOf(arnOrName) {
  const m = /:function:([^:]+)/.exec(arnOrName);
  return m ? m[1] : arnOrName;
}

/** Invoke a function through the Lambda Invoke API (as served by `cargo lambda watch`). */
export async function invokeLambda(lambdaEndpoint, functionName, payload) {
  const name = functionNameOf(functionName);
  const url = `${lambdaEndpoint}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`;
  let res;
  try {
    res = await postJson(url, payload ?? {});
  } catch (e) {
    // Could not reach the service: what the SDK inside Step Functions reports.
    throw stateError('Lambda.SdkClientException', `${name}: ${e.message}`);
  }
  let parsed = null;
  try {
    parsed = res.body.length > 0 ? JSON.parse(res.body) : null;
  } catch {
    parsed = res.body;
  }
  const functionError = res.headers['x-amz-function-error'];
  const looksLikeError = parsed && typeof parsed === 'object' && 'errorType' in parsed && 'errorMessage' in parsed;
  if (functionError || looksLikeError || res.status >= 300) {
    if (looksLikeError) {
      // In AWS the Cause of a Lambda function error is the error JSON itself.
      throw stateError(parsed.errorType, JSON.stringify({ errorType: parsed.errorType, errorMessage: parsed.errorMessage }));
    }
    if (res.status === 429) throw stateError('Lambda.TooManyRequestsException', `${name}: ${res.body}`);
    if (res.status >= 500) throw stateError('Lambda.ServiceException', `${name}: HTTP ${res.status} ${res.body}`);
    throw stateError('Lambda.Unknown', `${name}: HTTP ${res.status} ${res.body}`);
  }
  return parsed;
}

/** Call a DynamoDB JSON API action (moto server speaks the same protocol as AWS). */
export async function dynamodbCall(endpoint, region, action, params) {
  const res = await postJson(`${endpoint}/`, params, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': `DynamoDB_20120810.${action}`,
    // moto reads the region from the credential scope; the signature is not checked.
    authorization: `AWS4-HMAC-SHA256 Credential=testing/20200101/${region}/dynamodb/aws4_request, SignedHeaders=host;x-amz-target, Signature=0`,
  });
  const body = res.body.length > 0 ? JSON.parse(res.body) : {};
  if (res.status !== 200) {
    // "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException" ->
    // "DynamoDB.ConditionalCheckFailedException", the error name Step Functions uses.
    const type = String(body.__type ?? 'AmazonDynamoDBException').split('#').pop();
    throw stateError(`DynamoDB.${type}`, body.message ?? body.Message ?? res.body);
  }
  return body;
}

const DYNAMODB_ACTIONS = {
  'arn:aws:states:::dynamodb:getItem': 'GetItem',
  'arn:aws:states:::dynamodb:putItem': 'PutItem',
  'arn:aws:states:::dynamodb:updateItem': 'UpdateItem',
  'arn:aws:states:::dynamodb:deleteItem': 'DeleteItem',
};

/**
 * One override per Task state (aws-local-stepfunctions keys them by state name),
 * dispatching on the state's Resource. `calls` records every call, for assertions.
 */
export function taskOverrides(definition, { lambdaEndpoint, dynamodbEndpoint, region = 'us-east-1', calls = [] }) {
  const overrides = {};
  for (const [name, state] of Object.entries(taskStates(definition))) {
    const resource = state.Resource;
    if (resource === 'arn:aws:states:::lambda:invoke') {
      overrides[name] = async (input) => {
        calls.push({ state: name, kind: 'lambda', function: functionNameOf(input.FunctionName), payload: input.Payload });
        const payload = await invokeLambda(lambdaEndpoint, input.FunctionName, input.Payload);
        return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
      };
    } else if (/^arn:aws:lambda:/.test(resource)) {
      overrides[name] = async (input) => {
        calls.push({ state: name, kind: 'lambda', function: functionNameOf(resource), payload: input });
        return invokeLambda(lambdaEndpoint, resource, input);
      };
    } else if (resource in DYNAMODB_ACTIONS) {
      const action = DYNAMODB_ACTIONS[resource];
      overrides[name] = async (input) => {
        calls.push({ state: name, kind: 'dynamodb', action, params: input });
        if (!dynamodbEndpoint) throw new Error(`state ${name} needs a DynamoDB endpoint`);
        return dynamodbCall(dynamodbEndpoint, region, action, input);
      };
    } else {
      throw new Error(`state ${name}: the harness cannot run resource ${resource}`);
    }
  }
  return overrides;
}

/**
 * Run one execution to the end. Never throws for an execution failure: returns
 * {status: 'SUCCEEDED', output} or {status: 'FAILED', error, cause}, plus the largest
 * state input/output seen (Step Functions fails a run whose state data exceeds 256 KiB,
 * uncatchably, so the harness fails it too).
 */
export async function runExecution(definition, input, { overrides, retryIntervalOverrides, log = () => {} }) {
  installPolyfills();
  const { StateMachine } = await import('aws-local-stepfunctions');
  const machine = new StateMachine(definition);
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: overrides, retryIntervalOverrides },
  });
  let largestState = { bytes: 0, state: null };
  const consume = (async () => {
    for await (const event of execution.eventLogs) {
      const state = event.state;
      if (state) {
        for (const data of [state.input, state.output]) {
          if (data === undefined) continue;
          const bytes = Buffer.byteLength(JSON.stringify(data));
          if (bytes > largestState.bytes) largestState = { bytes, state: state.name };
        }
      }
      if (event.type === 'StateEntered') log(`-> ${state.name}`);
      else if (event.type === 'StateRetried') log(`   retry ${state.name} #${event.retry?.attempt} (${event.retry?.retrier?.ErrorEquals})`);
      else if (event.type === 'StateFailed') log(`   failed ${state.name}: ${event.Error}: ${event.Cause}`);
      else if (event.type === 'StateCaught') log(`   caught ${state.name} -> ${event.catch?.catcher?.Next}`);
      else if (event.type === 'MapIterationFailed') log(`   map iteration ${event.index} failed`);
    }
  })();
  let result;
  try {
    const output = await execution.result;
    result = { status: 'SUCCEEDED', output };
  } catch (e) {
    const cause = e.cause ?? e;
    result = { status: 'FAILED', error: cause.name, cause: cause.message };
  }
  await consume.catch(() => {});
  result.largestState = largestState;
  if (largestState.bytes > STATE_DATA_LIMIT_BYTES) {
    result = {
      ...result,
      status: 'FAILED',
      error: 'States.DataLimitExceeded',
      cause: `state ${largestState.state} carried ${largestState.bytes} bytes (limit ${STATE_DATA_LIMIT_BYTES})`,
    };
  }
  return result;
}
