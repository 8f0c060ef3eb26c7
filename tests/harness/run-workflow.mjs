#!/usr/bin/env node
// Run statemachines/<workflow>.asl.json once, locally, against the real Rust Lambdas.
// The workflow is the execution input's own `workflow` field (a registry name).
//
//   node tests/harness/run-workflow.mjs '<execution input JSON>'
//
// Environment:
//   LAMBDA_ENDPOINT    where `cargo lambda watch` listens, e.g. http://127.0.0.1:9000
//   AWS_ENDPOINT_URL   DynamoDB endpoint for MarkRunFailed (moto server)
//   RUN_TABLE          the run table (the ${RunTable} substitution)
//   AWS_REGION         default us-east-1
//   RETRY_INTERVAL_MS  optional: override every Retry interval (milliseconds)
//
// Progress goes to stderr; stdout gets exactly one JSON line:
//   {"status":"SUCCEEDED","output":{...},"largestState":{...}}  (exit 0), or
//   {"status":"FAILED","error":"...","cause":"...", ...}         (exit 1).
// Exit 2 means the harness itself could not run (bad input, unknown placeholder).
//
// A Distributed Map (the hedging fan-out) runs inline here: aws-local-stepfunctions has
// no distributed mode. The rewrite is `inlineDistributedMaps` in lib/local-sfn.mjs,
// applied by `loadDefinition` — the one place the harness departs from the ASL file.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
async function main() {
  const input = JSON.parse(process.argv[2] ?? '');
  if (!/^[a-z][a-z0-9-]*$/.test(input.workflow ?? '')) throw new Error(`execution input has no valid workflow: ${input.workflow}`);
  const DEFINITION_URI = `statemachines/${input.workflow}.asl.json`;
  const lambdaEndpoint = process.env.LAMBDA_ENDPOINT;
  if (!lambdaEndpoint) throw new Error('LAMBDA_ENDPOINT is not set');
  const region = process.env.AWS_REGION ?? 'us-east-1';

  const definitionPath = join(repo, DEFINITION_URI);
  const names = placeholders(readFileSync(definitionPath, 'utf8'));
  // The harness must exercise what SAM deploys: every placeholder the ASL uses has to be
  // a DefinitionSubstitutions key of this state machine in template.yaml, and back.
  const templateKeys = templateSubstitutionKeys(readFileSync(join(repo, 'template.yaml'), 'utf8'), DEFINITION_URI);
  if (JSON.stringify(templateKeys) !== JSON.stringify(names)) {
    throw new Error(`template.yaml substitutions ${templateKeys} != ASL placeholders ${names}`);
  }
  const definition = loadDefinition(
    definitionPath,
    localSubstitutions(names, { RunTable: process.env.RUN_TABLE ?? '' }, region),
  );

  let retryIntervalOverrides;
  if (process.env.RETRY_INTERVAL_MS) {
    const ms = Number(process.env.RETRY_INTERVAL_MS);
    retryIntervalOverrides = Object.fromEntries(Object.keys(taskStates(definition)).map((n) => [n, ms]));
  }
  const overrides = taskOverrides(definition, {
    lambdaEndpoint,
    dynamodbEndpoint: process.env.AWS_ENDPOINT_URL,
    region,
  });
  const started = Date.now();
  const result = await runExecution(definition, input, {
    overrides,
    retryIntervalOverrides,
    log: (line) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.status === 'SUCCEEDED' ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`harness error: ${e.stack ?? e}\n`);
    process.exitCode = 2;
  },
);
