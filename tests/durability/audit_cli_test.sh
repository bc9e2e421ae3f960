#!/usr/bin/env bash
# `chakong audit verify` on a journal written by real engines (two lives of the crash harness):
# intact -> exit 0; one link altered -> exit 1 naming that link.
set -euo pipefail
harness=$1
chakong=$2
dir=$3
"$harness" --kills 1 --cases 4 --dir "$dir" >/dev/null
out=$("$chakong" audit verify "$dir/journal")
echo "$out"
[[ "$out" == "audit chain intact: "*" links in "*" chains verified" ]]
"$harness" --tamper --dir "$dir"
set +e
out=$("$chakong" audit verify "$dir/journal")
rc=$?
set -e
echo "$out"
[[ $rc -eq 1 ]]
[[ "$out" == *"audit chain BROKEN at audit/0/0000000000000005: hash does not match the record's contents (the record was altered)"* ]]
[[ "$out" == *"(4 links before it verified)"* ]]
echo "PASS"
