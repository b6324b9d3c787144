#!/bin/sh
# The test guests (guests/tests/*.c) on nestlab and, where QEMU is
# installed, on QEMU TCG: each must report PASS (exit status 33), and the
# two serial outputs must be identical once the informational "# " lines
# are dropped. Arguments come from the "// qemu-args:" line of each test.
# A test with the line "// oracle: sdm" is not run on QEMU: TCG has no
# VMX, so the VMX tests check the SDM's rules themselves.
# Usage: guests.sh BUILD NESTLAB "QEMU COMMAND AND FLAGS" [TEST...]
set -u
build=$1 nl=$2 qemu=$3
shift 3
tests=${*:-$(ls guests/tests/*.c | sed 's|.*/||; s|\.c$||')}
dir=$build/guests/tests
pass=0
fail=0
have_qemu=false
command -v "${qemu%% *}" >/dev/null 2>&1 && have_qemu=true
$have_qemu || echo "guests: ${qemu%% *} not found; running on nestlab only"

for t in $tests; do
	img=$dir/$t.elf
	eval "set -- $(sed -n 's|^// qemu-args: ||p' guests/tests/$t.c)"
	qargs="$*"
	# The same arguments in nestlab's spelling.
	nargs=""
	while [ $# -gt 0 ]; do
		case $1 in
		-append) nargs="$nargs --append \"$2\""; shift 2 ;;
		-initrd) nargs="$nargs --module \"$2\""; shift 2 ;;
		*) echo "guests: $t: unknown qemu-args option $1"; shift ;;
		esac
	done
	eval "timeout 120 $nl run $img --max-insns 4000000000 $nargs" \
		</dev/null >"$dir/$t.nestlab.out" 2>"$dir/$t.nestlab.err"
	status=$?
	why=""
	sdm_only=false
	grep -q '^// oracle: sdm$' guests/tests/$t.c && sdm_only=true
	if [ $status != 33 ]; then
		why="nestlab exit status $status"
	elif $have_qemu && ! $sdm_only; then
		eval "set -- $(sed -n 's|^// qemu-args: ||p' guests/tests/$t.c)"
		timeout 60 $qemu -kernel "$img" "$@" </dev/null >"$dir/$t.qemu.out" 2>"$dir/$t.qemu.err"
		qs=$?
		grep -v '^# ' "$dir/$t.qemu.out" >"$dir/$t.qemu.cmp"
		grep -v '^# ' "$dir/$t.nestlab.out" >"$dir/$t.nestlab.cmp"
		if [ $qs != 33 ]; then
			why="qemu exit status $qs"
		elif ! diff -u "$dir/$t.qemu.cmp" "$dir/$t.nestlab.cmp" >"$dir/$t.diff"; then
			why="output differs from QEMU's (see $dir/$t.diff)"
		fi
	fi
	if [ -z "$why" ]; then
		if $sdm_only; then echo "$t: PASS (checked against the SDM; QEMU TCG has no VMX)"
		elif $have_qemu; then echo "$t: PASS, same output as QEMU"
		else echo "$t: PASS"; fi
		pass=$((pass + 1))
	else
		echo "$t: $why"
		tail -n 5 "$dir/$t.nestlab.out" "$dir/$t.nestlab.err" 2>/dev/null | sed 's/^/    /'
		[ -s "$dir/$t.diff" ] && head -n 20 "$dir/$t.diff" | sed 's/^/    /'
		rm -f "$dir/$t.diff"
		fail=$((fail + 1))
	fi
done
echo "guests: $pass passed, $fail failed"
[ $fail = 0 ]
