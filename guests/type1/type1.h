/* type1: a bare-metal (type-1) hypervisor. The machine boots it directly,
 * as its kernel; it owns VMX root operation and runs the guests it was
 * given as Multiboot modules, each in a VM of its own: its own RAM behind
 * an EPT, its own VMCS, a virtual serial port and an MMIO device. There
 * is no host operating system: every VM exit comes straight here.
 *
 *   type1.c    start-up, the guests' creation, the scheduler, the summary
 *   guest.c    a guest's memory, EPT and VMCS; reading its memory
 *   exits.c    one handler per exit reason
 *   devices.c  the virtual devices: COM1, isa-debug-exit, the MMIO device
 *   mmio.c     decoding the instruction behind an MMIO access
 *   vlapic.c   each guest's local APIC: its timer, its interrupts
 */
#ifndef TYPE1_H
#define TYPE1_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/ept.h"
#include "lib/mbload.h"
#include "lib/multiboot.h"
#include "lib/vmx.h"

#define MAX_GUESTS 4
#define GUEST_RAM_SIZE (16u << 20)   /* each guest's RAM, at guest-physical 0 */
#define GUEST_INFO 0x9000u           /* where its Multiboot information goes */
#define EXIT_REASONS 70              /* basic exit reasons counted */

enum guest_state {
	GUEST_RUNNABLE,
	GUEST_WAITING,         /* in HLT until its APIC timer fires */
	GUEST_EXITED,          /* wrote to isa-debug-exit: status holds the value */
	GUEST_HALTED,          /* HLT with nothing that could wake it */
	GUEST_FAILED,          /* stopped by the hypervisor: why says why */
};

/* A guest's local APIC (vlapic.c). Registers as the SDM names them; the
 * timer's deadline is a TSC value, 0 when it is not counting. */
struct vlapic {
	uint32_t irr[8], isr[8];   /* requested and in-service vectors */
	uint32_t lvt[7];           /* timer, thermal, perf, LINT0, LINT1, error, CMCI order of 0x320.. */
	uint32_t tpr, svr, icr, dcr;
	uint64_t deadline;
};

struct guest {
	struct vcpu vcpu;      /* registers and VMCS (lib/vmx.h) */
	unsigned id;
	char name[24];         /* from its module's file name */
	struct guest_ram mem;  /* guest-physical 0 is mem.ram[0] */
	struct ept ept;
	uint64_t *msr_area;    /* MSRs the VMCS switches through MSR areas */
	enum guest_state state;
	unsigned status;       /* the value written to isa-debug-exit */
	char why[160];         /* how it stopped, for the summary */
	char line[128];        /* serial output not yet printed */
	unsigned line_len;
	uint8_t uart_lcr;      /* COM1's line control register (DLAB) */
	uint32_t mmio_scratch, mmio_reads;
	struct vlapic lapic;
	uint64_t exits[EXIT_REASONS], exits_total;
	uint64_t handling, handled;  /* TSC from exits to entries, and how many */
};

/* What the scheduler does after an exit has been handled. */
enum next {
	NEXT_RESUME,           /* VMRESUME this guest */
	NEXT_SWITCH,           /* its time slice is over: the next guest */
	NEXT_STOP,             /* it has stopped (g->state says how) */
};

extern struct guest guests[MAX_GUESTS];
extern unsigned nguests;
extern unsigned guest_level;   /* 2, or 3 when type1 itself is a guest */
extern uint64_t host_ticks;    /* the hypervisor's own timer interrupts */

/* guest.c */
const char *guest_create(struct guest *g, unsigned id, uint8_t *ram,
			 const struct multiboot_module *mod);
void guest_make_current(struct guest *g);
void guest_stop(struct guest *g, enum guest_state s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void guest_skip(struct guest *g);
uint64_t guest_gpr(struct guest *g, unsigned n);
void guest_set_gpr(struct guest *g, unsigned n, uint64_t v);
void guest_inject_gp(struct guest *g);
bool guest_linear_to_phys(struct guest *g, uint64_t lin, uint64_t *gpa);
bool guest_read(struct guest *g, uint64_t gpa, void *buf, uint64_t len);
void guest_cr_write(struct guest *g, unsigned cr, uint64_t v);
bool vmx_caps_ok(void);

/* exits.c */
enum next handle_exit(struct guest *g);

/* devices.c */
uint32_t port_in(struct guest *g, uint16_t port, unsigned size);
void port_out(struct guest *g, uint16_t port, unsigned size, uint32_t v);
bool mmio_is_device(uint64_t gpa);
uint32_t mmio_read(struct guest *g, uint64_t gpa);
void mmio_write(struct guest *g, uint64_t gpa, uint32_t v);
void serial_flush(struct guest *g);

/* mmio.c */
enum next emulate_mmio(struct guest *g, uint64_t gpa);

/* vlapic.c */
void vlapic_reset(struct guest *g);
uint32_t vlapic_read(struct guest *g, unsigned off);
void vlapic_write(struct guest *g, unsigned off, uint32_t v);
void vlapic_before_entry(struct guest *g);
bool vlapic_can_wake(struct guest *g);
bool vlapic_wake_due(struct guest *g);
uint64_t vlapic_next_deadline(struct guest *g);

#endif
