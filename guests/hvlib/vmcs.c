/* A guest's VMCS and EPT, as both teaching hypervisors build them: the
 * capability check, the controls, and a guest that starts in the state a
 * Multiboot loader leaves. Also the CR0/CR4 bits VMX fixes, and what the
 * guest sees of them. */
#include "hvlib/vm.h"
#include "lib/alloc.h"
#include "lib/hv.h"
#include "lib/multiboot.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/x86.h"

#define CR0_ET (1ul << 4)

/* The CR0 and CR4 bits VMX operation fixes (A.7, A.8): fixed0 bits must be
 * 1, bits clear in fixed1 must be 0. "Unrestricted guest" frees CR0.PE
 * and CR0.PG, so that guests can start without paging, or in real mode
 * (26.3.1.1). A guest must not see these constraints: the bits they touch
 * are "owned by the host" in the CR0/CR4 guest/host masks, the guest
 * reads its own values from the read shadows, and writing a different
 * value there is a VM exit (25.3, vm_cr_write()). */
static uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;

/* One page of MSR bitmaps, shared by all guests (24.6.9): a set bit makes
 * RDMSR/WRMSR of that MSR exit. */
static uint8_t *msr_bitmap;

/* The MSRs a guest may use directly. FS/GS bases, SYSENTER, EFER and PAT
 * are in the VMCS guest-state area, swapped at every entry and exit; the
 * SYSCALL MSRs are not, so the MSR areas swap them (msr_area). */
static const uint32_t passthrough_msrs[] = {
	MSR_IA32_FS_BASE, MSR_IA32_GS_BASE, MSR_IA32_KERNEL_GS_BASE,
	MSR_IA32_STAR, MSR_IA32_LSTAR, MSR_IA32_CSTAR, MSR_IA32_FMASK,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_IA32_EFER, MSR_IA32_PAT,
};
static const uint32_t swapped_msrs[] = {
	MSR_IA32_KERNEL_GS_BASE, MSR_IA32_STAR, MSR_IA32_LSTAR, MSR_IA32_CSTAR,
	MSR_IA32_FMASK,
};
#define NSWAPPED (sizeof swapped_msrs / sizeof swapped_msrs[0])
static uint64_t *host_msr_area;

/* The controls the hypervisors need, and why. */
#define PIN_WANTED  (PIN_BASED_EXT_INTR_EXITING |  /* the host's timer ticks exit */ \
		     PIN_BASED_NMI_EXITING |                                 \
		     PIN_BASED_PREEMPTION_TIMER)       /* time slices, guest timers */
#define PROC_WANTED (CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING |   \
		     CPU_BASED_USE_MSR_BITMAPS |                             \
		     CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
#define PROC2_WANTED (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID | \
		      SECONDARY_EXEC_UNRESTRICTED_GUEST)
#define EXIT_WANTED (VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_ACK_INTR_ON_EXIT | \
		     VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER |       \
		     VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT |         \
		     VM_EXIT_SAVE_PREEMPTION_TIMER)
#define ENTRY_WANTED (VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT)

static bool need(const char *who, enum vmx_ctls set, uint32_t bits, const char *what)
{
	if (vmx_ctl_allowed1(set, bits))
		return true;
	printf("%s: this CPU's VT-x lacks %s\n", who, what);
	return false;
}

/* Check the capability MSRs for everything the hypervisors rely on, and
 * compute the fixed CR bits. who: the hypervisor's name, for messages. */
bool vm_caps_ok(const char *who)
{
	if (!vmx_supported()) {
		printf("%s: this CPU has no VT-x (CPUID.1:ECX.VMX = 0)\n", who);
		return false;
	}
	bool ok = need(who, VMX_CTLS_PIN, PIN_BASED_PREEMPTION_TIMER, "the VMX-preemption timer") &
		  need(who, VMX_CTLS_PIN, PIN_BASED_EXT_INTR_EXITING, "external-interrupt exiting") &
		  need(who, VMX_CTLS_PROC, CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_HLT_EXITING |
					   CPU_BASED_USE_MSR_BITMAPS, "I/O, HLT or MSR-bitmap exiting") &
		  need(who, VMX_CTLS_PROC2, SECONDARY_EXEC_ENABLE_EPT, "EPT") &
		  need(who, VMX_CTLS_PROC2, SECONDARY_EXEC_UNRESTRICTED_GUEST,
		       "unrestricted guest (to start guests without paging)") &
		  need(who, VMX_CTLS_EXIT, VM_EXIT_ACK_INTR_ON_EXIT | VM_EXIT_SAVE_IA32_EFER |
					   VM_EXIT_LOAD_IA32_EFER, "the EFER exit controls") &
		  need(who, VMX_CTLS_ENTRY, VM_ENTRY_LOAD_IA32_EFER, "the EFER entry control");
	cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0) & ~(CR0_PE | CR0_PG);
	cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	return ok;
}

/* If the hypervisor itself runs under a hypervisor that says which level
 * its guest is at, its guests are one level further down. */
unsigned vm_find_level(void)
{
	if (!(cpuid(1, 0).ecx & CPUID_1_ECX_HYPERVISOR))
		return 2;
	struct cpuid_regs r = cpuid(HV_CPUID_BASE, 0);
	char sig[13];
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = 0;
	if (memcmp(sig, "Nestlab", 7) || r.eax < HV_CPUID_INFO)
		return 2;
	return cpuid(HV_CPUID_INFO, 0).edx + 1;
}

/* The preemption timer counts down at the TSC's rate divided by
 * 2^IA32_VMX_MISC[4:0] (25.5.1): its value for ns TSC ticks, at least 1. */
uint64_t vm_preemption_value(uint64_t ns)
{
	uint64_t v = ns >> VMX_MISC_PREEMPTION_SHIFT(rdmsr(MSR_IA32_VMX_MISC));
	if (v > 0xffffffffu)
		v = 0xffffffffu;
	return v ? v : 1;
}

/* Bit n of the bitmap for a read (write) of msr (24.6.9): low MSRs at
 * 0x000 (0x800), high ones (0xC0000000...) at 0x400 (0xC00). */
static void msr_bitmap_clear(uint32_t msr)
{
	unsigned base = msr >= 0xc0000000u ? 0x400 : 0;
	unsigned n = msr & 0x1fff;
	msr_bitmap[base + n / 8] &= (uint8_t)~(1u << (n % 8));
	msr_bitmap[0x800 + base + n / 8] &= (uint8_t)~(1u << (n % 8));
}

static void shared_setup(void)
{
	if (msr_bitmap)
		return;
	msr_bitmap = alloc_page();
	memset(msr_bitmap, 0xff, 4096);
	for (unsigned k = 0; k < sizeof passthrough_msrs / sizeof passthrough_msrs[0]; k++)
		msr_bitmap_clear(passthrough_msrs[k]);
	/* The host's values of the swapped MSRs, loaded at every exit
	 * (27.6); each entry is 16 bytes: index, reserved, value (24.7.2). */
	host_msr_area = alloc_page();
	for (unsigned k = 0; k < NSWAPPED; k++) {
		host_msr_area[2 * k] = swapped_msrs[k];
		host_msr_area[2 * k + 1] = rdmsr(swapped_msrs[k]);
	}
}

/* One segment register of the guest-state area (24.4.1): ES, CS, SS, DS,
 * FS, GS, LDTR, TR have encodings 2 apart. */
static void guest_segment(unsigned i, uint16_t sel, uint32_t limit, uint32_t ar)
{
	vmcs_write(GUEST_ES_SELECTOR + 2 * i, sel);
	vmcs_write(GUEST_ES_BASE + 2 * i, 0);
	vmcs_write(GUEST_ES_LIMIT + 2 * i, limit);
	vmcs_write(GUEST_ES_AR_BYTES + 2 * i, ar);
}

/* The machine state a Multiboot loader leaves (Multiboot 3.2): 32-bit
 * protected mode without paging, flat CS and data segments, EAX the magic
 * value, EBX the information structure, interrupts off. */
static void init_guest_state(struct vm *vm, uint32_t entry, uint32_t info)
{
	uint64_t cr0_view = CR0_PE | CR0_ET;
	vmcs_write(GUEST_CR0, (cr0_view | cr0_fixed0) & cr0_fixed1);
	vmcs_write(CR0_READ_SHADOW, cr0_view);
	vmcs_write(CR0_GUEST_HOST_MASK, (cr0_fixed0 | ~cr0_fixed1) & 0xffffffffu);
	vmcs_write(GUEST_CR4, cr4_fixed0 & cr4_fixed1);
	vmcs_write(CR4_READ_SHADOW, 0);
	vmcs_write(CR4_GUEST_HOST_MASK, (cr4_fixed0 | ~cr4_fixed1) & 0xffffffffu);
	vmcs_write(GUEST_CR3, 0);
	vmcs_write(GUEST_DR7, 0x400);
	vmcs_write(GUEST_RIP, entry);
	vmcs_write(GUEST_RSP, 0);
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED);
	/* Access rights (table 24-2): 0xc09b a 32-bit code segment, 0xc093
	 * data, 0x8b a busy 32-bit TSS (the TR must be usable, 26.3.1.2). */
	for (unsigned i = 0; i < 6; i++)
		guest_segment(i, i == 1 ? 0x08 : 0x10, 0xffffffff, i == 1 ? 0xc09b : 0xc093);
	guest_segment(6, 0, 0, VMX_AR_UNUSABLE);
	guest_segment(7, 0, 0xff, 0x8b);
	vmcs_write(GUEST_GDTR_BASE, 0);
	vmcs_write(GUEST_GDTR_LIMIT, 0);
	vmcs_write(GUEST_IDTR_BASE, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0x3ff);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_IA32_EFER, 0);
	vmcs_write(GUEST_IA32_PAT, 0x0007040600070406ull);   /* the reset value */
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VMCS_LINK_POINTER, ~0ull);
	memset(&vm->vcpu.regs, 0, sizeof vm->vcpu.regs);
	vm->vcpu.regs.rax = MULTIBOOT_BOOTLOADER_MAGIC;
	vm->vcpu.regs.rbx = info;
}

static void init_controls(struct vm *vm)
{
	vmcs_write_controls(PIN_WANTED, PROC_WANTED, PROC2_WANTED, EXIT_WANTED, ENTRY_WANTED);
	vmcs_write(MSR_BITMAP, (uintptr_t)msr_bitmap);
	vmcs_write(EPT_POINTER, ept_pointer(&vm->ept));
	vmcs_write(VIRTUAL_PROCESSOR_ID, vm->id + 1);   /* VPID 0 is the host's */
	/* The guest's swapped MSRs: loaded at entry, stored at exit, in the
	 * same area; the host's loaded at exit (24.7.2, 24.8.2). */
	vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, (uintptr_t)vm->msr_area);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, NSWAPPED);
	vmcs_write(VM_EXIT_MSR_STORE_ADDR, (uintptr_t)vm->msr_area);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, NSWAPPED);
	vmcs_write(VM_EXIT_MSR_LOAD_ADDR, (uintptr_t)host_msr_area);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, NSWAPPED);
}

/* Make vm ready to run: vm->id and vm->mem are set, the guest is loaded
 * in vm->mem. An EPT maps guest-physical 0 .. mem.size to that RAM and
 * nothing else, so the MMIO device's page, the local APIC's and every
 * other address are EPT violations; a VMCS starts the guest at entry with
 * EBX = info. Returns NULL, or what failed. Leaves the VMCS current. */
const char *vm_setup(struct vm *vm, uint32_t entry, uint32_t info)
{
	ept_init(&vm->ept);
	ept_map(&vm->ept, 0, (uintptr_t)vm->mem.ram, vm->mem.size, EPT_RWX);

	shared_setup();
	vm->msr_area = alloc_page();
	for (unsigned k = 0; k < NSWAPPED; k++)
		vm->msr_area[2 * k] = swapped_msrs[k];

	vm->vcpu.vmcs = vmx_alloc_vmcs();
	if (vmclear((uintptr_t)vm->vcpu.vmcs) != VMX_SUCCEED ||
	    vmptrld((uintptr_t)vm->vcpu.vmcs) != VMX_SUCCEED)
		return "VMCLEAR or VMPTRLD of its VMCS failed";
	init_controls(vm);
	vmcs_init_host_state();
	init_guest_state(vm, entry, info);
	vlapic_reset(vm);
	return 0;
}

/* VMPTRLD: vm's VMCS becomes the one VMREAD, VMWRITE and VMRESUME use. */
bool vm_make_current(struct vm *vm)
{
	return vmptrld((uintptr_t)vm->vcpu.vmcs) == VMX_SUCCEED;
}

/* MOV to CR0 or CR4 that changed a bit the host owns (25.3): the guest
 * keeps its value in the read shadow, the CPU gets it with the fixed bits
 * applied. Turning paging on with EFER.LME set activates IA-32e mode,
 * which the CPU would have done itself had the write not exited: the
 * hypervisor sets EFER.LMA and the "IA-32e mode guest" entry control. */
void vm_cr_write(struct vm *vm, unsigned cr, uint64_t v)
{
	if (cr == 4) {
		if (v & ~cr4_fixed1 & ~(uint64_t)CR4_VMXE) {
			vm_inject_gp(vm);
			return;
		}
		vmcs_write(GUEST_CR4, (v | cr4_fixed0) & cr4_fixed1);
		vmcs_write(CR4_READ_SHADOW, v);
		return;
	}
	uint64_t old = vmcs_read(GUEST_CR0), efer = vmcs_read(GUEST_IA32_EFER);
	uint64_t real = (v | cr0_fixed0) & cr0_fixed1;
	vmcs_write(GUEST_CR0, real);
	vmcs_write(CR0_READ_SHADOW, v);
	if ((efer & EFER_LME) && ((old ^ real) & CR0_PG)) {
		bool on = real & CR0_PG;
		vmcs_write(GUEST_IA32_EFER, on ? efer | EFER_LMA : efer & ~EFER_LMA);
		if (on)
			vmcs_set_bits(VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
		else
			vmcs_clear_bits(VM_ENTRY_CONTROLS, VM_ENTRY_IA32E_MODE);
	}
}
