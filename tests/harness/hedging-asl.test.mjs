// Control-flow tests of statemachines/hedging.asl.json, as liquidity-asl.test.mjs does for
// the liquidity workflow: the real definition, run by aws-local-stepfunctions, against
// fake Lambda and DynamoDB HTTP endpoints — the Distributed Map fan-out (run inline by
// the harness: inlineDistributedMaps in lib/local-sfn.mjs), the persona dependency levels
// with the three desk specialists in one Parallel state, payload shapes, Retry, Catch and
// MarkRunFailed, in a second, with no Rust build and no moto. The end-to-end run against
// the real Lambdas is tests/state_machine_harness.rs.
//
//   node --test tests/harness/

import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  inlineDistributedMaps,
  loadDefinition,
  localSubstitutions,
  placeholders,
  runExecution,
  taskOverrides,
  taskStates,
  templateSubstitutionKeys,
} from './lib/local-sfn.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFINITION_URI = 'statemachines/hedging.asl.json';
// The registry's dependency levels (HedgingPersona::reads in
// shared/workflows/hedging/src/lib.rs): each level runs after the one before it.
const LEVELS = [
  ['portfolio-risk-manager'],
  ['currency-risk-specialist', 'interest-rate-strategist', 'credit-exposure-analyst'],
  ['execution-strategist'],
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

const SAMPLE_INPUT = JSON.parse(readFileSync(join(repo, 'events/hedging.execution.json'), 'utf8'));

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

describe('hedging state machine', () => {
  it('uses exactly the DefinitionSubstitutions that template.yaml provides', () => {
    const names = placeholders(readFileSync(join(repo, DEFINITION_URI), 'utf8'));
    const keys = templateSubstitutionKeys(readFileSync(join(repo, 'template.yaml'), 'utf8'), DEFINITION_URI);
    assert.deepEqual(keys, names);
  });

  it('fans the partitions out with a Distributed Map, which the harness (and only it) runs inline', () => {
    const written = JSON.parse(readFileSync(join(repo, DEFINITION_URI), 'utf8')).States.ComputePartitions;
    assert.equal(written.Type, 'Map');
    assert.deepEqual(written.ItemProcessor.ProcessorConfig, { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    assert.equal(written.ItemsPath, '$.partitions');
    assert.equal(written.ToleratedFailurePercentage, 0);
    assert.equal(written.ResultPath, null);
    assert.ok(written.MaxConcurrency > 40, 'more than an inline Map runs at once');
    assert.equal(written.Catch[0].Next, 'MarkRunFailed');
    const local = definition().States.ComputePartitions;
    assert.deepEqual(local.ItemProcessor.ProcessorConfig, { Mode: 'INLINE' });
    assert.ok(!('ToleratedFailurePercentage' in local) && !('Label' in local));
    // Everything else is the ASL as written: the item list, the child's states and
    // Retry, the concurrency, the result and the catch.
    for (const field of ['ItemsPath', 'MaxConcurrency', 'ResultPath', 'Catch', 'Next']) {
      assert.deepEqual(local[field], written[field], field);
    }
    const functionsAsPlaceholders = (states) =>
      JSON.stringify(states).replace(/arn:aws:lambda:[^"]+:function:compute-partition/g, '${ComputePartitionFunctionArn}');
    assert.equal(functionsAsPlaceholders(local.ItemProcessor.States), JSON.stringify(written.ItemProcessor.States));
  });

  it('refuses distributed-only fields whose meaning inline would change', () => {
    const map = (extra) => ({
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          ItemsPath: '$.xs',
          ItemProcessor: {
            ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
            StartAt: 'P',
            States: { P: { Type: 'Pass', End: true } },
          },
          End: true,
          ...extra,
        },
      },
    });
    assert.throws(() => inlineDistributedMaps(map({ ToleratedFailurePercentage: 5 })), /ToleratedFailurePercentage/);
    assert.throws(() => inlineDistributedMaps(map({ ItemReader: { Resource: 'arn:aws:states:::s3:getObject' } })), /ItemReader/);
    assert.throws(() => inlineDistributedMaps(map({ ResultWriter: { Resource: 'arn:aws:states:::s3:putObject' } })), /ResultWriter/);
    // A Distributed Map nested in a Parallel branch is found too.
    const nested = { StartAt: 'P', States: { P: { Type: 'Parallel', Branches: [map({})], End: true } } };
    assert.equal(inlineDistributedMaps(nested).States.P.Branches[0].States.M.ItemProcessor.ProcessorConfig.Mode, 'INLINE');
  });

  it('runs partition, the Map, aggregate, the risk manager, the three desks in parallel, the execution strategist and synthesize', async () => {
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
      [...Array(partitions).keys()].map((p) => ({ run_id: RUN_ID, workflow: 'hedging', partition: p })),
    );
    // Every stage after the Map gets exactly a RunRef: ids only.
    for (const i of invocations.filter((i) => !['partition', 'compute-partition'].includes(i.fn))) {
      assert.deepEqual(i.payload, { run_id: RUN_ID, workflow: 'hedging' }, i.fn);
    }
    // The partition stage sees the execution input unchanged.
    assert.deepEqual(invocations[0].payload, SAMPLE_INPUT);
    // The output names every stage's artifact and carries no Map results or Lambda envelopes.
    const out = result.output;
    assert.equal(out.run_id, RUN_ID);
    assert.equal(out.portfolio_risk_manager.stage, 'portfolio-risk-manager');
    assert.equal(out.personas.currency_risk_specialist.stage, 'currency-risk-specialist');
    assert.equal(out.personas.interest_rate_strategist.stage, 'interest-rate-strategist');
    assert.equal(out.personas.credit_exposure_analyst.stage, 'credit-exposure-analyst');
    assert.equal(out.execution_strategist.stage, 'execution-strategist');
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
        if (calls < 3) throw { errorType: 'Retryable', errorMessage: '1 of 3 partitions DONE' };
        return stageOutput('aggregate', run);
      },
    };
    const result = await run();
    assert.equal(result.status, 'SUCCEEDED', JSON.stringify(result));
    assert.equal(calls, 3);
  });

  it('waits out compute-partition throttling beyond the ordinary retry budget', async () => {
    // The Map may start more children than ComputePartitionReservedConcurrency lets run:
    // a throttled partition waits for a slot rather than failing the run.
    const retry = definition().States.ComputePartitions.ItemProcessor.States.ComputePartition.Retry;
    const ordinary = retry.find((r) => r.ErrorEquals.includes('Retryable'));
    const throttle = retry.find((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException'));
    assert.ok(throttle.MaxAttempts > ordinary.MaxAttempts);
    let throttled = 0;
    script = {
      'compute-partition': (task) => {
        if (task.partition === 0 && throttled <= ordinary.MaxAttempts) {
          throttled += 1;
          throw { errorType: 'Lambda.TooManyRequestsException', errorMessage: 'Rate Exceeded.' };
        }
        return defaultBehaviour['compute-partition'](task);
      },
    };
    const result = await run();
    assert.equal(result.status, 'SUCCEEDED', JSON.stringify(result));
    assert.equal(throttled, ordinary.MaxAttempts + 1);
  });

  it('retries a desk specialist that reports Retryable and does not fail the run', async () => {
    let calls = 0;
    script = {
      'interest-rate-strategist': (run) => {
        calls += 1;
        if (calls < 2) throw { errorType: 'Retryable', errorMessage: 'SlowDown' };
        return stageOutput('interest-rate-strategist', run);
      },
    };
    const result = await run();
    assert.equal(result.status, 'SUCCEEDED', JSON.stringify(result));
    assert.equal(calls, 2);
  });

  it('marks the run FAILED when a desk specialist fails, and runs no later level', async () => {
    script = { 'credit-exposure-analyst': failWith('NonRetryable', 'findings of portfolio-risk-manager are corrupt') };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'NonRetryable');
    assert.match(result.cause, /portfolio-risk-manager are corrupt/);
    assert.equal(invocations.filter((i) => i.fn === 'credit-exposure-analyst').length, 1);
    for (const later of ['execution-strategist', 'synthesize']) {
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

  it('marks the run FAILED when the execution strategist fails, before synthesize', async () => {
    script = { 'execution-strategist': failWith('NonRetryable', 'no recommended program') };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    assert.match(result.cause, /no recommended program/);
    assert.ok(!invocations.some((i) => i.fn === 'synthesize'));
    assert.equal(dynamodbRequests.length, 1);
  });

  it('gives up on Retryable after the risk manager retry budget and marks the run FAILED', async () => {
    script = { 'portfolio-risk-manager': failWith('Retryable', 'S3 keeps timing out') };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'Retryable');
    const retrier = definition().States.PortfolioRiskManager.Retry.find((r) => r.ErrorEquals.includes('Retryable'));
    assert.equal(invocations.filter((i) => i.fn === 'portfolio-risk-manager').length, 1 + retrier.MaxAttempts);
    for (const desk of LEVELS[1]) assert.ok(!invocations.some((i) => i.fn === desk), desk);
    assert.equal(dynamodbRequests.length, 1);
  });

  it('marks the run FAILED when one partition fails for good (ToleratedFailurePercentage 0)', async () => {
    script = {
      'compute-partition': (task) => {
        if (task.partition === 1) throw { errorType: 'NonRetryable', errorMessage: 'scenario slice unreadable' };
        return defaultBehaviour['compute-partition'](task);
      },
    };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    // On AWS the Map fails with States.ExceedToleratedFailureThreshold; inline, with the
    // partition's own error. Either way the Map's Catch marks the run FAILED.
    assert.match(result.cause, /scenario slice unreadable/);
    assert.ok(!invocations.some((i) => i.fn === 'aggregate'));
    assert.equal(dynamodbRequests.length, 1);
  });

  it('fails an invalid request at partition without touching the run table', async () => {
    script = {
      partition: failWith('NonRetryable', 'parameters.paths (--param paths=…): Monte Carlo paths per scenario: must be between 100 and 10000, got 5'),
    };
    const result = await run();
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'NonRetryable');
    assert.match(result.cause, /parameters\.paths/);
    assert.equal(invocations.length, 1);
    assert.equal(dynamodbRequests.length, 0);
  });
});
