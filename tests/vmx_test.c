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
#include "tests/one_irq.h"

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
	/* read-only components: writable when IA32_VMX_MISC[29] says so
	 * (it does), else error 13; unsupported components: error 12 */
	uint64_t misc;
	cr_assert(msr_read(c, 0x485, &misc));
	cr_assert(misc & (1u << 29));
	cr_assert_eq(RUN(VMWRITE, 0, 1, 0x4402), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), 0, "VMWRITE to any field");
	cr_assert_eq(RUN(VMREAD, 0, 0, 0x4402), EMU_STOP_BUDGET);
	cr_assert_eq(c->gpr[R_BX], 1);
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
	cr_assert(msr_read(c, 0x48b, &v), "secondary controls are offered");
	cr_assert_eq((uint32_t)v, 0, "no secondary control must be 1");
	cr_assert(msr_read(c, 0x48c, &v), "EPT and VPID capabilities");
	cr_assert_not(msr_read(c, 0x491, &v), "no VM functions");
	cr_assert(msr_read(c, 0x486, &v));
	cr_assert_eq(v, 0x80000021);
	/* the model switched off: no VMX anywhere */
	c->vmx.available = false;
	cr_assert_not(msr_read(c, 0x480, &v));
	cr_assert_eq(RUN("\x0f\xc7\x30", 0, 0, 0), EMU_STOP_EXCEPTION);
	cr_assert_eq(c->exc.vector, VEC_UD);
}

/* A VMCS whose controls and host state pass every check of 26.2, for a
 * 32-bit host. Each test below breaks exactly one rule. */
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

	c->vmx.field[VMCS_PIN_BASED_VM_EXEC_CONTROL] |= 1u << 7; /* posted interrupts: not offered */
	cr_assert_str_eq(failing(), "pin-based controls");
	good_vmcs();
	c->vmx.field[VMCS_CPU_BASED_VM_EXEC_CONTROL] &= ~(1u << 1); /* a default1 bit */
	cr_assert_str_eq(failing(), "primary processor-based controls");
	good_vmcs();
	c->vmx.field[VMCS_CR3_TARGET_COUNT] = 5; /* IA32_VMX_MISC offers 4 */
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
		cr_assert(rows[k].why_pt && strlen(rows[k].why_pt) > 20, "%s", rows[k].name);
	}
}

/* --- VM entry and VM exits, end to end: a 64-bit host launches a 64-bit
 * guest on the same page tables; the guest's code and the host's landing
 * place (HOST_RIP) are a few bytes each. --- */
#define GUEST_CODE 0x5000u
#define HOST_CODE  0x6000u

static void enter_vmx_operation(void)
{
	c->exc_stop = false; /* exceptions are delivered (or exit) */
	cr4_write(c, c->cr4 | CR4_VMXE);
	c->msr.feature_control = 5;
	put32(VMXON_R, VMCS_REVISION);
	put32(VMCS_A, VMCS_REVISION);
	cr_assert_eq(RUN(VMXON, PTRS, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(RUN(VMPTRLD, PTRS + 8, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), 0);
}

/* A VMCS that enters: host and guest both 64-bit on the current CR3.
 * Its launch state is clear, as after VMCLEAR. */
static void guest64_vmcs(void)
{
	uint64_t *f = c->vmx.field;
	memset(f, 0, sizeof c->vmx.field);
	c->vmx.launch = VMCS_CLEAR;
	f[VMCS_PIN_BASED_VM_EXEC_CONTROL] = 0x16;
	f[VMCS_CPU_BASED_VM_EXEC_CONTROL] = 0x0401e172;
	f[VMCS_VM_EXIT_CONTROLS] = 0x00036dff | (1u << 9);   /* host address-space size */
	f[VMCS_VM_ENTRY_CONTROLS] = 0x000011ff | (1u << 9);  /* IA-32e mode guest */
	f[VMCS_HOST_CR0] = f[VMCS_GUEST_CR0] = c->cr0;
	f[VMCS_HOST_CR3] = f[VMCS_GUEST_CR3] = c->cr3;
	f[VMCS_HOST_CR4] = f[VMCS_GUEST_CR4] = c->cr4;
	f[VMCS_HOST_CS_SELECTOR] = 0x08;
	f[VMCS_HOST_SS_SELECTOR] = 0x10;
	f[VMCS_HOST_TR_SELECTOR] = 0x18;
	f[VMCS_HOST_RIP] = HOST_CODE;
	f[VMCS_HOST_RSP] = 0x9000;
	f[VMCS_GUEST_CS_SELECTOR] = 0x08;
	f[VMCS_GUEST_CS_LIMIT] = 0xffffffff;
	f[VMCS_GUEST_CS_AR_BYTES] = 0xa09b;
	for (int k = 0; k < 6; k++) {
		if (k == 1)
			continue;
		f[VMCS_GUEST_ES_SELECTOR + k] = 0x10;
		f[VMCS_GUEST_ES_LIMIT + k] = 0xffffffff;
		f[VMCS_GUEST_ES_AR_BYTES + k] = 0xc093;
	}
	f[VMCS_GUEST_LDTR_AR_BYTES] = 0x10000;
	f[VMCS_GUEST_TR_SELECTOR] = 0x18;
	f[VMCS_GUEST_TR_LIMIT] = 0x67;
	f[VMCS_GUEST_TR_AR_BYTES] = 0x8b;
	f[VMCS_GUEST_GDTR_LIMIT] = 0x27;
	f[VMCS_GUEST_IDTR_LIMIT] = 0xfff;
	f[VMCS_GUEST_RIP] = GUEST_CODE;
	f[VMCS_GUEST_RSP] = 0x8000;
	f[VMCS_GUEST_RFLAGS] = 2;
	f[VMCS_VMCS_LINK_POINTER] = ~0ull;
}

#define VMLAUNCH "\x0f\x01\xc2"
#define VMRESUME "\x0f\x01\xc3"

/* Launch with the guest's code given; the host lands on a JMP to itself. */
static enum emu_stop launch(const char *guest, size_t n, uint64_t budget)
{
	emu_phys_write(c, GUEST_CODE, guest, n);
	emu_phys_write(c, HOST_CODE, "\xeb\xfe", 2);
	emu_phys_write(c, CODE, VMLAUNCH, 3);
	c->rip = CODE;
	c->halted = false;
	return emu_run(c, budget);
}
#define LAUNCH(s, budget) launch(s, sizeof(s) - 1, budget)

#define F(name) (c->vmx.field[VMCS_##name])

Test(vmx, launch_cpuid_exit_and_resume)
{
	enter_vmx_operation();
	guest64_vmcs();
	/* guest: mov eax, 7; cpuid; hlt */
	cr_assert_eq(LAUNCH("\xb8\x07\x00\x00\x00\x0f\xa2\xf4", 3), EMU_STOP_BUDGET);
	cr_assert_eq(c->rip, HOST_CODE, "back on the host after the CPUID exit");
	cr_assert_not(c->vmx.nonroot);
	cr_assert_eq(F(VM_EXIT_REASON), 10);
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 5, "RIP of the CPUID itself");
	cr_assert_eq(F(VM_EXIT_INSTRUCTION_LEN), 2);
	cr_assert_eq(c->gpr[R_AX], 7, "the guest's RAX is still in RAX");
	cr_assert_eq(c->gpr[R_SP], 0x9000, "HOST_RSP");
	cr_assert_eq(F(GUEST_RSP), 0x8000);
	cr_assert_eq(c->vmx.launch, VMCS_LAUNCHED);
	/* VMLAUNCH again: error 4; VMRESUME past the CPUID: the guest's HLT,
	 * which does not exit without HLT exiting */
	cr_assert_eq(RUN(VMLAUNCH, 0, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_ZF);
	cr_assert_eq(F(VM_INSTRUCTION_ERROR), 4);
	F(GUEST_RIP) += F(VM_EXIT_INSTRUCTION_LEN);
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 7; /* HLT exiting */
	cr_assert_eq(RUN(VMRESUME, 0, 0, 0), EMU_STOP_BUDGET);
	cr_assert(c->vmx.nonroot);
	cr_assert_eq(emu_run(c, 1), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 12, "HLT exiting");
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 7);
}

Test(vmx, entry_failures)
{
	enter_vmx_operation();
	guest64_vmcs();
	F(HOST_CR4) &= ~(uint64_t)CR4_VMXE;
	cr_assert_eq(LAUNCH("\xf4", 1), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_ZF, "VMfailValid");
	cr_assert_eq(F(VM_INSTRUCTION_ERROR), 8, "invalid host state");
	cr_assert_eq(c->rip, CODE + 3, "the next instruction of the host");
	guest64_vmcs();
	F(GUEST_RFLAGS) = 0;
	cr_assert_eq(LAUNCH("\xf4", 1), EMU_STOP_BUDGET);
	cr_assert_eq(c->rip, HOST_CODE, "a failed guest-state check exits to the host");
	cr_assert_eq(F(VM_EXIT_REASON), (1u << 31) | 33);
	cr_assert_eq(F(EXIT_QUALIFICATION), 0);
	cr_assert_eq(c->vmx.launch, VMCS_CLEAR, "the launch state is not changed");
	/* an MSR-load entry that cannot be loaded: reason 34, qualification
	 * the entry's 1-based index */
	guest64_vmcs();
	uint64_t area[4] = { 0x277, 0x0007040600070406ull, 0xc0000100u, 0 };
	emu_phys_write(c, 0x7000, area, sizeof area);
	F(VM_ENTRY_MSR_LOAD_ADDR) = 0x7000;
	F(VM_ENTRY_MSR_LOAD_COUNT) = 2;
	cr_assert_eq(LAUNCH("\xf4", 1), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), (1u << 31) | 34);
	cr_assert_eq(F(EXIT_QUALIFICATION), 2, "IA32_FS_BASE may not be loaded this way");
}

Test(vmx, exception_bitmap_and_injection)
{
	enter_vmx_operation();
	guest64_vmcs();
	F(EXCEPTION_BITMAP) = 1u << VEC_UD;
	/* guest: ud2 */
	cr_assert_eq(LAUNCH("\x0f\x0b", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 0);
	cr_assert_eq(F(VM_EXIT_INTR_INFO), (1u << 31) | (3u << 8) | VEC_UD);
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE);
	/* #PF with the error-code mask/match: a not-present read exits only
	 * when PFEC & MASK == MATCH and bit 14 is set */
	guest64_vmcs();
	F(EXCEPTION_BITMAP) = 1u << VEC_PF;
	F(PAGE_FAULT_ERROR_CODE_MASK) = 1;   /* P */
	F(PAGE_FAULT_ERROR_CODE_MATCH) = 0;  /* not present */
	c->cr2 = 0x1234;
	/* guest: mov al, [0x40000000] (beyond the one mapped GiB) */
	cr_assert_eq(LAUNCH("\x8a\x04\x25\x00\x00\x00\x40", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 0);
	cr_assert_eq(F(VM_EXIT_INTR_INFO), (1u << 31) | (1u << 11) | (3u << 8) | VEC_PF);
	cr_assert_eq(F(VM_EXIT_INTR_ERROR_CODE), 0);
	cr_assert_eq(F(EXIT_QUALIFICATION), 0x40000000, "the faulting address");
	cr_assert_eq(c->cr2, 0x1234, "a #PF that exits does not write CR2");
	/* injection: a hardware #GP(0x18) through the guest's IDT at 0x4000
	 * (its GDT at 0x4800); the gate points at the guest's HLT */
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 7; /* HLT exiting */
	uint64_t gdt[3] = { 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull };
	emu_phys_write(c, 0x4800, gdt, sizeof gdt);
	F(GUEST_GDTR_BASE) = 0x4800;
	F(GUEST_IDTR_BASE) = 0x4000;
	uint64_t gate[2] = { (GUEST_CODE + 1) | (0x08u << 16) | (0x8eull << 40), 0 };
	emu_phys_write(c, 0x4000 + 16 * VEC_GP, gate, 16);
	F(VM_ENTRY_INTR_INFO_FIELD) = (1u << 31) | (1u << 11) | (3u << 8) | VEC_GP;
	F(VM_ENTRY_EXCEPTION_ERROR_CODE) = 0x18;
	cr_assert_eq(LAUNCH("\x90\xf4", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 12, "the handler's HLT");
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 1);
	uint64_t pushed[2];
	emu_phys_read(c, 0x8000 - 48, pushed, 16);
	cr_assert_eq(pushed[0], 0x18, "the error code");
	cr_assert_eq(pushed[1], GUEST_CODE, "the return RIP");
	cr_assert_eq(F(VM_ENTRY_INTR_INFO_FIELD) >> 31, 0, "the exit cleared the valid bit");
}

Test(vmx, io_and_msr_exits)
{
	enter_vmx_operation();
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 24; /* unconditional I/O exiting */
	/* guest: out 0x80, al */
	cr_assert_eq(LAUNCH("\xe6\x80", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 30);
	cr_assert_eq(F(EXIT_QUALIFICATION), (0x80u << 16) | (1u << 6), "1 byte, out, immediate");
	/* I/O bitmaps: only port 0x3f9 is trapped; a 2-byte IN from 0x3f8 touches it */
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 25;
	F(IO_BITMAP_A) = 0x30000;
	F(IO_BITMAP_B) = 0x31000;
	uint8_t bit = 1u << (0x3f9 & 7);
	emu_phys_write(c, 0x30000 + (0x3f9 >> 3), &bit, 1);
	c->gpr[R_DX] = 0x3f8;
	cr_assert_eq(LAUNCH("\x66\xed", 3), EMU_STOP_BUDGET); /* in ax, dx */
	cr_assert_eq(F(VM_EXIT_REASON), 30);
	cr_assert_eq(F(EXIT_QUALIFICATION), (0x3f8u << 16) | (1u << 3) | 1, "2 bytes, in, DX");
	/* RDMSR without MSR bitmaps always exits */
	guest64_vmcs();
	c->gpr[R_CX] = 0x10;
	cr_assert_eq(LAUNCH("\x0f\x32", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 31);
	/* with an MSR bitmap of zeros it does not: the TSC, offset */
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= (1u << 28) | (1u << 3) | (1u << 7);
	F(MSR_BITMAP) = 0x32000;
	F(TSC_OFFSET) = 1ull << 40;
	c->gpr[R_CX] = 0x10;
	cr_assert_eq(LAUNCH("\x0f\x32\xf4", 4), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 12);
	cr_assert_geq(c->gpr[R_DX], 1u << 8, "TSC_OFFSET is added");
	/* MOV to CR0 changing a bit the host owns */
	guest64_vmcs();
	F(CR0_GUEST_HOST_MASK) = CR0_TS;
	F(CR0_READ_SHADOW) = 0;
	c->gpr[R_BX] = c->cr0 | CR0_TS;
	cr_assert_eq(LAUNCH("\x0f\x22\xc3", 3), EMU_STOP_BUDGET); /* mov cr0, rbx */
	cr_assert_eq(F(VM_EXIT_REASON), 28);
	cr_assert_eq(F(EXIT_QUALIFICATION), 0 | (0u << 4) | (3u << 8), "CR0, MOV to CR, RBX");
}

Test(vmx, triple_fault_and_vmcall)
{
	enter_vmx_operation();
	guest64_vmcs();
	F(GUEST_IDTR_LIMIT) = 0; /* every delivery faults: #GP, #DF, shutdown */
	cr_assert_eq(LAUNCH("\x0f\x0b", 10), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 2, "a guest's triple fault is a VM exit");
	cr_assert_not(c->triple, "the host goes on");
	guest64_vmcs();
	cr_assert_eq(LAUNCH("\x0f\x01\xc1", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 18);
	cr_assert_eq(F(VM_EXIT_INSTRUCTION_LEN), 3);
	/* VMCALL in VMX root operation: VMfailValid 1 */
	cr_assert_eq(RUN("\x0f\x01\xc1", 0, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_INSTRUCTION_ERROR), 1);
}

/* --- EPT and VPID --- */
#define EPT_PML4 0x40000u
#define EPT_PDPT 0x41000u
#define EPT_PD   0x42000u
#define EPT_PT   0x43000u
#define EPT_RWX_WB (7u | (6u << 3))

/* Identity EPT for the 4 MiB of RAM: 4 KiB pages below 2 MiB, one
 * 2 MiB page above. */
static void ept_identity(void)
{
	put64(EPT_PML4, EPT_PDPT | 7);
	put64(EPT_PDPT, EPT_PD | 7);
	put64(EPT_PD, EPT_PT | 7);
	put64(EPT_PD + 8, 0x200000 | EPT_RWX_WB | (1u << 7));
	for (unsigned k = 0; k < 512; k++)
		put64(EPT_PT + 8 * k, (uint64_t)k << 12 | EPT_RWX_WB);
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 31;
	F(SECONDARY_VM_EXEC_CONTROL) |= 1u << 1; /* enable EPT */
	F(EPT_POINTER) = EPT_PML4 | (3u << 3) | 6;
}

Test(vmx, ept_violation_and_misconfiguration)
{
	enter_vmx_operation();
	guest64_vmcs();
	ept_identity();
	put64(EPT_PT + 8 * 7, 0); /* guest-physical page 0x7000: not present */
	/* guest: mov al, [0x7010] */
	cr_assert_eq(LAUNCH("\x8a\x04\x25\x10\x70\x00\x00", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 48);
	cr_assert_eq(F(GUEST_PHYSICAL_ADDRESS), 0x7010);
	cr_assert_eq(F(GUEST_LINEAR_ADDRESS), 0x7010);
	cr_assert_eq(F(EXIT_QUALIFICATION), 1 | (1u << 7) | (1u << 8),
		     "a read, nothing allowed, linear address valid, final page");
	/* write-only: a misconfiguration */
	guest64_vmcs();
	ept_identity();
	put64(EPT_PT + 8 * 7, 0x7000 | 2 | (6u << 3));
	cr_assert_eq(LAUNCH("\x8a\x04\x25\x10\x70\x00\x00", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 49);
	cr_assert_eq(F(GUEST_PHYSICAL_ADDRESS), 0x7010);
	/* read-only: a write is a violation that says the page is readable */
	guest64_vmcs();
	ept_identity();
	put64(EPT_PT + 8 * 7, 0x7000 | 1 | (6u << 3));
	cr_assert_eq(LAUNCH("\x88\x04\x25\x10\x70\x00\x00", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 48);
	cr_assert_eq(F(EXIT_QUALIFICATION), 2 | (1u << 3) | (1u << 7) | (1u << 8));
	/* a bad EPTP fails the entry's control checks */
	guest64_vmcs();
	ept_identity();
	F(EPT_POINTER) = EPT_PML4 | (2u << 3) | 6; /* a 3-level walk */
	cr_assert_eq(LAUNCH("\x90", 1), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_INSTRUCTION_ERROR), 7);
}

/* A violation on an entry of the guest's own page walk (its PDPT at
 * guest-physical 0x21000, unmapped): bit 8 clear; with EPT A/D the access
 * counts as a read and a write, bits 0 and 1 (table 27-7). */
Test(vmx, ept_violation_in_the_guests_page_walk)
{
	enter_vmx_operation();
	for (int ad = 0; ad < 2; ad++) {
		guest64_vmcs();
		ept_identity();
		if (ad)
			F(EPT_POINTER) |= 1u << 6;
		put64(EPT_PT + 8 * 0x21, 0);
		cr_assert_eq(LAUNCH("\x90", 3), EMU_STOP_BUDGET);
		cr_assert_eq(F(VM_EXIT_REASON), 48);
		cr_assert_eq(F(GUEST_PHYSICAL_ADDRESS), 0x21000, "the PDPTE of the code's page");
		cr_assert_eq(F(GUEST_LINEAR_ADDRESS), GUEST_CODE);
		cr_assert_eq(F(EXIT_QUALIFICATION), (ad ? 3u : 1u) | (1u << 7),
			     "A/D %d: qualification %#lx", ad, F(EXIT_QUALIFICATION));
		put64(EPT_PT + 8 * 0x21, 0x21000 | EPT_RWX_WB);
	}
}

/* The guest reads guest-physical 0x7000 into AL, then VMCALLs. */
static uint8_t read_through_ept(bool resume)
{
	if (resume) {
		F(GUEST_RIP) = GUEST_CODE;
		cr_assert_eq(RUN(VMRESUME, 0, 0, 0), EMU_STOP_BUDGET);
		cr_assert_eq(emu_run(c, 2), EMU_STOP_BUDGET);
	} else {
		cr_assert_eq(LAUNCH("\x8a\x04\x25\x00\x70\x00\x00\x0f\x01\xc1", 3), EMU_STOP_BUDGET);
	}
	cr_assert_eq(F(VM_EXIT_REASON), 18);
	return (uint8_t)c->gpr[R_AX];
}

Test(vmx, vpid_keeps_stale_translations_until_invept)
{
	enter_vmx_operation();
	uint8_t a = 0x11, b = 0x22;
	emu_phys_write(c, 0x7000, &a, 1);
	emu_phys_write(c, 0x8000, &b, 1);
	/* without VPID every entry starts with an empty TLB */
	guest64_vmcs();
	ept_identity();
	cr_assert_eq(read_through_ept(false), 0x11);
	put64(EPT_PT + 8 * 7, 0x8000 | EPT_RWX_WB); /* remap, no INVEPT */
	cr_assert_eq(read_through_ept(true), 0x22, "no VPID: nothing stale");
	/* with VPID the old translation survives the exit and the entry */
	guest64_vmcs();
	ept_identity();
	F(SECONDARY_VM_EXEC_CONTROL) |= 1u << 5;
	F(VIRTUAL_PROCESSOR_ID) = 1;
	cr_assert_eq(read_through_ept(false), 0x11);
	put64(EPT_PT + 8 * 7, 0x8000 | EPT_RWX_WB);
	cr_assert_eq(read_through_ept(true), 0x11, "stale: the hypervisor forgot INVEPT");
	/* INVEPT single-context with the guest's EPTP: the next read walks */
	put64(0x3100, F(EPT_POINTER));
	put64(0x3108, 0);
	c->gpr[R_BX] = 0x3100;
	cr_assert_eq(RUN("\x66\x0f\x38\x80\x03", 1, 0, 0), EMU_STOP_BUDGET); /* invept rax, [rbx] */
	cr_assert_eq(arith(), 0, "VMsucceed");
	cr_assert_eq(read_through_ept(true), 0x22);
	/* INVVPID with VPID 0 is refused */
	put64(0x3100, 0);
	cr_assert_eq(RUN("\x66\x0f\x38\x81\x03", 1, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_ZF);
	cr_assert_eq(F(VM_INSTRUCTION_ERROR), 28);
}

/* --- events between guest instructions --- */
Test(vmx, preemption_timer_mtf_and_nmi_window)
{
	enter_vmx_operation();
	uint64_t misc;
	cr_assert(msr_read(c, 0x485, &misc));
	unsigned rate = misc & 31;
	/* the timer: 3 units of 2^rate instructions of a guest spinning */
	guest64_vmcs();
	F(PIN_BASED_VM_EXEC_CONTROL) |= 1u << 6;
	F(VM_EXIT_CONTROLS) |= 1u << 22; /* save the timer's value */
	F(VMX_PREEMPTION_TIMER_VALUE) = 3;
	F(HOST_RIP) = HOST_CODE + 0x10; /* a HLT there ends the run */
	emu_phys_write(c, HOST_CODE + 0x10, "\xf4", 1);
	uint64_t start = c->icount;
	cr_assert_eq(LAUNCH("\xeb\xfe", 1000), EMU_STOP_HLT);
	cr_assert_eq(F(VM_EXIT_REASON), 52);
	uint64_t ran = c->icount - start - 2; /* less VMLAUNCH and HLT */
	cr_assert(ran >= (3u << rate) - 1 && ran <= (3u << rate) + 1, "ran %lu", ran);
	cr_assert_eq(F(VMX_PREEMPTION_TIMER_VALUE), 0);
	/* a value of 0 exits before the first guest instruction */
	F(VMX_PREEMPTION_TIMER_VALUE) = 0;
	F(HOST_RIP) = HOST_CODE;
	c->vmx.launch = VMCS_CLEAR;
	cr_assert_eq(LAUNCH("\x90\xeb\xfe", 10), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 52);
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE);
	/* the monitor trap flag: one instruction, then an exit */
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 27;
	cr_assert_eq(LAUNCH("\x90\x90\xeb\xfe", 10), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 37);
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 1, "after the first NOP");
	cr_assert_eq(RUN(VMRESUME, 0, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(emu_run(c, 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 37);
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 2, "after the second");
	/* the NMI window: open at once without blocking, shut while the
	 * guest has virtual-NMI blocking */
	guest64_vmcs();
	F(PIN_BASED_VM_EXEC_CONTROL) |= (1u << 3) | (1u << 5);
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 22;
	cr_assert_eq(LAUNCH("\x90\xeb\xfe", 10), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 8);
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE);
	guest64_vmcs();
	F(PIN_BASED_VM_EXEC_CONTROL) |= (1u << 3) | (1u << 5);
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 22;
	F(GUEST_INTERRUPTIBILITY_INFO) = 1u << 3;
	cr_assert_eq(LAUNCH("\x90\xeb\xfe", 10), EMU_STOP_BUDGET);
	cr_assert(c->vmx.nonroot, "no window while NMIs are blocked");
	cr_assert_eq(c->rip, GUEST_CODE + 1);
}

/* A guest single-stepping with RFLAGS.TF under the monitor trap flag:
 * the MTF VM exit comes first and saves the single-step trap as pending
 * (25.5.2, 27.3.4); the next entry delivers it (26.6.3), here through the
 * exception bitmap. */
Test(vmx, mtf_and_single_step_traps)
{
	enter_vmx_operation();
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 27;
	F(GUEST_RFLAGS) = 2 | FL_TF;
	cr_assert_eq(LAUNCH("\x90\x90\xeb\xfe", 10), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 37, "reason %lu", F(VM_EXIT_REASON));
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 1);
	cr_assert_eq(F(GUEST_PENDING_DBG_EXCEPTIONS), 1u << 14, "BS pending");
	/* no MTF, no TF: the pending trap is taken before the next
	 * instruction, and #DB exits with BS in the qualification */
	F(CPU_BASED_VM_EXEC_CONTROL) &= ~(uint64_t)(1u << 27);
	F(GUEST_RFLAGS) = 2;
	F(EXCEPTION_BITMAP) = 1u << VEC_DB;
	cr_assert_eq(RUN(VMRESUME, 0, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(emu_run(c, 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 0);
	cr_assert_eq(F(VM_EXIT_INTR_INFO), (1u << 31) | (3u << 8) | VEC_DB);
	cr_assert_eq(F(EXIT_QUALIFICATION), 1u << 14);
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 1, "a trap: before the second NOP");
	cr_assert_eq(F(GUEST_PENDING_DBG_EXCEPTIONS), 0);
	/* an entry that injects an event ignores them: the injected #BP's
	 * handler (the second NOP) is reached, MTF exits there */
	uint64_t gdt[3] = { 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull };
	emu_phys_write(c, 0x4800, gdt, sizeof gdt);
	uint64_t gate[2] = { (GUEST_CODE + 1) | (0x08u << 16) | (0x8eull << 40), 0 };
	emu_phys_write(c, 0x4000 + 16 * VEC_BP, gate, 16);
	F(GUEST_GDTR_BASE) = 0x4800;
	F(GUEST_IDTR_BASE) = 0x4000;
	F(GUEST_RIP) = GUEST_CODE;
	F(GUEST_PENDING_DBG_EXCEPTIONS) = 1u << 14;
	F(VM_ENTRY_INTR_INFO_FIELD) = (1u << 31) | (6u << 8) | VEC_BP;
	F(VM_ENTRY_INSTRUCTION_LEN) = 1;
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 27;
	cr_assert_eq(RUN(VMRESUME, 0, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(emu_run(c, 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 37, "reason %lu", F(VM_EXIT_REASON));
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 1, "in the #BP handler");
	cr_assert_eq(F(GUEST_PENDING_DBG_EXCEPTIONS), 0, "the #DB was dropped");
	/* a fault is delivered, then MTF exits before the handler's first
	 * instruction: UD2 at the second NOP's place, its handler at the JMP */
	emu_phys_write(c, GUEST_CODE + 1, "\x0f\x0b\xeb\xfe", 4);
	gate[0] = (GUEST_CODE + 3) | (0x08u << 16) | (0x8eull << 40);
	emu_phys_write(c, 0x4000 + 16 * VEC_UD, gate, 16);
	F(GUEST_RIP) = GUEST_CODE + 1;
	F(EXCEPTION_BITMAP) = 0;
	cr_assert_eq(RUN(VMRESUME, 0, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(emu_run(c, 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 37);
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 3, "at the #UD handler");
	/* "other event" 0: an MTF VM exit before the first instruction, even
	 * with the control off (26.5.2) */
	F(CPU_BASED_VM_EXEC_CONTROL) &= ~(uint64_t)(1u << 27);
	F(VM_ENTRY_INTR_INFO_FIELD) = (1u << 31) | (7u << 8);
	F(GUEST_RIP) = GUEST_CODE;
	cr_assert_eq(RUN(VMRESUME, 0, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(emu_run(c, 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 37);
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE);
}

/* A TF single step of an instruction that exits is lost with it: neither
 * the host nor the saved state gets a #DB (its VMM handles TF). */
Test(vmx, single_step_of_an_exiting_instruction)
{
	enter_vmx_operation();
	guest64_vmcs();
	F(GUEST_RFLAGS) = 2 | FL_TF;
	uint64_t dr6 = c->dr[6];
	cr_assert_eq(LAUNCH("\x0f\xa2\x90", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 10);
	cr_assert_eq(F(GUEST_PENDING_DBG_EXCEPTIONS), 0);
	cr_assert_eq(emu_run(c, 5), EMU_STOP_BUDGET, "the host spins on");
	cr_assert_eq(c->rip, HOST_CODE);
	cr_assert_eq(c->dr[6], dr6, "no #DB reached the host");
}

/* 26.2.1.3: "deliver error code" follows protected mode, which without
 * unrestricted guest holds whatever GUEST_CR0.PE says. */
Test(vmx, injected_error_code_and_protected_mode)
{
	const uint64_t gp = (1u << 31) | (3u << 8) | VEC_GP, err = 1u << 11;
	c->efer = 0; /* good_vmcs() is a 32-bit host's */
	good_vmcs();
	F(GUEST_CR0) &= ~(uint64_t)(CR0_PE | CR0_PG);
	F(VM_ENTRY_INTR_INFO_FIELD) = gp | err;
	cr_assert_str_eq(failing(), "GUEST_CR0", "the injection is right; CR0 is not");
	F(VM_ENTRY_INTR_INFO_FIELD) = gp;
	cr_assert_str_eq(failing(), "event injection", "a #GP needs its error code");
	/* an unrestricted guest in real mode: no error code */
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 31;
	F(SECONDARY_VM_EXEC_CONTROL) = (1u << 1) | (1u << 7);
	F(EPT_POINTER) = EPT_PML4 | (3u << 3) | 6;
	F(VM_ENTRY_INTR_INFO_FIELD) = gp | err;
	cr_assert_str_eq(failing(), "event injection", "real mode pushes no error code");
	F(VM_ENTRY_INTR_INFO_FIELD) = gp;
	cr_assert_str_neq(failing(), "event injection");
}

Test(vmx, vmcs_shadowing)
{
	enter_vmx_operation();
	/* a shadow VMCS at VMCS_B: revision with bit 31; one field set */
	put32(VMCS_B, VMCS_REVISION | (1u << 31));
	put64(VMCS_B + vmcs_field_offset(VMCS_GUEST_RIP), 0x1234);
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 31;
	F(SECONDARY_VM_EXEC_CONTROL) |= 1u << 14;
	F(VMCS_LINK_POINTER) = VMCS_B;
	F(VMREAD_BITMAP) = 0x30000;   /* all zero: nothing exits */
	F(VMWRITE_BITMAP) = 0x31000;
	uint8_t bit = 1u << (0x4402 & 7);  /* except VMWRITE of VM_EXIT_REASON */
	emu_phys_write(c, 0x31000 + (0x4402 >> 3), &bit, 1);
	/* guest: vmread rbx, rdx (GUEST_RIP of the shadow); vmwrite rdx, rcx;
	 * then vmwrite to VM_EXIT_REASON, which exits */
	c->gpr[R_DX] = 0x681e;
	c->gpr[R_CX] = 0x5678;
	cr_assert_eq(LAUNCH("\x0f\x78\xd3\x0f\x79\xd1\x48\xc7\xc2\x02\x44\x00\x00\x0f\x79\xd1", 10),
		     EMU_STOP_BUDGET);
	cr_assert_eq(c->gpr[R_BX], 0x1234, "read from the shadow VMCS");
	uint64_t v = 0;
	emu_phys_read(c, VMCS_B + vmcs_field_offset(VMCS_GUEST_RIP), &v, 8);
	cr_assert_eq(v, 0x5678, "written to the shadow VMCS");
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 13, "the third one exited");
	cr_assert_eq(F(VM_EXIT_REASON), 25);
	cr_assert_eq(F(VMX_INSTRUCTION_INFO) >> 28, R_DX, "the field's register");
	/* the shadow VMCS can be made current, not entered */
	cr_assert_eq(RUN(VMPTRLD, PTRS + 16, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), 0);
	cr_assert_eq(RUN(VMLAUNCH, 0, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(arith(), FL_CF, "VMfailInvalid");
}

Test(vmx, descriptor_table_and_rdpmc_exits)
{
	enter_vmx_operation();
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 31;
	F(SECONDARY_VM_EXEC_CONTROL) |= 1u << 2;
	/* guest: sgdt [rax+0x10] */
	cr_assert_eq(LAUNCH("\x0f\x01\x40\x10", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 46);
	cr_assert_eq(F(EXIT_QUALIFICATION), 0x10, "the displacement");
	cr_assert_eq(F(VMX_INSTRUCTION_INFO) >> 28, 0, "SGDT");
	cr_assert_eq((F(VMX_INSTRUCTION_INFO) >> 23) & 15, R_AX, "base RAX");
	cr_assert_eq((F(VMX_INSTRUCTION_INFO) >> 7) & 7, 2, "64-bit addressing");
	/* guest: str ecx */
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 31;
	F(SECONDARY_VM_EXEC_CONTROL) |= 1u << 2;
	cr_assert_eq(LAUNCH("\x0f\x00\xc9", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 47);
	cr_assert_eq(F(VMX_INSTRUCTION_INFO), (1u << 28) | (1u << 10) | (R_CX << 3), "STR, register RCX");
	/* RDPMC: exits with RDPMC exiting, #GP(0) without (no counters) */
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 11;
	cr_assert_eq(LAUNCH("\x0f\x33", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 15);
}

/* One instruction in the guest, one exit: reason and qualification. */
static void one_exit(uint32_t proc, uint32_t proc2, const char *code, size_t n,
		     uint32_t reason, uint64_t qual)
{
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= proc | (proc2 ? 1u << 31 : 0);
	F(SECONDARY_VM_EXEC_CONTROL) = proc2;
	cr_assert_eq(launch(code, n, 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), reason, "%s: reason %lu", code, F(VM_EXIT_REASON));
	cr_assert_eq(F(EXIT_QUALIFICATION), qual, "reason %u: qualification %#lx", reason,
		     F(EXIT_QUALIFICATION));
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE);
	cr_assert_eq(F(VM_EXIT_INSTRUCTION_LEN), n);
}
#define ONE_EXIT(proc, proc2, s, reason, qual) one_exit(proc, proc2, s, sizeof(s) - 1, reason, qual)

Test(vmx, instruction_exits)
{
	enter_vmx_operation();
	c->gpr[R_AX] = 0x12345;
	ONE_EXIT(1u << 9, 0, "\x0f\x01\x38", 14, 0x12345);             /* invlpg [rax] */
	ONE_EXIT(1u << 23, 0, "\x0f\x21\xf9", 29, 7 | (1u << 4) | (R_CX << 8)); /* mov rcx, dr7 */
	ONE_EXIT(0, 0, "\x0f\x08", 13, 0);                               /* invd */
	ONE_EXIT(0, 1u << 6, "\x0f\x09", 54, 0);                         /* wbinvd */
	ONE_EXIT(1u << 30, 0, "\xf3\x90", 40, 0);                        /* pause */
	ONE_EXIT(1u << 30, 1u << 10, "\xf3\x90", 40, 0);                 /* pause, PLE too */
	c->gpr[R_CX] = 0;
	ONE_EXIT(1u << 29, 0, "\x0f\x01\xc8", 39, 0);                    /* monitor */
	ONE_EXIT(1u << 10, 0, "\x0f\x01\xc9", 36, 0);                    /* mwait, not armed */
	ONE_EXIT(1u << 12, 1u << 3, "\x0f\x01\xf9", 51, 0);              /* rdtscp */
	ONE_EXIT(1u << 16, 0, "\x0f\x20\xda", 28, 3 | (1u << 4) | (R_DX << 8)); /* mov rdx, cr3 */
	c->cr4 |= 1u << 18; /* OSXSAVE */
	ONE_EXIT(0, 0, "\x0f\x01\xd1", 55, 0);                           /* xsetbv */
	/* RDTSCP without "enable RDTSCP" is #UD in a guest: the exception
	 * bitmap shows it */
	guest64_vmcs();
	F(EXCEPTION_BITMAP) = 1u << VEC_UD;
	cr_assert_eq(LAUNCH("\x0f\x01\xf9", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 0);
	cr_assert_eq(F(VM_EXIT_INTR_INFO) & 0xff, VEC_UD);
	/* the interrupt window: open as soon as the guest's IF is 1 */
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 2;
	cr_assert_eq(LAUNCH("\x90\xfb\x90\x90", 5), EMU_STOP_BUDGET); /* nop; sti; nop; nop */
	cr_assert_eq(F(VM_EXIT_REASON), 7);
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 3, "after the instruction in STI's shadow");
}

/* MWAIT's exit says whether MONITOR armed the monitor (27.2.1); without
 * the exiting controls both run in the guest. */
Test(vmx, monitor_and_mwait_exits)
{
	enter_vmx_operation();
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 10;
	c->gpr[R_AX] = 0x3000;
	c->gpr[R_CX] = 0;
	cr_assert_eq(LAUNCH("\x0f\x01\xc8\x0f\x01\xc9", 3), EMU_STOP_BUDGET); /* monitor; mwait */
	cr_assert_eq(F(VM_EXIT_REASON), 36);
	cr_assert_eq(F(EXIT_QUALIFICATION), 1, "armed");
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 3);
	/* the exit cleared the monitor (27.5.6); no exiting: the guest's
	 * MWAIT, unarmed, is a NOP; then a CPUID exit */
	cr_assert_not(c->monitor_armed);
	guest64_vmcs();
	cr_assert_eq(LAUNCH("\x0f\x01\xc9\x0f\xa2", 4), EMU_STOP_BUDGET);  /* mwait; cpuid */
	cr_assert_eq(F(VM_EXIT_REASON), 10);
}

/* PAUSE-loop exiting (25.1.3, 24.6.13): PAUSEs closer than PLE_Gap are one
 * loop, and a loop longer than PLE_Window exits. Ticks are nanoseconds, and
 * each instruction takes one. */
Test(vmx, pause_loop_exiting)
{
	enter_vmx_operation();
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 31;
	F(SECONDARY_VM_EXEC_CONTROL) = 1u << 10;
	F(PLE_GAP) = 8;
	F(PLE_WINDOW) = 200;
	/* 1: inc rbx; pause; jmp 1b: 3 ns a round, so 200 ns is ~67 PAUSEs */
	c->gpr[R_BX] = 0;
	cr_assert_eq(LAUNCH("\x48\xff\xc3\xf3\x90\xeb\xf9", 1000), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 40);
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 3);
	cr_assert_eq(F(VM_EXIT_INSTRUCTION_LEN), 2);
	cr_assert(c->gpr[R_BX] >= 66 && c->gpr[R_BX] <= 69, "exited after the window: %lu PAUSEs",
		  (unsigned long)c->gpr[R_BX]);
	/* PAUSEs further apart than the gap never make a loop */
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 31;
	F(SECONDARY_VM_EXEC_CONTROL) = 1u << 10;
	F(PLE_GAP) = 8;
	F(PLE_WINDOW) = 200;
	/* 1: pause; 10 x nop; jmp 1b */
	cr_assert_eq(LAUNCH("\xf3\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\x90\xeb\xf2", 2000),
		     EMU_STOP_BUDGET);
	cr_assert(c->vmx.nonroot, "still in the guest");
}

/* Launch a guest that spins after two NOPs, and run until it is in the
 * spin; host is the host's code. */
static void into_spinning_guest(const char *host, size_t n)
{
	emu_phys_write(c, GUEST_CODE, "\x90\x90\xeb\xfe", 4);
	emu_phys_write(c, HOST_CODE, host, n);
	emu_phys_write(c, CODE, VMLAUNCH, 3);
	c->rip = CODE;
	cr_assert_eq(emu_run(c, 2), EMU_STOP_BUDGET);
	cr_assert(c->vmx.nonroot);
}

/* A guest entered in wait-for-SIPI (IA32_VMX_MISC[8]) runs nothing, and
 * nothing but a SIPI ends it: not an interrupt with external-interrupt
 * exiting, not the preemption timer at 0, not INIT (25.2, 25.5.1). It
 * takes no injected event (26.3.1.5). */
Test(vmx, wait_for_sipi)
{
	uint64_t misc = 0;
	cr_assert(vmx_msr_read(c, 0x485, &misc));
	cr_assert(misc & (1u << 8));
	enter_vmx_operation();
	guest64_vmcs();
	F(GUEST_ACTIVITY_STATE) = 3;
	F(VM_ENTRY_INTR_INFO_FIELD) = (1u << 31) | 0x30;   /* an external interrupt */
	cr_assert_eq(LAUNCH("\x90\xeb\xfe", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), (1u << 31) | 33, "no event into wait-for-SIPI");
	guest64_vmcs();
	F(GUEST_ACTIVITY_STATE) = 3;
	F(PIN_BASED_VM_EXEC_CONTROL) |= 1u << 0 | 1u << 6;  /* interrupt exiting, timer */
	F(VMX_PREEMPTION_TIMER_VALUE) = 0;
	c->intc = &one_irq;
	irq_up = true;
	c->init_pending = true;
	uint64_t at = c->icount;
	cr_assert_eq(LAUNCH("\x48\xff\xc0", 50), EMU_STOP_HLT, "asleep for good");   /* inc rax */
	cr_assert(c->vmx.nonroot && c->wait_sipi && c->halted);
	cr_assert_eq(c->icount, at + 1, "only the VMLAUNCH retired");
	cr_assert(irq_up && c->init_pending, "both still pending");
	c->intc = NULL;
	irq_up = c->init_pending = false;
}

/* INIT (25.2, 24.8): an exit from a guest, blocked in VMX root operation,
 * a reset once VMXOFF has run. */
Test(vmx, init_signal)
{
	enter_vmx_operation();
	guest64_vmcs();
	into_spinning_guest("\x90\xeb\xfd", 3);
	c->init_pending = true;
	c->brk |= BRK_STOP;
	cr_assert_eq(emu_run(c, 5), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 3);
	cr_assert_eq(F(EXIT_QUALIFICATION), 0);
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 1, "registers as they were");
	cr_assert_not(c->init_pending);
	/* in VMX root operation INIT waits ... */
	c->init_pending = true;
	c->brk |= BRK_STOP;
	cr_assert_eq(emu_run(c, 20), EMU_STOP_BUDGET);
	cr_assert(c->init_pending);
	/* ... until VMXOFF */
	emu_phys_write(c, HOST_CODE, "\x0f\x01\xc4\xeb\xfe", 5);
	c->rip = HOST_CODE;
	c->jc_gen++;
	cr_assert_eq(emu_run(c, 20), EMU_STOP_INIT);
	cr_assert_not(c->vmx.on);
}

Test(vmx, external_interrupt_exits)
{
	enter_vmx_operation();
	c->intc = &one_irq;
	/* with "external-interrupt exiting" the guest's IF does not matter;
	 * with "acknowledge interrupt on exit" the vector is in the exit
	 * information and the controller has been acknowledged */
	guest64_vmcs();
	F(PIN_BASED_VM_EXEC_CONTROL) |= 1u << 0;
	F(VM_EXIT_CONTROLS) |= 1u << 15;
	irq_up = false;
	into_spinning_guest("\xeb\xfe", 2);
	irq_up = true;
	c->brk |= BRK_STOP;
	cr_assert_eq(emu_run(c, 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 1);
	cr_assert_eq(F(VM_EXIT_INTR_INFO), (1u << 31) | 0x30);
	cr_assert_not(irq_up, "acknowledged");
	/* without acknowledge on exit it stays pending and the field is invalid */
	guest64_vmcs();
	F(PIN_BASED_VM_EXEC_CONTROL) |= 1u << 0;
	irq_up = true;
	cr_assert_eq(LAUNCH("\x90\xeb\xfe", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 1);
	cr_assert_eq(F(VM_EXIT_INTR_INFO) >> 31, 0);
	cr_assert(irq_up);
	irq_up = false;
	c->intc = NULL;
}

/* An unrestricted guest in real mode: paging and protection off, EPT
 * identity, 16-bit code and real-mode segments (26.3.1.2 relaxed). */
Test(vmx, unrestricted_guest_in_real_mode)
{
	enter_vmx_operation();
	guest64_vmcs();
	ept_identity();
	F(SECONDARY_VM_EXEC_CONTROL) |= 1u << 7;          /* unrestricted guest */
	F(VM_ENTRY_CONTROLS) &= ~(uint64_t)(1u << 9);       /* not IA-32e */
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 24;          /* unconditional I/O exiting */
	F(GUEST_CR0) = CR0_NE | CR0_ET;
	F(GUEST_CR4) = CR4_VMXE;
	for (int k = 0; k < 6; k++) {
		F(GUEST_ES_SELECTOR + k) = 0;
		F(GUEST_ES_BASE + k) = 0;
		F(GUEST_ES_LIMIT + k) = 0xffff;
		F(GUEST_ES_AR_BYTES + k) = k == SEG_CS ? 0x9b : 0x93;
	}
	F(GUEST_TR_AR_BYTES) = 0x8b;
	F(GUEST_RSP) = 0x7000;
	/* mov ax, 0x1234; push ax; pop bx; out 0x80, al (66h-free 16-bit code) */
	cr_assert_eq(LAUNCH("\xb8\x34\x12\x50\x5b\xe6\x80", 10), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 30, "reason %lu", F(VM_EXIT_REASON));
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 5);
	cr_assert_eq(c->gpr[R_BX] & 0xffff, 0x1234, "16-bit code ran through the stack");
	cr_assert_eq(F(GUEST_RSP), 0x7000);
	cr_assert_eq(F(GUEST_CR0) & CR0_PE, 0);
	cr_assert_eq(F(VM_ENTRY_CONTROLS) & (1u << 9), 0, "EFER.LMA stayed 0");
	/* without unrestricted guest the same state fails the CR0 check */
	F(SECONDARY_VM_EXEC_CONTROL) &= ~(uint64_t)(1u << 7);
	F(GUEST_RIP) = GUEST_CODE;
	cr_assert_eq(RUN(VMRESUME, 0, 0, 0), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), (1u << 31) | 33);
}

/* A task switch in a 32-bit guest exits (25.1.2) with the selector and
 * its source in the qualification (table 27-2). */
Test(vmx, task_switch_exit)
{
	enter_vmx_operation();
	guest64_vmcs();
	ept_identity();
	F(SECONDARY_VM_EXEC_CONTROL) |= 1u << 7;          /* unrestricted: no paging needed */
	F(VM_ENTRY_CONTROLS) &= ~(uint64_t)(1u << 9);
	F(GUEST_CR0) = CR0_PE | CR0_NE | CR0_ET;
	F(GUEST_CR4) = CR4_VMXE;
	F(GUEST_CS_AR_BYTES) = 0xc09b;                       /* 32-bit code */
	/* GDT: null, code, data, an available 32-bit TSS at 0x4900 */
	uint64_t gdt[4] = { 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull,
			    0x0000890049000067ull };
	emu_phys_write(c, 0x4800, gdt, sizeof gdt);
	F(GUEST_GDTR_BASE) = 0x4800;
	/* jmp far 0x18:0 */
	cr_assert_eq(LAUNCH("\xea\x00\x00\x00\x00\x18\x00", 3), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_EXIT_REASON), 9, "reason %lu", F(VM_EXIT_REASON));
	cr_assert_eq(F(EXIT_QUALIFICATION), 0x18 | (2ull << 30), "selector 0x18, source JMP");
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE);
}

/* "use TPR shadow": CR8 is VTPR[7:4] in the virtual-APIC page; dropping
 * it below TPR_THRESHOLD is a trap-like exit (29.1.2, 29.3). */
Test(vmx, tpr_shadow)
{
	enter_vmx_operation();
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 21;
	F(VIRTUAL_APIC_PAGE_ADDR) = 0x33000;
	put32(0x33080, 0x50);                     /* VTPR: CR8 = 5 */
	F(TPR_THRESHOLD) = 3;
	c->gpr[R_AX] = 4;
	/* mov rbx, cr8; mov cr8, rax (4: no exit); mov cr8, rcx (2: exit) */
	c->gpr[R_CX] = 2;
	cr_assert_eq(LAUNCH("\x44\x0f\x20\xc3\x44\x0f\x22\xc0\x44\x0f\x22\xc1\x90", 4),
		     EMU_STOP_BUDGET);
	cr_assert_eq(c->gpr[R_BX], 5, "MOV from CR8 reads VTPR[7:4]");
	cr_assert_eq(F(VM_EXIT_REASON), 43);
	cr_assert_eq(F(GUEST_RIP), GUEST_CODE + 12, "trap-like: after the MOV");
	uint32_t v = 0;
	emu_phys_read(c, 0x33080, &v, 4);
	cr_assert_eq(v, 0x20);
	/* a threshold above VTPR fails the entry's control checks */
	guest64_vmcs();
	F(CPU_BASED_VM_EXEC_CONTROL) |= 1u << 21;
	F(VIRTUAL_APIC_PAGE_ADDR) = 0x33000;
	F(TPR_THRESHOLD) = 3;
	cr_assert_eq(LAUNCH("\x90", 1), EMU_STOP_BUDGET);
	cr_assert_eq(F(VM_INSTRUCTION_ERROR), 7);
}

/* Garbage in: a VMCS with random fields, entered again and again, must
 * give an architectural result every time (VMfail, an entry failure, or
 * a guest that runs and exits) and never crash nestlab or run away. The
 * EPT pointer and bitmaps may point anywhere, inside RAM or not. */
/* The host's state, put back before each round (a random VMCS may have
 * loaded garbage into it, or its MSR areas written over the tables). */
struct host_snapshot {
	uint64_t cr0, cr3, cr4, efer, rflags;
	struct seg seg[6], ldtr, tr;
	struct dtr gdtr, idtr;
};

static void host_save(struct host_snapshot *h)
{
	*h = (struct host_snapshot){ .cr0 = c->cr0, .cr3 = c->cr3, .cr4 = c->cr4,
				     .efer = c->efer, .rflags = emu_get_rflags(c),
				     .ldtr = c->ldtr, .tr = c->tr, .gdtr = c->gdtr, .idtr = c->idtr };
	memcpy(h->seg, c->seg, sizeof h->seg);
}

static void host_restore(const struct host_snapshot *h)
{
	put64(0x20000, 0x21000 | 3);
	put64(0x21000, 0x83);
	c->cr0 = h->cr0, c->cr3 = h->cr3, c->cr4 = h->cr4, c->efer = h->efer;
	memcpy(c->seg, h->seg, sizeof c->seg);
	c->ldtr = h->ldtr, c->tr = h->tr, c->gdtr = h->gdtr, c->idtr = h->idtr;
	emu_set_rflags(c, h->rflags);
	c->cpl = 0;
	c->halted = c->triple = false;
	c->vmx.abort = 0;
	c->vmx.nonroot = c->vmx.ept_active = false;
	c->tlb_vctx = 0;
	emu_update_mode(c);
	tlb_update_ctx(c);
	emu_flush_tlb(c);
	put32(VMXON_R, VMCS_REVISION);
	put32(VMCS_A, VMCS_REVISION);
}

Test(vmx, random_vmcs_never_crashes)
{
	enter_vmx_operation();
	struct host_snapshot host;
	host_save(&host);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned entered = 0, failed = 0;
	for (int round = 0; round < 3000; round++) {
		host_restore(&host);
		guest64_vmcs();
		ept_identity();
		F(SECONDARY_VM_EXEC_CONTROL) |= (1u << 5) | (1u << 14) | (1u << 7);
		F(VIRTUAL_PROCESSOR_ID) = 1;
		/* spoil a few fields at random: any value, or a flipped bit */
		for (int k = 0; k < 4; k++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			unsigned f = (unsigned)(seed >> 33) % VMCS_NFIELDS;
			uint64_t r = seed ^ (seed >> 29);
			c->vmx.field[f] = (seed & 1) ? r : c->vmx.field[f] ^ (1ull << (r & 63));
		}
		c->vmx.field[VMCS_VMCS_LINK_POINTER] = (seed & 2) ? ~0ull : VMCS_B;
		put32(VMCS_B, VMCS_REVISION | (1u << 31));
		uint64_t entries = c->vmx.entries;
		enum emu_stop s = LAUNCH("\x0f\xa2\x0f\x01\xc1\xf4", 20);
		cr_assert(s == EMU_STOP_BUDGET || s == EMU_STOP_HLT || s == EMU_STOP_TRIPLE ||
			  s == EMU_STOP_EXCEPTION, "round %d: stop %d", round, s);
		if (c->vmx.entries > entries)
			entered++;
		else
			failed++;
	}
	cr_assert(entered > 300 && failed > 300, "entered %u, failed %u", entered, failed);
}
