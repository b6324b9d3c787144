/* VMCS02, and the way back. When type1 enters its guest, nested builds
 * the VMCS it really runs the guest with (VMCS02) from type1's VMCS12:
 * the guest state as type1 wrote it, the controls type1 chose with what
 * nested needs added (its shadow EPT, its own VPIDs, its own host state),
 * and every address type1 gave translated to where it really is. When an
 * L3 exit is for type1, nested does what the processor's VM exit would
 * have done to VMCS12 and to type1 (SDM chapter 27): save the guest state
 * and the exit information in VMCS12, load VMCS12's host state into
 * type1 (VMCS01's guest state), and let type1 run at its HOST_RIP. */
#include "lib/alloc.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "nested/nested.h"

/* What VMCS02's exits do for nested itself, whatever type1 asked: come
 * back in 64-bit mode with nested's EFER and PAT, and keep the guest's. */
#define EXIT_FOR_NESTED (VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |        \
			 VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT)

/* Guest-state fields VMCS02 does not take from VMCS12: those of features
 * nested does not offer, the link pointer (no shadow VMCS), and EFER and
 * PAT, which VMCS02 always loads (entry_msrs()). */
static bool guest_field_copied(int slot)
{
	switch (slot) {
	case V12_GUEST_INTERRUPT_STATUS: case V12_GUEST_PML_INDEX:
	case V12_GUEST_IA32_PERF_GLOBAL_CTRL: case V12_GUEST_IA32_BNDCFGS:
	case V12_GUEST_SMBASE: case V12_VMCS_LINK_POINTER:
	case V12_GUEST_IA32_EFER: case V12_GUEST_IA32_PAT:
		return false;
	}
	return vmcs12_group(slot) == V12_GROUP_GUEST;
}

/* Control fields copied as they are: they only decide when L3 exits or
 * what an entry injects, which L0 then does for nested. */
static const int copied_controls[] = {
	V12_PIN_BASED_VM_EXEC_CONTROL, V12_EXCEPTION_BITMAP, V12_PAGE_FAULT_ERROR_CODE_MASK,
	V12_PAGE_FAULT_ERROR_CODE_MATCH, V12_CR3_TARGET_COUNT, V12_CR3_TARGET_VALUE0,
	V12_CR3_TARGET_VALUE1, V12_CR3_TARGET_VALUE2, V12_CR3_TARGET_VALUE3,
	V12_CR0_GUEST_HOST_MASK, V12_CR4_GUEST_HOST_MASK, V12_CR0_READ_SHADOW,
	V12_CR4_READ_SHADOW, V12_TSC_OFFSET, V12_VM_ENTRY_INTR_INFO_FIELD,
	V12_VM_ENTRY_EXCEPTION_ERROR_CODE, V12_VM_ENTRY_INSTRUCTION_LEN, V12_PLE_GAP,
	V12_PLE_WINDOW, V12_VM_ENTRY_MSR_LOAD_COUNT, V12_VM_EXIT_MSR_STORE_COUNT,
};

static void copy_in(const struct cached12 *c, int slot)
{
	vmcs_write(vmcs12_encoding(slot), c->v.field[slot]);
}

/* VMCS12's MSR bitmap ORed with VMCS01's: an MSR exits from L3 if type1
 * wants it to, or if nested does not let type1 itself touch it (24.6.9).
 * Made when the address changes; like a processor that cached it, nested
 * does not see later changes to type1's bitmap page. */
static uint64_t msr_bitmap02(struct cached12 *c, uint64_t bitmap01)
{
	uint64_t gpa = V12(c, MSR_BITMAP);
	if (!c->msr_bitmap)
		c->msr_bitmap = alloc_page();
	if (c->msr_bitmap12 != gpa) {
		const uint64_t *a = l2_host_ptr(gpa, 4096), *b = (const uint64_t *)bitmap01;
		for (unsigned k = 0; k < 512; k++)
			c->msr_bitmap[k] = a[k] | b[k];
		c->msr_bitmap12 = gpa;
	}
	return (uintptr_t)c->msr_bitmap;
}

/* The secondary controls: VMCS02 always uses EPT (nested's shadow of
 * EPT12, or EPT01 itself when type1 has no EPT); type1's VPID n is VPID
 * n + 1, VPID 1 being type1's own. */
static uint32_t write_secondary(struct cached12 *c, uint32_t proc)
{
	uint32_t proc2 = (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ?
			 (uint32_t)V12(c, SECONDARY_VM_EXEC_CONTROL) : 0;
	bool ept12 = proc2 & SECONDARY_EXEC_ENABLE_EPT;
	vmcs_write(EPT_POINTER, ept12 ? ept02_pointer(V12(c, EPT_POINTER))
				      : ept_pointer(&nest.vm.ept));
	if (proc2 & SECONDARY_EXEC_ENABLE_VPID)
		vmcs_write(VIRTUAL_PROCESSOR_ID, V12(c, VIRTUAL_PROCESSOR_ID) + 1);
	return proc2 | SECONDARY_EXEC_ENABLE_EPT;
}

/* 24.6-24.8: the controls of VMCS02. */
static void write_controls(struct cached12 *c, uint64_t bitmap01)
{
	uint32_t proc = (uint32_t)V12(c, CPU_BASED_VM_EXEC_CONTROL);
	for (unsigned k = 0; k < sizeof copied_controls / sizeof copied_controls[0]; k++)
		copy_in(c, copied_controls[k]);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, write_secondary(c, proc));
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, proc | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
	uint64_t exit = V12(c, VM_EXIT_CONTROLS) | EXIT_FOR_NESTED;
	/* The timer's value is kept across exits nested handles itself. */
	if (V12(c, PIN_BASED_VM_EXEC_CONTROL) & PIN_BASED_PREEMPTION_TIMER)
		exit |= VM_EXIT_SAVE_PREEMPTION_TIMER;
	vmcs_write(VM_EXIT_CONTROLS, exit);
	vmcs_write(VM_ENTRY_CONTROLS,
		   V12(c, VM_ENTRY_CONTROLS) | VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT);
	if (proc & CPU_BASED_USE_MSR_BITMAPS)
		vmcs_write(MSR_BITMAP, msr_bitmap02(c, bitmap01));
	/* The L3 guest's MSRs are loaded and stored where type1 keeps them;
	 * nested itself uses none of them, so VMCS02 loads none at exit. */
	vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, (uintptr_t)l2_host_ptr(V12(c, VM_ENTRY_MSR_LOAD_ADDR), 0));
	vmcs_write(VM_EXIT_MSR_STORE_ADDR, (uintptr_t)l2_host_ptr(V12(c, VM_EXIT_MSR_STORE_ADDR), 0));
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_LINK_POINTER, ~0ull);
}

/* 26.3.2.1: EFER and PAT as VMCS12 loads them, or as type1 had them when
 * "load IA32_EFER" is 0 (LMA and LME then follow "IA-32e mode guest"). */
static void write_efer_pat(struct cached12 *c, uint64_t efer01, uint64_t pat01)
{
	uint64_t entry = V12(c, VM_ENTRY_CONTROLS), efer = efer01 & ~(EFER_LMA | EFER_LME);
	if (entry & VM_ENTRY_IA32E_MODE)
		efer |= EFER_LMA | EFER_LME;
	vmcs_write(GUEST_IA32_EFER, (entry & VM_ENTRY_LOAD_IA32_EFER) ? V12(c, GUEST_IA32_EFER) : efer);
	vmcs_write(GUEST_IA32_PAT, (entry & VM_ENTRY_LOAD_IA32_PAT) ? V12(c, GUEST_IA32_PAT) : pat01);
}

/* Make c's VMCS02 current; a new one gets nested's host state (24.5),
 * the same as VMCS01's: an L3 exit comes back to vmx_run(). */
static bool make_current(struct cached12 *c)
{
	bool fresh = !c->l3.vmcs;
	if (fresh) {
		c->l3.vmcs = vmx_alloc_vmcs();
		vmclear((uintptr_t)c->l3.vmcs);
		c->msr_bitmap12 = ~0ull;
	}
	if (vmptrld((uintptr_t)c->l3.vmcs) != VMX_SUCCEED)
		nested_stop("VMPTRLD of a VMCS02 failed");
	return fresh;
}

/* type1 executed VMLAUNCH or VMRESUME, and VMCS12 passed nested's checks:
 * VMCS02 from VMCS12. VMCS01 is current on the way in, VMCS02 on the way
 * out. The guest's general registers are type1's: VM entry does not
 * change them. */
void merge_enter(struct cached12 *c)
{
	uint64_t efer01 = vmcs_read(GUEST_IA32_EFER), pat01 = vmcs_read(GUEST_IA32_PAT);
	uint64_t bitmap01 = vmcs_read(MSR_BITMAP);
	c->l3.regs = nest.vm.vcpu.regs;
	bool fresh = make_current(c);
	write_controls(c, bitmap01);
	if (fresh)
		vmcs_init_host_state();
	for (int s = 0; s < VMCS12_NFIELDS; s++)
		if (guest_field_copied(s))
			copy_in(c, s);
	write_efer_pat(c, efer01, pat01);
	nest.in_l3 = true;
	nest.entering = true;
	nest.entry_len = nest.vm.vcpu.exit_insn_len;
}

/* ---- the exit, to type1 ---- */

/* 27.3: the guest state goes back to VMCS12; EFER, PAT, the debug
 * controls and the timer only if VMCS12's exit controls save them. */
static bool saved_by_exit(int slot, uint64_t exit)
{
	switch (slot) {
	case V12_GUEST_IA32_EFER: return exit & VM_EXIT_SAVE_IA32_EFER;
	case V12_GUEST_IA32_PAT:  return exit & VM_EXIT_SAVE_IA32_PAT;
	case V12_GUEST_IA32_DEBUGCTL: case V12_GUEST_DR7:
		return exit & VM_EXIT_SAVE_DEBUG_CONTROLS;
	case V12_VMX_PREEMPTION_TIMER_VALUE: return exit & VM_EXIT_SAVE_PREEMPTION_TIMER;
	case V12_GUEST_IA32_PERF_GLOBAL_CTRL: case V12_GUEST_IA32_BNDCFGS:
	case V12_GUEST_INTERRUPT_STATUS: case V12_GUEST_PML_INDEX: case V12_GUEST_SMBASE:
	case V12_VMCS_LINK_POINTER:
		return false;
	}
	return vmcs12_group(slot) == V12_GROUP_GUEST;
}

static void save_guest_state(struct cached12 *c)
{
	uint64_t exit = V12(c, VM_EXIT_CONTROLS);
	for (int s = 0; s < VMCS12_NFIELDS; s++)
		if (saved_by_exit(s, exit))
			c->v.field[s] = vmcs_read(vmcs12_encoding(s));
	/* IA32_VMX_MISC[5]: an exit stores EFER.LMA in "IA-32e mode guest". */
	uint64_t ia32e = vmcs_read(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE;
	V12(c, VM_ENTRY_CONTROLS) = (V12(c, VM_ENTRY_CONTROLS) & ~VM_ENTRY_IA32E_MODE) | ia32e;
}

/* 27.2: the exit information, as L0 wrote it in VMCS02. An exit clears
 * the valid bit of the entry's event injection (24.8.3). */
static void save_exit_info(struct cached12 *c)
{
	for (int s = 0; s < VMCS12_NFIELDS; s++)
		if (vmcs12_group(s) == V12_GROUP_RO && s != V12_VM_INSTRUCTION_ERROR)
			c->v.field[s] = vmcs_read(vmcs12_encoding(s));
	V12(c, VM_ENTRY_INTR_INFO_FIELD) &= ~(uint64_t)INTR_INFO_VALID;
}

/* 27.6: the MSRs VMCS12's exit loads are type1's; the ones it keeps in
 * VMCS01's MSR-load area (hvlib's swapped MSRs) are loaded at its next
 * entry. */
static void load_host_msrs(struct cached12 *c)
{
	const uint64_t *list = l2_host_ptr(V12(c, VM_EXIT_MSR_LOAD_ADDR), 0);
	uint64_t n01 = vmcs_read(VM_ENTRY_MSR_LOAD_COUNT);
	for (uint64_t k = 0; k < V12(c, VM_EXIT_MSR_LOAD_COUNT); k++) {
		uint32_t msr = (uint32_t)list[2 * k];
		uint64_t j = 0;
		while (j < n01 && nest.vm.msr_area[2 * j] != msr)
			j++;
		if (j == n01)
			nested_stop("type1's VM-exit MSR-load list has MSR 0x%x, which nested "
				    "does not switch", msr);
		nest.vm.msr_area[2 * j + 1] = list[2 * k + 1];
	}
}

/* One segment of VMCS01's guest state, which is type1's state. */
static void segment01(unsigned i, uint64_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
	vmcs_write(GUEST_ES_SELECTOR + 2 * i, sel);
	vmcs_write(GUEST_ES_BASE + 2 * i, base);
	vmcs_write(GUEST_ES_LIMIT + 2 * i, limit);
	vmcs_write(GUEST_ES_AR_BYTES + 2 * i, sel || i == 1 ? ar : VMX_AR_UNUSABLE);
}

/* 27.5.2: the host's segments. CS a 64-bit code segment, the data
 * segments flat and unusable when their selector is null, TR a busy TSS
 * of 0x67 bytes, LDTR unusable; GDTR and IDTR limits 0xFFFF. */
static void load_host_segments(const struct cached12 *c)
{
	for (unsigned i = 0; i < 6; i++) {
		uint64_t base = i == 4 ? V12(c, HOST_FS_BASE) : i == 5 ? V12(c, HOST_GS_BASE) : 0;
		segment01(i, c->v.field[V12_HOST_ES_SELECTOR + i], base, 0xffffffffu,
			  i == 1 ? 0xa09b : 0xc093);
	}
	segment01(6, 0, 0, 0, VMX_AR_UNUSABLE);
	segment01(7, V12(c, HOST_TR_SELECTOR), V12(c, HOST_TR_BASE), 0x67, 0x8b);
	vmcs_write(GUEST_GDTR_BASE, V12(c, HOST_GDTR_BASE));
	vmcs_write(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(GUEST_IDTR_BASE, V12(c, HOST_IDTR_BASE));
	vmcs_write(GUEST_IDTR_LIMIT, 0xffff);
}

/* 27.5.1, 27.5.3: control registers, MSRs, RIP, RSP and RFLAGS. The
 * checks of caps_host_state_ok() made this a 64-bit host. */
static void load_host_state(struct cached12 *c)
{
	uint64_t exit = V12(c, VM_EXIT_CONTROLS);
	vm_cr_write(&nest.vm, 0, V12(c, HOST_CR0));
	vm_cr_write(&nest.vm, 4, V12(c, HOST_CR4));
	vmcs_write(GUEST_CR3, V12(c, HOST_CR3));
	vmcs_write(GUEST_DR7, 0x400);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_SYSENTER_CS, V12(c, HOST_IA32_SYSENTER_CS));
	vmcs_write(GUEST_SYSENTER_ESP, V12(c, HOST_IA32_SYSENTER_ESP));
	vmcs_write(GUEST_SYSENTER_EIP, V12(c, HOST_IA32_SYSENTER_EIP));
	if (exit & VM_EXIT_LOAD_IA32_EFER)
		vmcs_write(GUEST_IA32_EFER, V12(c, HOST_IA32_EFER));
	else
		vmcs_set_bits(GUEST_IA32_EFER, EFER_LMA | EFER_LME);
	if (exit & VM_EXIT_LOAD_IA32_PAT)
		vmcs_write(GUEST_IA32_PAT, V12(c, HOST_IA32_PAT));
	load_host_segments(c);
	vmcs_write(GUEST_RIP, V12(c, HOST_RIP));
	vmcs_write(GUEST_RSP, V12(c, HOST_RSP));
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_set_bits(VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
}

/* An L3 exit for type1: VMCS02 is current on the way in, VMCS01 on the
 * way out, and type1 runs next. A failed entry (26.7) saves no guest
 * state and leaves the launch state as it was. */
void merge_reflect(struct cached12 *c, bool failed_entry)
{
	if (!failed_entry) {
		save_guest_state(c);
		c->v.launched = 1;
	}
	save_exit_info(c);
	nest.vm.vcpu.regs = c->l3.regs;
	if (!vm_make_current(&nest.vm))
		nested_stop("VMPTRLD of VMCS01 failed");
	load_host_msrs(c);
	load_host_state(c);
	nest.in_l3 = false;
}
