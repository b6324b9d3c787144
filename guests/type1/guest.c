/* A guest of type1: its RAM, its EPT, its VMCS, and the hypervisor's view
 * of its memory and registers. */
#include <stdarg.h>

#include "lib/alloc.h"
#include "lib/gdt.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "type1/type1.h"

#define CR0_ET (1ul << 4)
#define CR0_NE (1ul << 5)

/* The CR0 and CR4 bits VMX operation fixes (A.7, A.8): fixed0 bits must be
 * 1, bits clear in fixed1 must be 0. "Unrestricted guest" frees CR0.PE
 * and CR0.PG, so that guests can start without paging, or in real mode
 * (26.3.1.1). A guest must not see these constraints: the bits they touch
 * are "owned by the host" in the CR0/CR4 guest/host masks, the guest
 * reads its own values from the read shadows, and writing a different
 * value there is a VM exit (25.3, guest_cr_write()). */
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

/* The controls type1 needs, and why. */
#define PIN_WANTED  (PIN_BASED_EXT_INTR_EXITING |  /* our timer ticks exit */ \
		     PIN_BASED_NMI_EXITING |                                 \
		     PIN_BASED_PREEMPTION_TIMER)       /* time slices */
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

static bool need(enum vmx_ctls set, uint32_t bits, const char *what)
{
	if (vmx_ctl_allowed1(set, bits))
		return true;
	printf("type1: this CPU's VT-x lacks %s\n", what);
	return false;
}

/* Check the capability MSRs for everything type1 relies on, and compute
 * the fixed CR bits. */
bool vmx_caps_ok(void)
{
	if (!vmx_supported()) {
		printf("type1: this CPU has no VT-x (CPUID.1:ECX.VMX = 0)\n");
		return false;
	}
	bool ok = need(VMX_CTLS_PIN, PIN_BASED_PREEMPTION_TIMER, "the VMX-preemption timer") &
		  need(VMX_CTLS_PIN, PIN_BASED_EXT_INTR_EXITING, "external-interrupt exiting") &
		  need(VMX_CTLS_PROC, CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_HLT_EXITING |
				      CPU_BASED_USE_MSR_BITMAPS, "I/O, HLT or MSR-bitmap exiting") &
		  need(VMX_CTLS_PROC2, SECONDARY_EXEC_ENABLE_EPT, "EPT") &
		  need(VMX_CTLS_PROC2, SECONDARY_EXEC_UNRESTRICTED_GUEST,
		       "unrestricted guest (to start guests without paging)") &
		  need(VMX_CTLS_EXIT, VM_EXIT_ACK_INTR_ON_EXIT | VM_EXIT_SAVE_IA32_EFER |
				      VM_EXIT_LOAD_IA32_EFER, "the EFER exit controls") &
		  need(VMX_CTLS_ENTRY, VM_ENTRY_LOAD_IA32_EFER, "the EFER entry control");
	cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0) & ~(CR0_PE | CR0_PG);
	cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	return ok;
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
static void init_guest_state(struct guest *g, uint32_t entry, uint32_t info)
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
	memset(&g->vcpu.regs, 0, sizeof g->vcpu.regs);
	g->vcpu.regs.rax = MULTIBOOT_BOOTLOADER_MAGIC;
	g->vcpu.regs.rbx = info;
}

static void init_controls(struct guest *g)
{
	vmcs_write_controls(PIN_WANTED, PROC_WANTED, PROC2_WANTED, EXIT_WANTED, ENTRY_WANTED);
	vmcs_write(MSR_BITMAP, (uintptr_t)msr_bitmap);
	vmcs_write(EPT_POINTER, ept_pointer(&g->ept));
	vmcs_write(VIRTUAL_PROCESSOR_ID, g->id + 1);   /* VPID 0 is the host's */
	/* The guest's swapped MSRs: loaded at entry, stored at exit, in the
	 * same area; the host's loaded at exit (24.7.2, 24.8.2). */
	vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, (uintptr_t)g->msr_area);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, NSWAPPED);
	vmcs_write(VM_EXIT_MSR_STORE_ADDR, (uintptr_t)g->msr_area);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, NSWAPPED);
	vmcs_write(VM_EXIT_MSR_LOAD_ADDR, (uintptr_t)host_msr_area);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, NSWAPPED);
}

/* The guest's name: its module's file name without directories and
 * extension. */
static void take_name(struct guest *g, const char *cmdline)
{
	const char *start = cmdline, *p;
	for (p = cmdline; *p && *p != ' '; p++)
		if (*p == '/')
			start = p + 1;
	size_t n = 0;
	while (start + n < p && start[n] != '.' && n < sizeof g->name - 1)
		n++;
	memcpy(g->name, start, n);
	g->name[n] = 0;
	if (!n)
		snprintf(g->name, sizeof g->name, "guest%u", g->id);
}

const char *guest_create(struct guest *g, unsigned id, uint8_t *ram,
			 const struct multiboot_module *mod)
{
	const char *cmdline = mod->cmdline ? mb_ptr(mod->cmdline) : "";
	memset(g, 0, sizeof *g);
	g->id = id;
	take_name(g, cmdline);
	/* The RAM is not cleared: as on a real machine, a guest finds what
	 * was there (on a fresh nestlab machine, zeros). */
	g->mem = (struct guest_ram){ ram, GUEST_RAM_SIZE };
	uint32_t entry;
	const char *why = mb_load(mb_ptr(mod->mod_start), mod->mod_end - mod->mod_start,
				  &g->mem, &entry);
	if (why)
		return why;
	/* The guest's own command line: what follows the file name. */
	const char *args = cmdline;
	while (*args && *args != ' ')
		args++;
	while (*args == ' ')
		args++;
	uint32_t info = mb_write_info(&g->mem, GUEST_INFO, args);

	/* Guest RAM at guest-physical 0; nothing else is mapped, so the
	 * MMIO device's page and every other address are EPT violations. */
	ept_init(&g->ept);
	ept_map(&g->ept, 0, (uintptr_t)ram, GUEST_RAM_SIZE, EPT_RWX);

	shared_setup();
	g->msr_area = alloc_page();
	for (unsigned k = 0; k < NSWAPPED; k++)
		g->msr_area[2 * k] = swapped_msrs[k];

	g->vcpu.vmcs = vmx_alloc_vmcs();
	if (vmclear((uintptr_t)g->vcpu.vmcs) != VMX_SUCCEED ||
	    vmptrld((uintptr_t)g->vcpu.vmcs) != VMX_SUCCEED)
		return "VMCLEAR or VMPTRLD of its VMCS failed";
	init_controls(g);
	vmcs_init_host_state();
	init_guest_state(g, entry, info);
	vlapic_reset(g);
	g->state = GUEST_RUNNABLE;
	return 0;
}

void guest_make_current(struct guest *g)
{
	if (vmptrld((uintptr_t)g->vcpu.vmcs) != VMX_SUCCEED)
		guest_stop(g, GUEST_FAILED, "VMPTRLD of its VMCS failed");
}

void guest_stop(struct guest *g, enum guest_state s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g->why, sizeof g->why, fmt, ap);
	va_end(ap);
	g->state = s;
	serial_flush(g);
}

/* Step over the instruction that exited (its length is in the VMCS for
 * instruction exits, 27.2.5). An STI or MOV SS shadow covered only that
 * instruction: once it is done the shadow is over (an "sti; hlt" that
 * exits on HLT must take its interrupt after it, 24.4.2). */
void guest_skip(struct guest *g)
{
	vmcs_write(GUEST_RIP, vmcs_read(GUEST_RIP) + g->vcpu.exit_insn_len);
	vmcs_clear_bits(GUEST_INTERRUPTIBILITY_INFO, 3);
}

/* Registers by the numbering of exit qualifications (table 27-3): RAX,
 * RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8-R15. RSP lives in the VMCS. */
static uint64_t *gpr_slot(struct guest *g, unsigned n)
{
	static const unsigned order[16] = { 0, 1, 2, 3, 99, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
	return &((uint64_t *)&g->vcpu.regs)[order[n & 15]];
}

uint64_t guest_gpr(struct guest *g, unsigned n)
{
	return (n & 15) == 4 ? vmcs_read(GUEST_RSP) : *gpr_slot(g, n);
}

void guest_set_gpr(struct guest *g, unsigned n, uint64_t v)
{
	if ((n & 15) == 4)
		vmcs_write(GUEST_RSP, v);
	else
		*gpr_slot(g, n) = v;
}

/* Give the guest a #GP(0) at its next entry (26.5.1); in real mode an
 * exception pushes no error code. */
void guest_inject_gp(struct guest *g)
{
	(void)g;
	uint32_t info = INTR_INFO_VALID | INTR_TYPE_HARD_EXCEPTION | 13;
	if (vmcs_read(GUEST_CR0) & CR0_PE) {
		info |= INTR_INFO_DELIVER_CODE;
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
	}
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info);
}

bool guest_read(struct guest *g, uint64_t gpa, void *buf, uint64_t len)
{
	if (gpa > g->mem.size || len > g->mem.size - gpa)
		return false;
	memcpy(buf, g->mem.ram + gpa, len);
	return true;
}

static bool read_entry(struct guest *g, uint64_t gpa, uint64_t *e, unsigned bytes)
{
	*e = 0;
	return guest_read(g, gpa, e, bytes) && (*e & 1);
}

/* The guest's own page walk, done in software on its page tables in its
 * RAM (SDM vol. 3A, 4.3-4.5): needed to read the instruction at its RIP.
 * Rights are not checked: the CPU already did when it fetched it. */
bool guest_linear_to_phys(struct guest *g, uint64_t lin, uint64_t *gpa)
{
	uint64_t cr0 = vmcs_read(GUEST_CR0), cr4 = vmcs_read(GUEST_CR4);
	uint64_t cr3 = vmcs_read(GUEST_CR3), efer = vmcs_read(GUEST_IA32_EFER), e;
	if (!(cr0 & CR0_PG)) {
		*gpa = lin & 0xffffffffu;
		return true;
	}
	if (!(cr4 & CR4_PAE)) {
		/* 32-bit paging: a page directory and page tables of 4-byte entries. */
		if (!read_entry(g, (cr3 & ~0xfffull) + ((lin >> 22) & 1023) * 4, &e, 4))
			return false;
		if ((e & 0x80) && (cr4 & (1u << 4))) {   /* a 4 MiB page, with CR4.PSE */
			*gpa = (e & 0xffc00000u) | (lin & 0x3fffff);
			return true;
		}
		if (!read_entry(g, (e & ~0xfffull) + ((lin >> 12) & 1023) * 4, &e, 4))
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
		if (!read_entry(g, (cr3 & 0xffffffe0u) + ((lin >> 30) & 3) * 8, &e, 8))
			return false;
		table = e & 0x000ffffffffff000ull;
		level = 2;
	}
	for (; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		if (!read_entry(g, table + ((lin >> shift) & 511) * 8, &e, 8))
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

/* MOV to CR0 or CR4 that changed a bit the host owns (25.3): the guest
 * keeps its value in the read shadow, the CPU gets it with the fixed bits
 * applied. Turning paging on with EFER.LME set activates IA-32e mode,
 * which the CPU would have done itself had the write not exited: the
 * hypervisor sets EFER.LMA and the "IA-32e mode guest" entry control. */
void guest_cr_write(struct guest *g, unsigned cr, uint64_t v)
{
	if (cr == 4) {
		if (v & ~cr4_fixed1 & ~(uint64_t)CR4_VMXE) {
			guest_inject_gp(g);
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
