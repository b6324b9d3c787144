/* type1's VMX instructions. In VMX non-root operation every one of them
 * is a VM exit (SDM 25.1.2); nested does what the processor would (the
 * "Operation" sections of vol. 2C, chapter 6, and 30.3), on VMCS12s in
 * its cache (vmcs12.c), and reports the result the architectural way: in
 * type1's RFLAGS (30.2), with the error number in VMCS12's
 * VM_INSTRUCTION_ERROR (table 30-1), or as an exception. VMCS01 is
 * current; the exit information is in nest.vm.vcpu. */
#include "lib/printf.h"
#include "lib/x86.h"
#include "nested/nested.h"

#define ARITH_FLAGS 0x8d5ull     /* CF PF AF ZF SF OF */
#define VEC_UD 6

/* Instruction information (27.2.5, tables 27-13 and 27-14): reg1 is
 * VMREAD's destination or VMWRITE's source when bit 10 says "register";
 * reg2 holds the field encoding, or INVEPT's and INVVPID's type. */
#define INFO_REG1(i)     (((i) >> 3) & 0xf)
#define INFO_IS_REG(i)   ((i) & (1u << 10))
#define INFO_REG2(i)     (((i) >> 28) & 0xf)

/* ---- results (30.2) ---- */

static enum vm_next result(uint64_t flags)
{
	vmcs_write(GUEST_RFLAGS, (vmcs_read(GUEST_RFLAGS) & ~ARITH_FLAGS) | flags);
	vm_skip(&nest.vm);
	return VM_RESUME;
}

static enum vm_next succeed(void)
{
	return result(0);
}

static enum vm_next fail_invalid(void)
{
	return result(RFLAGS_CF);
}

/* VMfailValid when there is a current VMCS to hold the error number,
 * VMfailInvalid otherwise (30.2). */
enum vm_next vmx_fail_valid(uint32_t error)
{
	if (!nest.cur)
		return fail_invalid();
	V12(nest.cur, VM_INSTRUCTION_ERROR) = error;
	return result(RFLAGS_ZF);
}

static enum vm_next raise(unsigned vector)
{
	if (vector == VEC_UD)
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | INTR_TYPE_HARD_EXCEPTION | VEC_UD);
	else
		vm_inject_gp(&nest.vm);
	return VM_RESUME;
}

/* ---- type1's state as it sees it ---- */

/* A control register as type1 reads it: the bits VMCS01 gives nested
 * come from the read shadow (25.3). */
static uint64_t cr_view(uint64_t real, uint64_t mask, uint64_t shadow)
{
	return (vmcs_read(real) & ~vmcs_read(mask)) | (vmcs_read(shadow) & vmcs_read(mask));
}

static unsigned cpl(void)
{
	return (vmcs_read(GUEST_SS_AR_BYTES) >> 5) & 3;
}

/* VMX instructions are #UD in real mode, virtual-8086 mode and
 * compatibility mode (vol. 2C, VMXON and the others). */
static bool mode_ok(void)
{
	bool lma = vmcs_read(GUEST_IA32_EFER) & EFER_LMA;
	bool cs_l = vmcs_read(GUEST_CS_AR_BYTES) & (1u << 13);
	return (vmcs_read(GUEST_CR0) & CR0_PE) && !(vmcs_read(GUEST_RFLAGS) & RFLAGS_VM) &&
	       (!lma || cs_l);
}

/* The checks every VMX instruction but VMXON starts with: #UD outside
 * VMX operation, #GP(0) outside ring 0. Returns false with *next set
 * when one failed. */
static bool may_execute(enum vm_next *next)
{
	if (!nest.vmxon || !mode_ok()) {
		*next = raise(VEC_UD);
		return false;
	}
	if (cpl() > 0) {
		*next = raise(13);
		return false;
	}
	return true;
}

/* The memory operand of the instruction (a VMCS or VMXON pointer, an
 * INVEPT/INVVPID descriptor, VMREAD's or VMWRITE's memory form). */
static void operand(void *buf, unsigned len, bool write)
{
	uint64_t lin = vmx_exit_operand_addr(&nest.vm.vcpu);
	if (!l2_copy(lin, buf, len, write))
		nested_stop("type1's VMX operand at linear address 0x%lx is not mapped: "
			    "nested does not emulate the page fault", lin);
}

static uint64_t operand64(void)
{
	uint64_t v = 0;
	operand(&v, 8, false);
	return v;
}

/* A VMXON or VMCS pointer: 4 KiB-aligned, within the physical-address
 * width (30.3), and, for nested, in type1's RAM. */
static bool pointer_ok(uint64_t pa)
{
	return !(pa & 0xfff) && !(pa >> vmx_phys_addr_width()) && l2_host_ptr(pa, 4096);
}

static uint32_t revision_at(uint64_t pa)
{
	struct cached12 *c = vmcs12_find(pa);
	uint32_t rev = 0;
	if (c)
		return c->v.revision;
	vm_read(&nest.vm, pa, &rev, sizeof rev);
	return rev;
}

/* ---- the instructions ---- */

static enum vm_next do_vmxon(void)
{
	uint64_t cr4 = cr_view(GUEST_CR4, CR4_GUEST_HOST_MASK, CR4_READ_SHADOW);
	if (!(cr4 & CR4_VMXE) || !mode_ok())
		return raise(VEC_UD);
	if (cpl() > 0)
		return raise(13);
	if (nest.vmxon)
		return vmx_fail_valid(VMXERR_VMXON_IN_ROOT);
	/* IA32_FEATURE_CONTROL is locked with VMX enabled (exits.c), and
	 * CR0 follows the fixed bits (hvlib keeps them), so no #GP. */
	uint64_t pa = operand64();
	if (!pointer_ok(pa) || revision_at(pa) != VMCS12_REVISION)
		return fail_invalid();
	nest.vmxon = true;
	nest.vmxon_gpa = pa;
	nest.cur = 0;
	return succeed();
}

static enum vm_next do_vmxoff(void)
{
	nest.vmxon = false;
	nest.cur = 0;
	return succeed();
}

/* The VMCS pointer of VMCLEAR and VMPTRLD (30.3): false, with *next set,
 * if it is not a valid address (error invalid) or is the VMXON pointer
 * (error vmxon). */
static bool vmcs_pointer(uint64_t *pa, uint32_t invalid, uint32_t vmxon, enum vm_next *next)
{
	*pa = operand64();
	if (!pointer_ok(*pa))
		*next = vmx_fail_valid(invalid);
	else if (*pa == nest.vmxon_gpa)
		*next = vmx_fail_valid(vmxon);
	else
		return true;
	return false;
}

static enum vm_next do_vmclear(void)
{
	uint64_t pa;
	enum vm_next next;
	if (!vmcs_pointer(&pa, VMXERR_VMCLEAR_INVALID_ADDRESS, VMXERR_VMCLEAR_VMXON_POINTER, &next))
		return next;
	if (nest.cur && nest.cur->gpa == pa)
		nest.cur = 0;
	vmcs12_clear(pa);
	return succeed();
}

static enum vm_next do_vmptrld(void)
{
	uint64_t pa;
	enum vm_next next;
	if (!vmcs_pointer(&pa, VMXERR_VMPTRLD_INVALID_ADDRESS, VMXERR_VMPTRLD_VMXON_POINTER, &next))
		return next;
	/* A shadow VMCS (bit 31) is not offered: also error 11. */
	if (revision_at(pa) != VMCS12_REVISION)
		return vmx_fail_valid(VMXERR_VMPTRLD_BAD_REVISION);
	nest.cur = vmcs12_load(pa);
	return succeed();
}

static enum vm_next do_vmptrst(void)
{
	uint64_t pa = nest.cur ? nest.cur->gpa : ~0ull;
	operand(&pa, 8, true);
	return succeed();
}

/* In 64-bit mode VMREAD and VMWRITE move 64 bits; elsewhere 32. */
static unsigned operand_size(void)
{
	return (vmcs_read(GUEST_CS_AR_BYTES) & (1u << 13)) ? 8 : 4;
}

static enum vm_next do_vmread(void)
{
	uint32_t info = nest.vm.vcpu.exit_insn_info;
	if (!nest.cur)
		return fail_invalid();
	uint64_t e = vm_gpr(&nest.vm, INFO_REG2(info));
	int slot = vmcs12_slot(e);
	if (slot < 0)
		return vmx_fail_valid(VMXERR_UNSUPPORTED_COMPONENT);
	uint64_t v = vmcs12_get(e, slot);
	if (operand_size() == 4)
		v &= 0xffffffffu;
	if (INFO_IS_REG(info))
		vm_set_gpr(&nest.vm, INFO_REG1(info), v);
	else
		operand(&v, operand_size(), true);
	return succeed();
}

static enum vm_next do_vmwrite(void)
{
	uint32_t info = nest.vm.vcpu.exit_insn_info;
	if (!nest.cur)
		return fail_invalid();
	uint64_t v = 0;
	if (INFO_IS_REG(info))
		v = vm_gpr(&nest.vm, INFO_REG1(info));
	else
		operand(&v, operand_size(), false);
	if (operand_size() == 4)
		v &= 0xffffffffu;
	uint64_t e = vm_gpr(&nest.vm, INFO_REG2(info));
	int slot = vmcs12_slot(e);
	if (slot < 0)
		return vmx_fail_valid(VMXERR_UNSUPPORTED_COMPONENT);
	if (vmcs12_read_only(e))
		return vmx_fail_valid(VMXERR_VMWRITE_READ_ONLY);
	vmcs12_put(e, slot, v);
	return succeed();
}

/* VMLAUNCH and VMRESUME: the checks of 26.1 and 26.2 that VMCS02 would
 * not make for VMCS12; then nested enters the L3 guest (merge.c). A
 * failure L0 finds later, in VMCS02, still comes back to type1 as
 * VMfailValid or as a failed entry (exits.c). */
static enum vm_next do_vmlaunch(bool resume)
{
	struct cached12 *c = nest.cur;
	if (!c)
		return fail_invalid();
	if (vmcs_read(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_MOV_SS)
		return vmx_fail_valid(VMXERR_ENTRY_EVENTS_BLOCKED_BY_MOV_SS);
	if (!resume && c->v.launched)
		return vmx_fail_valid(VMXERR_VMLAUNCH_NONCLEAR_VMCS);
	if (resume && !c->v.launched)
		return vmx_fail_valid(VMXERR_VMRESUME_NONLAUNCHED_VMCS);
	if (!caps_controls_ok(&c->v))
		return vmx_fail_valid(VMXERR_ENTRY_INVALID_CONTROL);
	if (!caps_host_state_ok(&c->v))
		return vmx_fail_valid(VMXERR_ENTRY_INVALID_HOST_STATE);
	merge_enter(c);
	return VM_RESUME;
}

/* INVEPT (vol. 2C): type 1 drops what was cached for one EPTP, type 2
 * everything. For nested that means its shadow EPTs (ept02.c). */
static enum vm_next do_invept(void)
{
	uint64_t type = vm_gpr(&nest.vm, INFO_REG2(nest.vm.vcpu.exit_insn_info)), desc[2];
	if (!caps_invept_type_ok(type))
		return vmx_fail_valid(VMXERR_INVALID_INVEPT_INVVPID);
	operand(desc, sizeof desc, false);
	if (type == 1)
		ept02_flush(desc[0]);
	else
		ept02_flush_all();
	return succeed();
}

/* INVVPID (vol. 2C): type1's VPID n is VPID n + 1 on L0 (merge.c), so the
 * instruction is done again there with that VPID. */
static enum vm_next do_invvpid(void)
{
	uint64_t type = vm_gpr(&nest.vm, INFO_REG2(nest.vm.vcpu.exit_insn_info)), desc[2];
	if (!caps_invvpid_type_ok(type))
		return vmx_fail_valid(VMXERR_INVALID_INVEPT_INVVPID);
	operand(desc, sizeof desc, false);
	uint16_t vpid = desc[0] & 0xffff;
	bool bad_address = type == 0 && (uint64_t)((int64_t)(desc[1] << 16) >> 16) != desc[1];
	if ((type != 2 && (vpid == 0 || vpid == 0xffff)) || bad_address)
		return vmx_fail_valid(VMXERR_INVALID_INVEPT_INVVPID);
	if (invvpid(type, type == 2 ? 0 : vpid + 1, desc[1]) != VMX_SUCCEED)
		nested_stop("INVVPID type %lu on L0 failed", type);
	return succeed();
}

/* One exit of type1 on a VMX instruction. */
enum vm_next vmx_emulate(uint32_t reason)
{
	enum vm_next next;
	if (reason == EXIT_REASON_VMXON)
		return do_vmxon();
	if (!may_execute(&next))
		return next;
	switch (reason) {
	case EXIT_REASON_VMXOFF:   return do_vmxoff();
	case EXIT_REASON_VMCLEAR:  return do_vmclear();
	case EXIT_REASON_VMPTRLD:  return do_vmptrld();
	case EXIT_REASON_VMPTRST:  return do_vmptrst();
	case EXIT_REASON_VMREAD:   return do_vmread();
	case EXIT_REASON_VMWRITE:  return do_vmwrite();
	case EXIT_REASON_VMLAUNCH: return do_vmlaunch(false);
	case EXIT_REASON_VMRESUME: return do_vmlaunch(true);
	case EXIT_REASON_INVEPT:   return do_invept();
	case EXIT_REASON_INVVPID:  return do_invvpid();
	}
	nested_stop("VMX exit %u is not a VMX instruction", reason);
}
