# Sourced by the shell tests (cli.sh, hv.sh, nested.sh): a scratch directory,
# the counters, check(), mbimage(), exits() and time_slices().
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0
fail=0

# check NAME EXPECTED_STATUS PHRASE -- COMMAND...: run COMMAND, want its
# exit status and, unless PHRASE is empty, PHRASE in its output.
check() {
	name=$1 want=$2 phrase=$3
	shift 4
	"$@" >"$dir/out" 2>"$dir/err" </dev/null
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL $name: exit status $got, expected $want"
		sed 's/^/  | /' "$dir/err"
		fail=$((fail + 1))
	elif [ -n "$phrase" ] && ! grep -q -- "$phrase" "$dir/err" "$dir/out"; then
		echo "FAIL $name: no \"$phrase\" in the output"
		sed 's/^/  | /' "$dir/err" "$dir/out" | tail -20
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
}

# mbimage FILE CODE: a Multiboot a.out-kludge image: header at 0, loaded at
# 1 MiB, entry right after the 32-byte header; the code is CODE (printf
# escapes).
mbimage() {
	printf '\002\260\255\033\000\000\001\000\376\117\121\344' >"$1"   # magic, flags 0x10000, checksum
	printf '\000\000\020\000\000\000\020\000\000\000\000\000\000\000\000\000' >>"$1"
	printf '\040\000\020\000' >>"$1"                                 # entry 0x100020
	printf "$2" >>"$1"
}

# time_slices NAME COMMAND...: COMMAND runs two cpubound guests (guests/l2)
# under a hypervisor, which must share the CPU between them: the second
# starts before the first ends.
time_slices() {
	name=$1
	shift
	check "$name" 1 "" -- "$@"
	first_end=$(grep -n '^\[cpubound\] cpubound: done' "$dir/out" | cut -d: -f1)
	rounds=$(grep -c '^\[cpubound\(-1\)\{0,1\}\] cpubound: round' "$dir/out")
	second=$(grep -n '^\[cpubound-1\] cpubound: round 1/8' "$dir/out" | cut -d: -f1)
	if [ "$rounds" -ne 16 ] || [ -z "$second" ] || [ "$second" -gt "${first_end:-0}" ]; then
		echo "FAIL $name: the two guests did not take turns ($rounds rounds)"
		fail=$((fail + 1))
	fi
}

# exits NAME REASON MIN: the last run made at least MIN exits of REASON
# (nestlab's --stats counts them).
exits() {
	n=$(sed -n "s/^nestlab: *\([0-9]*\)  *$2 .*/\1/p" "$dir/err")
	if [ "${n:-0}" -lt "$3" ]; then
		echo "FAIL $1: ${n:-0} exits of reason $2, expected at least $3"
		fail=$((fail + 1))
	fi
}
