#!/bin/sh
# make demo: the same small guests (guests/l2) bare on the machine and
# under the bare-metal hypervisor type1, side by side.
# Usage: run.sh BUILD NESTLAB
set -u
build=$1
nl=$2
l2=$build/guests/l2
type1=$build/guests/type1/type1.elf
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

bold "nestlab demo: the same guests bare, and under a bare-metal hypervisor"
echo
echo "Each guest in guests/l2 is an ordinary Multiboot kernel. First each boots"
echo "alone on the machine; then type1 (guests/type1), a type-1 hypervisor, boots"
echo "and runs four of them at once in VMs of their own, with EPT, time slices of"
echo "its VMX-preemption timer, a virtual serial port and an emulated device."
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
bold "2. Under type1: four guests share the CPU"
echo "   \$ nestlab run type1.elf --module cpuid.elf --module mmio.elf \\"
echo "         --module apictimer.elf --module cpubound.elf"
echo "   (cpubound computes while apictimer waits for its timer in HLT)"
run together "$type1" --module "$l2/cpuid.elf" --module "$l2/mmio.elf" \
	--module "$l2/apictimer.elf" --module "$l2/cpubound.elf"
grep -v '^\[[a-z0-9]*\] # ' "$dir/together.out" | sed 's/^/   /'
echo
rule
bold "3. Side by side: each guest alone, bare and under type1"
for g in $guests; do
	run "t1-$g" "$type1" --module "$l2/$g.elf"
done
printf '   %-10s %-8s %12s %12s %9s %13s\n' guest output "bare insns" "type1 insns" "VM exits" "insns / exit"
for g in $guests; do
	grep -v '^# ' "$dir/bare-$g.out" >"$dir/a"
	sed -n "s/^\[$g\] //p" "$dir/t1-$g.out" | grep -v '^# ' >"$dir/b"
	if cmp -s "$dir/a" "$dir/b"; then same=same; else same="differs*"; fi
	b=$(insns "bare-$g") t=$(insns "t1-$g") x=$(exits "t1-$g")
	per=$(( (t - b) / (x > 0 ? x : 1) ))
	printf '   %-10s %-8s %12s %12s %9s %13s\n' "$g" "$same" "$b" "$t" "$x" "$per"
done
echo
echo "   * cpuid and mmio look for their hypervisor (CPUID leaf 0x40000000, the"
echo "     device at 0xFEB00000): bare they find none, under type1 they do."
echo "   insns / exit: the extra instructions per VM exit, type1's code and the"
echo "   guest's set-up together: the cost of one trip through the hypervisor, in"
echo "   nestlab's virtual time (1 ns per instruction)."
echo
echo "   Next: the same guests under a hosted (type-2) hypervisor and nested"
echo "   (docs/hypervisors.md). Run one yourself:"
echo "   build/nestlab run $type1 --module $l2/cpubound.elf --module $l2/cpubound.elf --stats"
