/* The hypervisor's view of a guest: its registers (the general ones in
 * struct vcpu_regs, RSP and RIP in its VMCS), its memory (a buffer of the
 * host's), and its own page tables. The guest's VMCS must be current. */
#include <stdarg.h>

#include "hvlib/vm.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/x86.h"

/* Stop the guest: say why in vm->why. */
enum vm_next vm_fail(struct vm *vm, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vm->why, sizeof vm->why, fmt, ap);
	va_end(ap);
	return VM_STOP;
}

/* Step over the instruction that exited (its length is in the VMCS for
 * instruction exits, 27.2.5). An STI or MOV SS shadow covered only that
 * instruction: once it is done the shadow is over (an "sti; hlt" that
 * exits on HLT must take its interrupt after it, 24.4.2). */
void vm_skip(struct vm *vm)
{
	vmcs_write(GUEST_RIP, vmcs_read(GUEST_RIP) + vm->vcpu.exit_insn_len);
	vmcs_clear_bits(GUEST_INTERRUPTIBILITY_INFO, 3);
}

/* Registers by the numbering of exit qualifications (table 27-3): RAX,
 * RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8-R15. RSP lives in the VMCS. */
static uint64_t *gpr_slot(struct vm *vm, unsigned n)
{
	static const unsigned order[16] = { 0, 1, 2, 3, 99, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
	return &((uint64_t *)&vm->vcpu.regs)[order[n & 15]];
}

uint64_t vm_gpr(struct vm *vm, unsigned n)
{
	return (n & 15) == 4 ? vmcs_read(GUEST_RSP) : *gpr_slot(vm, n);
}

void vm_set_gpr(struct vm *vm, unsigned n, uint64_t v)
{
	if ((n & 15) == 4)
		vmcs_write(GUEST_RSP, v);
	else
		*gpr_slot(vm, n) = v;
}

/* Give the guest a #GP(0) at its next entry (26.5.1); in real mode an
 * exception pushes no error code. */
void vm_inject_gp(struct vm *vm)
{
	(void)vm;
	uint32_t info = INTR_INFO_VALID | INTR_TYPE_HARD_EXCEPTION | 13;
	if (vmcs_read(GUEST_CR0) & CR0_PE) {
		info |= INTR_INFO_DELIVER_CODE;
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
	}
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info);
}

/* Guest-physical [gpa, gpa + len) inside the guest's RAM? */
static bool in_ram(struct vm *vm, uint64_t gpa, uint64_t len)
{
	return gpa <= vm->mem.size && len <= vm->mem.size - gpa;
}

bool vm_read(struct vm *vm, uint64_t gpa, void *buf, uint64_t len)
{
	if (!in_ram(vm, gpa, len))
		return false;
	memcpy(buf, vm->mem.ram + gpa, len);
	return true;
}

bool vm_write(struct vm *vm, uint64_t gpa, const void *buf, uint64_t len)
{
	if (!in_ram(vm, gpa, len))
		return false;
	memcpy(vm->mem.ram + gpa, buf, len);
	return true;
}

static bool read_entry(struct vm *vm, uint64_t gpa, uint64_t *e, unsigned bytes)
{
	*e = 0;
	return vm_read(vm, gpa, e, bytes) && (*e & 1);
}

/* The guest's own page walk, done in software on its page tables in its
 * RAM (SDM vol. 3A, 4.3-4.5): needed to read the instruction at its RIP.
 * Rights are not checked: the CPU already did when it fetched it. */
bool vm_linear_to_phys(struct vm *vm, uint64_t lin, uint64_t *gpa)
{
	uint64_t cr0 = vmcs_read(GUEST_CR0), cr4 = vmcs_read(GUEST_CR4);
	uint64_t cr3 = vmcs_read(GUEST_CR3), efer = vmcs_read(GUEST_IA32_EFER), e;
	if (!(cr0 & CR0_PG)) {
		*gpa = lin & 0xffffffffu;
		return true;
	}
	if (!(cr4 & CR4_PAE)) {
		/* 32-bit paging: a page directory and page tables of 4-byte entries. */
		if (!read_entry(vm, (cr3 & ~0xfffull) + ((lin >> 22) & 1023) * 4, &e, 4))
			return false;
		if ((e & 0x80) && (cr4 & (1u << 4))) {   /* a 4 MiB page, with CR4.PSE */
			*gpa = (e & 0xffc00000u) | (lin & 0x3fffff);
			return true;
		}
		if (!read_entry(vm, (e & ~0xfffull) + ((lin >> 12) & 1023) * 4, &e, 4))
			return false;
		*gpa = (e & ~0xfffull) | (lin & 0xfff);
		return true;
	}
	uint64_t table;
	int level;
	if (efer & EFER_LMA) {
		table = cr3 & 0x000ffffffffff000ull;
		level = 4;
	} else {
		/* PAE: CR3 points at four PDPTEs (4.4.1). */
		if (!read_entry(vm, (cr3 & 0xffffffe0u) + ((lin >> 30) & 3) * 8, &e, 8))
			return false;
		table = e & 0x000ffffffffff000ull;
		level = 2;
	}
	for (; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		if (!read_entry(vm, table + ((lin >> shift) & 511) * 8, &e, 8))
			return false;
		if (level == 1 || (level <= 3 && (e & 0x80))) {
			uint64_t mask = (1ull << shift) - 1;
			*gpa = (e & 0x000ffffffffff000ull & ~mask) | (lin & mask);
			return true;
		}
		table = e & 0x000ffffffffff000ull;
	}
	return false;
}
