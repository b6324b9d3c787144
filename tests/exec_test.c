/* The run loop, faults, self-modifying code, budgets and the devices, on
 * small hand-assembled programs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "emu/bus.h"
#include "emu/cpu.h"
#include "emu/cpuid.h"
#include "tests/one_irq.h"

#define CODE 0x1000u
#define RAM  (1u << 20)

static struct cpu *load(int code_sz, const void *code, size_t len)
{
	struct cpu *c = emu_new(RAM);
	cr_assert_not_null(c);
	emu_reset_flat(c, code_sz);
	cr_assert(emu_phys_write(c, CODE, code, len));
	c->rip = CODE;
	c->gpr[R_SP] = 0x8000;
	return c;
}

#define LOAD(sz, s) load(sz, s, sizeof(s) - 1)

Test(exec, divide_error_leaves_state_and_points_at_div)
{
	/* mov eax, 7; xor ecx, ecx; div ecx */
	struct cpu *c = LOAD(SZ64, "\xb8\x07\x00\x00\x00\x31\xc9\xf7\xf1");
	cr_assert_eq(emu_run(c, 100), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_DE);
	cr_assert_not(c->exc.has_error);
	cr_assert_eq(c->rip, CODE + 7);
	cr_assert_eq(c->exc.rip, CODE + 7);
	cr_assert_eq(c->gpr[R_AX], 7);
	cr_assert_eq(c->icount, 2);
	emu_free(c);
}

Test(exec, ud2_and_unimplemented_opcodes_raise_ud)
{
	struct cpu *c = LOAD(SZ64, "\x90\x0f\x0b");
	cr_assert_eq(emu_run(c, 100), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_UD);
	cr_assert_eq(c->rip, CODE + 1);
	emu_free(c);
	/* x87 is not implemented: fld1 (d9 e8) is #UD, never a silent no-op */
	c = LOAD(SZ64, "\xd9\xe8");
	cr_assert_eq(emu_run(c, 100), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_UD);
	emu_free(c);
}

Test(exec, self_modifying_code_in_the_same_block)
{
	/* mov byte [rip+1], 0x42; mov al, 0; hlt -- the store patches the
	 * immediate of the next instruction, already decoded in this block. */
	struct cpu *c = LOAD(SZ64, "\xc6\x05\x01\x00\x00\x00\x42\xb0\x00\xf4");
	cr_assert_eq(emu_run(c, 100), EMU_STOP_HLT);
	cr_assert_eq(c->gpr[R_AX] & 0xff, 0x42);
	emu_free(c);
}

Test(exec, code_rewritten_between_runs)
{
	struct cpu *c = LOAD(SZ64, "\xb0\x01\xf4");
	cr_assert_eq(emu_run(c, 100), EMU_STOP_HLT);
	cr_assert_eq(c->gpr[R_AX] & 0xff, 1);
	emu_phys_write(c, CODE + 1, "\x02", 1);
	c->rip = CODE;
	c->halted = false;
	cr_assert_eq(emu_run(c, 100), EMU_STOP_HLT);
	cr_assert_eq(c->gpr[R_AX] & 0xff, 2);
	emu_free(c);
}

Test(exec, huge_rep_count_respects_the_budget)
{
	/* mov rcx, 1 << 40; mov edi, 0x10000; rep stosb */
	struct cpu *c = LOAD(SZ64, "\x48\xb9\x00\x00\x00\x00\x00\x01\x00\x00"
				   "\xbf\x00\x00\x01\x00\xf3\xaa");
	cr_assert_eq(emu_run(c, 12), EMU_STOP_BUDGET);
	/* two moves, then ten steps of the string instruction */
	cr_assert_eq(c->icount, 12);
	cr_assert_eq(c->rip, CODE + 15, "still on the rep stosb");
	uint64_t done = (1ull << 40) - c->gpr[R_CX];
	cr_assert_gt(done, 0);
	cr_assert_eq(c->gpr[R_DI], 0x10000 + done);
	emu_free(c);
}

Test(exec, rdtsc_counts_retired_instructions)
{
	/* nop; nop; nop; rdtsc */
	struct cpu *c = LOAD(SZ64, "\x90\x90\x90\x0f\x31\xf4");
	cr_assert_eq(emu_run(c, 100), EMU_STOP_HLT);
	cr_assert_eq(c->gpr[R_AX], 3);
	cr_assert_eq(c->gpr[R_DX], 0);
	emu_free(c);
}

Test(exec, cpuid_model)
{
	struct cpuid_leaf l;
	emu_cpuid(0, 0, &l);
	cr_assert_eq(l.ebx, 0x756e6547); /* "Genu" */
	cr_assert_eq(l.edx, 0x49656e69); /* "ineI" */
	cr_assert_eq(l.ecx, 0x6c65746e); /* "ntel" */
	emu_cpuid(1, 0, &l);
	cr_assert(l.edx & (1u << 15), "CMOV");
	cr_assert_not(l.edx & 1, "no x87 FPU");
	cr_assert_not(l.ecx & (1u << 5), "no VMX yet");
	/* past the last leaf: the highest basic leaf */
	struct cpuid_leaf hi;
	emu_cpuid(0x16, 0, &hi);
	emu_cpuid(0x1000, 0, &l);
	cr_assert_eq(memcmp(&l, &hi, sizeof l), 0);
}

Test(exec, segment_limit_in_real_mode)
{
	/* mov ax, [0xffff]: the word's second byte is past the 64 KiB limit */
	struct cpu *c = load(SZ16, "\xa1\xff\xff", 3);
	cr_assert_eq(emu_run(c, 10), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_GP);
	cr_assert_eq(c->exc.error, 0);
	emu_free(c);
	/* through SS: #SS */
	c = load(SZ16, "\x8b\x46\xff", 3); /* mov ax, [bp - 1] with bp = 0 -> 0xffff */
	cr_assert_eq(emu_run(c, 10), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_SS);
	emu_free(c);
}

Test(exec, instruction_across_a_page_boundary)
{
	struct cpu *c = emu_new(RAM);
	emu_reset_flat(c, SZ64);
	/* mov rax, imm64 starting 3 bytes before the end of a page */
	const uint8_t code[] = { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 0xf4 };
	emu_phys_write(c, 0x1ffd, code, sizeof code);
	c->rip = 0x1ffd;
	cr_assert_eq(emu_run(c, 10), EMU_STOP_HLT);
	cr_assert_eq(c->gpr[R_AX], 0x0807060504030201ull);
	emu_free(c);
}

Test(exec, fetch_outside_ram_reads_open_bus)
{
	/* No RAM there: the bytes read as 0xff, and ff ff is #UD. */
	struct cpu *c = emu_new(RAM);
	emu_reset_flat(c, SZ64);
	c->rip = RAM + 0x100;
	cr_assert_eq(emu_run(c, 10), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_UD);
	emu_free(c);
}

Test(exec, non_canonical_jump_is_gp_at_the_jump)
{
	/* mov rax, 0x0000800000000000; jmp rax */
	struct cpu *c = LOAD(SZ64, "\x48\xb8\x00\x00\x00\x00\x00\x80\x00\x00\xff\xe0");
	cr_assert_eq(emu_run(c, 10), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_GP);
	cr_assert_eq(c->rip, CODE + 10);
	emu_free(c);
}

Test(exec, cmpxchg16b_needs_alignment)
{
	/* mov esi, 0x2008; lock cmpxchg16b [rsi] */
	struct cpu *c = LOAD(SZ64, "\xbe\x08\x20\x00\x00\xf0\x48\x0f\xc7\x0e");
	cr_assert_eq(emu_run(c, 10), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_GP);
	emu_free(c);
}

Test(exec, debug_exit_and_console)
{
	char out[64] = { 0 };
	FILE *f = fmemopen(out, sizeof out, "w");
	/* mov al, 'h'; out 0xe9, al; mov al, 'i'; out 0xe9, al; mov al, 3; out 0xf4, al */
	struct cpu *c = LOAD(SZ64, "\xb0h\xe6\xe9\xb0i\xe6\xe9\xb0\x03\xe6\xf4\x90");
	c->bus->console = f;
	cr_assert_eq(emu_run(c, 100), EMU_STOP_EXIT);
	fclose(f);
	cr_assert_str_eq(out, "hi");
	cr_assert_eq(c->exit_code, 7);
	cr_assert_eq(c->icount, 6, "the run ends right after the OUT");
	emu_free(c);
}

Test(exec, push_and_pop_rsp)
{
	/* push rsp; pop rax; pop rsp (with [rsp] = 0x7000) */
	struct cpu *c = LOAD(SZ64, "\x54\x58\x5c\xf4");
	cr_assert_eq(emu_run(c, 2), EMU_STOP_BUDGET);
	cr_assert_eq(c->gpr[R_AX], 0x8000, "PUSH RSP pushes the old value");
	uint64_t v = 0x7000;
	emu_phys_write(c, 0x8000, &v, 8);
	cr_assert_eq(emu_run(c, 10), EMU_STOP_HLT);
	cr_assert_eq(c->gpr[R_SP], 0x7000, "POP RSP loads the popped value");
	emu_free(c);
}

Test(exec, popf_rules_at_cpl0)
{
	/* push 0x247 (IF, ZF, PF, CF and reserved bit 1); popf; pushf; pop rax */
	struct cpu *c = LOAD(SZ64, "\x68\x47\x02\x00\x00\x9d\x9c\x58\xf4");
	cr_assert_eq(emu_run(c, 10), EMU_STOP_HLT);
	cr_assert_eq(c->gpr[R_AX], 0x247);
	cr_assert(emu_get_rflags(c) & FL_IF);
	emu_free(c);
}

Test(exec, budget_is_exact)
{
	/* an endless loop: jmp $ */
	struct cpu *c = LOAD(SZ64, "\xeb\xfe");
	cr_assert_eq(emu_run(c, 12345), EMU_STOP_BUDGET);
	cr_assert_eq(c->icount, 12345);
	cr_assert_eq(emu_run(c, 5), EMU_STOP_BUDGET);
	cr_assert_eq(c->icount, 12350);
	emu_free(c);
}

Test(exec, bad_machine_sizes_are_refused)
{
	cr_assert_null(emu_new(0));
	cr_assert_null(emu_new(4097));
	cr_assert_null(emu_new(1ull << 40));
}

Test(exec, bmi1_group)
{
	/* mov ebx, 0x0f0f; mov ecx, 0x12345678;
	 * andn eax, ebx, ecx (C4 E2 60 F2 C1): ~0x0f0f & 0x12345678
	 * then bextr esi, ecx, edi with edi = 0x0804 (start 4, 8 bits)
	 * then blsi / blsmsk / blsr edx, ebp with ebp = 0b101000 */
	struct cpu *c = LOAD(SZ64,
		"\xbb\x0f\x0f\x00\x00"
		"\xb9\x78\x56\x34\x12"
		"\xc4\xe2\x60\xf2\xc1"
		"\xbf\x04\x08\x00\x00"
		"\xc4\xe2\x40\xf7\xf1"          /* bextr esi, ecx, edi */
		"\xbd\x28\x00\x00\x00"
		"\xc4\xe2\x68\xf3\xdd"          /* blsi edx, ebp */
		"\x41\x89\xd0"                  /* mov r8d, edx */
		"\xc4\xe2\x68\xf3\xd5"          /* blsmsk edx, ebp */
		"\x41\x89\xd1"                  /* mov r9d, edx */
		"\xc4\xe2\x68\xf3\xcd"          /* blsr edx, ebp */
		"\xf4");
	cr_assert_eq(emu_run(c, 100), EMU_STOP_HLT);
	cr_assert_eq(c->gpr[R_AX], 0x12345070);
	cr_assert_eq(c->gpr[R_SI], 0x67);
	cr_assert_eq(c->gpr[R_R8], 0x8);
	cr_assert_eq(c->gpr[R_R9], 0xf);
	cr_assert_eq(c->gpr[R_DX], 0x20);
	cr_assert_not(emu_get_rflags(c) & FL_CF, "BLSR: CF = (source == 0)");
	cr_assert_not(emu_get_rflags(c) & FL_ZF, "BLSR: ZF from the result 0x20");
	emu_free(c);
}

Test(exec, xsave_xgetbv_xsetbv)
{
	/* XGETBV without CR4.OSXSAVE: #UD */
	struct cpu *c = LOAD(SZ64, "\x31\xc9\x0f\x01\xd0");
	cr_assert_eq(emu_run(c, 10), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_UD);
	emu_free(c);
	/* with it: XGETBV gives 1; XSETBV of 3 (SSE) is #GP, of 1 fine;
	 * XSAVE to 0x2000 then XRSTOR back; a misaligned XSAVE is #GP */
	c = LOAD(SZ64,
		"\x31\xc9\x0f\x01\xd0"            /* xor ecx,ecx; xgetbv */
		"\x89\xc3"                        /* mov ebx, eax */
		"\xb8\x01\x00\x00\x00\x31\xd2"    /* mov eax,1; xor edx,edx */
		"\x0f\x01\xd1"                    /* xsetbv */
		"\xbe\x00\x20\x00\x00"            /* mov esi, 0x2000 */
		"\x0f\xae\x26"                    /* xsave [rsi] */
		"\x0f\xae\x2e"                    /* xrstor [rsi] */
		"\xb8\x03\x00\x00\x00"            /* mov eax, 3 */
		"\x0f\x01\xd1");                  /* xsetbv: #GP */
	c->cr4 |= 1u << 18;
	cr_assert_eq(emu_run(c, 100), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->gpr[R_BX], 1);
	cr_assert_eq(c->exc.vector, VEC_GP);
	uint16_t fcw;
	uint64_t bv;
	emu_phys_read(c, 0x2000, &fcw, 2);
	emu_phys_read(c, 0x2000 + 512, &bv, 8);
	cr_assert_eq(fcw, 0x37f, "the x87 control word after reset");
	cr_assert_eq(bv, 1, "XSTATE_BV records the x87 component");
	emu_free(c);
}

/* MONITOR arms a 64-byte line and MWAIT waits only if it is still armed
 * (SDM vol. 2, MONITOR and MWAIT). The program: a store that leaves a
 * writable TLB entry for the page, MONITOR on 0x3000, one store chosen by
 * the test, MWAIT, then EBX = 1 and HLT. EBX stays 0 if MWAIT waits. */
static struct cpu *mwait_after_store(uint32_t store_at, uint32_t mwait_ecx)
{
	static const char prog[] =
		"\xa2\x00\x30\x00\x00\x00\x00\x00\x00"  /* mov [0x3000], al */
		"\xb8\x00\x30\x00\x00"                      /* mov eax, 0x3000 */
		"\x31\xc9\x31\xd2"                           /* xor ecx, ecx; xor edx, edx */
		"\x0f\x01\xc8"                                /* monitor */
		"\x89\x3e"                                     /* mov [rsi], edi */
		"\x89\xe9"                                     /* mov ecx, ebp */
		"\x0f\x01\xc9"                                /* mwait */
		"\xbb\x01\x00\x00\x00\xf4";                /* mov ebx, 1; hlt */
	struct cpu *c = LOAD(SZ64, prog);
	c->gpr[R_SI] = store_at;
	c->gpr[R_BP] = mwait_ecx;
	return c;
}

Test(exec, monitor_and_mwait)
{
	struct cpuid_leaf l;
	emu_cpuid(1, 0, &l);
	cr_assert(l.ecx & (1u << 3), "CPUID.1:ECX.MONITOR");
	emu_cpuid(5, 0, &l);
	cr_assert_eq(l.eax, 64);
	cr_assert_eq(l.ecx, 3, "extensions enumerated; interrupts break MWAIT");
	/* a store elsewhere (the next line of the same page): MWAIT waits,
	 * and nothing can wake it */
	struct cpu *c = mwait_after_store(0x3040, 0);
	cr_assert_eq(emu_run(c, 100), EMU_STOP_HLT);
	cr_assert_eq(c->gpr[R_BX], 0);
	cr_assert(c->mwaiting);
	cr_assert_not(c->monitor_armed, "MWAIT disarms the monitor");
	emu_free(c);
	/* a store into the line, through a TLB entry filled before MONITOR:
	 * the monitor is disarmed and MWAIT does nothing */
	c = mwait_after_store(0x303c, 0);
	cr_assert_eq(emu_run(c, 100), EMU_STOP_HLT);
	cr_assert_eq(c->gpr[R_BX], 1);
	emu_free(c);
	/* a write to the line from outside the CPU (emu_phys_write, as the
	 * VMX model writes memory) disarms it too */
	c = mwait_after_store(0x3040, 0);
	cr_assert_eq(emu_run(c, 5), EMU_STOP_BUDGET);   /* up to MONITOR */
	cr_assert(c->monitor_armed);
	uint32_t word = 7;
	emu_phys_write(c, 0x3020, &word, 4);
	cr_assert_not(c->monitor_armed);
	cr_assert_eq(emu_run(c, 100), EMU_STOP_HLT);
	cr_assert_eq(c->gpr[R_BX], 1);
	emu_free(c);
	/* MWAIT's ECX: bit 0 is the only extension; MONITOR has none */
	c = mwait_after_store(0x3040, 2);
	cr_assert_eq(emu_run(c, 100), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_GP);
	emu_free(c);
	c = LOAD(SZ64, "\xb9\x01\x00\x00\x00\x0f\x01\xc8"); /* mov ecx, 1; monitor */
	cr_assert_eq(emu_run(c, 10), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_GP);
	emu_free(c);
	/* IA32_MISC_ENABLE[18] clear: #UD */
	c = LOAD(SZ64, "\x31\xc9\x0f\x01\xc8");
	c->msr.misc_enable &= ~(1ull << 18);
	cr_assert_eq(emu_run(c, 10), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_UD);
	emu_free(c);
}

Test(exec, mwait_with_interrupts_masked)
{
	/* IF = 0 and an interrupt pending: MWAIT with ECX[0] = 1 returns at
	 * once and leaves the interrupt pending; with ECX = 0 it waits */
	struct cpu *c = mwait_after_store(0x3040, 1);
	c->intc = &one_irq;
	irq_up = true;
	cr_assert_eq(emu_run(c, 100), EMU_STOP_HLT);
	cr_assert_eq(c->gpr[R_BX], 1);
	cr_assert(irq_up, "not acknowledged");
	emu_free(c);
	c = mwait_after_store(0x3040, 0);
	c->intc = &one_irq;
	irq_up = true;
	cr_assert_eq(emu_run(c, 100), EMU_STOP_HLT);
	cr_assert_eq(c->gpr[R_BX], 0);
	emu_free(c);
	irq_up = false;
}

/* An INIT signal outside VMX operation resets the processor, and with no
 * firmware the run ends. */
Test(exec, init_signal_ends_the_run)
{
	struct cpu *c = LOAD(SZ64, "\x90\x90\xeb\xfe");
	cr_assert_eq(emu_run(c, 1), EMU_STOP_BUDGET);
	c->init_pending = true;
	c->brk |= BRK_STOP;
	cr_assert_eq(emu_run(c, 10), EMU_STOP_INIT);
	emu_free(c);
}

Test(exec, segment_types_in_protected_mode)
{
	/* GDT at 0x0 (the fixture's GDTR): 0x18 read-only data, 0x20 a
	 * readable code segment, 0x28 execute-only code. mov ax,0x18;
	 * mov ds,ax; mov al,[0x2000] (fine); mov [0x2000],al (#GP(0)) */
	struct cpu *c = LOAD(SZ32, "\x66\xb8\x18\x00\x8e\xd8\xa0\x00\x20\x00\x00\xa2\x00\x20\x00\x00");
	uint64_t gdt[6] = { 0, 0, 0, 0x00cf91000000ffffull, 0x00cf9b000000ffffull,
			    0x00cf99000000ffffull };
	emu_phys_write(c, 0, gdt, sizeof gdt);
	cr_assert_eq(emu_run(c, 10), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_GP);
	cr_assert_eq(c->rip, CODE + 11, "the write faults, the read did not");
	emu_free(c);
	/* es <- 0x28 is refused at the load (execute-only code is not data);
	 * with CS itself execute-only, a CS-override read is #GP */
	c = LOAD(SZ32, "\x2e\xa0\x00\x20\x00\x00");
	emu_phys_write(c, 0, gdt, sizeof gdt);
	c->seg[SEG_CS].ar = 0x99 | AR_G | AR_DB; /* execute-only, accessed */
	cr_assert_eq(emu_run(c, 10), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_GP);
	emu_free(c);
}
