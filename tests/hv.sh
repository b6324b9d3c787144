#!/bin/sh
# The teaching hypervisors (docs/hypervisors.md) on nestlab: the L2 guests
# under type1 print what they print bare, with the exits expected of them;
# type1 with bad modules and misbehaving guests. Usage: hv.sh BUILD NESTLAB
set -u
build=$1
nl=$2
. tests/testlib.sh
type1=$build/guests/type1/type1.elf
good=$build/guests/tests/cpuid.elf

head -c 4096 /dev/urandom | tr '\177' 'x' >"$dir/random.bin"
mbimage "$dir/triple.elf" '\017\013'                  # ud2 with no IDT
mbimage "$dir/wild.elf" '\241\000\000\000\100\353\376'   # mov eax, [0x40000000]: outside its RAM

check no-guests 3 "no guests" -- "$nl" run "$type1"
check not-multiboot 3 "no Multiboot header" -- "$nl" run "$type1" --module "$dir/random.bin"
check too-many 3 "at most 4" -- "$nl" run "$type1" --module "$good" --module "$good" \
	--module "$good" --module "$good" --module "$good"
check small-ram 3 "give the machine more" -- "$nl" run "$type1" --module "$good" --mem 16
# a guest that misbehaves is stopped and reported; the others go on
check triple-fault 1 "triple fault at RIP" -- "$nl" run "$type1" --module "$dir/triple.elf" --module "$good"
grep -q "^\[cpuid\] PASS cpuid" "$dir/out" || { echo "FAIL triple-fault: the other guest did not finish"; fail=$((fail + 1)); }
check wild-access 1 "touched guest-physical 0x40000000 (read)" -- "$nl" run "$type1" --module "$dir/wild.elf"

# same GUEST: under type1 alone, GUEST prints what it prints bare ("# "
# lines aside), and ends with status 0.
l2=$build/guests/l2
same() {
	g=$1
	"$nl" run "$l2/$g.elf" 2>/dev/null | grep -v '^# ' >"$dir/bare"
	check "type1-$g" 1 "$g  *exited with status 0" -- "$nl" run "$type1" --module "$l2/$g.elf" --stats
	sed -n "s/^\[$g\] //p" "$dir/out" | grep -v '^# ' >"$dir/under"
	if ! cmp -s "$dir/bare" "$dir/under"; then
		echo "FAIL type1-$g: the output differs from the bare run"
		diff "$dir/bare" "$dir/under" | head -10 | sed 's/^/  | /'
		fail=$((fail + 1))
	fi
}

# exits NAME REASON MIN: the last run made at least MIN exits of REASON
# (nestlab's --stats counts them).
exits() {
	n=$(sed -n "s/^nestlab: *\([0-9]*\) *$2 .*/\1/p" "$dir/err")
	if [ "${n:-0}" -lt "$3" ]; then
		echo "FAIL $1: ${n:-0} exits of reason $2, expected at least $3"
		fail=$((fail + 1))
	fi
}

for g in hello64 hello32 hello16 pagefault apictimer cpubound; do
	same "$g"
done
same ioloop
exits type1-ioloop 30 2000
same apictimer
exits type1-apictimer 12 10
exits type1-apictimer 48 20
check type1-cpuid 1 "cpuid: a nestlab hypervisor runs this guest: \"NestlabType1\"" -- \
	"$nl" run "$type1" --module "$l2/cpuid.elf" --stats
grep -q "hypercall 99 (there is none) -> 0xffffffff" "$dir/out" ||
	{ echo "FAIL type1-cpuid: no HV_ENOSYS for an unknown hypercall"; fail=$((fail + 1)); }
exits type1-cpuid 18 3
check type1-mmio 1 "mmio: device at 0xfeb00000, ID 0x4e4c4456" -- "$nl" run "$type1" --module "$l2/mmio.elf" --stats
grep -q "(mmio doorbell) 0xd00dfeed" "$dir/out" ||
	{ echo "FAIL type1-mmio: the doorbell did not ring"; fail=$((fail + 1)); }
exits type1-mmio 48 7
# two CPU-bound guests share the CPU: the second starts before the first ends
check time-slices 1 "" -- "$nl" run "$type1" --module "$l2/cpubound.elf" --module "$l2/cpubound.elf"
first_end=$(grep -n '^\[cpubound\] cpubound: done' "$dir/out" | cut -d: -f1)
rounds=$(grep -c '^\[cpubound\(-1\)\{0,1\}\] cpubound: round' "$dir/out")
second=$(grep -n '^\[cpubound-1\] cpubound: round 1/8' "$dir/out" | cut -d: -f1)
if [ "$rounds" -ne 16 ] || [ -z "$second" ] || [ "$second" -gt "${first_end:-0}" ]; then
	echo "FAIL time-slices: the two guests did not take turns ($rounds rounds)"
	fail=$((fail + 1))
fi

echo "hv: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
