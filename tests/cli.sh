#!/bin/sh
# nestlab run on bad input and on guests that misbehave: each case checks
# the exit status and a phrase of the one-line message. Usage: cli.sh NESTLAB
set -u
nl=$1
. tests/testlib.sh

printf '\353\376' >"$dir/loop.bin"                      # jmp $
printf '\260\005\346\364' >"$dir/exit5.bin"             # mov al,5; out 0xf4,al
printf '\017\013' >"$dir/ud2.bin"                       # ud2
# wait for COM1's LSR.DR, read RBR, print it on 0xE9, halt (real mode)
printf '\272\375\003\354\250\001\164\370\272\370\003\354\346\351\372\364' >"$dir/echo.bin"
printf 'Z' >"$dir/input.txt"
# real mode: IRQ0 handler in the IVT, PIT at 18.2 Hz, then sti; hlt forever
printf '\372\307\006\040\000\037\174\307\006\042\000\000\000\260\064\346\103\260\000\346\100\346\100\260\376\346\041\373\364\353\374\120\260\040\346\040\130\317' >"$dir/idle.bin"
head -c 4096 /dev/urandom | tr '\177' 'x' >"$dir/random.bin"
: >"$dir/empty.bin"
mbimage "$dir/triple.elf" '\017\013'                    # ud2 with no IDT
mbimage "$dir/hello.elf" '\260\150\346\351\260\151\346\351\372\364'  # "hi" on 0xE9, cli, hlt
# an INIT IPI to itself (ICR low = 0x4500), then jmp $
mbimage "$dir/init.elf" '\307\005\000\003\340\376\000\105\000\000\353\376'
img=build/guests/tests/cpuid.elf
[ -f "$img" ] && head -c 3000 "$img" >"$dir/truncated.elf"

check usage 2 "usage" -- "$nl"
check unknown-command 2 "unknown command" -- "$nl" frobnicate
check unknown-option 2 "unknown option '--frob'" -- "$nl" run --frob x
check missing-value 2 "needs a value" -- "$nl" run "$dir/loop.bin" --mem
check bad-mem 2 "between 2 and 65536" -- "$nl" run "$dir/loop.bin" --mem 1
check bad-bits 2 "16, 32 or 64" -- "$nl" run "$dir/loop.bin" --bits 8
check no-image 2 "needs an image" -- "$nl" run --stats
check load-without-bits 2 "only applies to flat" -- "$nl" run "$dir/loop.bin" --load 0x1000
check missing-file 4 "cannot read" -- "$nl" run "$dir/nope.elf"
check empty-file 4 "is empty" -- "$nl" run "$dir/empty.bin"
check not-bootable 4 "not a bootable image" -- "$nl" run "$dir/random.bin"
[ -f "$img" ] && check truncated 4 "truncated" -- "$nl" run "$dir/truncated.elf"
check missing-module 4 "cannot read" -- "$nl" run "$dir/hello.elf" --module "$dir/nope.mod"
check too-big 4 "does not fit" -- "$nl" run "$dir/random.bin" --bits 32 --load 0x1ff800 --mem 2 --max-insns 10
check budget 8 "after 1000 instructions" -- "$nl" run "$dir/loop.bin" --bits 32 --max-insns 1000
check timeout 8 "timeout" -- "$nl" run "$dir/loop.bin" --bits 64 --timeout 0.3
check debug-exit 11 "" -- "$nl" run "$dir/exit5.bin" --bits 16 --load 0x7c00
check idle-forever 8 "virtual time" -- "$nl" run "$dir/idle.bin" --bits 16 --load 0x7c00
check flat-exception 6 "#UD" -- "$nl" run "$dir/ud2.bin" --bits 64
check triple-fault 10 "triple fault" -- "$nl" run "$dir/triple.elf"
check init-reset 12 "INIT signal" -- "$nl" run "$dir/init.elf"
check halt 0 "" -- "$nl" run "$dir/hello.elf"
check console 0 "hi" -- "$nl" run "$dir/hello.elf"
check serial-input 0 "Z" -- "$nl" run "$dir/echo.bin" --bits 16 --load 0x7c00 --input "$dir/input.txt"
check serial-stdin 0 "Q" -- sh -c "printf Q | $nl run $dir/echo.bin --bits 16 --load 0x7c00"
check portuguese 2 "opção desconhecida" -- "$nl" run --lang pt-BR --frob
check lang-env 4 "não é uma imagem" -- env LANG=pt_BR.UTF-8 "$nl" run "$dir/random.bin"
check trace-needs-file 2 "needs --trace" -- "$nl" run "$dir/hello.elf" --trace-walks
check trace-unwritable 4 "cannot write" -- "$nl" run "$dir/hello.elf" --trace /nonexistent/dir/t.jsonl

# Plain ELF images (no Multiboot header): ELF64 starts in 64-bit mode on
# identity page tables, ELF32 in flat protected mode.
cat >"$dir/plain.c" <<'EOC'
static inline void outb(unsigned short p, unsigned char v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(p));
}
void _start(void)
{
	const char *s = "plain elf\n";
	while (*s)
		outb(0xe9, *s++);
	*(volatile unsigned *)0x40001000ul = 0x1234; /* above 1 GiB */
	outb(0xf4, *(volatile unsigned *)0x40001000ul == 0x1234 ? 0x10 : 0x11);
	for (;;)
		;
}
EOC
for bits in 64 32; do
	if ${CC:-cc} -m$bits -O2 -ffreestanding -nostdlib -static -no-pie -fno-pic \
	    -Wl,-Ttext=0x200000 -Wl,--build-id=none "$dir/plain.c" -o "$dir/plain$bits.elf" 2>/dev/null; then
		check plain-elf$bits 33 "plain elf" -- "$nl" run "$dir/plain$bits.elf" --mem 2048
	fi
done

# VT-x: a hypervisor's failed VM entries are summed up with the check that
# failed, and --stats counts the exits by reason; in Portuguese too.
vmx=build/guests/tests/vmx_entry.elf
if [ -f "$vmx" ]; then
	check vmx-failed-entry 33 "VM entries failed; the last, at RIP" -- "$nl" run "$vmx" --stats
	check vmx-exit-reasons 33 "VMCALL" -- "$nl" run "$vmx" --stats
	check vmx-failed-entry-pt 33 "entradas de VM falharam" -- "$nl" run "$vmx" --stats --lang pt-BR
	# the trace: VMX instruction results, VM entries with the check that
	# failed, VM exits with the fields they changed
	check vmx-trace 33 "" -- "$nl" run "$vmx" --trace "$dir/vmx.jsonl"
	for want in '"t":"vmx_insn".*"insn":"VMWRITE","result":"VMsucceed","field":"GUEST_RIP"' \
		    '"t":"vmx_insn".*"result":"VMfailValid","vm_error":7' \
		    '"t":"vmentry".*"ok":false.*"check":' \
		    '"t":"vmexit".*"changed":{"VM_EXIT_REASON"'; do
		if ! grep -q "$want" "$dir/vmx.jsonl"; then
			echo "FAIL vmx-trace: no record matching $want"
			fail=$((fail + 1))
		fi
	done
fi

# Determinism: the same image twice gives the same event stream, event for
# event (timers, interrupts and all), and the same serial output.
det=build/guests/tests/interrupts.elf
if [ -f "$det" ]; then
	"$nl" run "$det" --trace "$dir/t1.jsonl" >"$dir/o1" 2>&1
	"$nl" run "$det" --trace "$dir/t2.jsonl" >"$dir/o2" 2>&1
	if cmp -s "$dir/t1.jsonl" "$dir/t2.jsonl" && cmp -s "$dir/o1" "$dir/o2" &&
	   [ "$(grep -c '"t":"interrupt"' "$dir/t1.jsonl")" -gt 0 ]; then
		pass=$((pass + 1))
	else
		echo "FAIL determinism: two runs of $det differ (or took no interrupt)"
		fail=$((fail + 1))
	fi
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
