// Control-flow tests of statemachines/liquidity.asl.json, as factor-asl.test.mjs does for
// the factor workflow: the real definition, run by aws-local-stepfunctions, against fake
// Lambda and DynamoDB HTTP endpoints — the persona dependency levels, payload shapes,
// Retry, Catch and MarkRunFailed, in a second, with no Rust build and no moto. The
// end-to-end run against the real Lambdas is tests/state_machine_harness.rs.
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
const DEFINITION_URI = 'statemachines/liquidity.asl.json';
// The registry's dependency levels (LiquidityPersona::reads in
// shared/workflows/liquidity/src/lib.rs): each level runs after the one before it.
const LEVELS = [
  ['market-liquidity-analyst'],
  ['investor-behavior-modeler', 'liquidation-strategy-designer'],
  ['portfolio-liquidity-optimizer'],
  ['redemption-policy-formulator'],
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
    return { body: {} };
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

const SAMPLE_INPUT = JSON.parse(readFileSync(join(repo, 'events/liquidity.execution.json'), 'utf8'));

async function run(input = SAMPLE_INPUT) {
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

describe('liquidity state machine', () => {
  it('uses exactly the DefinitionSubstitutions that template.yaml provides', () => {
    const names = placeholders(readFileSync(join(repo, DEFINITION_URI), 'utf8'));
    const keys = templateSubstitutionKeys(readFileSync(join(repo, 'template.yaml'), 'utf8'), DEFINITION_URI);
    assert.deepEqual(keys, names);
  });

  it('runs partition, the Map, aggregate, then the personas level by level (the second level in parallel), and synthesize', async () => {
    script = {};
    const result = await run();
    assert.equal(result.status, 'SUCCEEDED', JSON.stringify(result));
    const order = invocations.map((i) => i.fn).filter((f) => f !== 'compute-partition');
    assert.deepEqual(order.slice(0, 2), ['partition', 'aggregate']);
    let at = 2;
    for (const level of LEVELS) {
      // Within a level, any order.
      assert.deepEqual(order.slice(at, at + level.length).sort(), [...level].sort(), `level ${level}`);
      at += level.length;
    }
    assert.deepEqual(order.slice(at), ['synthesize']);
    const { partitions } = SAMPLE_INPUT.parameters;
    const computed = invocations.filter((i) => i.fn === 'compute-partition').map((i) => i.payload);
    assert.deepEqual(
      computed.sort((a, b) => a.partition - b.partition),
      [...Array(partitions).keys()].map((p) => ({ run_id: RUN_ID, workflow: 'liquidity', partition: p })),
    );
    // Every stage after the Map gets exactly a RunRef: ids only.
    for (const i of invocations.filter((i) => !['partition', 'compute-partition'].includes(i.fn))) {
      assert.deepEqual(i.payload, { run_id: RUN_ID, workflow: 'liquidity' }, i.fn);
    }
    // The partition stage sees the execution input unchanged.
    assert.deepEqual(invocations[0].payload, SAMPLE_INPUT);
    // The output names every stage's artifact and carries no Map results or Lambda envelopes.
    const out = result.output;
    assert.equal(out.run_id, RUN_ID);
    assert.equal(out.market_liquidity_analyst.stage, 'market-liquidity-analyst');
    assert.equal(out.personas.investor_behavior_modeler.stage, 'investor-behavior-modeler');
    assert.equal(out.personas.liquidation_strategy_designer.stage, 'liquidation-strategy-designer');
    assert.equal(out.portfolio_liquidity_optimizer.stage, 'portfolio-liquidity-optimizer');
    assert.equal(out.redemption_policy_formulator.stage, 'redemption-policy-formulator');
    assert.equal(out.synthesize.artifact_key, `runs/${RUN_ID}/synthesize.json`);
    assert.ok(!JSON.stringify(out).includes('Payload'));
    assert.ok(!JSON.stringify(out).includes('result_key'));
    assert.equal(dynamodbRequests.length, 0);
  });

  it('retries aggregate while it reports Retryable (partitions not all DONE yet)', async () => {
    let calls = 0;
    script = {
      aggregate: (run) => {
        calls += 1;
        if (calls < 3) throw { errorType: 'Retryable', errorMessage: '1 of 2 partitions DONE' };
        return stageOutput('aggregate', run);
      },
    };
    const result = await run();
    assert.equal(result.status, 'SUCCEEDED', JSON.stringify(result));
    assert.equal(calls, 3);
  });

  it('retries a persona that reports Retryable and does not fail the run', async () => {
    let calls = 0;
    script = {
      'investor-behavior-modeler': (run) => {
        calls += 1;
        if (calls < 2) throw { errorType: 'Retryable', errorMessage: 'SlowDown' };
        return stageOutput('investor-behavior-modeler', run);
      },
    };
    const result = await run();
    assert.equal(result.status, 'SUCCEEDED', JSON.stringify(result));
    assert.equal(calls, 2);
  });

  it('marks the run FAILED when a persona of the parallel level fails, and runs no later level', async () => {
    script = { 'liquidation-strategy-designer': failWith('NonRetryable', 'findings of market-liquidity-analyst are corrupt') };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'NonRetryable');
    assert.match(result.cause, /market-liquidity-analyst are corrupt/);
    assert.equal(invocations.filter((i) => i.fn === 'liquidation-strategy-designer').length, 1);
    for (const later of ['portfolio-liquidity-optimizer', 'redemption-policy-formulator', 'synthesize']) {
      assert.ok(!invocations.some((i) => i.fn === later), later);
    }
    assert.equal(dynamodbRequests.length, 1);
    const { target, body } = dynamodbRequests[0];
    assert.equal(target, 'DynamoDB_20120810.UpdateItem');
    assert.equal(body.TableName, 'runs-table');
    assert.deepEqual(body.Key, { PK: { S: `RUN#${RUN_ID}` }, SK: { S: 'META' } });
    assert.equal(body.ExpressionAttributeValues[':failed'].S, 'FAILED');
    assert.equal(body.ExpressionAttributeValues[':detail'].S, result.cause);
  });

  it('marks the run FAILED when the last persona fails, before synthesize', async () => {
    script = { 'redemption-policy-formulator': failWith('NonRetryable', 'no scenario set') };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    assert.match(result.cause, /no scenario set/);
    assert.ok(!invocations.some((i) => i.fn === 'synthesize'));
    assert.equal(dynamodbRequests.length, 1);
  });

  it('gives up on Retryable after the analyst retry budget and marks the run FAILED', async () => {
    script = { 'market-liquidity-analyst': failWith('Retryable', 'S3 keeps timing out') };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'Retryable');
    const retrier = definition().States.MarketLiquidityAnalyst.Retry.find((r) => r.ErrorEquals.includes('Retryable'));
    assert.equal(invocations.filter((i) => i.fn === 'market-liquidity-analyst').length, 1 + retrier.MaxAttempts);
    assert.ok(!invocations.some((i) => i.fn === 'investor-behavior-modeler'));
    assert.equal(dynamodbRequests.length, 1);
  });

  it('marks the run FAILED when one partition fails for good', async () => {
    script = {
      'compute-partition': (task) => {
        if (task.partition === 1) throw { errorType: 'NonRetryable', errorMessage: 'scenario slice unreadable' };
        return defaultBehaviour['compute-partition'](task);
      },
    };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    assert.match(result.cause, /scenario slice unreadable/);
    assert.ok(!invocations.some((i) => i.fn === 'aggregate'));
    assert.equal(dynamodbRequests.length, 1);
  });

  it('fails an invalid request at partition without touching the run table', async () => {
    script = { partition: failWith('NonRetryable', 'parameters.participation_cap (--param participation_cap=…): must be between 0.01 and 1') };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'NonRetryable');
    assert.match(result.cause, /participation_cap/);
    assert.equal(invocations.length, 1);
    assert.equal(dynamodbRequests.length, 0);
  });
});
