// Control-flow tests of statemachines/factor.asl.json: the real definition, run by
// aws-local-stepfunctions, against fake Lambda and DynamoDB HTTP endpoints, so Retry,
// Catch, MarkRunFailed and the payload shapes are checked in a second, with no Rust
// build and no moto. The end-to-end run against the real Lambdas is
// tests/state_machine_harness.rs.
//
//   node --test tests/harness/

import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  loadDefinition,
  localSubstitutions,
  placeholders,
  runExecution,
  taskOverrides,
  taskStates,
  templateSubstitutionKeys,
} from './lib/local-sfn.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFINITION_URI = 'statemachines/factor.asl.json';
const PERSONAS = [
  'factor-modeling-specialist',
  'risk-decomposition-engineer',
  'market-regime-analyst',
  'portfolio-optimization-strategist',
];
const RUN_ID = 'run-under-test';

/** A tiny HTTP server; `handle(path, headers, body)` returns {status, headers, body}. */
async function fakeServer(handle) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
      const out = await handle(req.url, req.headers, body);
      res.writeHead(out.status ?? 200, { 'content-type': 'application/json', ...(out.headers ?? {}) });
      res.end(JSON.stringify(out.body));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

/** Per-test behaviour of the fake Lambdas: `script[fn]` may throw {errorType, errorMessage}. */
let script = {};
let dynamodbAnswer = null;
const dynamodbRequests = [];

function stageOutput(stage, run) {
  return { run_id: run.run_id, workflow: run.workflow, stage, artifact_key: `runs/${run.run_id}/${stage}.json` };
}

const defaultBehaviour = {
  partition: (req) => ({
    run_id: RUN_ID,
    workflow: req.workflow,
    scenario_count: req.parameters.scenarios,
    partitions: [...Array(req.parameters.partitions).keys()].map((p) => ({
      run_id: RUN_ID,
      workflow: req.workflow,
      partition: p,
    })),
  }),
  'compute-partition': (task) => ({
    run_id: task.run_id,
    partition: task.partition,
    result_key: `runs/${task.run_id}/partitions/${task.partition}.json`,
    computed: true,
  }),
};

let lambda;
let dynamodb;
let invocations = [];

before(async () => {
  lambda = await fakeServer(async (path, _headers, payload) => {
    const fn = decodeURIComponent(/functions\/([^/]+)\/invocations/.exec(path)[1]);
    invocations.push({ fn, payload });
    const behaviour = script[fn] ?? defaultBehaviour[fn] ?? ((run) => stageOutput(fn, run));
    try {
      return { body: behaviour(payload) };
    } catch (e) {
      // The Lambda Invoke API's shape for a function error.
      return { headers: { 'x-amz-function-error': 'Unhandled' }, body: e };
    }
  });
  dynamodb = await fakeServer(async (_path, headers, body) => {
    dynamodbRequests.push({ target: headers['x-amz-target'], body });
    return dynamodbAnswer ?? { body: {} };
  });
});

after(() => {
  lambda.server.close();
  dynamodb.server.close();
});

function definition() {
  const path = join(repo, DEFINITION_URI);
  return loadDefinition(path, localSubstitutions(placeholders(readFileSync(path, 'utf8')), { RunTable: 'runs-table' }));
}

async function run(input = { workflow: 'factor', portfolio_key: 'uploads/book.json', parameters: { scenarios: 200, partitions: 3 }, seed: 7 }) {
  invocations = [];
  dynamodbRequests.length = 0;
  const def = definition();
  const retryIntervalOverrides = Object.fromEntries(Object.keys(taskStates(def)).map((n) => [n, 1]));
  return runExecution(def, input, {
    overrides: taskOverrides(def, { lambdaEndpoint: lambda.url, dynamodbEndpoint: dynamodb.url }),
    retryIntervalOverrides,
  });
}

const failWith = (errorType, errorMessage) => () => {
  throw { errorType, errorMessage };
};

describe('factor state machine', () => {
  it('uses exactly the DefinitionSubstitutions that template.yaml provides', () => {
    const names = placeholders(readFileSync(join(repo, DEFINITION_URI), 'utf8'));
    const keys = templateSubstitutionKeys(readFileSync(join(repo, 'template.yaml'), 'utf8'), DEFINITION_URI);
    assert.deepEqual(keys, names);
  });

  it('runs partition, the Map, aggregate, the independent personas in parallel, the strategist after them, and synthesize', async () => {
    script = {};
    const result = await run();
    assert.equal(result.status, 'SUCCEEDED', JSON.stringify(result));
    const order = invocations.map((i) => i.fn).filter((f) => f !== 'compute-partition');
    assert.deepEqual(order.slice(0, 2), ['partition', 'aggregate']);
    // The first dependency level runs in one Parallel state, in any order.
    assert.deepEqual(order.slice(2, 5).sort(), PERSONAS.slice(0, 3).sort());
    // The strategist reads the risk engineer's findings: it runs after the level.
    assert.deepEqual(order.slice(5), ['portfolio-optimization-strategist', 'synthesize']);
    assert.equal(result.output.personas.risk_decomposition_engineer.stage, 'risk-decomposition-engineer');
    const computed = invocations.filter((i) => i.fn === 'compute-partition').map((i) => i.payload);
    assert.deepEqual(
      computed.sort((a, b) => a.partition - b.partition),
      [0, 1, 2].map((p) => ({ run_id: RUN_ID, workflow: 'factor', partition: p })),
    );
    // Every stage after the Map gets exactly a RunRef: ids only.
    for (const i of invocations.filter((i) => !['partition', 'compute-partition'].includes(i.fn))) {
      assert.deepEqual(i.payload, { run_id: RUN_ID, workflow: 'factor' }, i.fn);
    }
    // The partition stage sees the execution input unchanged.
    assert.deepEqual(invocations[0].payload.parameters, { scenarios: 200, partitions: 3 });
    // The output names every artifact and carries no Map results or Lambda envelopes.
    assert.equal(result.output.run_id, RUN_ID);
    assert.equal(result.output.synthesize.artifact_key, `runs/${RUN_ID}/synthesize.json`);
    assert.equal(result.output.portfolio_optimization_strategist.stage, 'portfolio-optimization-strategist');
    assert.ok(!JSON.stringify(result.output).includes('Payload'));
    assert.ok(!JSON.stringify(result.output).includes('result_key'));
    assert.equal(dynamodbRequests.length, 0);
  });

  it('retries aggregate while it reports Retryable (partitions not all DONE yet)', async () => {
    let calls = 0;
    script = {
      aggregate: (run) => {
        calls += 1;
        if (calls < 3) throw { errorType: 'Retryable', errorMessage: '2 of 3 partitions DONE' };
        return stageOutput('aggregate', run);
      },
    };
    const result = await run();
    assert.equal(result.status, 'SUCCEEDED', JSON.stringify(result));
    assert.equal(calls, 3);
  });

  it('retries a throttled compute-partition and does not fail the run', async () => {
    let throttled = false;
    script = {
      'compute-partition': (task) => {
        if (task.partition === 1 && !throttled) {
          throttled = true;
          throw { errorType: 'Retryable', errorMessage: 'SlowDown' };
        }
        return defaultBehaviour['compute-partition'](task);
      },
    };
    const result = await run();
    assert.equal(result.status, 'SUCCEEDED', JSON.stringify(result));
    assert.equal(invocations.filter((i) => i.fn === 'compute-partition').length, 4);
  });

  it('marks the run FAILED with the cause and fails with the stage error', async () => {
    script = { 'market-regime-analyst': failWith('NonRetryable', 'aggregate artifact is corrupt') };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'NonRetryable');
    assert.match(result.cause, /aggregate artifact is corrupt/);
    // NonRetryable is not retried.
    assert.equal(invocations.filter((i) => i.fn === 'market-regime-analyst').length, 1);
    assert.ok(!invocations.some((i) => i.fn === 'portfolio-optimization-strategist'));
    assert.equal(dynamodbRequests.length, 1);
    const { target, body } = dynamodbRequests[0];
    assert.equal(target, 'DynamoDB_20120810.UpdateItem');
    assert.equal(body.TableName, 'runs-table');
    assert.deepEqual(body.Key, { PK: { S: `RUN#${RUN_ID}` }, SK: { S: 'META' } });
    assert.equal(body.ExpressionAttributeValues[':failed'].S, 'FAILED');
    assert.equal(body.ExpressionAttributeValues[':detail'].S, result.cause);
    assert.equal(body.ExpressionAttributeNames['#status'], 'status');
  });

  it('gives up on Retryable after the retry budget and marks the run FAILED', async () => {
    script = { synthesize: failWith('Retryable', 'S3 keeps timing out') };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'Retryable');
    // 1 attempt + MaxAttempts retries.
    const retrier = definition().States.Synthesize.Retry.find((r) => r.ErrorEquals.includes('Retryable'));
    assert.equal(invocations.filter((i) => i.fn === 'synthesize').length, 1 + retrier.MaxAttempts);
    assert.equal(dynamodbRequests.length, 1);
  });

  it('marks the run FAILED when one partition fails for good', async () => {
    script = {
      'compute-partition': (task) => {
        if (task.partition === 2) throw { errorType: 'NonRetryable', errorMessage: 'scenario slice unreadable' };
        return defaultBehaviour['compute-partition'](task);
      },
    };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    assert.match(result.cause, /scenario slice unreadable/);
    assert.ok(!invocations.some((i) => i.fn === 'aggregate'));
    assert.equal(dynamodbRequests.length, 1);
    assert.deepEqual(dynamodbRequests[0].body.Key.PK, { S: `RUN#${RUN_ID}` });
  });

  it('fails an invalid request at partition without touching the run table', async () => {
    script = { partition: failWith('NonRetryable', 'positions[3].market_value: must be positive') };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'NonRetryable');
    assert.match(result.cause, /market_value/);
    assert.equal(invocations.length, 1);
    assert.equal(dynamodbRequests.length, 0);
  });

  it('still fails with the stage error when MarkRunFailed itself fails', async () => {
    script = { aggregate: failWith('NonRetryable', 'boom') };
    dynamodbAnswer = {
      status: 400,
      body: { __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', message: 'no META' },
    };
    try {
      const result = await run();
      assert.equal(result.status, 'FAILED');
      assert.equal(result.error, 'NonRetryable');
      assert.match(result.cause, /boom/);
      // A conditional-check failure is not transient: one attempt, no retries.
      assert.equal(dynamodbRequests.length, 1);
    } finally {
      dynamodbAnswer = null;
    }
  });
});
