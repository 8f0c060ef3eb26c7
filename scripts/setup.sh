#!/usr/bin/env bash
# One-time set-up for running and testing StressLab on a fresh machine.
# Running the local workflow needs only Rust; the test suite also needs:
#   - cargo-lambda (serves the Lambda crates locally; pip ships it with zig),
#   - moto server (S3 + DynamoDB on loopback), boto3 and PyYAML for the harness fixture,
#   - cfn-lint (template checks), Node 20+ with the harness's npm packages
#     (aws-local-stepfunctions, asl-validator),
#   - the aarch64 Rust target for `cargo lambda build --release --arm64`,
#   - checkov (template security checks), in a venv of its own: it pins boto3, botocore,
#     s3transfer and networkx to old versions, and installed beside moto and the AWS
#     CLI it downgrades them (and breaks the CLI).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check \
  'cargo-lambda' 'moto[server,stepfunctions]==5.2.5' 'cfn-lint' 'boto3' 'PyYAML'
# Pinned: a newer checkov brings new checks, and test.sh fails on any new finding.
CHECKOV_VENV="${CHECKOV_VENV:-$HOME/.cache/stresslab-checkov}"
[ -x "$CHECKOV_VENV/bin/checkov" ] || python3 -m venv "$CHECKOV_VENV"
"$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check 'checkov==3.3.30'
rustup component add rustfmt clippy >/dev/null 2>&1 || echo "note: could not add rustfmt/clippy"
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || echo "note: could not add the aarch64 target (only needed for ARM packaging)"
if ! command -v node >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi
(cd tests/harness && npm ci --no-audit --no-fund --silent)
# The web console test (tests/console): Debian's chromium, driven headless by
# playwright-core, which downloads no browser of its own.
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq chromium
fi
(cd tests/console && npm ci --no-audit --no-fund --silent)
echo "setup complete"
