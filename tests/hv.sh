#!/bin/sh
# The teaching hypervisors (docs/hypervisors.md) on nestlab: type1 with
# bad modules and misbehaving guests. Usage: hv.sh BUILD NESTLAB
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

echo "hv: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
