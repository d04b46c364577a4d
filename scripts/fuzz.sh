#!/bin/sh
# The bad-input fuzzer, long, by hand (issue #16). CI runs 2,000 cases (Tests/CLITests/FuzzTests);
# this runs CASES per target (default 12,500: 100,000 over the 8 targets) and, with --corpus DIR,
# first writes a bad-input corpus (200 mutated files per target) for other tools.
#
#   scripts/fuzz.sh                      # 100,000 cases, seed 1
#   CASES=50000 SEED=7 scripts/fuzz.sh   # 400,000 cases, another seed
#   scripts/fuzz.sh --corpus /tmp/bad    # the corpus, then the run
#
# Findings (inputs that crashed or hung) go to fuzz-findings/, each with its replay command.
set -eu
cd "$(dirname "$0")/.."
BIN=.build/release/segscope
[ -x "$BIN" ] || swift build -c release
if [ "${1:-}" = "--corpus" ]; then
    "$BIN" fuzz --cases 200 --seed "${SEED:-1}" --corpus-out "$2"
fi
exec "$BIN" fuzz --cases "${CASES:-12500}" --seed "${SEED:-1}" --findings fuzz-findings
