#!/bin/sh
# The debugger window (docs/gui.md) under Xvfb: scripted sessions on the
# type-1 demo, checked through the text every pane drew (--dump-text,
# the script's dump) and the screenshots' size; bad input. Without Xvfb
# only the bad input that needs no display is checked.
# Usage: gui.sh BUILD NESTLAB
set -u
build=$1
nl=$2
. tests/testlib.sh
type1=$build/guests/type1/type1.elf
hello=$build/guests/l2/hello64.elf
mmio=$build/guests/l2/mmio.elf

# has NAME FILE PHRASE: the dump FILE has PHRASE.
has() {
	if ! grep -q -- "$3" "$2"; then
		echo "FAIL $1: no \"$3\" on screen"
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
}

# png_size NAME FILE W H: FILE is a PNG of W x H pixels.
png_size() {
	size=$(od -An -tu1 -j16 -N8 "$2" 2>/dev/null | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}')
	if [ "$(head -c 4 "$2" 2>/dev/null | od -An -c | tr -d ' ')" != "211PNG" ] || [ "$size" != "$3x$4" ]; then
		echo "FAIL $1: $2 is not a ${3}x$4 PNG (${size:-missing})"
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
}

echo "quit" >"$dir/quit.txt"
check no-display 16 "nestlab run" -- env -u DISPLAY -u WAYLAND_DISPLAY "$nl" gui "$type1" --module "$hello"
check no-display-pt 16 "Use 'nestlab run'" -- env -u DISPLAY -u WAYLAND_DISPLAY "$nl" gui "$type1" --lang en
check too-small 2 "too small" -- "$nl" gui "$type1" --size 800x600
check bad-size 2 "bad window size" -- "$nl" gui "$type1" --size big
check shot-needs-script 2 "needs --script" -- "$nl" gui "$type1" --screenshot "$dir/x.png"
check kvm-refused 2 "does not apply" -- "$nl" gui "$type1" --backend kvm
check no-image 2 "needs an image" -- "$nl" gui
printf 'step\nfly 3\n' >"$dir/bad.txt"
check bad-script 2 "bad.txt:2: unknown command 'fly'" -- "$nl" gui "$type1" --script "$dir/bad.txt"
printf 'key nosuchkey\n' >"$dir/badkey.txt"
check bad-key 2 "unknown key 'nosuchkey'" -- "$nl" gui "$type1" --script "$dir/badkey.txt"

if ! command -v xvfb-run >/dev/null || ! command -v Xvfb >/dev/null; then
	echo "gui: skipping the window tests: Xvfb is not installed (apt-get install xvfb xauth)"
	echo "gui: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi
x() {
	xvfb-run -a -s '-screen 0 1600x1000x24' "$@"
}
# Under make asan: SDL's video drivers (Mesa, D-Bus, fontconfig) keep
# memory to the end on purpose; LeakSanitizer would call that a leak. The
# window's own memory errors are still caught.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

check missing-image 4 "cannot read" -- x "$nl" gui "$dir/nosuch.elf" --script "$dir/quit.txt"
check no-font 16 "no monospace font" -- env NESTLAB_FONT=/nonexistent.ttf xvfb-run -a -s '-screen 0 1600x1000x24' \
	"$nl" gui "$type1" --module "$hello" --script "$dir/quit.txt"

# The type-1 demo: to the first VMLAUNCH, into the guest, its first exit.
cat >"$dir/type1.txt" <<EOS
run-to-entry
step-back
dump $dir/launch.txt
screenshot $dir/launch.png
key PageDown
key PageDown
dump $dir/launch2.txt
key PageUp
key PageUp
step
dump $dir/guest.txt
run-to-exit
dump $dir/exit.txt
back-to-exit
lang pt-BR
goto-exit 1
key F1
EOS
check type1-script 0 "" -- x "$nl" gui "$type1" --module "$hello" --script "$dir/type1.txt" \
	--screenshot "$dir/end.png" --dump-text "$dir/end.txt"
has launch-code "$dir/launch.txt" "^\[Code\] vmlaunch"
has launch-host "$dir/launch.txt" "type1: hypervisor, VMX root operation"
has launch-symbol "$dir/launch.txt" "^\[Code\] vmx_enter+0x"
has launch-vmcs "$dir/launch2.txt" "^\[VMCS\] GUEST_RIP"
has launch-ept "$dir/launch.txt" "^\[VMCS\] EPT$"
has launch-vpid "$dir/launch.txt" "^\[VMCS\] VPID$"
has guest-level "$dir/guest.txt" "^\[Levels\] ▶ L2"
has guest-status "$dir/guest.txt" "VM entry: the guest's first instruction is next"
has exit-status "$dir/exit.txt" "VM exit: 10 CPUID"
has exit-reason "$dir/exit.txt" "(10 CPUID)"
has exit-levels "$dir/exit.txt" "last exit: CPUID at guest RIP 100041"
has exit-timeline "$dir/exit.txt" "1 entries, 1 exits"
has exit-console "$dir/exit.txt" "type1: guest 0 is hello64"
has goto-exit "$dir/end.txt" "saída de VM: 10 CPUID"
has lang-pt "$dir/end.txt" "^\[Registradores\] Registradores"
has lang-pt-vmcs "$dir/end.txt" "área de estado do convidado"
has help-pt "$dir/end.txt" "executa até a próxima saída de VM"
png_size launch-shot "$dir/launch.png" 1440 900
png_size end-shot "$dir/end.png" 1440 900

# An EPT violation (the mmio guest's device page) and its walk.
cat >"$dir/ept.txt" <<EOS
break-exit 48
continue
EOS
check ept-script 0 "" -- x "$nl" gui "$type1" --module "$mmio" --script "$dir/ept.txt" \
	--dump-text "$dir/ept.dump" --size 1280x800
has ept-exit "$dir/ept.dump" "VM exit: 48 EPT violation"
has ept-walk "$dir/ept.dump" "^\[Walk\] feb00000, the guest's page tables + EPT"
has ept-fail "$dir/ept.dump" "^\[Walk\] EPT violation: this entry does not allow the access"

# Nested: type1 is L2, its guest L3, and the guest's I/O exit goes to L1.
cat >"$dir/nested.txt" <<EOS
break-exit 30
continue
dump $dir/nested.dump
EOS
check nested-script 0 "" -- x "$nl" gui "$build/guests/nested/nested.elf" --module "$type1" \
	--module "$hello" --script "$dir/nested.txt"
has nested-l3 "$dir/nested.dump" "^\[Levels\] guest of type1, its VPID 1"
has nested-l2 "$dir/nested.dump" "^\[Levels\] type1 hypervisor, VPID 1"
has nested-l1 "$dir/nested.dump" "^\[Levels\] nested: hypervisor, VMX root operation"

# Breakpoints and the run-time budget of a frame: a step redraws at once.
cat >"$dir/bp.txt" <<EOS
run-to-entry
step-back
break 0x105661
continue
dump $dir/bp.dump
EOS
check breakpoint 0 "" -- x "$nl" gui "$type1" --module "$hello" --script "$dir/bp.txt"
has bp-hit "$dir/bp.dump" "breakpoint at 105661"

echo "gui: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
