#!/bin/sh
# The teaching hypervisors (docs/hypervisors.md) on nestlab: the L2 guests
# under type1 and type2 print what they print bare, with the exits expected
# of them; both with bad modules and misbehaving guests; type2's kernel and
# user paths, and its other process. Usage: hv.sh BUILD NESTLAB
set -u
build=$1
nl=$2
. tests/testlib.sh
type1=$build/guests/type1/type1.elf
type2=$build/guests/type2/type2.elf
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

# same GUEST [HV]: under HV (type1 unless given) alone, GUEST prints what
# it prints bare ("# " lines aside), and ends with status 0.
l2=$build/guests/l2
same() {
	g=$1 hv=${2:-type1}
	"$nl" run "$l2/$g.elf" 2>/dev/null | grep -v '^# ' >"$dir/bare"
	check "$hv-$g" 1 "$g  *exited with status 0" -- "$nl" run "$build/guests/$hv/$hv.elf" \
		--module "$l2/$g.elf" --stats
	sed -n "s/^\[$g\] //p" "$dir/out" | grep -v '^# ' >"$dir/under"
	if ! cmp -s "$dir/bare" "$dir/under"; then
		echo "FAIL $hv-$g: the output differs from the bare run"
		diff "$dir/bare" "$dir/under" | head -10 | sed 's/^/  | /'
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
time_slices type1-time-slices "$nl" run "$type1" --module "$l2/cpubound.elf" --module "$l2/cpubound.elf"

# type2: the same guests, the same failures, and what only a hosted
# hypervisor has: exits handled in the kernel or by the VMM process, and
# other processes running beside the VMs (the ticker).
check t2-no-guests 3 "no guests" -- "$nl" run "$type2"
check t2-too-many 3 "at most 4" -- "$nl" run "$type2" --module "$good" --module "$good" \
	--module "$good" --module "$good" --module "$good"
# a malformed module: its VMM says so, the others run, the machine ends with 1
check t2-not-multiboot 3 "\[random\] vmm: module 0 .*no Multiboot header" -- \
	"$nl" run "$type2" --module "$dir/random.bin" --module "$good"
grep -q "^\[cpuid\] PASS cpuid" "$dir/out" || { echo "FAIL t2-not-multiboot: the other guest did not finish"; fail=$((fail + 1)); }
check t2-small-ram 3 "give the machine more" -- "$nl" run "$type2" --module "$good" --mem 16
check t2-triple-fault 1 "triple fault at RIP" -- "$nl" run "$type2" --module "$dir/triple.elf" --module "$good"
grep -q "^\[cpuid\] PASS cpuid" "$dir/out" || { echo "FAIL t2-triple-fault: the other guest did not finish"; fail=$((fail + 1)); }
check t2-wild-access 1 "touched guest-physical 0x40000000 (read)" -- "$nl" run "$type2" --module "$dir/wild.elf"

# paths NAME KERNEL_MIN USER_MIN: the last type2 run handled at least
# KERNEL_MIN exits in the kernel and USER_MIN through the VMM.
paths() {
	k=$(sed -n 's/^ *in the kernel: exits *\([0-9]*\).*/\1/p' "$dir/out")
	u=$(sed -n 's/^ *through the VMM: exits *\([0-9]*\).*/\1/p' "$dir/out")
	if [ "${k:-0}" -lt "$2" ] || [ "${u:-0}" -lt "$3" ]; then
		echo "FAIL $1: ${k:-0} exits in the kernel and ${u:-0} through the VMM," \
			"expected at least $2 and $3"
		fail=$((fail + 1))
	fi
}

for g in hello64 hello32 hello16 pagefault cpubound; do
	same "$g" type2
done
same ioloop type2
exits t2-ioloop 30 2000
paths t2-ioloop 0 2000
same apictimer type2
exits t2-apictimer 12 10
exits t2-apictimer 48 20
paths t2-apictimer 20 10      # the APIC and HLT in the kernel, COM1 in the VMM
check t2-cpuid 1 "cpuid: a nestlab hypervisor runs this guest: \"NestlabType2\"" -- \
	"$nl" run "$type2" --module "$l2/cpuid.elf" --stats
grep -q "leaf 0x40000001: guest 0 of 1, hypervisor type 2" "$dir/out" ||
	{ echo "FAIL t2-cpuid: leaf 0x40000001 does not say type 2"; fail=$((fail + 1)); }
grep -q "hypercall 99 (there is none) -> 0xffffffff" "$dir/out" ||
	{ echo "FAIL t2-cpuid: no HV_ENOSYS for an unknown hypercall"; fail=$((fail + 1)); }
exits t2-cpuid 18 3
paths t2-cpuid 3 3            # CPUID in the kernel, VMCALL in the VMM
check t2-mmio 1 "mmio: device at 0xfeb00000, ID 0x4e4c4456" -- "$nl" run "$type2" --module "$l2/mmio.elf" --stats
grep -q "(mmio doorbell) 0xd00dfeed" "$dir/out" ||
	{ echo "FAIL t2-mmio: the doorbell did not ring"; fail=$((fail + 1)); }
exits t2-mmio 48 7
# under type2, the ticker's lines come in between the guests'
time_slices type2-time-slices "$nl" run "$type2" --module "$l2/cpubound.elf" --module "$l2/cpubound.elf"
first=$(grep -n '^\[cpubound' "$dir/out" | head -1 | cut -d: -f1)
last=$(grep -n '^\[cpubound' "$dir/out" | tail -1 | cut -d: -f1)
between=$(sed -n "${first:-1},${last:-1}p" "$dir/out" | grep -c '^\[ticker\] tick')
if [ "$between" -lt 2 ]; then
	echo "FAIL t2-ticker: $between ticker lines among the guests' output, expected at least 2"
	fail=$((fail + 1))
fi

echo "hv: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
