/* nested: an L1 hypervisor that gives VMX to its guest. nestlab (L0) boots
 * it; it runs a hypervisor, type1, as its guest (L2), and type1 runs its
 * own guests (L3). type1 believes it owns VT-x: every VMX instruction it
 * executes is a VM exit to nested, which emulates it on a VMCS of
 * nested's own layout in type1's memory (VMCS12). When type1 launches
 * a guest, nested runs that guest itself on a VMCS it builds from
 * VMCS12 (VMCS02), with an EPT that combines type1's EPT (EPT12) with its
 * own (EPT01). The L3 guest's exits come to nested; the ones type1 asked
 * for are reflected to it, as if the hardware had made them.
 *
 *   nested.c   start-up: type1 and its modules in RAM of its own, the
 *              run loop, the summary
 *   caps.c     what nested offers of VT-x: the capability MSRs type1
 *              reads, and the checks of VMCS12's controls and host state
 *   vmcs12.c   VMCS12: its layout in type1's memory and nested's cache
 *   vmxemu.c   the VMX instructions of type1
 *   merge.c    VMCS02 from VMCS12; an exit reflected to type1
 *   ept02.c    the shadow EPT: EPT12 combined with EPT01
 *   exits.c    type1's exits, the L3 guests' exits, and the counts
 *
 * Levels, as the SDM and KVM name them: L0 is nestlab's model, L1 nested,
 * L2 type1, L3 type1's guests. "VMCS01" is the VMCS L1 runs L2 with;
 * "VMCS12" the one L2 writes for L3; "VMCS02" the one L1 really runs L3
 * with. */
#ifndef NESTED_H
#define NESTED_H

#include <stdbool.h>
#include <stdint.h>

#include "hvlib/vm.h"
#include "lib/multiboot.h"

#define L2_RAM_SIZE (96u << 20)    /* type1: itself, its modules, 16 MiB per guest */
#define VMCS12_REVISION 0x4e4c3132u /* "21LN": nested's VMCS layout, not L0's */
#define VMCS12_SLOTS 8              /* VMCS12s cached at once */

/* The fields of VMCS12, in the order of vmx/vmcs_fields.def. */
enum vmcs12_slot {
#define FIELD(name, encoding, group, sdm) V12_##name,
#include "../../vmx/vmcs_fields.def"
#undef FIELD
	VMCS12_NFIELDS
};

/* A VMCS12 region, as it lies in type1's memory (4 KiB, of which this
 * uses the start). The SDM leaves the layout to the processor (24.2): the
 * first 8 bytes are architectural, the rest is nested's. */
struct vmcs12 {
	uint32_t revision;     /* VMCS12_REVISION; bit 31 (shadow VMCS) clear */
	uint32_t abort;        /* VMX-abort indicator (24.2); never set by nested */
	uint32_t launched;     /* launch state: 0 clear, 1 launched (24.11.3) */
	uint32_t reserved;
	uint64_t field[VMCS12_NFIELDS];  /* by enum vmcs12_slot */
};

/* One cached VMCS12 and the VMCS02 that runs its guest. */
struct cached12 {
	uint64_t gpa;          /* the region's address in type1's memory; ~0: free */
	struct vmcs12 v;       /* the copy nested works on until VMCLEAR (24.11.1) */
	struct vcpu l3;        /* VMCS02 and the L3 guest's registers */
	uint64_t *msr_bitmap;  /* VMCS12's MSR bitmap ORed with nested's */
	uint64_t msr_bitmap12; /* the address it was made from; ~0: none */
};

/* What nested counts. An L3 exit is "handled" by nested (its EPT02 had no
 * entry yet) or "reflected" to type1; while type1 handles a reflected
 * one, its own exits to nested are charged to that L3 exit's reason. */
struct counts {
	uint64_t l2[EXIT_REASONS];          /* type1's exits */
	uint64_t handled[EXIT_REASONS];     /* L3 exits nested handled */
	uint64_t reflected[EXIT_REASONS];   /* L3 exits reflected to type1 */
	uint64_t caused[EXIT_REASONS];      /* type1's exits while handling them */
	uint64_t caused_by[EXIT_REASONS][4];/* the same: VMREAD, VMWRITE, VMRESUME, other */
	uint64_t ticks[EXIT_REASONS];       /* TSC from the L3 exit to the next L3 entry */
	uint64_t handled_ticks;
};

/* nested's one guest, type1, and its VMX state as type1 sees it. */
struct nest {
	struct vm vm;              /* type1 in VMCS01 (hvlib/vm.h) */
	char name[24];             /* its module's name: type1, most often */
	bool vmxon;                /* type1 executed VMXON (and not VMXOFF) */
	uint64_t vmxon_gpa;
	struct cached12 *cur;      /* the current VMCS12; NULL: none (~0 for VMPTRST) */
	struct cached12 cache[VMCS12_SLOTS];
	bool in_l3;                /* the next entry is to the L3 guest (VMCS02) */
	bool entering;             /* ... from VMLAUNCH/VMRESUME, not after an exit */
	uint32_t entry_len;        /* that instruction's length */
	int reflecting;            /* the L3 exit reason type1 handles; -1: none */
	uint64_t exit_at;          /* TSC at the last L3 exit */
	uint64_t *charge;          /* where the time to the next L3 entry goes */
	bool done;                 /* type1 wrote to isa-debug-exit */
	uint8_t status;            /* ... this value */
	struct counts n;
};

extern struct nest nest;

/* nested.c */
_Noreturn void nested_finish(unsigned code);
_Noreturn void nested_stop(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool l2_copy(uint64_t lin, void *buf, unsigned len, bool write);
void *l2_host_ptr(uint64_t gpa, uint64_t len);

/* caps.c */
bool caps_rdmsr(uint32_t msr, uint64_t *v);
void caps_init(void);
bool caps_controls_ok(const struct vmcs12 *v);
bool caps_host_state_ok(const struct vmcs12 *v);
bool caps_invept_type_ok(uint64_t type);
bool caps_invvpid_type_ok(uint64_t type);

/* vmcs12.c. The groups of vmx/vmcs_fields.def. */
enum vmcs12_group { V12_GROUP_CTRL, V12_GROUP_RO, V12_GROUP_GUEST, V12_GROUP_HOST };
void vmcs12_init(void);
uint16_t vmcs12_encoding(int slot);
enum vmcs12_group vmcs12_group(int slot);
int vmcs12_slot(uint64_t encoding);
bool vmcs12_read_only(uint64_t encoding);
uint64_t vmcs12_get(uint64_t encoding, int slot);
void vmcs12_put(uint64_t encoding, int slot, uint64_t value);
struct cached12 *vmcs12_find(uint64_t gpa);
struct cached12 *vmcs12_load(uint64_t gpa);
void vmcs12_clear(uint64_t gpa);
#define V12(c, name) ((c)->v.field[V12_##name])

/* vmxemu.c */
enum vm_next vmx_emulate(uint32_t reason);
enum vm_next vmx_fail_valid(uint32_t error);

/* merge.c */
void merge_enter(struct cached12 *c);
void merge_reflect(struct cached12 *c, bool failed_entry);

/* ept02.c */
uint64_t ept02_pointer(uint64_t eptp12);
bool ept02_violation(struct cached12 *c, uint32_t *reason, uint64_t *qual);
void ept02_flush(uint64_t eptp12);
void ept02_flush_all(void);

/* exits.c */
enum vm_next l2_exit(void);
enum vm_next l3_exit(void);
void print_counts(void);

#endif
