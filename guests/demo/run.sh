#!/bin/sh
# make demo: the same small guests (guests/l2) bare on the machine, under
# the bare-metal hypervisor type1 and under the hosted hypervisor type2,
# side by side.
# Usage: run.sh BUILD NESTLAB
set -u
build=$1
nl=$2
l2=$build/guests/l2
type1=$build/guests/type1/type1.elf
type2=$build/guests/type2/type2.elf
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

bold "nestlab demo: the same guests bare, under a bare-metal and a hosted hypervisor"
echo
echo "Each guest in guests/l2 is an ordinary Multiboot kernel. First each boots"
echo "alone on the machine; then type1 (guests/type1), a type-1 hypervisor, boots"
echo "and runs four of them at once in VMs of their own, with EPT, time slices of"
echo "its VMX-preemption timer, a virtual serial port and an emulated device."
echo "Then type2 (guests/type2), a host kernel with a /dev/kvm-like module, runs"
echo "them again, each driven by a VMM process in user space, as QEMU drives KVM."
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
# four HV NAME: run cpuid, mmio, apictimer and cpubound under HV, output
# in $dir/NAME.out, saying so first.
four() {
	echo "   \$ nestlab run $1.elf --module cpuid.elf --module mmio.elf \\"
	echo "         --module apictimer.elf --module cpubound.elf"
	run "$2" "$build/guests/$1/$1.elf" --module "$l2/cpuid.elf" --module "$l2/mmio.elf" \
		--module "$l2/apictimer.elf" --module "$l2/cpubound.elf"
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
bold "4. Side by side: each guest alone, bare, under type1 and under type2"
for g in $guests; do
	run "t1-$g" "$type1" --module "$l2/$g.elf"
	run "t2-$g" "$type2" --module "$l2/$g.elf"
done
# path OUT LABEL N: the Nth number after LABEL in type2's summary of OUT.
path() { sed -n "s/^ *$2 *\([0-9-]*\).*/\1/p" "$dir/$1.out" | sed -n "${3}p"; }
fmt='   %-10s %-8s %9s %7s %8s %7s %8s %7s %8s\n'
printf "$fmt" "" "" bare type1 type1 type2 type2 type2 type2
printf "$fmt" guest output insns exits "ns/exit" kernel "ns/exit" VMM "ns/exit"
for g in $guests; do
	grep -v '^# ' "$dir/bare-$g.out" >"$dir/a"
	sed -n "s/^\[$g\] //p" "$dir/t1-$g.out" | grep -v '^# ' >"$dir/b"
	sed -n "s/^\[$g\] //p" "$dir/t2-$g.out" | grep -v '^# ' >"$dir/c"
	if cmp -s "$dir/a" "$dir/b" && cmp -s "$dir/a" "$dir/c"; then same=same; else same="differs*"; fi
	b=$(insns "bare-$g") t=$(insns "t1-$g") x=$(exits "t1-$g")
	per=$(( (t - b) / (x > 0 ? x : 1) ))
	printf "$fmt" "$g" "$same" "$b" "$x" "$per" \
		"$(path "t2-$g" 'in the kernel: exits' 1)" "$(path "t2-$g" 'TSC ticks each, average' 1)" \
		"$(path "t2-$g" 'through the VMM: exits' 1)" "$(path "t2-$g" 'TSC ticks each, average' 2)"
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
echo
echo "   Next: nested (docs/hypervisors.md). Run one yourself:"
echo "   build/nestlab run $type2 --module $l2/apictimer.elf --module $l2/cpubound.elf --stats"
