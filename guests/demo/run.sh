#!/bin/sh
# make demo: the same small guests (guests/l2) bare on the machine, under
# the bare-metal hypervisor type1, under the hosted hypervisor type2, and
# under type1 run as the guest of the L1 hypervisor nested, side by side.
# Usage: run.sh BUILD NESTLAB
set -u
build=$1
nl=$2
l2=$build/guests/l2
type1=$build/guests/type1/type1.elf
type2=$build/guests/type2/type2.elf
nested=$build/guests/nested/nested.elf
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
guests="hello64 hello16 cpuid mmio apictimer cpubound"

if [ -t 1 ]; then
	bold() { printf '\033[1m%s\033[0m\n' "$*"; }
else
	bold() { printf '%s\n' "$*"; }
fi
rule() { printf '%s\n' '------------------------------------------------------------------------------'; }

# run NAME ARGS...: nestlab run with --stats; the output in $dir/NAME.out,
# the statistics in $dir/NAME.err; fails the demo on a status other than 1
# (the guests and type1 end with isa-debug-exit value 0).
run() {
	name=$1
	shift
	"$nl" run "$@" --stats >"$dir/$name.out" 2>"$dir/$name.err"
	s=$?
	if [ "$s" -ne 1 ]; then
		echo "demo: '$*' ended with status $s" >&2
		cat "$dir/$name.err" >&2
		exit 1
	fi
}

insns() { sed -n 's/^nestlab: \([0-9]*\) instructions.*/\1/p' "$dir/$1.err"; }
exits() { sed -n 's/^nestlab: [0-9]* VM entries, \([0-9]*\) VM exits/\1/p' "$dir/$1.err"; }

bold "nestlab demo: the same guests bare, under a bare-metal and a hosted hypervisor, nested"
echo
echo "Each guest in guests/l2 is an ordinary Multiboot kernel. First each boots"
echo "alone on the machine; then type1 (guests/type1), a type-1 hypervisor, boots"
echo "and runs four of them at once in VMs of their own, with EPT, time slices of"
echo "its VMX-preemption timer, a virtual serial port and an emulated device."
echo "Then type2 (guests/type2), a host kernel with a /dev/kvm-like module, runs"
echo "them again, each driven by a VMM process in user space, as QEMU drives KVM."
echo "Last, nested (guests/nested) gives VMX to its own guest and runs type1 there:"
echo "the same guests are then L3, and each of their exits costs type1's many more."
echo
rule
bold "1. Bare: the guest is the machine's kernel"
for g in $guests; do
	run "bare-$g" "$l2/$g.elf"
	grep -v '^# ' "$dir/bare-$g.out" >"$dir/lines"
	n=$(wc -l <"$dir/lines")
	head -4 "$dir/lines" | sed 's/^/   /'
	[ "$n" -gt 4 ] && echo "   ... ($((n - 4)) more lines)"
done
echo
rule
# four HV NAME [MODULE]: run cpuid, mmio, apictimer and cpubound under
# HV (after MODULE, the hypervisor it runs, if given), output in
# $dir/NAME.out, saying so first.
four() {
	hv=$1 name=$2
	shift 2
	echo "   \$ nestlab run $hv.elf ${1:+--module type1.elf }--module cpuid.elf --module mmio.elf \\"
	echo "         --module apictimer.elf --module cpubound.elf"
	run "$name" "$build/guests/$hv/$hv.elf" ${1:+--module "$1"} --module "$l2/cpuid.elf" \
		--module "$l2/mmio.elf" --module "$l2/apictimer.elf" --module "$l2/cpubound.elf"
}
bold "2. Under type1: four guests share the CPU"
echo "   (cpubound computes while apictimer waits for its timer in HLT)"
four type1 together
grep -v '^\[[a-z0-9]*\] # ' "$dir/together.out" | sed 's/^/   /'
echo
rule
bold "3. Under type2: the same four guests, each driven by a VMM process"
echo "   (an ordinary process, the ticker, runs beside them; shown here are its"
echo "   lines and the kernel's summary: the guests print what they did above)"
four type2 together2
grep '^\[ticker\]' "$dir/together2.out" | sed 's/^/   /'
sed -n '/^type2: all processes have exited/,$p' "$dir/together2.out" | sed 's/^/   /'
echo
rule
bold "4. Nested: type1 runs as the guest (L2) of nested (L1), the four as L3"
echo "   (the guests print what they printed in step 2; shown here is what nested"
echo "   counted: type1's own exits, the guests' exits it handled or reflected to"
echo "   type1, and what each reflected exit cost)"
four nested together3 "$type1"
sed -n '/^nested: type1 has ended/,$p' "$dir/together3.out" | sed 's/^/   /'
echo
rule
bold "5. Side by side: each guest alone, bare, under type1, type2 and nested"
for g in $guests; do
	run "t1-$g" "$type1" --module "$l2/$g.elf"
	run "t2-$g" "$type2" --module "$l2/$g.elf"
	run "n-$g" "$nested" --module "$type1" --module "$l2/$g.elf"
done
# path OUT LABEL N: the Nth number after LABEL in type2's summary of OUT.
path() { sed -n "s/^ *$2 *\([0-9-]*\).*/\1/p" "$dir/$1.out" | sed -n "${3}p"; }
# l3 OUT: the L3 guests' exits in nested's summary of OUT.
l3() { sed -n 's/^  type1 (L2) made [0-9]* VM exits; its guests (L3) made \([0-9]*\),.*/\1/p' "$dir/$1.out"; }
# lines OUT GUEST: GUEST's lines in OUT, without "# " lines; with the level
# and the exit count cpuid reports (they differ under nested) left out.
lines() { sed -n "s/^\[$2\] //p" "$dir/$1.out" | grep -v '^# \|hypercall EXITS -> \|leaf 0x40000001: '; }
fmt='   %-10s %-8s %6s %7s %6s %7s %6s %7s %8s %7s\n'
printf "$fmt" "" "" type1 type1 type2 type2 type2 type2 nested nested
printf "$fmt" guest output exits "ns/exit" kernel "ns/exit" VMM "ns/exit" "L0 exits" "ns/exit"
for g in $guests; do
	grep -v '^# ' "$dir/bare-$g.out" >"$dir/a"
	sed -n "s/^\[$g\] //p" "$dir/t1-$g.out" | grep -v '^# ' >"$dir/b"
	sed -n "s/^\[$g\] //p" "$dir/t2-$g.out" | grep -v '^# ' >"$dir/c"
	lines "t1-$g" "$g" >"$dir/d"
	lines "n-$g" "$g" >"$dir/e"
	if cmp -s "$dir/a" "$dir/b" && cmp -s "$dir/a" "$dir/c"; then same=same; else same="differs*"; fi
	cmp -s "$dir/d" "$dir/e" || same="nested!"
	b=$(insns "bare-$g") t=$(insns "t1-$g") x=$(exits "t1-$g")
	n=$(insns "n-$g") x3=$(l3 "n-$g")
	printf "$fmt" "$g" "$same" "$x" "$(( (t - b) / (x > 0 ? x : 1) ))" \
		"$(path "t2-$g" 'in the kernel: exits' 1)" "$(path "t2-$g" 'TSC ticks each, average' 1)" \
		"$(path "t2-$g" 'through the VMM: exits' 1)" "$(path "t2-$g" 'TSC ticks each, average' 2)" \
		"$(exits "n-$g")" "$(( (n - b) / (x3 > 0 ? x3 : 1) ))"
done
echo
echo "   * cpuid and mmio look for their hypervisor (CPUID leaf 0x40000000, the"
echo "     device at 0xFEB00000): bare they find none, under type1 and type2 they do."
echo "   type1 ns/exit: the extra instructions per VM exit, type1's code and the"
echo "   guest's set-up together, in nestlab's virtual time (1 ns per instruction)."
echo "   type2 times each exit from the VM exit to the next VM entry, on its path:"
echo "   handled in the kernel (CPUID, MSRs, the local APIC, HLT), or through the"
echo "   VMM process in ring 3 (I/O, MMIO, hypercalls, and the host's 1 ms timer,"
echo "   which returns to user space so that other processes can run). The VMM"
echo "   path adds a system call's return and entry and the VMM's own work."
echo "   nested: every exit nestlab (L0) made in the run, and the extra time per"
echo "   exit of the guest (L3), as for type1: each costs type1 a dozen VMREADs and"
echo "   VMWRITEs and a VMRESUME, each of them an exit to nested (step 4)."
echo
echo "   More in docs/hypervisors.md. Run one yourself:"
echo "   build/nestlab run $nested --module $type1 --module $l2/cpuid.elf --stats"
echo "   Or watch it step by step in the debugger window (docs/gui.md):"
echo "   build/nestlab gui $type1 --module $l2/mmio.elf"
