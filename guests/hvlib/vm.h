/* hvlib: what nestlab's two teaching hypervisors share. type1 (bare
 * metal) and type2 (a host kernel with a /dev/kvm-like module) differ in
 * who owns the machine and where an exit is handled; the VMX work on a
 * guest is the same in both, and lives here:
 *
 *   vmcs.c    the capability check; a guest's EPT and a VMCS that starts
 *             it in the state a Multiboot loader leaves; its writes to
 *             the CR0/CR4 bits VMX fixes
 *   access.c  the hypervisor's view of a guest: its registers, its memory,
 *             its page walk
 *   exits.c   the exits both handle the same way: CPUID, CR, MSR, XSETBV,
 *             interrupt windows, triple fault, failed entries...
 *   mmio.c    decoding the instruction behind an MMIO access
 *   vlapic.c  a guest's local APIC: its timer, its interrupts
 *
 * A hypervisor embeds a struct vm in its own guest or VM structure. */
#ifndef GUESTS_HVLIB_VM_H
#define GUESTS_HVLIB_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/ept.h"
#include "lib/mbload.h"
#include "lib/vmx.h"

#define VM_RAM_SIZE (16u << 20)   /* each guest's RAM, at guest-physical 0 */
#define VM_INFO 0x9000u           /* where its Multiboot information goes */
#define EXIT_REASONS 70           /* basic exit reasons counted */

/* A guest's local APIC (vlapic.c). Registers as the SDM names them; the
 * timer's deadline is a TSC value, 0 when it is not counting. */
struct vlapic {
	uint32_t irr[8], isr[8];   /* requested and in-service vectors */
	uint32_t lvt[7];           /* timer, thermal, perf, LINT0, LINT1, error, CMCI order of 0x320.. */
	uint32_t tpr, svr, icr, dcr;
	uint64_t deadline;
};

/* One guest, as the VMX code sees it. */
struct vm {
	struct vcpu vcpu;      /* registers and VMCS (lib/vmx.h) */
	unsigned id;           /* its number: CPUID leaf 0x40000001's EAX */
	struct guest_ram mem;  /* guest-physical 0 is mem.ram[0] */
	struct ept ept;
	uint64_t *msr_area;    /* MSRs the VMCS switches through MSR areas */
	struct vlapic lapic;
	/* What CPUID tells the guest of its hypervisor (lib/hv.h). */
	unsigned kind;         /* HV_KIND_TYPE1, _TYPE2 or _NESTED */
	unsigned count;        /* how many guests the hypervisor runs */
	unsigned level;        /* 2, or 3 when the hypervisor is itself a guest */
	uint64_t exits[EXIT_REASONS], exits_total;
	char why[160];         /* why it was stopped, when it was */
};

/* What to do after an exit. */
enum vm_next {
	VM_RESUME,             /* enter the guest again */
	VM_SWITCH,             /* it leaves the CPU to others (turn over, HLT) */
	VM_STOP,               /* it has stopped: vm->why says why */
	VM_USER,               /* type2: the VMM in user space has to handle it */
	VM_UNHANDLED,          /* vm_exit_common(): not an exit it handles */
};

/* vmcs.c */
bool vm_caps_ok(const char *who);
unsigned vm_find_level(void);
const char *vm_setup(struct vm *vm, uint32_t entry, uint32_t info);
bool vm_make_current(struct vm *vm);
uint64_t vm_preemption_value(uint64_t ns);
void vm_cr_write(struct vm *vm, unsigned cr, uint64_t v);

/* access.c */
void vm_skip(struct vm *vm);
uint64_t vm_gpr(struct vm *vm, unsigned n);
void vm_set_gpr(struct vm *vm, unsigned n, uint64_t v);
void vm_inject_gp(struct vm *vm);
bool vm_read(struct vm *vm, uint64_t gpa, void *buf, uint64_t len);
bool vm_write(struct vm *vm, uint64_t gpa, const void *buf, uint64_t len);
bool vm_linear_to_phys(struct vm *vm, uint64_t lin, uint64_t *gpa);
enum vm_next vm_fail(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* exits.c */
enum vm_next vm_exit_common(struct vm *vm);
enum vm_next vm_exit_unknown(struct vm *vm);

/* mmio.c: the access decoded from the instruction that made it. */
struct mmio_insn {
	unsigned len;          /* of the whole instruction */
	unsigned reg;          /* the register operand (0-15), for a load */
	bool load;
	uint32_t value;        /* what a store writes */
};
enum vm_next vm_mmio_decode(struct vm *vm, uint64_t gpa, struct mmio_insn *m);
void vm_mmio_complete(struct vm *vm, const struct mmio_insn *m, uint32_t loaded);
bool vm_mmio_is_lapic(uint64_t gpa);
enum vm_next vm_mmio_lapic(struct vm *vm, uint64_t gpa);

/* vlapic.c */
void vlapic_reset(struct vm *vm);
uint32_t vlapic_read(struct vm *vm, unsigned off);
void vlapic_write(struct vm *vm, unsigned off, uint32_t v);
void vlapic_before_entry(struct vm *vm);
bool vlapic_can_wake(struct vm *vm);
bool vlapic_wake_due(struct vm *vm);
uint64_t vlapic_next_deadline(struct vm *vm);

#endif
