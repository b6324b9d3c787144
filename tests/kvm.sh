#!/bin/sh
# The KVM backend: bad input everywhere; where /dev/kvm is usable, the
# guests on both backends with their outputs compared, the misbehaving
# guests of cli.sh, hypervisor images, and nestlab compare (table and
# JSON). Where KVM itself cannot run a test guest (QEMU on the same KVM
# fails it too), the test is skipped with the reason, never failed.
# Usage: kvm.sh BUILD NESTLAB "QEMU KVM COMMAND AND FLAGS"
set -u
build=$1 nl=$2 qkvm=$3
. tests/testlib.sh
skipped=0

printf '\353\376' >"$dir/loop.bin"                      # jmp $
printf '\260\005\346\364' >"$dir/exit5.bin"             # mov al,5; out 0xf4,al
# wait for COM1's LSR.DR, read RBR, print it on 0xE9, halt (real mode)
printf '\272\375\003\354\250\001\164\370\272\370\003\354\346\351\372\364' >"$dir/echo.bin"
printf 'Z' >"$dir/input.txt"
mbimage "$dir/triple.elf" '\017\013'                    # ud2 with no IDT
mbimage "$dir/hello.elf" '\260\150\346\351\260\151\346\351\372\364'  # "hi" on 0xE9, cli, hlt

# Bad input: these need no KVM.
check bad-backend 2 "must be interp or kvm" -- "$nl" run "$dir/loop.bin" --bits 32 --backend bogus
check kvm-max-insns 2 "KVM counts no instructions" -- \
	"$nl" run "$dir/loop.bin" --bits 32 --backend kvm --max-insns 10
check kvm-trace 2 "needs the interpreter" -- \
	"$nl" run "$dir/hello.elf" --backend kvm --trace "$dir/t.jsonl"
check kvm-unreadable 4 "cannot read" -- "$nl" run "$dir/nope.elf" --backend kvm
check kvm-no-device 14 "does not exist" -- \
	env NESTLAB_KVM_DEVICE=/nonexistent "$nl" run "$dir/hello.elf" --backend kvm
check kvm-no-device-pt 14 "não existe" -- \
	env NESTLAB_KVM_DEVICE=/nonexistent "$nl" run "$dir/hello.elf" --backend kvm --lang pt-BR
check kvm-not-kvm 14 "API version" -- \
	env NESTLAB_KVM_DEVICE=/dev/null "$nl" run "$dir/hello.elf" --backend kvm
check compare-no-device 14 "does not exist" -- \
	env NESTLAB_KVM_DEVICE=/nonexistent "$nl" compare "$dir/hello.elf"
check compare-trace 2 "does not apply to compare" -- "$nl" compare "$dir/hello.elf" --trace x

# Is KVM usable? Say why not in one line, and stop there.
why=""
if [ ! -e /dev/kvm ]; then
	why="no /dev/kvm (no KVM module, or no VT-x/AMD-V here)"
elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	why="/dev/kvm is not readable and writable by $(id -un) (the kvm group?)"
elif ! "$nl" run "$dir/hello.elf" --backend kvm --timeout 30 >/dev/null 2>"$dir/probe.err"; then
	why="nestlab cannot use KVM here: $(head -n 1 "$dir/probe.err")"
fi
if [ -n "$why" ]; then
	echo "kvm: $why; not running guests on KVM"
	echo "kvm: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi

# The misbehaving guests of cli.sh end the same way on KVM.
check kvm-timeout 8 "on KVM (--timeout)" -- "$nl" run "$dir/loop.bin" --bits 32 --backend kvm --timeout 0.3
check kvm-debug-exit 11 "" -- "$nl" run "$dir/exit5.bin" --bits 16 --load 0x7c00 --backend kvm
check kvm-triple 10 "triple fault on KVM" -- "$nl" run "$dir/triple.elf" --backend kvm
check kvm-halt 0 "hi" -- "$nl" run "$dir/hello.elf" --backend kvm
check kvm-serial-input 0 "Z" -- \
	"$nl" run "$dir/echo.bin" --bits 16 --load 0x7c00 --input "$dir/input.txt" --backend kvm
check kvm-stats 1 "exits to user space" -- "$nl" run build/guests/l2/ioloop.elf --backend kvm --stats

# same NAME IMAGE WANT [ARGS...]: IMAGE on both backends, both ending with
# status WANT and the same output once the "# " lines are dropped.
same() {
	name=$1 img=$2 want=$3
	shift 3
	"$nl" run "$img" --max-insns 4000000000 "$@" </dev/null >"$dir/$name.int" 2>&1
	is=$?
	"$nl" run "$img" --backend kvm --timeout 60 "$@" </dev/null >"$dir/$name.kvm" 2>&1
	ks=$?
	echo $is >"$dir/$name.int.status"
	echo $ks >"$dir/$name.kvm.status"
	grep -v '^# ' "$dir/$name.int" >"$dir/a"
	grep -v '^# ' "$dir/$name.kvm" >"$dir/b"
	if [ $is = "$want" ] && [ $ks = "$want" ] && cmp -s "$dir/a" "$dir/b"; then
		pass=$((pass + 1))
		return 0
	fi
	return 1
}

say_fail() {
	echo "FAIL $1: interpreter status $is, KVM status $ks$2"
	diff -u "$dir/a" "$dir/b" | head -n 12 | sed 's/^/  | /'
	fail=$((fail + 1))
}

# The L2 guests: the same output on both, always.
for img in "$build"/guests/l2/*.elf; do
	g=$(basename "$img" .elf)
	same "l2-$g" "$img" 1 || say_fail "l2-$g" ""
done

# The test guests. A VMX one on a KVM that offers no VMX must be refused
# in one line; the others must match, unless QEMU on this same KVM fails
# them too (a limit of this host's KVM: its vendor, what it emulates).
# Those QEMU runs go in the background, all at once, as in l2.sh.
suspects=""
for src in guests/tests/*.c; do
	t=$(basename "$src" .c)
	img=$build/guests/tests/$t.elf
	eval "set -- $(sed -n 's|^// qemu-args: ||p' "$src" | sed 's/-append/--append/; s/-initrd/--module/')"
	if grep -q '^// oracle: sdm$' "$src" &&
	   "$nl" run "$img" --backend kvm "$@" </dev/null 2>&1 | grep -q "offers no VMX"; then
		pass=$((pass + 1))
		continue
	fi
	same "$t" "$img" 33 "$@" && continue
	if [ $is = 33 ] && [ $ks != 33 ]; then
		suspects="$suspects $t"
		eval "set -- $(sed -n 's|^// qemu-args: ||p' "$src")"
		(timeout 20 $qkvm -kernel "$img" "$@" </dev/null >"$dir/$t.qemu" 2>&1
		 echo $? >"$dir/$t.qemu.status") &
	else
		say_fail "$t" ""
	fi
done
wait
for t in $suspects; do
	if [ "$(cat "$dir/$t.qemu.status")" != 33 ]; then
		echo "kvm: $t skipped: KVM here fails it under QEMU too ($(grep -m1 FAIL "$dir/$t.kvm" || tail -n 1 "$dir/$t.kvm"))"
		skipped=$((skipped + 1))
	else
		grep -v '^# ' "$dir/$t.int" >"$dir/a"
		grep -v '^# ' "$dir/$t.kvm" >"$dir/b"
		is=$(cat "$dir/$t.int.status") ks=$(cat "$dir/$t.kvm.status")
		say_fail "$t" " (QEMU on this KVM passes it)"
	fi
done

# Hypervisor images: refused in one line where KVM offers no VMX, and
# compared through their modules.
t1=$build/guests/type1/type1.elf
if "$nl" run "$t1" --backend kvm --module "$build/guests/l2/hello64.elf" 2>&1 | grep -q "offers no VMX"; then
	check kvm-type1-no-vmx 14 "offers no VMX" -- \
		"$nl" run "$t1" --backend kvm --module "$build/guests/l2/hello64.elf"
	check compare-type1-bare 0 "each of its modules runs bare" -- \
		"$nl" compare "$t1" --module "$build/guests/l2/hello64.elf" --module "$build/guests/l2/ioloop.elf"
	check compare-type1-no-modules 14 "no --module" -- "$nl" compare "$t1"
fi

# nestlab compare: the table, and the same as JSON with its fields.
check compare-table 0 "serial output: identical" -- "$nl" compare "$build/guests/l2/apictimer.elf"
check compare-table-pt 0 "saída serial: idêntica" -- \
	"$nl" compare "$build/guests/l2/hello32.elf" --lang pt-BR
check compare-json 0 "" -- "$nl" compare "$build/guests/l2/ioloop.elf" --json
if command -v python3 >/dev/null 2>&1; then
	if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = d["comparisons"][0]
assert c["serial_identical"] and c["same"]
for side in ("interpreter", "kvm"):
    s = c[side]
    for f in ("status", "end", "wall_seconds", "instructions", "user_exits",
              "user_exits_by_reason", "kernel_exits", "seconds_per_exit", "serial"):
        assert f in s, (side, f)
assert c["interpreter"]["instructions"] > 0 and c["kvm"]["instructions"] is None
assert c["kvm"]["user_exits_by_reason"]["KVM_EXIT_IO"] >= 2000
' "$dir/out"; then
		pass=$((pass + 1))
	else
		echo "FAIL compare-json: the JSON lacks a field (see above)"
		fail=$((fail + 1))
	fi
fi

echo "kvm: $pass passed, $fail failed, $skipped skipped (KVM here cannot run them)"
[ "$fail" -eq 0 ]
