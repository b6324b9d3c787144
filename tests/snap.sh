#!/bin/sh
# Snapshot files: a run restored from --save-at prints what the rest of the
# straight run prints and ends the same way; wrong image, other options,
# another version, truncation, damage and garbage are refused with one
# line and status 4. Usage: snap.sh BUILD NESTLAB
set -u
build=$1
nl=$2
. tests/testlib.sh
g=$build/guests/type1/type1.elf
m=$build/guests/l2/apictimer.elf

"$nl" run "$g" --module "$m" --trace "$dir/straight.jsonl" >"$dir/straight" 2>/dev/null
check save-at 1 "snapshot at instruction 300000 saved" -- "$nl" run "$g" --module "$m" \
	--save-at 300000 "$dir/s.snap"
check restore 1 "restored" -- "$nl" run "$g" --module "$m" --restore "$dir/s.snap" \
	--trace "$dir/restored.jsonl"
# the restored run prints the rest of the straight run's output ...
if ! tail -c "$(wc -c <"$dir/out")" "$dir/straight" | cmp -s - "$dir/out"; then
	echo "FAIL restore: the output is not the end of the straight run's"
	fail=$((fail + 1))
fi
# ... and its events are the straight run's after instruction 300000
sed -n 's/.*"icount":\([0-9]*\).*/\1 &/p' "$dir/straight.jsonl" |
	awk '$1 >= 300000 { $1 = ""; print }' | grep -v '"type":"end"\|"run"' >"$dir/a"
sed -n 's/.*"icount":\([0-9]*\).*/\1 &/p' "$dir/restored.jsonl" |
	awk '{ $1 = ""; print }' | grep -v '"type":"end"\|"run"' >"$dir/b"
if [ ! -s "$dir/a" ] || ! cmp -s "$dir/a" "$dir/b"; then
	echo "FAIL restore-events: the event streams differ"
	diff "$dir/a" "$dir/b" | head -5 | sed 's/^/  | /'
	fail=$((fail + 1))
fi
check save-past-end 1 "before --save-at" -- "$nl" run "$g" --module "$m" \
	--save-at 99999999999 "$dir/never.snap"

check other-image 4 "another image" -- "$nl" run "$build/guests/tests/cpuid.elf" --restore "$dir/s.snap"
check other-options 4 "other options" -- "$nl" run "$g" --module "$m" --mem 64 --restore "$dir/s.snap"
head -c 100000 "$dir/s.snap" >"$dir/trunc.snap"
check truncated 4 "truncated" -- "$nl" run "$g" --module "$m" --restore "$dir/trunc.snap"
head -c 20 "$dir/s.snap" >"$dir/short.snap"
check short 4 "truncated" -- "$nl" run "$g" --module "$m" --restore "$dir/short.snap"
cp "$dir/s.snap" "$dir/bad.snap"
printf 'XXXX' | dd of="$dir/bad.snap" bs=1 seek=200000 conv=notrunc 2>/dev/null
check damaged 4 "damaged" -- "$nl" run "$g" --module "$m" --restore "$dir/bad.snap"
cp "$dir/s.snap" "$dir/ver.snap"
printf '9.9.9' | dd of="$dir/ver.snap" bs=1 seek=12 conv=notrunc 2>/dev/null
check other-version 4 "another version" -- "$nl" run "$g" --module "$m" --restore "$dir/ver.snap"
head -c 5000 /dev/urandom >"$dir/garbage.snap"
check garbage 4 "not a nestlab snapshot" -- "$nl" run "$g" --module "$m" --restore "$dir/garbage.snap"
check missing 4 "cannot read" -- "$nl" run "$g" --module "$m" --restore "$dir/nope.snap"
check save-at-usage 2 "needs a value" -- "$nl" run "$g" --save-at 5
check bad-snap-every 2 "not a valid value" -- "$nl" run "$g" --snap-every 0
# periodic snapshots: the same output, and --stats reports them
check snap-every 1 "snapshots (every 100000 instructions)" -- "$nl" run "$g" --module "$m" \
	--snap-every 100000 --stats
if ! cmp -s "$dir/straight" "$dir/out"; then
	echo "FAIL snap-every: the output differs from the straight run's"
	fail=$((fail + 1))
fi

echo "snap.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
