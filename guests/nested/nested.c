/* nested's start-up, run loop and summary. The machine boots nested; its
 * first Multiboot module is the hypervisor it runs (type1), the others
 * are that hypervisor's guests:
 *
 *   nestlab run build/guests/nested/nested.elf \
 *       --module build/guests/type1/type1.elf --module build/guests/l2/hello64.elf
 *
 * type1 gets 96 MiB of RAM behind an EPT, loaded as a Multiboot loader
 * would, with the other modules copied into its RAM and listed in its
 * Multiboot information. nested is a thin hypervisor: it owns VMX and
 * the memory, and lends type1 the devices. The serial port, the PIC and
 * the local APIC (its timer included) are type1's directly, so type1's
 * timer interrupts reach it with no exit; only isa-debug-exit comes to
 * nested, which then prints its summary and ends the machine with
 * type1's value. */
#include <stdarg.h>

#include "hvlib/module.h"
#include "lib/apic.h"
#include "lib/alloc.h"
#include "lib/hv.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "lib/vmx.h"
#include "nested/nested.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "nested";

struct nest nest = { .reflecting = -1 };

#define MODULES_PAGE (VM_INFO + 0x1000)   /* type1's module list, after its info */
#define MAX_MODULES 8

_Noreturn void nested_finish(unsigned code)
{
	outb(0xf4, (uint8_t)code);
	halt_forever();
}

/* type1 did something nested does not emulate: say what, and end. */
_Noreturn void nested_stop(const char *fmt, ...)
{
	char buf[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	printf("nested: %s: stopped\n", buf);
	nested_finish(1);
}

/* ---- type1's memory ---- */

/* type1's [gpa, gpa + len) as nested's pointer, or NULL if it is not all
 * in type1's RAM. */
void *l2_host_ptr(uint64_t gpa, uint64_t len)
{
	if (gpa > nest.vm.mem.size || len > nest.vm.mem.size - gpa)
		return 0;
	return nest.vm.mem.ram + gpa;
}

/* Copy between buf and type1's linear address lin, page by page through
 * its page tables (VMCS01 current). False if a page is not mapped. */
bool l2_copy(uint64_t lin, void *buf, unsigned len, bool write)
{
	uint8_t *p = buf;
	while (len) {
		uint64_t gpa;
		unsigned n = 4096 - (lin & 0xfff);
		if (n > len)
			n = len;
		if (!vm_linear_to_phys(&nest.vm, lin, &gpa))
			return false;
		if (!(write ? vm_write(&nest.vm, gpa, p, n) : vm_read(&nest.vm, gpa, p, n)))
			return false;
		lin += n;
		p += n;
		len -= n;
	}
	return true;
}

/* ---- start-up ---- */

static const char *cmdline_of(const struct multiboot_module *m)
{
	return m->cmdline ? mb_ptr(m->cmdline) : "";
}

static void check_modules(const struct multiboot_info *mbi)
{
	if (!(mbi->flags & MULTIBOOT_INFO_MODS) || mbi->mods_count == 0) {
		printf("nested: no guest: give the hypervisor it runs as the first Multiboot module, "
		       "and that hypervisor's guests after it\n"
		       "  (nestlab run nested.elf --module type1.elf --module hello64.elf)\n");
		nested_finish(1);
	}
	if (mbi->mods_count > MAX_MODULES) {
		printf("nested: %u modules; nested passes at most %u to its guest\n",
		       mbi->mods_count, MAX_MODULES - 1);
		nested_finish(1);
	}
}

/* What nested needs of VT-x beyond what hvlib checks: I/O bitmaps (to
 * lend type1 its ports), VPIDs and single-context INVEPT (for the shadow
 * EPTs). */
static void check_caps(void)
{
	if (!vm_caps_ok("nested"))
		nested_finish(1);
	if (!vmx_ctl_allowed1(VMX_CTLS_PROC, CPU_BASED_USE_IO_BITMAPS) ||
	    !vmx_ctl_allowed1(VMX_CTLS_PROC2, SECONDARY_EXEC_ENABLE_VPID) ||
	    !(rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) & (1ull << 25))) {
		printf("nested: this CPU's VT-x lacks I/O bitmaps, VPIDs or single-context INVEPT\n");
		nested_finish(1);
	}
}

static uint8_t *l2_ram(const struct multiboot_info *mbi)
{
	uint64_t base;
	if (!vm_free_ram(mbi, L2_RAM_SIZE, &base)) {
		printf("nested: type1 needs %u MiB of RAM above 0x%lx; give the machine more "
		       "(nestlab run --mem %u)\n", L2_RAM_SIZE >> 20, base,
		       (unsigned)((base + L2_RAM_SIZE) >> 20) + 8);
		nested_finish(1);
	}
	return (uint8_t *)(uintptr_t)base;
}

/* The modules after the first go into type1's RAM from at on, page
 * aligned, as a Multiboot loader places them (3.3); their list and
 * command lines fill the page after the information structure. */
static void add_modules(uint32_t info, uint64_t at, const struct multiboot_module *mods,
			unsigned n)
{
	struct guest_ram *g = &nest.vm.mem;
	struct multiboot_info *mbi = (struct multiboot_info *)(g->ram + info);
	struct multiboot_module *list = (struct multiboot_module *)(g->ram + MODULES_PAGE);
	uint32_t text = MODULES_PAGE + n * sizeof *list;
	for (unsigned k = 0; k < n; k++) {
		uint32_t len = mods[k].mod_end - mods[k].mod_start;
		size_t clen = strlen(cmdline_of(&mods[k])) + 1;
		at = (at + 4095) & ~4095ull;
		if (at + len > g->size || text + clen > MODULES_PAGE + 4096) {
			printf("nested: type1's modules do not fit in its %u MiB of RAM\n",
			       L2_RAM_SIZE >> 20);
			nested_finish(1);
		}
		memcpy(g->ram + at, mb_ptr(mods[k].mod_start), len);
		memcpy(g->ram + text, cmdline_of(&mods[k]), clen);
		list[k] = (struct multiboot_module){ (uint32_t)at, (uint32_t)(at + len), text, 0 };
		at += len;
		text += (uint32_t)clen;
	}
	mbi->flags |= MULTIBOOT_INFO_MODS;
	mbi->mods_count = n;
	mbi->mods_addr = MODULES_PAGE;
}

/* type1, from the first module, in RAM at ram: a VM as hvlib makes one. */
static void load_type1(const struct multiboot_info *mbi, uint8_t *ram)
{
	const struct multiboot_module *mods = mb_ptr(mbi->mods_addr);
	vm_module_name(mods, 0, nest.name, sizeof nest.name);
	nest.vm.mem = (struct guest_ram){ ram, L2_RAM_SIZE };
	nest.vm.kind = HV_KIND_NESTED;
	nest.vm.count = 1;
	nest.vm.level = vm_find_level();
	uint32_t entry;
	uint64_t top;
	const char *why = mb_load_top(mb_ptr(mods[0].mod_start), mods[0].mod_end - mods[0].mod_start,
				      &nest.vm.mem, &entry, &top);
	if (why) {
		printf("nested: module 0 ('%s'): %s\n", cmdline_of(&mods[0]), why);
		nested_finish(1);
	}
	uint32_t info = mb_write_info(&nest.vm.mem, VM_INFO, vm_module_args(cmdline_of(&mods[0])));
	add_modules(info, top, mods + 1, mbi->mods_count - 1);
	why = vm_setup(&nest.vm, entry, info);
	if (why) {
		printf("nested: %s\n", why);
		nested_finish(1);
	}
}

/* VMCS01's controls, changed from hvlib's: type1 keeps its timer
 * interrupts (no external-interrupt exiting, no preemption timer), halts
 * on its own (no HLT exiting), owns its ports but isa-debug-exit (an I/O
 * bitmap, 24.6.4), and reaches the local APIC's page directly (EPT01). */
static void lend_devices(void)
{
	vmcs_clear_bits(PIN_BASED_VM_EXEC_CONTROL,
			PIN_BASED_EXT_INTR_EXITING | PIN_BASED_PREEMPTION_TIMER);
	vmcs_clear_bits(VM_EXIT_CONTROLS, VM_EXIT_SAVE_PREEMPTION_TIMER | VM_EXIT_ACK_INTR_ON_EXIT);
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING);
	vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_USE_IO_BITMAPS);
	uint8_t *io = alloc_pages(2);           /* bitmap A: ports 0-0x7FFF, B: the rest */
	io[0xf4 / 8] |= 1u << (0xf4 % 8);
	vmcs_write(IO_BITMAP_A, (uintptr_t)io);
	vmcs_write(IO_BITMAP_B, (uintptr_t)io + 4096);
	ept_map(&nest.vm.ept, APIC_BASE_DEFAULT, APIC_BASE_DEFAULT, 4096, EPT_R | EPT_W);
}

/* ---- running ---- */

/* Enter type1 or its guest, whichever runs, and handle the exit. The
 * time from an L3 exit to the next L3 entry is charged to that exit. */
static void run(void)
{
	while (!nest.done) {
		if (!nest.in_l3) {
			vmx_run(&nest.vm.vcpu);
			l2_exit();
			continue;
		}
		if (nest.entering)
			nest.reflecting = -1;
		if (nest.charge)
			*nest.charge += rdtsc() - nest.exit_at;
		nest.charge = 0;
		vmx_run(&nest.cur->l3);
		nest.exit_at = rdtsc();
		l3_exit();
	}
}

void kmain(struct multiboot_info *mbi)
{
	printf("nested: an L1 hypervisor that gives VMX to its guest, a hypervisor (L2)\n");
	check_modules(mbi);
	check_caps();
	vmcs12_init();
	caps_init();
	vmx_on();
	load_type1(mbi, l2_ram(mbi));
	lend_devices();
	printf("nested: %s is its guest (L2): %u MiB of RAM at host-physical 0x%lx, VPID 1;\n"
	       "  the %u modules after it are %s's guests (L3)\n", nest.name, L2_RAM_SIZE >> 20,
	       (uintptr_t)nest.vm.mem.ram, mbi->mods_count - 1, nest.name);
	run();
	print_counts();
	vmx_off();
	nested_finish(nest.status);
}
