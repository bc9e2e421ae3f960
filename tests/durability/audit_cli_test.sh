#!/usr/bin/env bash
# `chakong audit verify` and `chakong journal check` on a journal written by real engines (two
# lives of the crash harness). Exit codes: 0 intact, 1 damaged (one link altered: named), 2
# cannot open (no journal there); --json prints one object with the same status.
set -euo pipefail
harness=$1
chakong=$2
dir=$3
"$harness" --kills 1 --cases 4 --dir "$dir" >/dev/null
out=$("$chakong" audit verify "$dir/journal")
echo "$out"
[[ "$out" == "audit chain intact: "*" links in "*" chains verified" ]]
out=$("$chakong" audit verify --json "$dir/journal")
echo "$out"
[[ "$out" == "{\"path\": \"$dir/journal\", \"status\": \"intact\", \"message\": \"audit chain intact: "* ]]
out=$("$chakong" journal check "$dir/journal")
echo "$out"
[[ "$out" == "journal $dir/journal: intact ("*" table files, every record and block checksum verified)" ]]
"$harness" --tamper --dir "$dir"
set +e
out=$("$chakong" audit verify "$dir/journal")
rc=$?
json=$("$chakong" audit verify --json "$dir/journal")
json_rc=$?
missing=$("$chakong" audit verify "$dir/no-journal" 2>&1)
missing_rc=$?
check_missing=$("$chakong" journal check --json "$dir/no-journal")
check_missing_rc=$?
set -e
echo "$out"
[[ $rc -eq 1 ]]
[[ "$out" == *"audit chain BROKEN at audit/0/0000000000000005: hash does not match the record's contents (the record was altered)"* ]]
[[ "$out" == *"(4 links before it verified)"* ]]
echo "$json"
[[ $json_rc -eq 1 ]]
[[ "$json" == *"\"status\": \"damaged\""*"\"key\": \"audit/0/0000000000000005\""* ]]
echo "$missing"
[[ $missing_rc -eq 2 ]]
[[ "$missing" == *"journal $dir/no-journal: no such directory"* ]]
echo "$check_missing"
[[ $check_missing_rc -eq 2 ]]
[[ "$check_missing" == *"\"status\": \"cannot_open\""* ]]
echo "PASS"
