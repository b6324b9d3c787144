/* The VMX instructions of VMX operation and VMCS maintenance (SDM vol. 3C,
 * chapter 30): VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE,
 * with their #UD/#GP checks, their VM exits in VMX non-root operation, and
 * the VMsucceed / VMfailInvalid / VMfailValid results (30.2). VMLAUNCH,
 * VMRESUME and VMCALL are in vmx/launch.c. */
#include <string.h>

#include "emu/exec.h"
#include "emu/paging.h"
#include "emu/sysreg.h"
#include "emu/event.h"
#include "vmx/vmexit.h"
#include "vmx/vmx.h"


static const char *const error_texts[] = {
#define VMERR(name, num, text) [num] = text,
#include "vmx/vminsn_errors.def"
#undef VMERR
};

const char *vmx_error_text(unsigned num)
{
	return num < sizeof error_texts / sizeof error_texts[0] ? error_texts[num] : NULL;
}

void vmx_reset(struct cpu *c)
{
	bool avail = c->vmx.available;
	memset(&c->vmx, 0, sizeof c->vmx);
	c->vmx.available = avail;
	c->vmx.vmcs_ptr = VMCS_INVALID_PTR;
}

/* The VMX instruction now executing, for the event its result makes. */
static void insn_begin(struct cpu *c, const char *name)
{
	c->vmx.insn.name = name;
	c->vmx.insn.has_addr = false;
	c->vmx.insn.field = -1;
}

static void insn_addr(struct cpu *c, uint64_t pa)
{
	c->vmx.insn.has_addr = true;
	c->vmx.insn.addr = pa;
}

/* The results of a VMX instruction (SDM 30.2), each an event for the
 * trace: result 0 VMsucceed, 1 VMfailInvalid, 2 VMfailValid. A VM entry
 * that succeeds is the vmentry event instead. */
static void emit_result(struct cpu *c, uint8_t result, enum vm_insn_error e)
{
	const struct vmx_state *v = &c->vmx;
	if (!c->nobs || !v->insn.name)
		return;
	struct event ev = { .type = EVT_VMX_INSN };
	ev.u.vmxinsn.insn = v->insn.name;
	ev.u.vmxinsn.result = result;
	ev.u.vmxinsn.error = (uint8_t)e;
	ev.u.vmxinsn.has_addr = v->insn.has_addr;
	ev.u.vmxinsn.addr = v->insn.addr;
	ev.u.vmxinsn.field = v->insn.field;
	ev.u.vmxinsn.value = v->insn.value;
	evt_emit(c, &ev);
}

void vm_succeed(struct cpu *c)
{
	flags_set(c, FL_ARITH, 0);
	emit_result(c, 0, 0);
}

void vm_fail_invalid(struct cpu *c)
{
	flags_set(c, FL_ARITH, FL_CF);
	emit_result(c, 1, 0);
}

void vm_fail_valid(struct cpu *c, enum vm_insn_error e)
{
	c->vmx.field[VMCS_VM_INSTRUCTION_ERROR] = e;
	flags_set(c, FL_ARITH, FL_ZF);
	emit_result(c, 2, e);
}

/* VMfail: VMfailValid if there is a current VMCS, else VMfailInvalid. */
void vm_fail(struct cpu *c, enum vm_insn_error e)
{
	if (c->vmx.vmcs_ptr != VMCS_INVALID_PTR)
		vm_fail_valid(c, e);
	else
		vm_fail_invalid(c);
}

/* The checks every VMX instruction but VMXON makes first: #UD outside
 * VMX operation, in real mode, virtual-8086 mode or compatibility mode;
 * in VMX non-root operation, a VM exit (25.1.2); #GP(0) above CPL 0. */
void vmx_common_checks(struct cpu *c, const struct insn *i, unsigned reason)
{
	insn_begin(c, vmx_exit_reason_name(reason));
	if (!c->vmx.available || !c->vmx.on || !(c->cr0 & CR0_PE) || (c->rflags & FL_VM) ||
	    ((c->efer & EFER_LMA) && c->code_sz != SZ64))
		emu_raise_noerr(c, VEC_UD);
	if (c->vmx.nonroot)
		vmexit_on_vmx_insn(c, i, reason);
	if (c->cpl != 0)
		emu_raise(c, VEC_GP, 0);
}

/* A 4 KiB-aligned address within the physical-address width. */
static bool region_ok(uint64_t pa)
{
	return !(pa & 0xfff) && !(pa & ~PHYS_MASK);
}

/* The m64 operand of VMXON, VMCLEAR, VMPTRLD. */
static uint64_t m64(struct cpu *c, const struct insn *i)
{
	return mem_read(c, i->seg, ea(c, i), SZ64);
}

static uint32_t region_revision(struct cpu *c, uint64_t pa)
{
	uint32_t v = 0;
	emu_phys_read(c, pa, &v, 4);
	return v;
}

/* Write the cached current VMCS back to its region (with its launch state). */
static void vmcs_flush(struct cpu *c)
{
	struct vmx_state *v = &c->vmx;
	if (v->vmcs_ptr == VMCS_INVALID_PTR)
		return;
	emu_phys_write(c, v->vmcs_ptr + VMCS_DATA_OFFSET, v->field, sizeof v->field);
	emu_phys_write(c, v->vmcs_ptr + VMCS_LAUNCH_OFFSET, &v->launch, 1);
}

/* Make the VMCS at pa current: read its fields and launch state. */
static void vmcs_load(struct cpu *c, uint64_t pa)
{
	struct vmx_state *v = &c->vmx;
	v->vmcs_ptr = pa;
	if (!emu_phys_read(c, pa + VMCS_DATA_OFFSET, v->field, sizeof v->field))
		memset(v->field, 0, sizeof v->field);
	v->launch = 0;
	emu_phys_read(c, pa + VMCS_LAUNCH_OFFSET, &v->launch, 1);
	v->launch = v->launch == VMCS_LAUNCHED ? VMCS_LAUNCHED : VMCS_CLEAR;
}

/* F3 0F C7 /6: VMXON m64 (SDM 30.3, VMXON). */
static void vmxon(struct cpu *c, const struct insn *i)
{
	insn_begin(c, "VMXON");
	if (!(c->cr0 & CR0_PE) || !(c->cr4 & CR4_VMXE) || (c->rflags & FL_VM) ||
	    ((c->efer & EFER_LMA) && c->code_sz != SZ64))
		emu_raise_noerr(c, VEC_UD);
	if (c->vmx.nonroot)
		vmexit_on_vmx_insn(c, i, EXIT_REASON_VMXON);
	if (c->vmx.on) {
		if (c->cpl != 0)
			emu_raise(c, VEC_GP, 0);
		vm_fail(c, VMERR_VMXON_IN_ROOT);
		return;
	}
	/* CPL 0, the CR0/CR4 fixed bits, and IA32_FEATURE_CONTROL locked
	 * with VMX outside SMX enabled (bits 0 and 2). */
	if (c->cpl != 0 || (c->cr0 & VMX_CR0_FIXED0) != VMX_CR0_FIXED0 ||
	    (c->cr4 & VMX_CR4_FIXED0) != VMX_CR4_FIXED0 ||
	    (c->msr.feature_control & 5) != 5)
		emu_raise(c, VEC_GP, 0);
	uint64_t pa = m64(c, i);
	insn_addr(c, pa);
	if (!region_ok(pa) || pa + 4096 > c->bus->ram_size ||
	    region_revision(c, pa) != VMCS_REVISION) {
		vm_fail_invalid(c);
		return;
	}
	c->vmx.on = true;
	c->vmx.vmxon_ptr = pa;
	c->vmx.vmcs_ptr = VMCS_INVALID_PTR;
	vm_succeed(c);
}

/* 0F 01 C4: VMXOFF. */
void op_vmxoff(struct cpu *c, const struct insn *i)
{
	vmx_common_checks(c, i, EXIT_REASON_VMXOFF);
	vmcs_flush(c);
	c->vmx.on = false;
	c->vmx.vmcs_ptr = VMCS_INVALID_PTR;
	c->monitor_armed = false;   /* VMXOFF clears address-range monitoring (30.3) */
	vm_succeed(c);
	if (c->init_pending)
		c->brk |= BRK_STOP; /* an INIT blocked in VMX root operation is taken now */
}

/* 66 0F C7 /6: VMCLEAR m64. */
static void vmclear(struct cpu *c, const struct insn *i)
{
	vmx_common_checks(c, i, EXIT_REASON_VMCLEAR);
	uint64_t pa = m64(c, i);
	insn_addr(c, pa);
	if (!region_ok(pa) || pa + 4096 > c->bus->ram_size) {
		vm_fail(c, VMERR_VMCLEAR_INVALID_ADDRESS);
		return;
	}
	if (pa == c->vmx.vmxon_ptr) {
		vm_fail(c, VMERR_VMCLEAR_VMXON_POINTER);
		return;
	}
	uint8_t clear = VMCS_CLEAR;
	if (pa == c->vmx.vmcs_ptr) {
		c->vmx.launch = VMCS_CLEAR;
		vmcs_flush(c);
		c->vmx.vmcs_ptr = VMCS_INVALID_PTR;
	} else {
		emu_phys_write(c, pa + VMCS_LAUNCH_OFFSET, &clear, 1);
	}
	vm_succeed(c);
}

/* 0F C7 /6: VMPTRLD m64. The revision identifier may carry the
 * shadow-VMCS indicator (bit 31): a shadow VMCS can be made current to
 * fill it in, but not entered (24.10). */
static void vmptrld(struct cpu *c, const struct insn *i)
{
	vmx_common_checks(c, i, EXIT_REASON_VMPTRLD);
	uint64_t pa = m64(c, i);
	insn_addr(c, pa);
	if (!region_ok(pa) || pa + 4096 > c->bus->ram_size) {
		vm_fail(c, VMERR_VMPTRLD_INVALID_ADDRESS);
		return;
	}
	if (pa == c->vmx.vmxon_ptr) {
		vm_fail(c, VMERR_VMPTRLD_VMXON_POINTER);
		return;
	}
	if ((region_revision(c, pa) & 0x7fffffff) != VMCS_REVISION) {
		vm_fail(c, VMERR_VMPTRLD_BAD_REVISION);
		return;
	}
	c->vmx.current_is_shadow = region_revision(c, pa) >> 31;
	if (pa != c->vmx.vmcs_ptr) {
		vmcs_flush(c);
		vmcs_load(c, pa);
	}
	vm_succeed(c);
}

/* 0F C7 /6 (memory): VMPTRLD, VMCLEAR (66h) or VMXON (F3h). */
void op_vmx_c7_6(struct cpu *c, const struct insn *i)
{
	if (!c->vmx.available || (i->p66 && i->rep))
		emu_raise_noerr(c, VEC_UD);
	if (i->rep == REP_F3)
		vmxon(c, i);
	else if (i->p66)
		vmclear(c, i);
	else if (i->rep)
		emu_raise_noerr(c, VEC_UD);
	else
		vmptrld(c, i);
}

/* 0F C7 /7 (memory): VMPTRST m64. */
void op_vmptrst(struct cpu *c, const struct insn *i)
{
	if (i->p66 || i->rep)
		emu_raise_noerr(c, VEC_UD);
	vmx_common_checks(c, i, EXIT_REASON_VMPTRST);
	mem_write(c, i->seg, ea(c, i), SZ64, c->vmx.vmcs_ptr);
	insn_addr(c, c->vmx.vmcs_ptr);
	vm_succeed(c);
}

/* The field a VMREAD/VMWRITE names in its register operand, or -1 after
 * failing the instruction (no VMCS to use, or an unsupported field). */
static int vmcs_operand(struct cpu *c, uint64_t enc, bool *high)
{
	uint64_t vmcs = c->vmx.nonroot ? c->vmx.field[VMCS_VMCS_LINK_POINTER] : c->vmx.vmcs_ptr;
	if (vmcs == VMCS_INVALID_PTR) {
		vm_fail_invalid(c);
		return -1;
	}
	int f = enc >> 32 ? -1 : vmcs_field_lookup((uint32_t)enc, high);
	if (f < 0)
		vm_fail_valid(c, VMERR_UNSUPPORTED_COMPONENT);
	return f;
}

static uint64_t field_mask(int f)
{
	unsigned bits = vmcs_field_bits((enum vmcs_field)f);
	return bits == 64 ? ~0ull : (1ull << bits) - 1;
}

/* VMCS shadowing (24.10, 30.3): in a guest with "VMCS shadowing", a
 * VMREAD or VMWRITE whose field's bit (encoding bits 14:0) is clear in
 * the VMREAD or VMWRITE bitmap does not exit; it reads or writes the
 * shadow VMCS, the one VMCS_LINK_POINTER names, in memory. */
static bool shadowed(struct cpu *c, uint64_t enc, bool write)
{
	if (!vmx_proc2(c, PROC2_VMCS_SHADOWING) || (enc >> 15))
		return false;
	uint64_t bitmap = write ? VMF(c, VMWRITE_BITMAP) : VMF(c, VMREAD_BITMAP);
	uint8_t b = 0xff;
	emu_phys_read(c, bitmap + (enc >> 3), &b, 1);
	return !(b & (1u << (enc & 7)));
}

/* The #UD checks of VMREAD/VMWRITE, then their VM exit in a guest unless
 * the field is shadowed, then #GP above CPL 0. */
static void vmread_vmwrite_checks(struct cpu *c, const struct insn *i, uint64_t enc, bool write)
{
	if (!c->vmx.nonroot || !shadowed(c, enc, write)) {
		vmx_common_checks(c, i, write ? EXIT_REASON_VMWRITE : EXIT_REASON_VMREAD);
		return;
	}
	insn_begin(c, write ? "VMWRITE" : "VMREAD");   /* to the shadow VMCS */
	if (c->cpl != 0)
		emu_raise(c, VEC_GP, 0);
}

static uint64_t field_read(struct cpu *c, int f)
{
	if (!c->vmx.nonroot)
		return c->vmx.field[f];
	uint64_t v = 0;
	emu_phys_read(c, VMF(c, VMCS_LINK_POINTER) + vmcs_field_offset(f), &v, 8);
	return v;
}

static void field_write(struct cpu *c, int f, uint64_t v)
{
	if (!c->vmx.nonroot)
		c->vmx.field[f] = v;
	else
		emu_phys_write(c, VMF(c, VMCS_LINK_POINTER) + vmcs_field_offset(f), &v, 8);
}

/* 0F 78: VMREAD r/m, r (SDM 30.3, VMREAD). The operand size is 64 bits
 * in 64-bit mode and 32 elsewhere. */
void op_vmread(struct cpu *c, const struct insn *i)
{
	int sz = c->code_sz == SZ64 ? SZ64 : SZ32;
	uint64_t enc = reg_get(c, i->reg, sz);
	vmread_vmwrite_checks(c, i, enc, false);
	bool high;
	int f = vmcs_operand(c, enc, &high);
	if (f < 0)
		return;
	uint64_t v = field_read(c, f) & field_mask(f);
	if (high)
		v >>= 32;
	rm_write(c, i, sz, v);
	c->vmx.insn.field = f;
	c->vmx.insn.value = v;
	vm_succeed(c);
}

/* 0F 79: VMWRITE r, r/m. With IA32_VMX_MISC bit 29 ("VMWRITE to any
 * field", offered) the read-only VM-exit information fields may be
 * written too: a nested hypervisor shows its own guest a VM exit that
 * way (30.3, VMWRITE). */
void op_vmwrite(struct cpu *c, const struct insn *i)
{
	int sz = c->code_sz == SZ64 ? SZ64 : SZ32;
	uint64_t enc = reg_get(c, i->reg, sz);
	vmread_vmwrite_checks(c, i, enc, true);
	uint64_t v = rm_read(c, i, sz);
	bool high;
	int f = vmcs_operand(c, enc, &high);
	if (f < 0)
		return;
	if (vmcs_fields[f].group == RO && !VMX_WRITE_ANY_FIELD) {
		vm_fail_valid(c, VMERR_VMWRITE_READ_ONLY);
		return;
	}
	uint64_t old = field_read(c, f);
	if (high)
		v = (old & 0xffffffffu) | (v << 32);
	else
		v &= field_mask(f);
	field_write(c, f, v);
	c->vmx.insn.field = f;
	c->vmx.insn.value = v;
	vm_succeed(c);
}
