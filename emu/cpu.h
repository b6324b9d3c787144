/* The machine's CPU state, written for tools: everything the debugger, the
 * trace and (later) the VMCS need lives here, each field with what it means.
 * No global mutable state exists outside this struct, so one process can run
 * many machines (the grader does). */
#ifndef EMU_CPU_H
#define EMU_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmx/vmx.h"

/* General registers, in ModRM encoding order (SDM vol. 2, table 2-2). */
enum {
	R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI,
	R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15,
};

/* Segment registers, in the encoding order of MOV Sreg (SDM vol. 2, 3.1.1.3). */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE = 7 };

/* Operand and address sizes are carried as an index: 1 << sz bytes. */
enum { SZ8, SZ16, SZ32, SZ64 };

/* RFLAGS bits (SDM vol. 1, 3.4.3). */
#define FL_CF   (1u << 0)
#define FL_1    (1u << 1)	/* reserved, always 1 */
#define FL_PF   (1u << 2)
#define FL_AF   (1u << 4)
#define FL_ZF   (1u << 6)
#define FL_SF   (1u << 7)
#define FL_TF   (1u << 8)
#define FL_IF   (1u << 9)
#define FL_DF   (1u << 10)
#define FL_OF   (1u << 11)
#define FL_IOPL (3u << 12)
#define FL_NT   (1u << 14)
#define FL_RF   (1u << 16)
#define FL_VM   (1u << 17)
#define FL_AC   (1u << 18)
#define FL_VIF  (1u << 19)
#define FL_VIP  (1u << 20)
#define FL_ID   (1u << 21)
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* CR0, CR4 and EFER bits used so far (SDM vol. 3A, 2.5 and 2.2.1). */
#define CR0_PE (1u << 0)
#define CR0_PG (1u << 31)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)

/* Access rights of a segment, in the VMCS layout (SDM vol. 3C, 24.4.1,
 * table 24-2) so VM entry and exit can copy them as they are:
 * bits 3:0 type, 4 S, 6:5 DPL, 7 P, 12 AVL, 13 L, 14 D/B, 15 G, 16 unusable. */
#define AR_TYPE(ar)  ((ar) & 0xf)
#define AR_S         (1u << 4)
#define AR_DPL(ar)   (((ar) >> 5) & 3)
#define AR_P         (1u << 7)
#define AR_L         (1u << 13)
#define AR_DB        (1u << 14)
#define AR_G         (1u << 15)
#define AR_UNUSABLE  (1u << 16)

/* A segment register: the visible selector and the hidden descriptor cache
 * loaded with it (SDM vol. 3A, 3.4.3). Only the cache is used for accesses. */
struct seg {
	uint16_t sel;    /* visible selector */
	uint64_t base;   /* hidden: linear base address */
	uint32_t limit;  /* hidden: limit in bytes (already scaled by G) */
	uint32_t ar;     /* hidden: access rights, VMCS layout (AR_*) */
};

/* A descriptor-table register (GDTR, IDTR). */
struct dtr {
	uint64_t base;
	uint16_t limit;
};

/* Lazy arithmetic flags. The last flag-setting ALU operation is recorded
 * here and CF/PF/AF/ZF/SF/OF are computed from it only when read. When
 * kind is LF_NONE the six bits in cpu->rflags are the truth. */
enum lf_kind {
	LF_NONE,  /* flags live in rflags */
	LF_ADD,   /* res = a + b */
	LF_ADC,   /* res = a + b + cin */
	LF_SUB,   /* res = a - b (also CMP, NEG with a = 0) */
	LF_SBB,   /* res = a - b - cin */
	LF_LOGIC, /* AND/OR/XOR/TEST: CF = OF = 0, AF = 0 */
	LF_INC,   /* res = a + 1, CF kept in cf */
	LF_DEC,   /* res = a - 1, CF kept in cf */
	LF_SHL,   /* res = a << b (1 <= b < width): CF the last bit out, AF 0 */
	LF_SHR,   /* res = a >> b, logical */
	LF_SAR,   /* res = a >> b, arithmetic */
};

struct lazyflags {
	uint64_t res, a, b; /* masked to the operation size */
	uint8_t kind;       /* enum lf_kind */
	uint8_t sz;         /* SZ8..SZ64 */
	uint8_t cf;         /* carry in (ADC/SBB) or the preserved CF (INC/DEC) */
};

/* The architectural result of an exception raised while executing. Until the
 * system side delivers exceptions through the IDT, a raised exception ends
 * emu_run() and is reported here. */
struct exc {
	uint8_t vector;     /* VEC_* */
	bool has_error;     /* pushes an error code */
	uint32_t error;     /* the error code */
	uint64_t rip;       /* RIP of the faulting instruction */
};

enum {
	VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5,
	VEC_UD = 6, VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12,
	VEC_GP = 13, VEC_PF = 14, VEC_MF = 16, VEC_AC = 17, VEC_MC = 18,
	VEC_XM = 19,
};

#define BRK_JUMP 1
#define BRK_STOP 2

/* Why emu_run() returned. */
enum emu_stop {
	EMU_STOP_BUDGET,    /* the instruction budget ran out */
	EMU_STOP_HLT,       /* HLT with nothing to wake it */
	EMU_STOP_EXCEPTION, /* an exception was raised (see cpu->exc) */
	EMU_STOP_EXIT,      /* the guest wrote isa-debug-exit (see exit_code) */
	EMU_STOP_TRIPLE,    /* a triple fault shut the CPU down (see first_exc, exc) */
	EMU_STOP_INIT,      /* an INIT signal reset the CPU (no firmware to go on) */
	EMU_STOP_BACKEND,   /* the backend cannot go on (KVM refused to enter the
	                       guest, an internal error): emu/backend.h */
	EMU_STOP_DEBUG,     /* a debugger's breakpoint or watchpoint (see cpu->dbg) */
};

/* A debugger's breakpoints and watchpoints (the gdb stub, reverse
 * execution). While any is set the run loop checks each instruction: it
 * stops before one at a breakpoint's RIP (not the first of the run, so a
 * run can leave a breakpoint), and after one whose data access touched a
 * watched range (the access the instruction made last: cpu->last_lin). */
#define DBG_MAX_POINTS 32
enum { WP_WRITE = 1, WP_READ = 2, WP_ACCESS = 3 };
struct dbg_points {
	uint64_t bp[DBG_MAX_POINTS];  /* RIPs */
	int nbp;
	struct { uint64_t addr, len; uint8_t kind; } wp[DBG_MAX_POINTS]; /* linear */
	int nwp;
	uint64_t from;           /* icount the run started at */
	bool hit_bp;             /* the run stopped before a breakpoint ... */
	int hit_wp;              /* ... or after touching watchpoint hit_wp (-1: none) */
	uint64_t hit_addr;       /* ... at this address */
	bool stop_asked;         /* an observer asked the run to stop at the next
	                            instruction boundary (emu_ask_stop) */
};

struct block;
struct cpu;
struct event;
struct bus;
struct fwcfg;
struct ioapic;
struct lapic;
struct pic;
struct pit;
struct uart;
struct vtimer;
struct dcache;
struct insn;

/* One entry of the software TLB: a linear page, in one context (PCID and
 * user/supervisor), mapped to guest RAM with the rights the last walk gave.
 * Tags are tlb_tag(lin) values (mem.h); ~0 never matches. Only RAM pages are
 * cached; MMIO always takes the slow path. */
struct tlb_entry {
	uint64_t tag_read;   /* readable through this entry */
	uint64_t tag_write;  /* writable: D already set, and no decoded code on the page */
	uint64_t tag_exec;   /* executable */
	uint64_t phys;       /* guest-physical page address */
	uint8_t *host;       /* host address of the page's first byte */
	bool global;         /* a global page (survives CR3 writes) */
	uint16_t pcid;       /* the PCID it was filled under */
	uint8_t vctx;        /* the VMX context (VPID and EPTP) it belongs to: 0 for
	                        the host and for guests without VPID (vmx/tlbctx.c) */
};
#define TLB_ENTRIES 256

/* The jump cache: linear RIP -> decoded block, so the run loop finds the
 * next block without translating and hashing. An entry is good only while
 * its gen equals cpu->jc_gen, which moves on whenever code, translations
 * or the mode change. */
struct jc_entry {
	uint64_t rip;
	uint64_t gen;
	struct block *blk;
};
#define JC_ENTRIES 1024

/* What the CPU asks of its interrupt controller. Keeping this an
 * interface keeps the CPU core free of device code: the PC wiring
 * (emu/pc.c) plugs the local APIC and the PIC in. */
struct intc_ops {
	int (*pending)(struct cpu *c);              /* vector the CPU would take, or -1 */
	uint8_t (*ack)(struct cpu *c);              /* take it: the vector to deliver */
	bool (*nmi_pending)(struct cpu *c);
	void (*nmi_ack)(struct cpu *c);
	uint64_t (*get_cr8)(struct cpu *c);         /* CR8 is the APIC's TPR[7:4] */
	void (*set_cr8)(struct cpu *c, uint64_t v);
	/* IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC MSRs; false: #GP */
	bool (*msr_read)(struct cpu *c, uint32_t msr, uint64_t *v);
	bool (*msr_write)(struct cpu *c, uint32_t msr, uint64_t v);
};

/* A one-shot timer. fire() runs in the run loop, between instructions,
 * once emu_now() >= deadline; it may re-arm the timer. */
struct vtimer {
	uint64_t deadline;               /* absolute virtual ns */
	void (*fire)(void *opaque);
	void *opaque;
	struct vtimer *next;             /* the armed list, earliest first */
	bool armed;
};

struct cpu {
	/* --- architectural state --- */
	uint64_t gpr[16];        /* RAX..R15 */
	uint64_t rip;            /* during an instruction: the next instruction */
	uint64_t rflags;         /* RFLAGS; arithmetic bits stale unless lf.kind == LF_NONE */
	struct lazyflags lf;     /* pending arithmetic flags */
	struct seg seg[6];       /* ES, CS, SS, DS, FS, GS */
	struct seg ldtr, tr;     /* LDTR and TR, with their hidden parts */
	struct dtr gdtr, idtr;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;           /* IA32_EFER */
	uint64_t xcr0;           /* XCR0: the XSAVE-enabled state components */
	uint8_t x87[160];        /* x87 registers in XSAVE legacy-region layout
	                            (inert: no x87 instructions; emu/xsave.c) */
	uint64_t dr[8];          /* DR0..DR7 (DR4/DR5 alias DR6/DR7) */
	uint64_t tsc_offset;     /* TSC = icount + tsc_offset (IA32_TSC writes set it) */
	uint32_t tsc_aux;        /* IA32_TSC_AUX, read by RDTSCP */
	uint8_t cpl;             /* current privilege level (CS.RPL, SS.DPL) */
	struct {                 /* MSRs without a home elsewhere (emu/msr.c) */
		uint64_t feature_control, misc_enable, pat, mtrr_def_type;
		uint64_t mtrr[27];   /* 16 variable (base/mask pairs), 11 fixed */
		uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
		uint64_t star, lstar, cstar, fmask, kernel_gs_base;
	} msr;

	struct vmx_state vmx;    /* the VT-x model (vmx/vmx.h) */
	struct vtimer vmx_preempt; /* the VMX-preemption timer (vmx/events.c) */

	/* --- derived mode, recomputed when CR0, EFER or CS change --- */
	uint8_t code_sz;         /* default operand/address size of code: SZ16, SZ32, SZ64 */
	uint8_t stack_sz;        /* stack pointer width: SZ16, SZ32, SZ64 (SS.B, or 64-bit mode) */

	/* --- execution --- */
	uint64_t icount;         /* instructions retired since reset */
	uint64_t idle_ns;        /* virtual time spent halted (emu/vtime.h) */
	uint64_t vtime_limit;    /* a halted CPU does not sleep past this virtual
	                            time: the run stops with EMU_STOP_BUDGET */
	bool vtime_out;          /* ... and this says it did */
	struct vtimer *timers;   /* armed virtual-time timers, earliest first */
	const struct insn *cur;  /* the instruction executing, NULL between
	                            instructions; RIP is then cpu->rip - cur->len */
	jmp_buf unwind;          /* emu_raise() longjmps here; valid inside emu_run() */
	bool in_run;             /* unwind is valid */
	bool halted;             /* executed HLT, waiting for an interrupt */
	bool mwaiting;           /* ... or MWAIT: a VM exit saves the active state */
	bool mwait_ibreak;       /* MWAIT with ECX[0] = 1: a masked interrupt
	                            ends the wait too (and is not delivered) */
	bool monitor_armed;      /* MONITOR armed the address-range monitor ... */
	uint64_t monitor_pa;     /* ... on this 64-byte line (physical address) */
	bool init_pending;       /* an INIT signal waits: blocked in VMX root
	                            operation (SDM vol. 3C, 24.8) */
	bool init_reset;         /* ... taken outside VMX: the run ends */
	bool wait_sipi;          /* a VMX guest entered in the wait-for-SIPI
	                            state: halted, every event blocked (only a
	                            SIPI, which one CPU cannot get, ends it) */
	bool exit_requested;     /* a device asked the run to end */
	uint8_t brk;             /* leave the decoded block after this instruction:
	                            BRK_JUMP (RIP, mode or code changed) and/or
	                            BRK_STOP (halted or exit requested: look) */
	uint32_t exit_code;      /* exit status asked for (isa-debug-exit) */
	struct exc exc;          /* the last exception raised */
	struct exc first_exc;    /* the first of a chain that ended in #DF or shutdown */
	struct exc last_delivered; /* the last exception delivered (vector 0xff: none) */
	uint64_t last_delivered_icount;
	bool exc_stop;           /* exceptions end the run instead of being
	                            delivered (test fixtures, emu_reset_flat) */
	bool in_delivery;        /* delivering an event: a fault now is a double fault */
	uint8_t delivering;      /* the vector being delivered */
	uint8_t deliver_ext;     /* its EXT bit for error codes */
	uint8_t deliver_kind;    /* its enum event_kind (emu/intr.h) */
	bool deliver_has_err;    /* it pushes an error code ... */
	uint32_t deliver_err;    /* ... this one */
	bool was_delivering;     /* the exception being handled arose while
	                            delivering the event above */
	uint8_t deliver_len;     /* for a software event: its instruction length
	                            (IDT-vectoring information of a VM exit) */
	uint32_t db_bits;        /* the DR6 bits (BS, BD) of the #DB being raised:
	                            DR6 takes them when it is delivered (a #DB
	                            that causes a VM exit leaves DR6 alone) */
	uint64_t pf_lin;         /* the address of the page fault being raised:
	                            CR2 takes it when the #PF is delivered (a #PF
	                            that causes a VM exit leaves CR2 alone) */
	bool triple;             /* shut down after a triple fault */
	uint64_t shadow_until;   /* STI / MOV SS shadow: no interrupts while icount < this */
	bool shadow_movss;       /* the shadow is MOV SS's (or POP SS's), not STI's */
	bool nmi_pending;        /* an NMI waits (from outside the LAPIC) */
	bool nmi_blocked;        /* NMIs blocked until the next IRET */
	bool single_step;        /* the instruction running began with TF set */
	uint32_t db_trap;        /* a #DB trap waiting for the instruction boundary:
	                            its DR6 bits (BS after a single step, or a VM
	                            entry's pending debug exceptions) */

	/* --- the interrupt controller the CPU talks to (the local APIC with
	 *     the PIC behind it, wired in emu/pc.c); NULL: none --- */
	const struct intc_ops *intc;
	/* --- or interrupt lines go to controllers outside the machine (the
	 *     KVM backend's in-kernel irqchip); NULL: to pic and ioapic --- */
	void (*irq_out)(void *opaque, unsigned gsi, bool level);
	void *irq_out_opaque;

	/* --- devices (emu/devices.h); NULL when not attached --- */
	struct pic *pic;
	struct pit *pit;
	struct uart *uart;
	struct ioapic *ioapic;
	struct lapic *lapic;
	struct fwcfg *fwcfg;

	/* --- memory --- */
	struct bus *bus;                     /* RAM, MMIO and I/O ports */
	struct tlb_entry tlb[TLB_ENTRIES];   /* linear -> host, RAM pages only */
	uint64_t tlb_ctx;                    /* tag bits of the current context:
	                                        VMX context, PCID and user mode (mem.h) */
	uint8_t tlb_vctx;                    /* the current VMX context (see tlb_entry) */
	uint64_t pdpte[4];                   /* PAE page-directory pointers, loaded with CR3 */
	struct dcache *dcache;               /* decoded instruction blocks */
	struct jc_entry jc[JC_ENTRIES];      /* RIP -> block, see struct jc_entry */
	uint64_t jc_gen;                     /* current generation of jc */

	/* --- a debugger's stops: host side, not part of snapshots --- */
	struct dbg_points dbg;

	/* --- observers of the event stream (emu/event.h) --- */
	struct {
		void (*fn)(void *opaque, const struct event *e);
		void *opaque;
	} obs[4];
	int nobs;
	bool trace_walks;        /* emit EVT_WALK for every page walk */
	const char *mode_seen;   /* the mode, CPL and paging last reported in */
	uint8_t cpl_seen;        /* an EVT_MODE event */
	bool pg_seen;

	/* --- statistics, for the debugger and `--stats` --- */
	struct {
		uint64_t tlb_misses;   /* page walks done to refill the TLB */
		uint64_t tlb_flushes;  /* architectural TLB invalidations */
		uint64_t page_faults;
		uint64_t events;       /* exceptions and interrupts delivered */
	} stats;

	/* --- for the debugger: the last data access --- */
	uint64_t last_lin;       /* linear address */
	uint8_t last_bytes;      /* width in bytes, 0 if none */
	bool last_write;         /* was a write */
};

/* Machine life cycle. */
struct cpu *emu_new(uint64_t ram_bytes);
void emu_free(struct cpu *cpu);

/* Put the CPU in a flat mode for running code without a loader: SZ16 is real
 * mode with all segment bases 0; SZ32 is protected mode with flat 4 GiB code
 * and data segments; SZ64 is 64-bit mode with flat segments and linear ==
 * physical. CPL 0, RFLAGS = 2, registers 0. */
void emu_reset_flat(struct cpu *cpu, int code_sz);

/* Run until budget instructions have retired or something stops the CPU. */
enum emu_stop emu_run(struct cpu *cpu, uint64_t budget);

/* From an observer of the event stream: end the run at the next
 * instruction boundary with EMU_STOP_DEBUG. After a VM exit that boundary
 * is the host's first instruction, not yet run (the debugger window's
 * "run to the next VM exit"). */
void emu_ask_stop(struct cpu *cpu);

/* RFLAGS with the lazy flags folded in, and the reverse. */
uint64_t emu_get_rflags(struct cpu *cpu);
void emu_set_rflags(struct cpu *cpu, uint64_t v);

/* Guest-physical memory from the host side (loaders, tests, the debugger).
 * Return false if any byte lies outside guest RAM. */
bool emu_phys_read(struct cpu *cpu, uint64_t pa, void *buf, size_t len);
bool emu_phys_write(struct cpu *cpu, uint64_t pa, const void *buf, size_t len);

/* Recompute code_sz/stack_sz/cpl after CR0, EFER, CS or SS changed. */
void emu_update_mode(struct cpu *cpu);

/* Raise an exception: unwinds to the run loop, RIP back at the instruction. */
_Noreturn void emu_raise(struct cpu *cpu, int vector, uint32_t error);
_Noreturn void emu_raise_noerr(struct cpu *cpu, int vector);

/* Drop all cached translations and decoded code (after CR3/CR0 changes). */
void emu_flush_tlb(struct cpu *cpu);

#endif
