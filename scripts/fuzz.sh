#!/usr/bin/env bash
# The fuzz suite (tests/test_fuzz.py) with a fresh random seed and many more examples than CI's
# fixed, derandomized run, which never looks past the examples it has already passed.
#
#   scripts/fuzz.sh                      # a new seed, 10x each test's examples (about 20 minutes)
#   scripts/fuzz.sh -k expression        # pytest arguments pass through
#   GOCORE_TUI_FUZZ_SCALE=50 scripts/fuzz.sh -k parser
#   GOCORE_TUI_FUZZ_SEED=123 scripts/fuzz.sh    # replay a run: same seed, same scale, same -k
#
# The seed is printed first and again at the end, so a failure reproduces. Turn each failure into an
# explicit @example(...) on its test in tests/test_fuzz.py, with the fix.
set -u
cd "$(dirname "$0")/.."
seed="${GOCORE_TUI_FUZZ_SEED:-$(python3 -c 'import secrets; print(secrets.randbits(32))')}"
scale="${GOCORE_TUI_FUZZ_SCALE:-10}"
export GOCORE_TUI_FUZZ_SEED="$seed" GOCORE_TUI_FUZZ_SCALE="$scale"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
echo "fuzz: seed $seed, scale ${scale}x (GOCORE_TUI_FUZZ_SEED=$seed GOCORE_TUI_FUZZ_SCALE=$scale)"
python3 -m pytest -q -p no:cacheprovider tests/test_fuzz.py "$@"
rc=$?
echo "fuzz: seed $seed, scale ${scale}x: exit status $rc; replay: GOCORE_TUI_FUZZ_SEED=$seed" \
     "GOCORE_TUI_FUZZ_SCALE=$scale scripts/fuzz.sh $*"
exit $rc
