#!/bin/sh
# The gdb stub, driven by gdb itself in batch mode: a breakpoint in a guest,
# a step, registers and memory, a reverse step back onto the breakpoint,
# reverse-continue to the start, the monitor commands; and a client that
# sends garbage. Skipped (with the reason) when gdb is not installed.
# Usage: gdb.sh BUILD NESTLAB
set -u
build=$1
nl=$2
. tests/testlib.sh
if ! command -v gdb >/dev/null 2>&1; then
	echo "gdb.sh: skipped: gdb is not installed (make deps installs it)"
	exit 0
fi
img=$build/guests/tests/cpuid.elf
syms=$img.64

# start_stub: nestlab run --gdb 0 in the background; $port is the port it
# printed, $pid the process.
start_stub() {
	"$nl" run "$img" --gdb 0 "$@" >"$dir/guest.out" 2>"$dir/stub.err" &
	pid=$!
	port=
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/stub.err")
		[ -n "$port" ] && break
		sleep 0.1
	done
}

# want NAME PATTERN: PATTERN (grep -E) is in gdb's output.
want() {
	if grep -Eq -- "$2" "$dir/gdb.out"; then
		pass=$((pass + 1))
	else
		echo "FAIL gdb-$1: no /$2/ in gdb's output"
		sed 's/^/  | /' "$dir/gdb.out" | tail -30
		fail=$((fail + 1))
	fi
}

start_stub
kmain=$(nm "$syms" | sed -n 's/^0*\([0-9a-f]*\) T kmain$/\1/p')
timeout 60 gdb -batch -nx -ex "file $syms" -ex "target remote 127.0.0.1:$port" \
	-ex 'break kmain' -ex continue -ex stepi -ex 'info registers rip' \
	-ex 'x/2xb $rip' -ex 'p/x $cr0' -ex 'p/x $cs' -ex reverse-stepi -ex 'info registers rip' \
	-ex 'monitor level' -ex 'monitor walk 0x100000' -ex 'monitor vmcs' -ex 'monitor snapshots' \
	-ex 'x/4xb 0x7ffffffffff0' -ex 'delete' -ex reverse-continue -ex 'info registers rip' \
	-ex continue >"$dir/gdb.out" 2>&1
wait "$pid"
status=$?
want breakpoint "Breakpoint 1, 0x0*$kmain in kmain"
want stepi-rip "^rip +0x[0-9a-f]+ +0x[0-9a-f]+ <kmain\+[0-9]+>"
want memory "<kmain\+[0-9]+>:[[:space:]]+0x[0-9a-f]{2}[[:space:]]+0x[0-9a-f]{2}"
want cr0 '^\$1 = 0x8[0-9a-f]{7}'
want reverse-stepi "^rip +0x0*$kmain +0x0*$kmain <kmain>"
want monitor-level "level: outside VMX operation"
want monitor-walk "level 4: entry at"
want monitor-vmcs "no current VMCS"
want monitor-snapshots "snapshots held"
want unmapped "Cannot access memory at address 0x7ffffffffff0"
want reverse-continue "No more reverse-execution history"
want exited "exited with code 041"
if [ "$status" -ne 33 ]; then
	echo "FAIL gdb-status: nestlab ended with $status, expected 33 (the guest's exit)"
	fail=$((fail + 1))
fi

# A client that sends malformed packets gets error or empty replies, and
# the stub survives to serve a well-formed one.
start_stub --max-insns 1000
if command -v python3 >/dev/null 2>&1; then
	python3 - "$port" >"$dir/gdb.out" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def pkt(d):
    return b"$" + d + b"#" + b"%02x" % (sum(d) & 0xff)
def ask(d):
    s.sendall(pkt(d))
    buf = b""
    while not (b"#" in buf and len(buf) >= buf.index(b"#") + 3):
        buf += s.recv(4096)
    s.sendall(b"+")
    return buf[buf.index(b"$") + 1:buf.index(b"#")].decode()
s.sendall(b"$m100000,4#00")            # bad checksum: a '-' back
print("nak", s.recv(1).decode())
for d in [b"mzz", b"m100000", b"mffffffffffff0000,10", b"M100000,2:zz", b"p999",
          b"Z9,0,0", b"qXfer:features:read:other.xml:0,10", b"m" + b"1" * 5000]:
    print(d[:30].decode(), "->", repr(ask(d)))
print("regs", len(ask(b"g")))
s.sendall(pkt(b"k"))
PY
	wait "$pid"
	status=$?
	if [ "$status" -ne 20 ] || ! grep -q "gdb ended the run" "$dir/stub.err"; then
		echo "FAIL gdb-kill: after k nestlab ended with $status, expected 20 and why"
		sed 's/^/  | /' "$dir/stub.err"
		fail=$((fail + 1))
	else
		pass=$((pass + 1))
	fi
	for r in "nak -" "mzz -> 'E01'" "mffffffffffff0000,10 -> 'E14'" "p999 -> 'E01'" \
		"M100000,2:zz -> 'E01'" "Z9,0,0 -> ''" "other.xml: -> 'E00'" "regs 1200"; do
		want malformed "$r"
	done
else
	kill "$pid"
	wait "$pid"
fi

# A register gdb writes starts the history again: reverse-stepi cannot go
# back past the write, and a step back after a step forward keeps it.
start_stub
timeout 60 gdb -batch -nx -ex "file $syms" -ex "target remote 127.0.0.1:$port" \
	-ex 'break kmain' -ex continue -ex stepi -ex 'set $rax = 0x1234' -ex reverse-stepi \
	-ex stepi -ex reverse-stepi -ex 'p/x $rax' -ex kill >"$dir/gdb.out" 2>&1
wait "$pid"
want write-starts-history "No more reverse-execution history"
want write-survives-reverse '^\$1 = 0x1234$'

# detach at a breakpoint: the guest runs on alone to its end.
start_stub
timeout 60 gdb -batch -nx -ex "file $syms" -ex "target remote 127.0.0.1:$port" \
	-ex 'break kmain' -ex continue -ex detach >"$dir/gdb.out" 2>&1
wait "$pid"
status=$?
want detach-at-breakpoint "Inferior 1 \(Remote target\) detached"
if [ "$status" -ne 33 ]; then
	echo "FAIL gdb-detach: nestlab ended with $status after detach, expected 33 (the guest's exit)"
	sed 's/^/  | /' "$dir/stub.err"
	fail=$((fail + 1))
fi

echo "gdb.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
