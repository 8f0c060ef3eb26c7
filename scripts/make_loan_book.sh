#!/usr/bin/env bash
# Regenerates the sample loan book events/inputs/loan_book_10000.csv with the CLI's
# generator (distributions stated in shared/loans/src/sample.rs). Deterministic: the
# committed file must equal its output byte for byte, which
# shared/loans/tests/sample_book.rs checks.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet -p stresslab -- loans sample --count 10000 --seed 7 \
  --out events/inputs/loan_book_10000.csv
