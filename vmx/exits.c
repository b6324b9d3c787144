/* The causes of VM exits (SDM vol. 3C, chapter 25): one function per
 * cause, each deciding from the VMCS whether this event exits and, if it
 * does, filling the exit qualification and the instruction information
 * as 27.2 defines them. emu/ calls them in VMX non-root operation only,
 * at the point where the exit happens: after the exceptions that have
 * priority over it (25.1.1: #UD, faults based on privilege level, I/O
 * permission checks), before the instruction changes anything. */
#include "emu/exec.h"
#include "emu/intr.h"
#include "emu/sysreg.h"
#include "emu/vtime.h"
#include "vmx/vmexit.h"

#define F(name) VMF(c, name)

/* An exit caused by the instruction executing, with nothing more than a
 * qualification (the instruction length is recorded for all of them). */
static _Noreturn void insn_exit(struct cpu *c, uint32_t reason, uint64_t qual)
{
	vmexit_simple(c, reason, qual);
}

uint32_t vmx_mem_insn_info(const struct insn *i)
{
	uint32_t v = i->scale | (uint32_t)(i->asz - SZ16) << 7 | (uint32_t)i->seg << 15;
	if (i->index == EA_NONE)
		v |= 1u << 22;
	else
		v |= (uint32_t)(i->index & 15) << 18;
	if (i->base == EA_NONE || i->base == EA_RIP)
		v |= 1u << 27;
	else
		v |= (uint32_t)(i->base & 15) << 23;
	return v;
}

/* --- unconditional exits (25.1.2) --- */

void vmexit_on_cpuid(struct cpu *c)  { insn_exit(c, EXIT_REASON_CPUID, 0); }
void vmexit_on_invd(struct cpu *c)   { insn_exit(c, EXIT_REASON_INVD, 0); }
void vmexit_on_xsetbv(struct cpu *c) { insn_exit(c, EXIT_REASON_XSETBV, 0); }

/* VMCALL and the VMX instructions (VMCLEAR, VMLAUNCH, VMPTRLD, VMPTRST,
 * VMREAD, VMRESUME, VMWRITE, VMXOFF, VMXON, INVEPT, INVVPID): the
 * qualification is the displacement of a memory operand, and the
 * instruction information names the operands (27.2.5, table 27-13). */
void vmexit_on_vmx_insn(struct cpu *c, const struct insn *i, unsigned reason)
{
	struct exit_info x = { .reason = reason };
	bool has_modrm = reason != EXIT_REASON_VMCALL && reason != EXIT_REASON_VMLAUNCH &&
			 reason != EXIT_REASON_VMRESUME && reason != EXIT_REASON_VMXOFF;
	if (has_modrm) {
		if (i->mod == 3) {
			x.insn_info = 1u << 10 | (uint32_t)(i->rm & 15) << 3;
		} else {
			x.insn_info = vmx_mem_insn_info(i);
			x.qual = (uint64_t)i->disp;
		}
		/* VMREAD/VMWRITE, INVEPT, INVVPID: the register operand in 31:28;
		 * the operand size (32/64) in bits 12:11 for VMREAD/VMWRITE. */
		x.insn_info |= (uint32_t)(i->reg & 15) << 28;
		if (reason == EXIT_REASON_VMREAD || reason == EXIT_REASON_VMWRITE)
			x.insn_info |= (c->code_sz == SZ64 ? 1u : 0u) << 11;
	}
	vmexit(c, &x);
}

/* --- conditional exits on instructions (25.1.3) --- */

void vmexit_on_hlt(struct cpu *c)
{
	if (vmx_proc(c, PROC_HLT_EXITING))
		insn_exit(c, EXIT_REASON_HLT, 0);
}

void vmexit_on_invlpg(struct cpu *c, uint64_t lin)
{
	if (vmx_proc(c, PROC_INVLPG_EXITING))
		insn_exit(c, EXIT_REASON_INVLPG, lin);
}

/* INVPCID is #UD unless "enable INVPCID" is 1; then "INVLPG exiting"
 * makes it exit (25.1.3, 25.3). */
void vmexit_on_invpcid(struct cpu *c, const struct insn *i)
{
	if (!vmx_proc2(c, PROC2_ENABLE_INVPCID))
		emu_raise_noerr(c, VEC_UD);
	if (vmx_proc(c, PROC_INVLPG_EXITING)) {
		struct exit_info x = { .reason = EXIT_REASON_INVPCID, .qual = (uint64_t)i->disp };
		x.insn_info = vmx_mem_insn_info(i) | (uint32_t)(i->reg & 15) << 28;
		vmexit(c, &x);
	}
}

void vmexit_on_wbinvd(struct cpu *c)
{
	if (vmx_proc2(c, PROC2_WBINVD_EXITING))
		insn_exit(c, EXIT_REASON_WBINVD, 0);
}

/* RDTSCP is #UD unless "enable RDTSCP" is 1; both exit with "RDTSC
 * exiting". */
void vmexit_on_rdtsc(struct cpu *c, bool rdtscp)
{
	if (rdtscp && !vmx_proc2(c, PROC2_ENABLE_RDTSCP))
		emu_raise_noerr(c, VEC_UD);
	if (vmx_proc(c, PROC_RDTSC_EXITING))
		insn_exit(c, rdtscp ? EXIT_REASON_RDTSCP : EXIT_REASON_RDTSC, 0);
}

/* What the guest's TSC adds to the host's: TSC_OFFSET with "use TSC
 * offsetting" (25.3, RDTSC, RDTSCP, RDMSR of IA32_TSC). */
uint64_t vmx_tsc_offset(const struct cpu *c)
{
	return vmx_proc(c, PROC_USE_TSC_OFFSETTING) ? F(TSC_OFFSET) : 0;
}

/* PAUSE (25.1.3): "PAUSE exiting" exits at any CPL. Otherwise, at CPL 0,
 * "PAUSE-loop exiting" looks for a spin loop: PAUSEs at most PLE_Gap TSC
 * ticks apart are one loop (the first PAUSE at CPL 0 after a VM entry
 * starts one), and the PAUSE that finds its loop has lasted more than
 * PLE_Window ticks exits (24.6.13). The ticks are the TSC's rate without
 * its offsets: one per nanosecond of virtual time. */
void vmexit_on_pause(struct cpu *c)
{
	if (vmx_proc(c, PROC_PAUSE_EXITING))
		insn_exit(c, EXIT_REASON_PAUSE, 0);
	if (c->cpl != 0 || !vmx_proc2(c, PROC2_PAUSE_LOOP_EXITING))
		return;
	uint64_t now = emu_now(c);
	struct vmx_state *v = &c->vmx;
	if (!v->ple_seen || now - v->ple_last > (uint32_t)F(PLE_GAP))
		v->ple_first = now;
	v->ple_seen = true;
	v->ple_last = now;
	if (now - v->ple_first > (uint32_t)F(PLE_WINDOW))
		insn_exit(c, EXIT_REASON_PAUSE, 0);
}

/* MONITOR and MWAIT (25.1.3). MWAIT's qualification says whether the
 * monitor was armed (27.2.1). */
void vmexit_on_monitor(struct cpu *c)
{
	if (vmx_proc(c, PROC_MONITOR_EXITING))
		insn_exit(c, EXIT_REASON_MONITOR, 0);
}

void vmexit_on_mwait(struct cpu *c)
{
	if (vmx_proc(c, PROC_MWAIT_EXITING))
		insn_exit(c, EXIT_REASON_MWAIT, c->monitor_armed);
}

/* MWAIT with ECX[0] = 1 and RFLAGS.IF = 0 in a guest: with "interrupt-
 * window exiting" it goes on to the next instruction instead of waiting
 * (25.3; no virtual interrupts are offered to be pending). */
bool vmx_mwait_passes(const struct cpu *c)
{
	return vmx_proc(c, PROC_INTR_WINDOW_EXITING);
}

/* --- control registers (25.1.3; qualification: table 27-3) --- */

enum { CR_MOV_TO = 0, CR_MOV_FROM = 1, CR_CLTS = 2, CR_LMSW = 3 };

static _Noreturn void cr_exit(struct cpu *c, unsigned cr, unsigned type, unsigned gpr,
			      uint64_t extra)
{
	insn_exit(c, EXIT_REASON_CR_ACCESS, cr | type << 4 | gpr << 8 | extra);
}

static bool cr3_is_target(struct cpu *c, uint64_t v)
{
	uint64_t n = F(CR3_TARGET_COUNT);
	for (uint64_t k = 0; k < n && k < 4; k++)
		if (c->vmx.field[VMCS_CR3_TARGET_VALUE0 + k] == v)
			return true;
	return false;
}

/* MOV to CRn. For CR0 and CR4 a write exits if it would change a bit
 * the host owns (set in the guest/host mask) from its read-shadow value;
 * a write that does not exit leaves the host-owned bits of the real
 * register as they are (25.3): *v is adjusted for that. */
void vmexit_on_mov_to_cr(struct cpu *c, unsigned cr, unsigned gpr, uint64_t *v)
{
	uint64_t mask, shadow;
	switch (cr) {
	case 0:
	case 4:
		mask = cr == 0 ? F(CR0_GUEST_HOST_MASK) : F(CR4_GUEST_HOST_MASK);
		shadow = cr == 0 ? F(CR0_READ_SHADOW) : F(CR4_READ_SHADOW);
		if ((*v ^ shadow) & mask)
			cr_exit(c, cr, CR_MOV_TO, gpr, 0);
		*v = (*v & ~mask) | ((cr == 0 ? c->cr0 : c->cr4) & mask);
		return;
	case 3:
		if (vmx_proc(c, PROC_CR3_LOAD_EXITING) && !cr3_is_target(c, *v))
			cr_exit(c, 3, CR_MOV_TO, gpr, 0);
		return;
	case 8:
		if (vmx_proc(c, PROC_CR8_LOAD_EXITING))
			cr_exit(c, 8, CR_MOV_TO, gpr, 0);
		return;
	}
}

/* VTPR, the TPR of the virtual-APIC page (29.1.1). */
static uint32_t vtpr(struct cpu *c)
{
	uint32_t v = 0;
	emu_phys_read(c, F(VIRTUAL_APIC_PAGE_ADDR) + 0x80, &v, 4);
	return v & 0xff;
}

/* MOV from CRn: CR3 and CR8 may exit; CR0 and CR4 read the shadow in
 * the bits the host owns (so does SMSW); with a TPR shadow, CR8 reads
 * VTPR[7:4]. */
void vmexit_on_mov_from_cr(struct cpu *c, unsigned cr, unsigned gpr, uint64_t *v)
{
	switch (cr) {
	case 0:
		*v = (*v & ~F(CR0_GUEST_HOST_MASK)) | (F(CR0_READ_SHADOW) & F(CR0_GUEST_HOST_MASK));
		return;
	case 4:
		*v = (*v & ~F(CR4_GUEST_HOST_MASK)) | (F(CR4_READ_SHADOW) & F(CR4_GUEST_HOST_MASK));
		return;
	case 3:
		if (vmx_proc(c, PROC_CR3_STORE_EXITING))
			cr_exit(c, 3, CR_MOV_FROM, gpr, 0);
		return;
	case 8:
		if (vmx_proc(c, PROC_CR8_STORE_EXITING))
			cr_exit(c, 8, CR_MOV_FROM, gpr, 0);
		if (vmx_proc(c, PROC_USE_TPR_SHADOW))
			*v = vtpr(c) >> 4;
		return;
	}
}

/* With "use TPR shadow", a MOV to CR8 that does not exit writes VTPR
 * (byte 0x80 of the virtual-APIC page: CR8 in bits 7:4, 29.3) and not
 * the APIC's TPR; if it drops below TPR_THRESHOLD, a trap-like VM exit
 * follows the instruction (reason 43, 29.1.2). Returns false when there
 * is no TPR shadow and CR8 is written as usual. */
bool vmx_cr8_shadow_write(struct cpu *c, uint64_t v)
{
	if (!vmx_proc(c, PROC_USE_TPR_SHADOW))
		return false;
	if (v & ~0xfull)
		emu_raise(c, VEC_GP, 0);
	uint32_t t = (uint32_t)v << 4;
	emu_phys_write(c, F(VIRTUAL_APIC_PAGE_ADDR) + 0x80, &t, 4);
	if (v < (F(TPR_THRESHOLD) & 0xf)) {
		c->cur = NULL; /* trap-like: the guest resumes after the MOV */
		vmexit_simple(c, EXIT_REASON_TPR_BELOW_THRESHOLD, 0);
	}
	return true;
}

/* CLTS exits if the host owns TS and the shadow has it set; if the host
 * owns TS and the shadow has it clear, CLTS does nothing (25.1.3, 25.3).
 * Returns whether CLTS may clear CR0.TS. */
bool vmexit_on_clts(struct cpu *c)
{
	if (!(F(CR0_GUEST_HOST_MASK) & CR0_TS))
		return true;
	if (F(CR0_READ_SHADOW) & CR0_TS)
		cr_exit(c, 0, CR_CLTS, 0, 0);
	return false;
}

/* LMSW exits if it would set a host-owned PE the shadow has clear, or
 * change a host-owned MP, EM or TS from the shadow; otherwise it loads
 * only the guest-owned bits. *src is the 16-bit source, adjusted. */
void vmexit_on_lmsw(struct cpu *c, const struct insn *i, uint64_t *src)
{
	uint64_t mask = F(CR0_GUEST_HOST_MASK) & 0xf, shadow = F(CR0_READ_SHADOW);
	bool pe = (mask & CR0_PE) && !(shadow & CR0_PE) && (*src & CR0_PE);
	if (pe || ((*src ^ shadow) & mask & 0xe)) {
		uint64_t extra = (uint64_t)(*src & 0xffff) << 16 | (i->mod != 3 ? 1u << 6 : 0);
		if (i->mod != 3)
			vmexit(c, &(struct exit_info){
				.reason = EXIT_REASON_CR_ACCESS,
				.qual = 0 | CR_LMSW << 4 | extra,
				.guest_linear = c->seg[i->seg].base + ea(c, i),
			});
		cr_exit(c, 0, CR_LMSW, 0, extra);
	}
	*src = (*src & ~mask) | (c->cr0 & mask);
}

/* MOV DR with "MOV-DR exiting" (qualification: table 27-4). */
void vmexit_on_mov_dr(struct cpu *c, unsigned dr, unsigned gpr, bool from)
{
	if (vmx_proc(c, PROC_MOV_DR_EXITING))
		insn_exit(c, EXIT_REASON_MOV_DR, dr | (from ? 1u << 4 : 0) | gpr << 8);
}

/* Descriptor-table exiting (secondary control): LGDT, LIDT, SGDT, SIDT
 * exit with reason 46, LLDT, LTR, SLDT, STR with 47; the instruction
 * information names the instruction (bits 29:28: SGDT SIDT LGDT LIDT,
 * SLDT STR LLDT LTR, which is ModRM.reg of groups 7 and 6) and its
 * operand (tables 27-10, 27-11). */
void vmexit_on_desc_table(struct cpu *c, const struct insn *i, bool ldtr_tr, unsigned which)
{
	if (!vmx_proc2(c, PROC2_DESC_TABLE_EXITING))
		return;
	struct exit_info x = { .reason = ldtr_tr ? EXIT_REASON_LDTR_TR : EXIT_REASON_GDTR_IDTR };
	if (i->mod == 3) {
		x.insn_info = 1u << 10 | (uint32_t)(i->rm & 15) << 3;
	} else {
		x.insn_info = vmx_mem_insn_info(i);
		x.qual = (uint64_t)i->disp;
	}
	if (!ldtr_tr && i->osz != SZ16)
		x.insn_info |= 1u << 11;
	x.insn_info |= which << 28;
	vmexit(c, &x);
}

/* Task switches always exit (25.1.2); the qualification is the selector
 * and the source: 0 CALL, 1 IRET, 2 JMP, 3 a task gate in the IDT
 * (table 27-2). Only legacy protected mode has task switches. */
void vmexit_on_task_switch(struct cpu *c, uint16_t sel, unsigned source)
{
	if (c->efer & EFER_LMA)
		return;
	vmexit_simple(c, EXIT_REASON_TASK_SWITCH, sel | (uint64_t)source << 30);
}

/* RDPMC with "RDPMC exiting" (25.1.3). */
void vmexit_on_rdpmc(struct cpu *c)
{
	if (vmx_proc(c, PROC_RDPMC_EXITING))
		insn_exit(c, EXIT_REASON_RDPMC, 0);
}

/* --- I/O (25.1.3; qualification: table 27-5) --- */

/* With "use I/O bitmaps": bitmap A covers ports 0-7FFF, B 8000-FFFF; an
 * access exits if the bit of any port it touches is set, or if it wraps
 * past FFFF. Without: "unconditional I/O exiting" decides. */
static bool io_exits(struct cpu *c, uint16_t port, unsigned bytes)
{
	if (!vmx_proc(c, PROC_USE_IO_BITMAPS))
		return vmx_proc(c, PROC_UNCOND_IO_EXITING);
	if ((uint32_t)port + bytes - 1 > 0xffff)
		return true;
	for (unsigned k = 0; k < bytes; k++) {
		unsigned p = port + k;
		uint64_t map = p < 0x8000 ? F(IO_BITMAP_A) : F(IO_BITMAP_B);
		uint8_t b = 0xff;
		emu_phys_read(c, map + ((p & 0x7fff) >> 3), &b, 1);
		if (b & (1u << (p & 7)))
			return true;
	}
	return false;
}

void vmexit_on_io(struct cpu *c, const struct insn *i, uint16_t port, unsigned bytes, bool in)
{
	if (!io_exits(c, port, bytes))
		return;
	bool string = (i->op & 0xfc) == 0x6c;
	bool imm = !string && !(i->op & 8);
	struct exit_info x = { .reason = EXIT_REASON_IO_INSTRUCTION };
	x.qual = (bytes - 1) | (in ? 1u << 3 : 0) | (string ? 1u << 4 : 0) |
		 (string && i->rep ? 1u << 5 : 0) | (imm ? 1u << 6 : 0) | (uint64_t)port << 16;
	if (string) {
		/* The memory operand: DS:rSI (or its override) for OUTS,
		 * ES:rDI for INS; the instruction information gives the
		 * address size and, for OUTS, the segment (table 27-8). */
		int seg = in ? SEG_ES : i->seg;
		uint64_t off = c->gpr[in ? R_DI : R_SI] & sz_mask[i->asz];
		x.guest_linear = c->seg[seg].base + off;
		if (c->code_sz != SZ64)
			x.guest_linear = (uint32_t)x.guest_linear;
		x.insn_info = (uint32_t)(i->asz - SZ16) << 7 | (uint32_t)seg << 15;
	}
	vmexit(c, &x);
}

/* --- RDMSR/WRMSR (25.1.3, the MSR bitmaps of 24.6.9) --- */

void vmexit_on_msr(struct cpu *c, uint32_t msr, bool write)
{
	uint32_t reason = write ? EXIT_REASON_WRMSR : EXIT_REASON_RDMSR;
	if (!vmx_proc(c, PROC_USE_MSR_BITMAPS))
		insn_exit(c, reason, 0);
	unsigned base;
	if (msr <= 0x1fff)
		base = 0;
	else if (msr >= 0xc0000000u && msr <= 0xc0001fffu)
		base = 1024;
	else
		insn_exit(c, reason, 0); /* outside both ranges: always */
	uint64_t at = F(MSR_BITMAP) + base + (write ? 2048 : 0) + ((msr & 0x1fff) >> 3);
	uint8_t b = 0xff;
	emu_phys_read(c, at, &b, 1);
	if (b & (1u << (msr & 7)))
		insn_exit(c, reason, 0);
}

/* --- events (25.2) --- */

/* An exception about to be delivered exits if its bit in the exception
 * bitmap is set; for #PF the bit's meaning is inverted when the error
 * code does not match (PFEC & MASK != MATCH) (25.2). The exit happens
 * before delivery: a #PF that exits leaves CR2 alone, and the
 * qualification carries its linear address (27.2.1). */
void vmexit_on_exception(struct cpu *c, unsigned vector, int kind, bool has_err, uint32_t err)
{
	bool exits = (F(EXCEPTION_BITMAP) >> vector) & 1;
	if (vector == VEC_PF && kind == EV_FAULT)
		exits = exits == ((err & F(PAGE_FAULT_ERROR_CODE_MASK)) ==
				  F(PAGE_FAULT_ERROR_CODE_MATCH));
	if (!exits)
		return;
	unsigned type = kind == EV_SOFT_EXC ? INTR_TYPE_SW_EXCEPTION :
			kind == EV_PRIV_SOFT ? INTR_TYPE_PRIV_SW_EXCEPTION : INTR_TYPE_HW_EXCEPTION;
	struct exit_info x = { .reason = EXIT_REASON_EXCEPTION_NMI };
	x.intr_info = INTR_INFO_VALID | type << 8 | vector;
	if (has_err && kind == EV_FAULT) {
		x.intr_info |= INTR_INFO_ERROR_VALID;
		x.intr_error = err;
	}
	if (vector == VEC_PF && kind == EV_FAULT)
		x.qual = c->pf_lin;
	else if (vector == VEC_DB && kind == EV_FAULT)
		x.qual = c->db_bits & 0x600f; /* B0-B3, BD, BS: DR6 is left alone (27.1) */
	c->db_bits = 0;
	/* A software exception's exit is fault-like: the guest's RIP is
	 * the INT3/INTO itself, with its length recorded. */
	vmexit(c, &x);
}

void vmexit_on_triple_fault(struct cpu *c)
{
	c->in_delivery = c->was_delivering = false;
	vmexit_simple(c, EXIT_REASON_TRIPLE_FAULT, 0);
}

/* Whether a monitor-trap-flag VM exit is due at this instruction
 * boundary: one guest instruction (or an injected event) after VM entry
 * (25.5.2). */
bool vmx_mtf_due(const struct cpu *c)
{
	return c->vmx.mtf && c->icount > c->vmx.mtf_after;
}

/* Between instructions: an open interrupt window, an NMI with "NMI
 * exiting", or an external interrupt with "external-interrupt exiting"
 * exit before anything is delivered (25.2, 26.7.5). With "acknowledge
 * interrupt on exit" the interrupt controller is acknowledged and the
 * vector recorded (27.2.2). Returns false if nothing exited. */
bool vmexit_on_interrupt(struct cpu *c)
{
	const struct intc_ops *ic = c->intc;
	bool shadow = c->icount < c->shadow_until;
	uint32_t pin = (uint32_t)F(PIN_BASED_VM_EXEC_CONTROL);
	bool vnmi = pin & PIN_VIRTUAL_NMIS;
	/* In the order of SDM 6.9 (table 6-2) with the VMX events of 26.7:
	 * the monitor trap flag after one guest instruction (or an injected
	 * event), the preemption timer, NMIs, then the NMI and interrupt
	 * windows and external interrupts. */
	if (vmx_mtf_due(c))
		vmexit_simple(c, EXIT_REASON_MONITOR_TRAP_FLAG, 0);
	if (c->vmx.preempt_expired)
		vmexit_simple(c, EXIT_REASON_PREEMPTION_TIMER, 0);
	/* With "virtual NMIs", nmi_blocked is virtual-NMI blocking and does
	 * not hold real NMIs back (24.6.1). */
	if ((pin & PIN_NMI_EXITING) && (vnmi || !c->nmi_blocked) && !(shadow && c->shadow_movss) &&
	    (c->nmi_pending || (ic && ic->nmi_pending(c)))) {
		if (c->nmi_pending)
			c->nmi_pending = false;
		else
			ic->nmi_ack(c);
		struct exit_info x = { .reason = EXIT_REASON_EXCEPTION_NMI, .nmi_exit = true };
		x.intr_info = INTR_INFO_VALID | INTR_TYPE_NMI << 8 | VEC_NMI;
		vmexit(c, &x);
	}
	if (vmx_proc(c, PROC_NMI_WINDOW_EXITING) && !c->nmi_blocked && !shadow) {
		c->halted = false;
		vmexit_simple(c, EXIT_REASON_NMI_WINDOW, 0);
	}
	if (vmx_proc(c, PROC_INTR_WINDOW_EXITING) && (c->rflags & FL_IF) && !shadow) {
		c->halted = false;
		vmexit_simple(c, EXIT_REASON_INTERRUPT_WINDOW, 0);
	}
	/* With "external-interrupt exiting", RFLAGS.IF does not block
	 * external interrupts (24.6.1, table 24-5). */
	if ((pin & PIN_EXT_INTR_EXITING) && !shadow && ic && ic->pending(c) >= 0) {
		struct exit_info x = { .reason = EXIT_REASON_EXTERNAL_INTERRUPT };
		if (F(VM_EXIT_CONTROLS) & EXIT_ACK_INTR_ON_EXIT)
			x.intr_info = INTR_INFO_VALID | INTR_TYPE_EXTERNAL << 8 | ic->ack(c);
		vmexit(c, &x);
	}
	return false;
}

/* INIT (25.2): in VMX non-root operation always a VM exit, which does
 * none of INIT's work: registers and pending events stay as they are. */
void vmexit_on_init(struct cpu *c)
{
	c->init_pending = false;
	vmexit_simple(c, EXIT_REASON_INIT_SIGNAL, 0);
}

/* Whether something could end a HLT in the guest: what
 * emu_interrupt_possible() says, plus interrupts that exit whatever IF. */
bool vmx_wakeup_possible(struct cpu *c)
{
	const struct intc_ops *ic = c->intc;
	if ((F(PIN_BASED_VM_EXEC_CONTROL) & PIN_EXT_INTR_EXITING) && ic && ic->pending(c) >= 0)
		return true;
	if (vmx_proc(c, PROC_NMI_WINDOW_EXITING) && !c->nmi_blocked)
		return true;
	return vmx_proc(c, PROC_INTR_WINDOW_EXITING) && (c->rflags & FL_IF);
}
