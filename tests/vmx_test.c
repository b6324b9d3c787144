/* VMX operation and VMCS maintenance: VMXON/VMXOFF, VMCLEAR, VMPTRLD,
 * VMPTRST, VMREAD, VMWRITE with their #UD/#GP checks and their
 * VMsucceed/VMfailInvalid/VMfailValid results (SDM vol. 3C, chapter 30). */
#include <criterion/criterion.h>
#include <string.h>

#include "emu/cpu.h"
#include "emu/cpuid.h"
#include "emu/mem.h"
#include "emu/paging.h"
#include "emu/sysreg.h"

#define RAM     (4u << 20)
#define CODE    0x1000u
#define VMXON_R 0x10000u
#define VMCS_A  0x11000u
#define VMCS_B  0x12000u
#define PTRS    0x3000u   /* m64 operands: [0x3000] = VMXON_R, [0x3008] = VMCS_A ... */

static struct cpu *c;

static void put64(uint64_t pa, uint64_t v) { emu_phys_write(c, pa, &v, 8); }
static void put32(uint64_t pa, uint32_t v) { emu_phys_write(c, pa, &v, 4); }

/* 64-bit mode with paging on (identity, 1 GiB pages): VMXON wants
 * CR0.PG (IA32_VMX_CR0_FIXED0). */
static void setup(void)
{
	c = emu_new(RAM);
	cr_assert_not_null(c);
	emu_reset_flat(c, SZ64);
	c->vmx.available = true;
	put64(0x20000, 0x21000 | 3);
	put64(0x21000, 0x83);
	c->cr3 = 0x20000;
	c->cr4 = CR4_PAE;
	c->cr0 |= CR0_PG | CR0_NE;
	emu_update_mode(c);
	tlb_update_ctx(c);
	emu_flush_tlb(c);
	put64(PTRS, VMXON_R);
	put64(PTRS + 8, VMCS_A);
	put64(PTRS + 16, VMCS_B);
	put64(PTRS + 24, VMXON_R + 0x800); /* not 4 KiB-aligned */
}

static void teardown(void)
{
	emu_free(c);
}

TestSuite(vmx, .init = setup, .fini = teardown);

/* Run one instruction at CODE; RAX, RCX, RDX as given. */
static enum emu_stop run1(const char *bytes, size_t n, uint64_t rax, uint64_t rcx, uint64_t rdx)
{
	emu_phys_write(c, CODE, bytes, n);
	c->rip = CODE;
	c->gpr[R_AX] = rax;
	c->gpr[R_CX] = rcx;
	c->gpr[R_DX] = rdx;
	return emu_run(c, 1);
}
#define RUN(s, a, cx, d) run1(s, sizeof(s) - 1, a, cx, d)

static uint64_t arith(void)
{
	return emu_get_rflags(c) & FL_ARITH;
}

#define VMXON    "\xf3\x0f\xc7\x30"   /* vmxon [rax] */
#define VMCLEAR  "\x66\x0f\xc7\x30"   /* vmclear [rax] */
#define VMPTRLD  "\x0f\xc7\x30"       /* vmptrld [rax] */
#define VMPTRST  "\x0f\xc7\x38"       /* vmptrst [rax] */
#define VMWRITE  "\x0f\x79\xd1"       /* vmwrite rdx (field), rcx (value) */
#define VMREAD   "\x0f\x78\xd3"       /* vmread rbx, rdx (field) */
#define VMXOFF   "\x0f\x01\xc4"

Test(vmx, vmxon_checks)
{
	/* CR4.VMXE clear: #UD */
	cr_assert_eq(RUN(VMXON, PTRS, 0, 0), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_UD);
	cr4_write(c, c->cr4 | CR4_VMXE);
	/* IA32_FEATURE_CONTROL not locked with VMX enabled: #GP(0) */
	cr_assert_eq(RUN(VMXON, PTRS, 0, 0), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_GP);
	c->msr.feature_control = 5;
	/* a region without the revision identifier: VMfailInvalid */
	cr_assert_eq(RUN(VMXON, PTRS, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_CF);
	cr_assert_not(c->vmx.on);
	/* misaligned: VMfailInvalid */
	put32(VMXON_R, VMCS_REVISION);
	cr_assert_eq(RUN(VMXON, PTRS + 24, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_CF);
	/* right: VMsucceed */
	cr_assert_eq(RUN(VMXON, PTRS, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), 0);
	cr_assert(c->vmx.on);
	/* again, with no current VMCS: VMfailInvalid (error 15 has nowhere to go) */
	cr_assert_eq(RUN(VMXON, PTRS, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_CF);
	/* in VMX operation, CR4.VMXE and CR0.PG cannot be cleared */
	uint64_t cr4 = c->cr4;
	emu_phys_write(c, CODE, "\x0f\x22\xe0", 3); /* mov cr4, rax */
	c->rip = CODE;
	c->gpr[R_AX] = cr4 & ~(uint64_t)CR4_VMXE;
	cr_assert_eq(emu_run(c, 1), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_GP);
	/* VMXOFF leaves; a second one is #UD */
	cr_assert_eq(RUN(VMXOFF, 0, 0, 0), EMU_STOP_BUDGET);
	cr_assert_not(c->vmx.on);
	cr_assert_eq(RUN(VMXOFF, 0, 0, 0), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_UD);
}

static void enter_vmx(void)
{
	cr4_write(c, c->cr4 | CR4_VMXE);
	c->msr.feature_control = 5;
	put32(VMXON_R, VMCS_REVISION);
	cr_assert_eq(RUN(VMXON, PTRS, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), 0);
}

Test(vmx, vmcs_instructions)
{
	enter_vmx();
	/* VMPTRLD of a region with the wrong revision, then of the VMXON
	 * region: VMfailInvalid both (no current VMCS yet) */
	cr_assert_eq(RUN(VMPTRLD, PTRS + 8, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_CF);
	put32(VMCS_A, VMCS_REVISION);
	put32(VMCS_B, VMCS_REVISION);
	cr_assert_eq(RUN(VMPTRLD, PTRS + 8, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), 0);
	cr_assert_eq(c->vmx.vmcs_ptr, VMCS_A);
	/* now failures are VMfailValid with the error number */
	cr_assert_eq(RUN(VMPTRLD, PTRS, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_ZF);
	cr_assert_eq(c->vmx.field[VMCS_VM_INSTRUCTION_ERROR], 10, "VMPTRLD with VMXON pointer");
	cr_assert_eq(RUN(VMPTRLD, PTRS + 24, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(c->vmx.field[VMCS_VM_INSTRUCTION_ERROR], 9);
	cr_assert_eq(RUN(VMXON, PTRS, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_ZF);
	cr_assert_eq(c->vmx.field[VMCS_VM_INSTRUCTION_ERROR], 15, "VMXON in VMX root operation");

	/* VMWRITE/VMREAD: a guest-state field, its width, the high half */
	cr_assert_eq(RUN(VMWRITE, 0, 0x123456789abcull, 0x681e), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), 0);
	cr_assert_eq(RUN(VMREAD, 0, 0, 0x681e), EMU_STOP_BUDGET);
	cr_assert_eq(c->gpr[R_BX], 0x123456789abcull);
	cr_assert_eq(RUN(VMWRITE, 0, 0x1234567, 0x0802), EMU_STOP_BUDGET); /* 16-bit CS selector */
	cr_assert_eq(RUN(VMREAD, 0, 0, 0x0802), EMU_STOP_BUDGET);
	cr_assert_eq(c->gpr[R_BX], 0x4567);
	cr_assert_eq(RUN(VMWRITE, 0, 0x1111222233334444ull, 0x201a), EMU_STOP_BUDGET); /* EPTP */
	cr_assert_eq(RUN(VMWRITE, 0, 0xabcd, 0x201b), EMU_STOP_BUDGET);         /* its high half */
	cr_assert_eq(RUN(VMREAD, 0, 0, 0x201a), EMU_STOP_BUDGET);
	cr_assert_eq(c->gpr[R_BX], 0x0000abcd33334444ull);
	/* read-only and unsupported components */
	cr_assert_eq(RUN(VMWRITE, 0, 1, 0x4402), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_ZF);
	cr_assert_eq(RUN(VMREAD, 0, 0, 0x4400), EMU_STOP_BUDGET);
	cr_assert_eq(c->gpr[R_BX], 13, "VMWRITE to read-only VMCS component");
	cr_assert_eq(RUN(VMREAD, 0, 0, 0x4830), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_ZF);
	cr_assert_eq(c->vmx.field[VMCS_VM_INSTRUCTION_ERROR], 12);

	/* VMPTRST, then VMPTRLD of another VMCS writes the first one back */
	cr_assert_eq(RUN(VMPTRST, 0x3100, 0, 0), EMU_STOP_BUDGET);
	uint64_t ptr;
	emu_phys_read(c, 0x3100, &ptr, 8);
	cr_assert_eq(ptr, VMCS_A);
	cr_assert_eq(RUN(VMPTRLD, PTRS + 16, 0, 0), EMU_STOP_BUDGET);
	uint64_t rip;
	emu_phys_read(c, VMCS_A + vmcs_field_offset(VMCS_GUEST_RIP), &rip, 8);
	cr_assert_eq(rip, 0x123456789abcull, "written back to its region");
	cr_assert_eq(RUN(VMREAD, 0, 0, 0x681e), EMU_STOP_BUDGET);
	cr_assert_eq(c->gpr[R_BX], 0, "VMCS B is a different VMCS");

	/* VMCLEAR of the current VMCS makes none current */
	cr_assert_eq(RUN(VMCLEAR, PTRS + 16, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), 0);
	cr_assert_eq(c->vmx.vmcs_ptr, VMCS_INVALID_PTR);
	cr_assert_eq(RUN(VMREAD, 0, 0, 0x681e), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_CF, "no current VMCS: VMfailInvalid");
	cr_assert_eq(RUN(VMCLEAR, PTRS, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_CF, "VMCLEAR of the VMXON region, no current VMCS");
}

Test(vmx, capabilities_and_cpuid)
{
	uint64_t v;
	cr_assert(msr_read(c, 0x480, &v));
	cr_assert_eq(v & 0x7fffffff, VMCS_REVISION);
	cr_assert_eq((v >> 32) & 0x1fff, 4096);
	cr_assert(msr_read(c, 0x482, &v));
	cr_assert_eq((uint32_t)v & ~(uint32_t)(v >> 32), 0, "allowed-0 within allowed-1");
	cr_assert_not(msr_read(c, 0x48b, &v), "no secondary controls offered yet");
	cr_assert(msr_read(c, 0x486, &v));
	cr_assert_eq(v, 0x80000021);
	/* the model switched off: no VMX anywhere */
	c->vmx.available = false;
	cr_assert_not(msr_read(c, 0x480, &v));
	cr_assert_eq(RUN("\x0f\xc7\x30", 0, 0, 0), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_UD);
}

/* A VMCS whose controls and host state pass every check of 26.2, for a
 * 32-bit host (the capability MSRs do not offer 'host address-space size'
 * yet, so a 64-bit host cannot pass). Each test below breaks exactly one
 * rule. */
#include "vmx/entry.h"

static void good_vmcs(void)
{
	uint64_t *f = c->vmx.field;
	memset(c->vmx.field, 0, sizeof c->vmx.field);
	f[VMCS_PIN_BASED_VM_EXEC_CONTROL] = 0x16;
	f[VMCS_CPU_BASED_VM_EXEC_CONTROL] = 0x0401e172;
	f[VMCS_VM_EXIT_CONTROLS] = 0x00036dff;          /* the default1 bits */
	f[VMCS_VM_ENTRY_CONTROLS] = 0x000011ff;
	f[VMCS_HOST_CR0] = 0x80000031;
	f[VMCS_HOST_CR4] = CR4_PAE | CR4_VMXE;
	f[VMCS_HOST_CR3] = 0x20000;
	f[VMCS_HOST_CS_SELECTOR] = 0x08;
	f[VMCS_HOST_SS_SELECTOR] = 0x10;
	f[VMCS_HOST_TR_SELECTOR] = 0x18;
	f[VMCS_HOST_RIP] = 0x100000;
	/* a 32-bit protected-mode guest with paging */
	f[VMCS_GUEST_CR0] = 0x80000031;
	f[VMCS_GUEST_CR4] = CR4_VMXE;
	f[VMCS_GUEST_CS_SELECTOR] = 0x08;
	f[VMCS_GUEST_CS_LIMIT] = 0xffffffff;
	f[VMCS_GUEST_CS_AR_BYTES] = 0xc09b;
	for (int k = 0; k < 8; k++) {
		if (k == 1)
			continue;
		f[VMCS_GUEST_ES_SELECTOR + k] = 0x10;
		f[VMCS_GUEST_ES_LIMIT + k] = 0xffffffff;
		f[VMCS_GUEST_ES_AR_BYTES + k] = 0xc093;
	}
	f[VMCS_GUEST_LDTR_AR_BYTES] = 0x10000; /* unusable */
	f[VMCS_GUEST_TR_SELECTOR] = 0x18;
	f[VMCS_GUEST_TR_LIMIT] = 0x67;
	f[VMCS_GUEST_TR_AR_BYTES] = 0x8b;
	f[VMCS_GUEST_GDTR_LIMIT] = 0x27;
	f[VMCS_GUEST_IDTR_LIMIT] = 0x7ff;
	f[VMCS_GUEST_RIP] = 0x1000;
	f[VMCS_GUEST_RFLAGS] = 2;
	f[VMCS_VMCS_LINK_POINTER] = ~0ull;
}

static const char *failing(void)
{
	const struct entry_check *k = vmx_check_entry(c);
	return k ? k->name : "none";
}

Test(vmx, entry_checks_one_rule_at_a_time)
{
	c->efer = 0; /* a 32-bit host */
	good_vmcs();
	cr_assert_str_eq(failing(), "none");

	c->vmx.field[VMCS_PIN_BASED_VM_EXEC_CONTROL] |= 1u << 3; /* NMI exiting: not offered yet */
	cr_assert_str_eq(failing(), "pin-based controls");
	good_vmcs();
	c->vmx.field[VMCS_CPU_BASED_VM_EXEC_CONTROL] &= ~(1u << 1); /* a default1 bit */
	cr_assert_str_eq(failing(), "primary processor-based controls");
	good_vmcs();
	c->vmx.field[VMCS_CR3_TARGET_COUNT] = 1;
	cr_assert_str_eq(failing(), "CR3-target count");
	good_vmcs();
	c->vmx.field[VMCS_VM_EXIT_MSR_STORE_COUNT] = 1;
	c->vmx.field[VMCS_VM_EXIT_MSR_STORE_ADDR] = 0x1008;
	cr_assert_str_eq(failing(), "VM-exit MSR-store area");
	good_vmcs();
	c->vmx.field[VMCS_VM_ENTRY_INTR_INFO_FIELD] = (1u << 31) | (2u << 8) | 3; /* NMI, vector 3 */
	cr_assert_str_eq(failing(), "event injection");
	c->vmx.field[VMCS_VM_ENTRY_INTR_INFO_FIELD] = (1u << 31) | (4u << 8) | 0x80; /* INT 80h */
	cr_assert_str_eq(failing(), "event injection", "a software interrupt needs a length");
	c->vmx.field[VMCS_VM_ENTRY_INSTRUCTION_LEN] = 2;
	cr_assert_str_eq(failing(), "none");

	good_vmcs();
	c->vmx.field[VMCS_HOST_CR0] &= ~(uint64_t)CR0_PG;
	cr_assert_str_eq(failing(), "HOST_CR0");
	good_vmcs();
	c->vmx.field[VMCS_HOST_CR4] &= ~(uint64_t)CR4_VMXE;
	cr_assert_str_eq(failing(), "HOST_CR4");
	good_vmcs();
	c->vmx.field[VMCS_HOST_CR3] = 1ull << 45;
	cr_assert_str_eq(failing(), "HOST_CR3");
	good_vmcs();
	c->vmx.field[VMCS_HOST_IA32_SYSENTER_EIP] = 0x0000800000000000ull;
	cr_assert_str_eq(failing(), "HOST_IA32_SYSENTER_ESP/EIP");
	good_vmcs();
	c->vmx.field[VMCS_HOST_SS_SELECTOR] = 0x13; /* RPL 3 */
	cr_assert_str_eq(failing(), "host selectors");
	good_vmcs();
	c->vmx.field[VMCS_HOST_TR_SELECTOR] = 0;
	cr_assert_str_eq(failing(), "host selectors");
	good_vmcs();
	c->vmx.field[VMCS_HOST_GDTR_BASE] = 0x0000900000000000ull;
	cr_assert_str_eq(failing(), "host base addresses");
	good_vmcs();
	c->vmx.field[VMCS_HOST_RIP] = 0x100000000ull; /* above 4 GiB for a 32-bit host */
	cr_assert_str_eq(failing(), "host address-space size");
	good_vmcs();
	c->efer = EFER_LME | EFER_LMA; /* a 64-bit processor with a 32-bit host VMCS */
	cr_assert_str_eq(failing(), "host address-space size");
	c->efer = 0;

	/* guest state: one rule at a time, with the exit qualification */
	good_vmcs();
	c->vmx.field[VMCS_GUEST_CR0] &= ~(uint64_t)CR0_PE;
	cr_assert_str_eq(failing(), "GUEST_CR0", "PG without PE, and no unrestricted guest");
	good_vmcs();
	c->vmx.field[VMCS_GUEST_SS_SELECTOR] = 0x13;
	cr_assert_str_eq(failing(), "guest selectors", "SS.RPL differs from CS.RPL");
	good_vmcs();
	c->vmx.field[VMCS_GUEST_CS_AR_BYTES] = 0xc093; /* data, not code */
	cr_assert_str_eq(failing(), "guest CS access rights");
	good_vmcs();
	c->vmx.field[VMCS_GUEST_CS_LIMIT] = 0xfffff; /* G set, limit[11:0] fine, [31:20] clear */
	cr_assert_str_eq(failing(), "none", "G = 1 with limit 0x000fffff is allowed");
	c->vmx.field[VMCS_GUEST_CS_LIMIT] = 0xffffe;
	cr_assert_str_eq(failing(), "guest CS access rights", "G = 1 needs limit[11:0] = FFF");
	good_vmcs();
	c->vmx.field[VMCS_GUEST_DS_AR_BYTES] = 0xc092; /* not accessed */
	cr_assert_str_eq(failing(), "guest DS/ES/FS/GS access rights");
	good_vmcs();
	c->vmx.field[VMCS_GUEST_TR_AR_BYTES] = 0x89; /* available, not busy */
	cr_assert_str_eq(failing(), "guest TR access rights");
	good_vmcs();
	c->vmx.field[VMCS_GUEST_RFLAGS] = 0;
	cr_assert_str_eq(failing(), "GUEST_RFLAGS", "bit 1 must be set");
	good_vmcs();
	c->vmx.field[VMCS_GUEST_INTERRUPTIBILITY_INFO] = 1; /* STI blocking with IF = 0 */
	cr_assert_str_eq(failing(), "guest interruptibility state");
	good_vmcs();
	c->vmx.field[VMCS_VMCS_LINK_POINTER] = 0x11000;
	const struct entry_check *k = vmx_check_entry(c);
	cr_assert_str_eq(k->name, "VMCS link pointer", "no VMCS there");
	cr_assert_eq(k->kind, CHECK_GUEST);
	cr_assert_eq(k->qual, 4);
	good_vmcs();
	c->vmx.field[VMCS_GUEST_CR4] |= CR4_PAE;
	c->vmx.field[VMCS_GUEST_CR3] = 0x40000;
	uint64_t bad = 0x123000 | 1 | (1u << 5); /* a PDPTE with reserved bit 5 */
	emu_phys_write(c, 0x40000 + 8, &bad, 8);
	k = vmx_check_entry(c);
	cr_assert_str_eq(k->name, "guest PDPTEs");
	cr_assert_eq(k->qual, 2);

	/* every row says where in the SDM it comes from and what to do */
	const struct entry_check *rows;
	unsigned n = vmx_entry_checks(&rows);
	for (unsigned k = 0; k < n; k++) {
		cr_assert(rows[k].sdm && (!strncmp(rows[k].sdm, "26.2", 4) ||
					  !strncmp(rows[k].sdm, "26.3", 4)), "%s", rows[k].name);
		cr_assert(rows[k].why && strlen(rows[k].why) > 20, "%s", rows[k].name);
	}
}
