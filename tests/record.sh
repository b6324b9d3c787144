#!/bin/sh
# nestlab run --record FILE and nestlab replay FILE: a replay prints what
# the run printed, ends as it ended after the same instructions, and gives
# the same trace; input and the guest's command lines travel in the
# record; a record that is not one, is damaged or from another format is
# refused. Usage: record.sh BUILD NESTLAB
set -u
build=$1 nl=$2
. tests/testlib.sh

printf '\353\376' >"$dir/loop.bin"                      # jmp $
# wait for COM1's LSR.DR, read RBR, print it on 0xE9, halt (real mode)
printf '\272\375\003\354\250\001\164\370\272\370\003\354\346\351\372\364' >"$dir/echo.bin"
t1=$build/guests/type1/type1.elf l2=$build/guests/l2

# same_output NAME FILE1 FILE2: the two runs printed the same.
same_output() {
	if cmp -s "$2" "$3"; then
		pass=$((pass + 1))
	else
		echo "FAIL $1: the replay printed something else"
		diff "$2" "$3" | head -10 | sed 's/^/  | /'
		fail=$((fail + 1))
	fi
}

# A hypervisor with two guests, one given arguments: output, end and trace.
check record-type1 1 "recorded in" -- "$nl" run "$t1" --module "$l2/hello64.elf" \
	--module "$l2/cpuid.elf extra args" --record "$dir/t1.rec" --trace "$dir/t1.trace"
cp "$dir/out" "$dir/t1.out"
check replay-type1 1 "the same end as recorded" -- "$nl" replay "$dir/t1.rec" --trace "$dir/t1r.trace"
same_output replay-type1-output "$dir/t1.out" "$dir/out"
same_output replay-type1-trace "$dir/t1.trace" "$dir/t1r.trace"
check replay-type1-pt 1 "o mesmo fim gravado" -- "$nl" replay "$dir/t1.rec" --lang pt-BR

# Serial input from standard input is in the record: the replay reads none.
printf Q | "$nl" run "$dir/echo.bin" --bits 16 --load 0x7c00 --record "$dir/echo.rec" \
	>"$dir/echo.out" 2>/dev/null
check replay-input 0 "the same end" -- sh -c "printf X | '$nl' replay '$dir/echo.rec'"
same_output replay-input-output "$dir/echo.out" "$dir/out"
if grep -q Q "$dir/out"; then pass=$((pass + 1)); else
	echo "FAIL replay-input: the recorded input Q was not replayed"; fail=$((fail + 1)); fi

# A run --timeout ended stops, replayed, at the same instruction.
check record-timeout 8 "timeout" -- "$nl" run "$dir/loop.bin" --bits 32 --timeout 0.2 \
	--record "$dir/loop.rec"
check replay-timeout 8 "the same end as recorded" -- "$nl" replay "$dir/loop.rec" --stats

# A replay that does not end as recorded says so, status 18.
sed 's/"instructions":[^,]*/"instructions":	"12345"/' "$dir/echo.rec" >"$dir/other.rec"
check replay-differs 18 "DIFFERS" -- "$nl" replay "$dir/other.rec"

# Bad records and impossible combinations.
head -c 4096 /dev/urandom >"$dir/random.rec"
head -c 2000 "$dir/t1.rec" >"$dir/short.rec"
sed 's/"version":[^,]*/"version":	7/' "$dir/echo.rec" >"$dir/v7.rec"
sed 's/"data":	"[^"]*"/"data":	"not*base64"/' "$dir/echo.rec" >"$dir/bad64.rec"
sed '/"mem_mib"/d' "$dir/echo.rec" >"$dir/nomem.rec"
check replay-missing 4 "cannot read" -- "$nl" replay "$dir/nope.rec"
check replay-random 4 "is not a nestlab record" -- "$nl" replay "$dir/random.rec"
check replay-truncated 4 "is not a nestlab record" -- "$nl" replay "$dir/short.rec"
check replay-version 4 "another format" -- "$nl" replay "$dir/v7.rec"
check replay-bad-base64 4 "is damaged" -- "$nl" replay "$dir/bad64.rec"
check replay-no-option 4 "is damaged" -- "$nl" replay "$dir/nomem.rec"
check replay-option 2 "does not apply to replay" -- "$nl" replay "$dir/echo.rec" --mem 64
check replay-no-file 2 "usage" -- "$nl" replay
check record-kvm 2 "needs the interpreter" -- "$nl" run "$dir/loop.bin" --bits 32 \
	--backend kvm --record "$dir/x.rec"
check record-gdb 2 "cannot go with --gdb" -- "$nl" run "$dir/loop.bin" --bits 32 \
	--gdb 0 --record "$dir/x.rec"
check record-unwritable 4 "cannot write" -- "$nl" run "$dir/echo.bin" --bits 16 \
	--load 0x7c00 --input /dev/null --max-insns 100 --record /nonexistent/dir/x.rec
mkdir "$dir/tmp"
check replay-tmpdir 0 "the same end" -- env TMPDIR="$dir/tmp" "$nl" replay "$dir/echo.rec"
if ls "$dir/tmp" | grep -q .; then
	echo "FAIL replay-cleanup: a replay left its directory in /tmp"; fail=$((fail + 1))
else pass=$((pass + 1)); fi

echo "record: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
