/* type1's start-up, scheduler and summary. The machine boots type1 as its
 * kernel; its Multiboot modules are the guests:
 *
 *   nestlab run build/guests/type1/type1.elf \
 *       --module build/guests/l2/hello64.elf --module build/guests/l2/cpubound.elf
 *
 * Each guest gets 16 MiB of RAM, an EPT that maps only that RAM, and a
 * VMCS that starts it as a Multiboot loader would. The guests take turns
 * on the one CPU: each runs until its VMX-preemption timer ends its slice
 * (or it yields, or stops), then the next. At the end type1 prints how
 * each guest ended and its VM exits by reason, and ends the machine
 * through isa-debug-exit: 0 when it ran its guests (whatever they did),
 * 1 when it could not start them. */
#include "lib/apic.h"
#include "lib/boot.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/test.h"
#include "lib/x86.h"
#include "type1/type1.h"
#include "lib/vmx.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "type1";

struct guest guests[MAX_GUESTS];
unsigned nguests;
uint64_t host_ticks;
static uint64_t host_idle;     /* TSC ticks type1 spent waiting in HLT */

#define SLICE_NS 200000u         /* a guest's turn: 200 us */
#define HOST_TICK_VECTOR 0xe0
#define HOST_TICK_COUNT 1000000u /* the APIC timer: 1 ms at a 1 GHz bus clock */

static _Noreturn void finish(unsigned code)
{
	outb(0xf4, (uint8_t)code);
	halt_forever();
}

/* Where the guests' RAM can go: above type1 and its modules, in the
 * memory the loader reported. */
static uint64_t guest_ram_base(const struct multiboot_info *mbi, uint64_t need)
{
	uint64_t base;
	if (!vm_free_ram(mbi, need, &base)) {
		printf("type1: %u guests need %llu MiB of RAM above 0x%lx; give the machine more "
		       "(nestlab run --mem)\n", mbi->mods_count,
		       (unsigned long long)(need >> 20), base);
		finish(1);
	}
	return base;
}

static void create_guests(const struct multiboot_info *mbi)
{
	const struct multiboot_module *mods = mb_ptr(mbi->mods_addr);
	uint64_t base = guest_ram_base(mbi, (uint64_t)mbi->mods_count * VM_RAM_SIZE);
	unsigned level = vm_find_level();
	for (unsigned k = 0; k < mbi->mods_count; k++) {
		uint8_t *ram = (uint8_t *)(uintptr_t)(base + (uint64_t)k * VM_RAM_SIZE);
		const char *why = guest_create(&guests[k], k, ram, mods, mbi->mods_count, level);
		if (why) {
			printf("type1: guest module %u ('%s'): %s\n", k,
			       mods[k].cmdline ? (const char *)mb_ptr(mods[k].cmdline) : "", why);
			finish(1);
		}
		printf("type1: guest %u is %s: %u MiB of RAM at host-physical 0x%lx, VPID %u\n", k,
		       guests[k].name, VM_RAM_SIZE >> 20, (uintptr_t)ram, k + 1);
	}
	nguests = mbi->mods_count;
}

/* The hypervisor's own timer, when it fires while type1 itself waits. */
static void host_tick(struct trap_frame *f)
{
	(void)f;
	host_ticks++;
	apic_eoi();
}

/* Guests waiting in HLT whose APIC timer has fired can run again.
 * Returns the earliest deadline of those still waiting (0: none waits). */
static uint64_t wake_guests(void)
{
	uint64_t earliest = 0;
	for (unsigned k = 0; k < nguests; k++) {
		struct guest *g = &guests[k];
		if (g->state != GUEST_WAITING)
			continue;
		if (vlapic_wake_due(&g->vm)) {
			g->state = GUEST_RUNNABLE;
			continue;
		}
		uint64_t d = vlapic_next_deadline(&g->vm);
		if (d && (!earliest || d < earliest))
			earliest = d;
	}
	return earliest;
}

/* Nothing to run until a guest's timer fires: HLT in the host, with our
 * APIC timer set to wake us then. */
static void host_wait_until(uint64_t deadline)
{
	uint64_t now = rdtsc();
	if (deadline <= now)
		return;
	uint64_t wait = deadline - now;
	apic_timer_start(HOST_TICK_VECTOR, wait > 0xffffffffu ? 0xffffffffu : (uint32_t)wait, false);
	sti_hlt();
	cli();
	host_idle += rdtsc() - now;
	apic_timer_start(HOST_TICK_VECTOR, HOST_TICK_COUNT, true);
}

/* A turn ends after SLICE_NS, or earlier when the guest's own APIC timer
 * is due: the value of the VMX-preemption timer (25.5.1). */
static uint64_t turn_length(struct guest *g)
{
	uint64_t ns = SLICE_NS, d = vlapic_next_deadline(&g->vm), now = rdtsc();
	if (d && d > now && d - now < ns)
		ns = d - now;
	return vm_preemption_value(ns);
}

/* Round robin: each runnable guest in turn runs until its turn ends, it
 * yields, waits or stops; then the next. */
static void schedule(void)
{
	unsigned cur = 0;
	for (;;) {
		uint64_t earliest = wake_guests();
		unsigned k = 0;
		while (k < nguests && guests[(cur + k) % nguests].state != GUEST_RUNNABLE)
			k++;
		if (k == nguests) {
			if (!earliest)
				return;                 /* every guest has stopped */
			host_wait_until(earliest);
			continue;
		}
		struct guest *g = &guests[(cur + k) % nguests];
		if (!vm_make_current(&g->vm))
			guest_stop(g, GUEST_FAILED, "VMPTRLD of its VMCS failed");
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, turn_length(g));
		uint64_t exit_at = 0;
		while (g->state == GUEST_RUNNABLE) {
			vlapic_before_entry(&g->vm);
			/* From the VM exit to the next VM entry of the same
			 * guest: the time one exit costs in type1. */
			if (exit_at) {
				g->handling += rdtsc() - exit_at;
				g->handled++;
			}
			vmx_run(&g->vm.vcpu);
			exit_at = rdtsc();
			if (handle_exit(g) != VM_RESUME)
				break;
		}
		cur = (cur + k + 1) % nguests;
	}
}

static void summary(void)
{
	printf("\ntype1: all guests have stopped\n");
	for (unsigned k = 0; k < nguests; k++) {
		const struct guest *g = &guests[k];
		printf("  %-10s %s, after %llu VM exits", g->name, g->vm.why,
		       (unsigned long long)g->vm.exits_total);
		if (g->handled)
			printf("; type1 took %llu ns from exit to entry, on average",
			       (unsigned long long)(g->handling / g->handled));
		printf("\n");
	}
	const uint64_t *exits[MAX_GUESTS];
	const char *names[MAX_GUESTS];
	for (unsigned k = 0; k < nguests; k++) {
		exits[k] = guests[k].vm.exits;
		names[k] = guests[k].name;
	}
	vm_print_exit_table(exits, names, nguests);
	printf("  the hypervisor's own timer ticked %llu times; it waited %llu us with no guest to run\n",
	       (unsigned long long)host_ticks, (unsigned long long)(host_idle / 1000));
}

void kmain(struct multiboot_info *mbi)
{
	printf("type1: a bare-metal hypervisor; its guests are its Multiboot modules\n");
	if (!vm_modules_ok("type1", mbi, MAX_GUESTS))
		finish(1);
	if (!vm_caps_ok("type1"))
		finish(1);
	vmx_on();
	create_guests(mbi);
	apic_enable();
	trap_set_handler(HOST_TICK_VECTOR, host_tick);
	apic_timer_start(HOST_TICK_VECTOR, HOST_TICK_COUNT, true);
	schedule();
	apic_timer_stop();
	summary();
	vmx_off();
	finish(0);
}
