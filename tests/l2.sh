#!/bin/sh
# The L2 guests (guests/l2/*.c) booted bare, with no hypervisor of ours
# under them: on nestlab, on QEMU TCG where QEMU is installed, and on KVM
# where /dev/kvm is usable. Each must print "NAME: done" last and end by
# writing 0 to isa-debug-exit (exit status 1), and its serial output must
# be the same on every machine once the informational "# " lines are
# dropped.
# Usage: l2.sh BUILD NESTLAB "QEMU TCG COMMAND AND FLAGS" \
#              "QEMU KVM COMMAND AND FLAGS" [GUEST...]
set -u
build=$1 nl=$2 tcg=$3 kvm=$4
shift 4
guests=${*:-$(ls guests/l2/*.c | sed 's|.*/||; s|\.c$||')}
dir=$build/guests/l2
pass=0
fail=0

# Which machines there are besides nestlab; when one is missing, say why
# in one line.
machines=nestlab
if command -v "${tcg%% *}" >/dev/null 2>&1; then
	machines="$machines tcg"
else
	echo "l2: ${tcg%% *} not found; not running on QEMU TCG"
fi
if ! command -v "${kvm%% *}" >/dev/null 2>&1; then
	echo "l2: ${kvm%% *} not found; not running on KVM"
elif [ ! -e /dev/kvm ]; then
	echo "l2: no /dev/kvm (no KVM module, or no VT-x/AMD-V here); not running on KVM"
elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "l2: /dev/kvm is not readable and writable by $(id -un) (the kvm group?); not running on KVM"
elif ! echo quit | timeout 20 "${kvm%% *}" -accel kvm -M none -nodefaults -display none \
		-monitor stdio >/dev/null 2>"$dir/kvm-probe.err"; then
	echo "l2: QEMU cannot use KVM ($(head -n 1 "$dir/kvm-probe.err")); not running on KVM"
else
	machines="$machines kvm"
fi

name() {
	case $1 in
	nestlab) echo nestlab ;;
	tcg) echo "QEMU TCG" ;;
	kvm) echo KVM ;;
	esac
}

# All the machines' names, "a, b and c".
names=$(for m in $machines; do name $m; done |
	sed -n '1h; 1!H; ${x; s/\n\([^\n]*\)$/ and \1/; s/\n/, /g; p}')

# run MACHINE GUEST: boot it, leave its output in GUEST.MACHINE.out and
# its exit status in GUEST.MACHINE.status.
run() {
	img=$dir/$2.elf
	rm -f "$dir/$2.$1.diff"
	case $1 in
	nestlab) timeout 60 $nl run "$img" --max-insns 2000000000 ;;
	tcg) timeout 60 $tcg -kernel "$img" ;;
	kvm) timeout 300 $kvm -kernel "$img" ;;
	esac </dev/null >"$dir/$2.$1.out" 2>"$dir/$2.$1.err"
	echo $? >"$dir/$2.$1.status"
}

# The KVM runs start first, all at once in the background: KVM boots in a
# fraction of a second on a machine of its own, but can take seconds
# under nested virtualization.
case $machines in
*kvm*) for g in $guests; do run kvm $g & done ;;
esac
for g in $guests; do
	for m in $machines; do
		[ $m = kvm ] || run $m $g
	done
done
wait

for g in $guests; do
	why=""
	for m in $machines; do
		out=$dir/$g.$m.out
		status=$(cat "$dir/$g.$m.status")
		grep -v '^# ' "$out" >"$dir/$g.$m.cmp"
		if [ $status != 1 ]; then
			why="exit status $status on $(name $m), not 1"
		elif [ "$(tail -n 1 "$out")" != "$g: done" ]; then
			# QEMU's own errors end it with status 1 too.
			why="no \"$g: done\" at the end of its output on $(name $m)"
		elif [ $m != nestlab ] &&
		     ! diff -u "$dir/$g.nestlab.cmp" "$dir/$g.$m.cmp" >"$dir/$g.$m.diff"; then
			why="output on $(name $m) differs from nestlab's (see $dir/$g.$m.diff)"
		fi
		if [ -n "$why" ]; then
			echo "$g: $why"
			tail -n 5 "$out" "$dir/$g.$m.err" 2>/dev/null | sed 's/^/    /'
			[ -s "$dir/$g.$m.diff" ] && head -n 20 "$dir/$g.$m.diff" | sed 's/^/    /'
			break
		fi
	done
	if [ -z "$why" ]; then
		if [ "$machines" = nestlab ]; then
			echo "$g: exit status 1 on nestlab"
		else
			echo "$g: exit status 1 and the same output on $names"
		fi
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
done
echo "l2: $pass passed, $fail failed"
[ $fail = 0 ]
