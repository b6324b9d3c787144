/* Where each VM exit goes. nested takes two kinds: type1's own (VMCS01),
 * which it handles itself, and those of type1's guests (VMCS02), which it
 * handles only when they are its own business (its shadow EPT) and
 * otherwise reflects to type1, as the processor would have sent them to
 * type1 had type1 run on it (SDM 25.1, 25.2: VMCS12's controls asked for
 * every one of them). And what nested counts, printed at the end. */
#include "hvlib/module.h"
#include "lib/printf.h"
#include "lib/x86.h"
#include "nested/nested.h"

#define PORT_DEBUG_EXIT 0xf4

/* ---- counting ---- */

static unsigned kind_of(uint32_t reason)
{
	switch (reason) {
	case EXIT_REASON_VMREAD: return 0;
	case EXIT_REASON_VMWRITE: return 1;
	case EXIT_REASON_VMRESUME: case EXIT_REASON_VMLAUNCH: return 2;
	}
	return 3;
}

/* An exit of type1's; while it handles a reflected L3 exit, charged to
 * that exit too. */
static void count_l2(uint32_t reason)
{
	struct counts *n = &nest.n;
	if (reason < EXIT_REASONS)
		n->l2[reason]++;
	if (nest.reflecting >= 0) {
		n->caused[nest.reflecting]++;
		n->caused_by[nest.reflecting][kind_of(reason)]++;
	}
}

/* ---- type1's exits (VMCS01 current) ---- */

/* RDMSR: the capability MSRs nested offers (caps.c), and
 * IA32_FEATURE_CONTROL locked with VMX allowed outside SMX (23.7); the
 * others as hvlib answers any guest. WRMSR to either is #GP: the first
 * are read-only, the second locked. */
static enum vm_next on_msr(bool write)
{
	uint32_t msr = (uint32_t)nest.vm.vcpu.regs.rcx;
	uint64_t v;
	if (msr == MSR_IA32_FEATURE_CONTROL)
		v = FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
	else if (!caps_rdmsr(msr, &v))
		return vm_exit_common(&nest.vm);
	if (write) {
		vm_inject_gp(&nest.vm);
		return VM_RESUME;
	}
	nest.vm.vcpu.regs.rax = (uint32_t)v;
	nest.vm.vcpu.regs.rdx = v >> 32;
	vm_skip(&nest.vm);
	return VM_RESUME;
}

/* Every port but isa-debug-exit is type1's own (VMCS01's I/O bitmap); a
 * write there ends type1, and nested with it. */
static enum vm_next on_io(void)
{
	uint64_t q = nest.vm.vcpu.exit_qual;
	if (IO_QUAL_PORT(q) != PORT_DEBUG_EXIT || (q & (IO_QUAL_IN | IO_QUAL_STRING)))
		nested_stop("type1 made an I/O exit on port 0x%lx, which it should not",
			    IO_QUAL_PORT(q));
	nest.done = true;
	nest.status = (uint8_t)nest.vm.vcpu.regs.rax;
	return VM_STOP;
}

/* type1's RAM and the local APIC are all EPT01 maps. */
static enum vm_next on_ept_violation(void)
{
	nested_stop("type1 touched guest-physical 0x%lx, outside its %u MiB of RAM",
		    vmcs_read(GUEST_PHYSICAL_ADDRESS), L2_RAM_SIZE >> 20);
}

static bool is_vmx_instruction(uint32_t reason)
{
	return (reason >= EXIT_REASON_VMCLEAR && reason <= EXIT_REASON_VMXON) ||
	       reason == EXIT_REASON_INVEPT || reason == EXIT_REASON_INVVPID;
}

enum vm_next l2_exit(void)
{
	uint32_t reason = nest.vm.vcpu.exit_reason;
	if (reason == VMX_RUN_VMFAIL || (reason & EXIT_REASON_FAILED_VMENTRY)) {
		vm_exit_common(&nest.vm);
		nested_stop("entering type1: %s", nest.vm.why);
	}
	count_l2(reason);
	if (is_vmx_instruction(reason))
		return vmx_emulate(reason);
	switch (reason) {
	case EXIT_REASON_RDMSR:          return on_msr(false);
	case EXIT_REASON_WRMSR:          return on_msr(true);
	case EXIT_REASON_IO_INSTRUCTION: return on_io();
	case EXIT_REASON_EPT_VIOLATION:  return on_ept_violation();
	}
	enum vm_next next = vm_exit_common(&nest.vm);
	if (next == VM_STOP)
		nested_stop("type1: %s", nest.vm.why);
	if (next == VM_UNHANDLED)
		nested_stop("type1 made exit %u (%s) at RIP 0x%lx, which nested does not emulate",
			    reason, vmx_exit_reason_name(reason), vmcs_read(GUEST_RIP));
	return next;
}

/* ---- the L3 guests' exits (VMCS02 current) ---- */

/* L0 refused VMCS02: type1's VMLAUNCH or VMRESUME fails with the same
 * error, as it would have on the processor. */
static enum vm_next entry_refused(struct cached12 *c)
{
	if (!vm_make_current(&nest.vm))
		nested_stop("VMPTRLD of VMCS01 failed");
	nest.in_l3 = nest.entering = false;
	if (c->l3.entry_result != VMX_FAIL_VALID)
		nested_stop("entering an L3 guest: %s", vmx_result_name(c->l3.entry_result));
	return vmx_fail_valid(c->l3.insn_error);
}

/* An exit nested handled while an event was being delivered (27.2.4):
 * the event is delivered again at the next entry. */
static void reinject(const struct vcpu *v)
{
	uint32_t info = v->idt_vectoring_info;
	if (!(info & INTR_INFO_VALID))
		return;
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info & (INTR_INFO_VALID | 0xfff));
	vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, v->idt_vectoring_error);
	vmcs_write(VM_ENTRY_INSTRUCTION_LEN, v->exit_insn_len);
}

static enum vm_next reflect(struct cached12 *c, uint32_t reason, bool failed)
{
	nest.n.reflected[reason]++;
	nest.charge = &nest.n.ticks[reason];
	nest.reflecting = (int)reason;
	merge_reflect(c, failed);
	return VM_RESUME;
}

/* 24.6.9: would VMCS12's MSR bitmap make this RDMSR or WRMSR exit? If
 * not, it was nested's half of the merged bitmap (merge.c): an MSR type1
 * lets its guest use, but nested does not let type1 use. */
static bool type1_wants_msr_exit(const struct cached12 *c, bool write)
{
	uint32_t msr = (uint32_t)c->l3.regs.rcx, n = msr & 0x1fff;
	if (!(V12(c, CPU_BASED_VM_EXEC_CONTROL) & CPU_BASED_USE_MSR_BITMAPS) ||
	    (msr > 0x1fff && (msr < 0xc0000000u || msr > 0xc0001fffu)))
		return true;
	const uint8_t *bitmap = l2_host_ptr(V12(c, MSR_BITMAP), 4096);
	unsigned at = (write ? 0x800 : 0) + (msr > 0x1fff ? 0x400 : 0) + n / 8;
	return (bitmap[at] >> (n % 8)) & 1;
}

enum vm_next l3_exit(void)
{
	struct cached12 *c = nest.cur;
	if (c->l3.exit_reason == VMX_RUN_VMFAIL)
		return entry_refused(c);
	nest.entering = false;
	uint32_t reason = c->l3.exit_reason & 0xffff;
	bool failed = c->l3.exit_reason & EXIT_REASON_FAILED_VMENTRY;
	if (reason >= EXIT_REASONS)
		nested_stop("an L3 guest made exit %u, which nested does not know", reason);
	if (!failed && (reason == EXIT_REASON_RDMSR || reason == EXIT_REASON_WRMSR) &&
	    !type1_wants_msr_exit(c, reason == EXIT_REASON_WRMSR))
		nested_stop("an L3 guest used MSR 0x%lx, which type1 lets it use and nested "
			    "does not emulate", c->l3.regs.rcx & 0xffffffffu);
	if (failed || reason != EXIT_REASON_EPT_VIOLATION)
		return reflect(c, reason, failed);
	uint64_t qual;
	if (ept02_violation(c, &reason, &qual)) {
		nest.n.handled[EXIT_REASON_EPT_VIOLATION]++;
		nest.charge = &nest.n.handled_ticks;
		reinject(&c->l3);
		return VM_RESUME;
	}
	reflect(c, reason, false);
	V12(c, VM_EXIT_REASON) = reason;
	V12(c, EXIT_QUALIFICATION) = qual;
	return VM_RESUME;
}

/* ---- the summary ---- */

static uint64_t sum(const uint64_t *a)
{
	uint64_t s = 0;
	for (unsigned r = 0; r < EXIT_REASONS; r++)
		s += a[r];
	return s;
}

/* a / b with one decimal. */
static void print_ratio(uint64_t a, uint64_t b, unsigned width)
{
	char buf[24];
	uint64_t tenths = b ? (a * 10 + b / 2) / b : 0;
	snprintf(buf, sizeof buf, "%llu.%llu", (unsigned long long)(tenths / 10),
		 (unsigned long long)(tenths % 10));
	print_column(buf, width, 0);
}

static void print_number(uint64_t v, unsigned width)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
	print_column(buf, width, 0);
}

static void print_exit_table(void)
{
	const struct counts *n = &nest.n;
	printf("\n ");
	print_column("", 31, 1);
	print_column("", 10, 0);
	print_column("L3 exits", 21, 0);
	printf("\n ");
	print_column("VM exits nested (L1) took", 31, 1);
	print_column(nest.name, 10, 0);
	print_column("handled", 10, 0);
	print_column("reflected", 10, 0);
	printf("\n");
	for (unsigned r = 0; r < EXIT_REASONS; r++) {
		if (!(n->l2[r] | n->handled[r] | n->reflected[r]))
			continue;
		printf("  %2u", r);
		print_column(vmx_exit_reason_name(r), 28, 1);
		print_number(n->l2[r], 10);
		print_number(n->handled[r], 10);
		print_number(n->reflected[r], 10);
		printf("\n");
	}
}

/* One row of the multiplication table: reason r, or all when r < 0. */
static void print_multiplication_row(int r)
{
	static const unsigned width[4] = { 7, 8, 9, 6 };
	const struct counts *n = &nest.n;
	uint64_t count = r < 0 ? sum(n->reflected) : n->reflected[r];
	uint64_t caused = r < 0 ? sum(n->caused) : n->caused[r];
	uint64_t ticks = r < 0 ? sum(n->ticks) : n->ticks[r];
	if (r < 0)
		printf("    ");
	else
		printf("  %2u", (unsigned)r);
	print_column(r < 0 ? "all" : vmx_exit_reason_name((unsigned)r), 28, 1);
	print_number(count, 6);
	for (unsigned k = 0; k < 4; k++) {
		uint64_t by = 0;
		for (unsigned q = 0; q < EXIT_REASONS; q++)
			if (r < 0 || q == (unsigned)r)
				by += n->caused_by[q][k];
		print_ratio(by, count, width[k]);
	}
	print_ratio(count + caused, count, 7);
	print_number(count ? ticks / count : 0, 8);
	printf("\n");
}

static void print_multiplication(void)
{
	const struct counts *n = &nest.n;
	printf("\n  Exit multiplication. An L3 exit reflected to %s is one exit for %s (L2);\n"
	       "  nested (L1) sees it plus every exit %s then makes (VMREAD, VMWRITE, ... up to\n"
	       "  the VMRESUME back), and nestlab (L0) makes every exit nested sees.\n",
	       nest.name, nest.name, nest.name);
	if (!sum(n->reflected)) {
		printf("  (no L3 exit was reflected)\n");
		return;
	}
	printf("  ");
	print_column("", 30, 1);
	print_column("", 6, 0);
	print_column("L2's exits per L3 exit", 33, 0);
	print_column("L1, L0", 7, 0);
	printf("\n  ");
	static const char *const heads[] = { "count", "VMREAD", "VMWRITE", "VMRESUME", "other",
					     "see", "ns each" };
	static const unsigned widths[] = { 6, 7, 8, 9, 6, 7, 8 };
	print_column("L3 exit reflected to L2", 30, 1);
	for (unsigned k = 0; k < 7; k++)
		print_column(heads[k], widths[k], 0);
	printf("\n");
	for (unsigned r = 0; r < EXIT_REASONS; r++)
		if (n->reflected[r])
			print_multiplication_row((int)r);
	print_multiplication_row(-1);
	if (n->handled[EXIT_REASON_EPT_VIOLATION])
		printf("  and %llu EPT violations nested handled alone (EPT02 filled), "
		       "%llu ns each\n", (unsigned long long)n->handled[EXIT_REASON_EPT_VIOLATION],
		       (unsigned long long)(n->handled_ticks / n->handled[EXIT_REASON_EPT_VIOLATION]));
}

void print_counts(void)
{
	const struct counts *n = &nest.n;
	printf("\nnested: %s has ended (isa-debug-exit %u)\n", nest.name, nest.status);
	printf("  %s (L2) made %llu VM exits; its guests (L3) made %llu, of which nested\n"
	       "  handled %llu itself and reflected %llu to %s\n", nest.name,
	       (unsigned long long)sum(n->l2),
	       (unsigned long long)(sum(n->handled) + sum(n->reflected)),
	       (unsigned long long)sum(n->handled), (unsigned long long)sum(n->reflected),
	       nest.name);
	print_exit_table();
	print_multiplication();
}
