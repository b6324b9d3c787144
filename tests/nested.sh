#!/bin/sh
# nested (docs/hypervisors.md): type1 runs as the guest of the L1
# hypervisor nested, and its guests (L3) print what they print under type1
# alone; every exit is counted where it should be; bad input is refused.
# Usage: nested.sh BUILD NESTLAB
set -u
build=$1 nl=$2
. tests/testlib.sh
nested=$build/guests/nested/nested.elf type1=$build/guests/type1/type1.elf l2=$build/guests/l2

head -c 4096 /dev/urandom | tr '\177' 'x' >"$dir/random.bin"

check nested-no-module 3 "nested: no guest: give the hypervisor" -- "$nl" run "$nested"
check nested-not-multiboot 3 "module 0 ('.*random.bin'): no Multiboot header" -- \
	"$nl" run "$nested" --module "$dir/random.bin"
check nested-small-ram 3 "give the machine more (nestlab run --mem" -- \
	"$nl" run "$nested" --module "$type1" --module "$l2/hello64.elf" --mem 64
# type1's own refusals come through nested, with type1's status
check nested-type1-no-guests 3 "type1: no guests" -- "$nl" run "$nested" --module "$type1"
check nested-type1-not-multiboot 3 "type1: guest module 0 .*no Multiboot header" -- \
	"$nl" run "$nested" --module "$type1" --module "$dir/random.bin"

# nested_row REASON COLUMN: from nested's table of exits in the last run's
# output, column 1 (type1's own exits), 2 (L3 exits nested handled) or 3
# (L3 exits reflected to type1) of REASON's row; 0 if there is none.
nested_row() {
	sed -n '/^nested: .* has ended/,$p' "$dir/out" |
		awk -v r="$1" -v c="$2" '$1 == r && NF >= 5 { print $(NF - 3 + c); found = 1 }
			END { if (!found) print 0 }' | head -1
}

# at_least NAME WHAT GOT MIN, at_most NAME WHAT GOT MAX
at_least() {
	[ "$3" -ge "$4" ] || { echo "FAIL $1: $2 is $3, expected at least $4"; fail=$((fail + 1)); }
}
at_most() {
	[ "$3" -le "$4" ] || { echo "FAIL $1: $2 is $3, expected at most $4"; fail=$((fail + 1)); }
}

# counted NAME: the last run's counts agree. Every exit L0 made was
# nested's (type1's own or an L3 guest's); every exit type1 counted for
# its guest was one nested reflected to it; each reflected exit cost type1
# between 10 and 30 exits of its own, VMRESUME included.
counted() {
	l0=$(sed -n 's/^nestlab: [0-9]* VM entries, \([0-9]*\) VM exits/\1/p' "$dir/err")
	set -- $(sed -n 's/^  type1 (L2) made \([0-9]*\) VM exits; its guests (L3) made \([0-9]*\),.*/\1 \2/p' \
		"$dir/out")
	l1=$(( ${1:-0} + ${2:-0} ))
	[ "${l0:-0}" -eq "$l1" ] ||
		{ echo "FAIL $name: L0 made ${l0:-0} exits, nested took $l1"; fail=$((fail + 1)); }
	seen=$(sed -n 's/^  [a-z0-9-]* *exited with status [0-9]*, after \([0-9]*\) VM exits.*/\1/p' \
		"$dir/out" | awk '{ s += $1 } END { print s + 0 }')
	reflected=$(sed -n 's/^  handled [0-9]* itself and reflected \([0-9]*\) to type1/\1/p' "$dir/out")
	[ "$seen" -eq "${reflected:-0}" ] ||
		{ echo "FAIL $name: type1 counted $seen exits, nested reflected ${reflected:-0}"; fail=$((fail + 1)); }
	per=$(sed -n 's/^     all  *[0-9]*  *[0-9.]*  *[0-9.]*  *[0-9.]*  *[0-9.]*  *\([0-9]*\)\.[0-9]* .*/\1/p' "$dir/out")
	at_least "$name" "L1 exits per reflected L3 exit" "${per:-0}" 10
	at_most "$name" "L1 exits per reflected L3 exit" "${per:-0}" 30
}

# same GUEST: under nested, GUEST prints what it prints under type1 alone
# ("# " lines aside). type1's own 1 ms timer ticks more often in the
# longer nested run, and each tick is an exit of the guest: the count
# cpuid asks for (hypercall EXITS) differs, and so does the level it runs
# at, checked apart.
same() {
	g=$1 name=nested-$1
	filter='^# \|hypercall EXITS -> \|leaf 0x40000001: '
	"$nl" run "$type1" --module "$l2/$g.elf" 2>/dev/null | sed -n "s/^\[$g\] //p" |
		grep -v "$filter" >"$dir/direct"
	check "$name" 1 "$g  *exited with status 0" -- "$nl" run "$nested" --module "$type1" \
		--module "$l2/$g.elf" --stats --timeout 60
	sed -n "s/^\[$g\] //p" "$dir/out" | grep -v "$filter" >"$dir/nested"
	if ! cmp -s "$dir/direct" "$dir/nested"; then
		echo "FAIL $name: the output differs from the run under type1 alone"
		diff "$dir/direct" "$dir/nested" | head -10 | sed 's/^/  | /'
		fail=$((fail + 1))
	fi
	counted
	# nested fills its shadow EPT with 2 MiB pages: a few fills per guest
	handled=$(nested_row 48 2)
	at_least "$name" "EPT02 fills" "$handled" 1
	at_most "$name" "EPT02 fills" "$handled" 16
}

for g in hello64 hello16 cpuid mmio apictimer cpubound; do
	same "$g"
	case $g in
	cpuid)
		grep -q "leaf 0x40000001: guest 0 of 1, hypervisor type 1, level 3" "$dir/out" ||
			{ echo "FAIL nested-cpuid: the guest does not run at level 3"; fail=$((fail + 1)); }
		at_least nested-cpuid "reflected CPUID exits" "$(nested_row 10 3)" 3
		at_least nested-cpuid "type1's own CPUID exits" "$(nested_row 10 1)" 3 ;;
	mmio)
		grep -q "(mmio doorbell) 0xd00dfeed" "$dir/out" ||
			{ echo "FAIL nested-mmio: the doorbell did not ring"; fail=$((fail + 1)); }
		at_least nested-mmio "reflected EPT violations" "$(nested_row 48 3)" 7 ;;
	apictimer)
		at_least nested-apictimer "reflected HLT exits" "$(nested_row 12 3)" 10
		at_least nested-apictimer "reflected EPT violations (its local APIC)" "$(nested_row 48 3)" 20 ;;
	esac
done
time_slices nested-time-slices "$nl" run "$nested" --module "$type1" \
	--module "$l2/cpubound.elf" --module "$l2/cpubound.elf" --timeout 60

echo "nested: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
