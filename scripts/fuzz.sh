#!/usr/bin/env bash
# Fuzz every Fuzz target of the module, one after the other, each for
# $FUZZTIME (default 30s; CI uses 5s). Targets are discovered with
# "go test -list '^Fuzz' ./...", so new ones are picked up without edits.
#
#   scripts/fuzz.sh                      # every target, 30s each
#   FUZZTIME=10m scripts/fuzz.sh         # a long run
#   FUZZ_MATCH=Path scripts/fuzz.sh      # only targets whose name matches
#
# A crash fails the script (after the other targets have run) and prints
# the failing input's path under the package's testdata/fuzz/, with the
# command that replays it. The last lines summarise every target: its
# package, result, executions and time.
set -uo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-30s}
FUZZ_MATCH=${FUZZ_MATCH:-.}
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

# "go test -list" prints a package's matching names, then its "ok" line.
if ! listing=$(go test -list '^Fuzz' ./... 2>&1); then
  echo "fuzz.sh: go test -list failed:" >&2
  echo "$listing" >&2
  exit 1
fi
targets=()
pending=()
while IFS= read -r line; do
  case "$line" in
    Fuzz*) pending+=("$line") ;;
    ok*)
      pkg=$(awk '{print $2}' <<<"$line")
      for name in "${pending[@]}"; do targets+=("$pkg $name"); done
      pending=()
      ;;
    *) pending=() ;;
  esac
done <<<"$listing"

if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz.sh: no Fuzz targets found" >&2
  exit 1
fi

failed=0
summary=()
for t in "${targets[@]}"; do
  pkg=${t% *}
  name=${t#* }
  if ! grep -Eq -- "$FUZZ_MATCH" <<<"$name"; then continue; fi
  log="$logdir/$name.log"
  echo "== $name ($pkg) for $FUZZTIME"
  start=$(date +%s)
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1
  rc=$?
  # On a busy machine a short -fuzztime can run out while Go is still
  # replaying the seed corpus; it then fails with "context deadline
  # exceeded" and no failing input. That is no finding: run it once more.
  if [ $rc -ne 0 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input' "$log"; then
    echo "   (ran out of time before fuzzing began; once more)"
    go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1
    rc=$?
  fi
  secs=$(( $(date +%s) - start ))
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  if [ $rc -eq 0 ]; then
    summary+=("$(printf '%-22s %-40s ok    %12s execs %5ss' "$name" "$pkg" "${execs:-?}" "$secs")")
    continue
  fi
  failed=1
  summary+=("$(printf '%-22s %-40s FAIL  %12s execs %5ss' "$name" "$pkg" "${execs:-?}" "$secs")")
  echo "-- $name FAILED; the end of its output:"
  tail -n 40 "$log" | grep -v '^fuzz: elapsed' || true
  input=$(sed -n 's/.*Failing input written to \(.*\)$/\1/p' "$log" | tail -1)
  if [ -n "$input" ]; then
    dir=$(go list -f '{{.Dir}}' "$pkg")
    echo "-- failing input: ${dir#"$PWD"/}/$input"
    echo "-- replay with:   go test -run '^${name}\$/$(basename "$input")\$' $pkg"
  fi
done

echo "== summary (FUZZTIME=$FUZZTIME)"
printf '%s\n' "${summary[@]}"
if [ $failed -ne 0 ]; then
  echo "fuzz.sh: a target failed" >&2
  exit 1
fi
