#!/usr/bin/env bash
# One-time set-up for running and testing StressLab on a fresh machine.
# Running the local workflow needs only Rust; the test suite also needs:
#   - cargo-lambda (serves the Lambda crates locally; pip ships it with zig),
#   - moto server (S3 + DynamoDB on loopback), boto3 and PyYAML for the harness fixture,
#   - cfn-lint (template checks), Node 20+ with the harness's npm packages
#     (aws-local-stepfunctions, asl-validator),
#   - the aarch64 Rust target for `cargo lambda build --release --arm64`.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check \
  'cargo-lambda' 'moto[server,stepfunctions]==5.2.5' 'cfn-lint' 'boto3' 'PyYAML'
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || echo "note: could not add the aarch64 target (only needed for ARM packaging)"
if ! command -v node >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi
(cd tests/harness && npm ci --no-audit --no-fund --silent)
echo "setup complete"
