/* Waiting: MONITOR and MWAIT, PAUSE-loop exiting and INIT (SDM vol. 2B,
 * MONITOR, MWAIT and VMXOFF; vol. 3C, 23.8, 24.6.13, 25.1.1, 25.1.3,
 * 25.2, 25.3, 26.3.3, 27.2.1, 27.5.6).
 *
 * First without VMX: CPUID leaf 5, MWAIT with and without an armed
 * monitor, woken by the local APIC timer with IF = 1, or with IF = 0 and
 * ECX[0] = 1 (the interrupt then stays pending), the faults, and
 * IA32_MISC_ENABLE[18]. Then in a guest: MONITOR and MWAIT exiting, the
 * two instructions without them, and the VMX transitions that clear
 * address-range monitoring; PAUSE-loop exiting; and INIT, a VM exit in
 * VMX non-root operation and blocked in VMX root operation.
 *
 * The guest shares the host's IDT and local APIC (no APIC virtualization,
 * no EPT): the APIC page is at 0xFEE00000 in the identity map.
 *
 * An INIT that is not blocked would reset the CPU and end the run, so the
 * INIT in VMX root operation comes last and the test passes without
 * leaving VMX operation.
 *
 * QEMU's TCG has no VMX: the SDM is the only oracle. */
// oracle: sdm
#include "lib/alloc.h"
#include "lib/apic.h"
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/idt.h"
#include "lib/paging.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/vmx.h"
#include "lib/x86.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "vmx_wait";

#define VEC_TIMER 0x52

/* IA32_MISC_ENABLE[18], "Enable MONITOR FSM" (vol. 4, table 2-2). */
#define MSR_IA32_MISC_ENABLE 0x1a0u
#define MISC_ENABLE_MONITOR  (1ull << 18)

#define CPUID1_ECX_MONITOR   (1u << 3)
/* CPUID leaf 5, ECX: MWAIT extensions are enumerated (bit 0); interrupts
 * end MWAIT even when masked, MWAIT ECX[0] (bit 1). */
#define CPUID5_ECX_EMX       (1u << 0)
#define CPUID5_ECX_IBE       (1u << 1)

/* The interrupt command register (vol. 3A, 10.6.1). */
#define APIC_ICR_LO          0x300
#define APIC_ICR_HI          0x310
#define ICR_INIT             (5u << 8)     /* delivery mode INIT */
#define ICR_ASSERT           (1u << 14)    /* level: assert */
#define ICR_ALL_INCL_SELF    (2u << 18)    /* destination shorthands */
#define ICR_ALL_EXCL_SELF    (3u << 18)

/* A timer long enough never to expire in a check that does not wait, and
 * one short enough to end a wait soon (1 GHz bus clock on nestlab). */
#define SAFETY_TICKS 10000000u
#define WAKE_TICKS   50000u

#define PLE_GAP_TICKS    128u
#define PLE_WINDOW_TICKS 4096u

static struct vcpu vcpu;

/* The monitored memory: a page, so that any line size CPUID reports
 * fits, and nothing else in it is written while a monitor is armed. */
static volatile uint8_t area[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static unsigned line_size;

/* Guests whose instruction addresses the host checks; the ones that
 * return end in RET to vmx_guest_return (vmx.h). */
uint64_t wake_guest(uint64_t), ple_spin_guest(uint64_t), ple_gap_guest(uint64_t);
uint64_t init_guest(uint64_t);
extern const char wake_after[], ple_spin_pause[], init_after[];
__asm__(".pushsection .text\n"
	/* MONITOR the line at RDI, MWAIT (ECX = 0) until something ends it. */
	"wake_guest:\n"
	"	movq %rdi, %rax\n"
	"	xorl %ecx, %ecx\n"
	"	xorl %edx, %edx\n"
	"	monitor\n"
	"	xorl %eax, %eax\n"
	"	mwait\n"
	"wake_after:\n"
	"	ret\n"
	/* A spin loop; RBX counts the PAUSEs that did not exit. */
	"ple_spin_guest:\n"
	"	xorl %ebx, %ebx\n"
	"ple_spin_pause:\n"
	"	pause\n"
	"	incq %rbx\n"
	"	jmp ple_spin_pause\n"
	/* RDI PAUSEs, each after a delay of 2000 instructions: more than
	 * PLE_Gap apart. */
	"ple_gap_guest:\n"
	"1:	movl $1000, %ecx\n"
	"2:	decl %ecx\n"
	"	jnz 2b\n"
	"	pause\n"
	"	decq %rdi\n"
	"	jnz 1b\n"
	"	movl $0x9a9, %eax\n"
	"	ret\n"
	/* ICR high: our own APIC ID (bits 31:24, as in the ID register);
	 * ICR low: EDI, which sends the IPI. */
	"init_guest:\n"
	"	movq $0xfee00020, %rdx\n"
	"	movl (%rdx), %eax\n"
	"	andl $0xff000000, %eax\n"
	"	movq $0xfee00310, %rdx\n"
	"	movl %eax, (%rdx)\n"
	"	movq $0xfee00300, %rdx\n"
	"	movl %edi, (%rdx)\n"
	"init_after:\n"
	"	movl $7, %eax\n"
	"	ret\n"
	".popsection\n");

/* ---- the instructions ---- */

static inline void monitor(const volatile void *p, uint64_t rcx)
{
	__asm__ volatile("monitor" : : "a"(p), "c"(rcx), "d"(0ull) : "memory");
}

static inline void mwait(uint64_t rcx)
{
	__asm__ volatile("mwait" : : "a"(0ull), "c"(rcx) : "memory");
}

/* The same, returning the vector they raised, or -1 (catch.h). */
static int try_monitor(const volatile void *p, uint64_t rcx)
{
	fault_clear();
	__asm__ volatile(CATCH_ASM("monitor") : : "a"(p), "c"(rcx), "d"(0ull) : "memory");
	return last_fault.vector;
}

static int try_mwait(uint64_t rcx)
{
	fault_clear();
	__asm__ volatile(CATCH_ASM("mwait") : : "a"(0ull), "c"(rcx) : "memory");
	return last_fault.vector;
}

/* A store to the monitored line disarms the monitor (vol. 2B, MONITOR and
 * MWAIT): leave nothing armed for the next check. */
static void disarm(void)
{
	monitor(area, 0);
	area[0] = 0;
}

static const char *fault_name(int vector)
{
	return vector < 0 ? "no exception" : vector_name(vector);
}

/* want is a vector, or -1 for none. */
static void expect_fault(const char *what, int got, int want)
{
	if (got != want)
		TEST_FAIL("%s: got %s, want %s", what, fault_name(got), fault_name(want));
	if (want == VEC_GP && last_fault.error_code != 0)
		TEST_FAIL("%s: #GP(0x%lx), want #GP(0)", what, last_fault.error_code);
}

/* ---- the timer ---- */

static volatile unsigned ticks;
static volatile uint64_t tick_rip;   /* where the last tick interrupted */

static void count_tick(struct trap_frame *f)
{
	ticks++;
	tick_rip = f->rip;
	apic_eoi();
}

/* STI; MWAIT with IF = 1 (MWAIT in the STI shadow, as in `sti; hlt`).
 * Returns the address after MWAIT, where an interrupt that ended the
 * wait is taken. */
static uint64_t sti_mwait(uint64_t rcx)
{
	uint64_t after;
	__asm__ volatile("sti\n\t"
			 "mwait\n"
			 "1:\n\t"
			 "cli\n\t"
			 "leaq 1b(%%rip), %0"
			 : "=r"(after) : "a"(0ull), "c"(rcx) : "memory");
	return after;
}

/* MWAIT with IF = 1 that must not wait: a long timer runs, and if MWAIT
 * waited it ended with that timer's interrupt. */
static void expect_no_wait(const char *what)
{
	ticks = 0;
	apic_timer_start(VEC_TIMER, SAFETY_TICKS, false);
	sti_mwait(0);
	apic_timer_stop();
	if (ticks)
		TEST_FAIL("%s: MWAIT waited for an interrupt", what);
}

/* ---- without VMX ---- */

/* CPUID.1:ECX.MONITOR[3], and leaf 5: the smallest and largest monitor
 * line sizes in EAX[15:0] and EBX[15:0] (vol. 2A, CPUID). */
static void test_cpuid(void)
{
	TEST_ASSERT(cpuid(0, 0).eax >= 5);
	TEST_ASSERT(cpuid(1, 0).ecx & CPUID1_ECX_MONITOR);
	struct cpuid_regs r = cpuid(5, 0);
	unsigned smallest = r.eax & 0xffff, largest = r.ebx & 0xffff;
	TEST_ASSERT(smallest != 0 && smallest <= largest && largest <= PAGE_SIZE);
	line_size = smallest;
	printf("# monitor line: %u to %u bytes; leaf 5 ECX 0x%x, EDX 0x%x\n", smallest,
	       largest, r.ecx, r.edx);
	printf("CPUID: MONITOR/MWAIT, monitor-line sizes in leaf 5\n");
}

/* MWAIT does not wait unless a MONITOR armed the monitor and no store to
 * the line came since (vol. 2B, MWAIT). */
static void test_mwait_nop(void)
{
	expect_no_wait("MWAIT without MONITOR");
	monitor(area, 0);
	area[line_size - 1] = 1;       /* the last byte of the line */
	expect_no_wait("MWAIT after a store to the monitored line");
	printf("MWAIT without MONITOR, and after a store to the line: no wait\n");
}

/* MWAIT with IF = 1 waits until an interrupt, taken right after it. */
static void test_mwait_interrupt(void)
{
	ticks = 0;
	apic_timer_start(VEC_TIMER, WAKE_TICKS, false);
	monitor(area, 0);
	uint64_t after = sti_mwait(0);
	TEST_ASSERT_EQ(ticks, 1);
	TEST_ASSERT_EQ(tick_rip, after);
	printf("MONITOR, MWAIT: woken by the timer, its interrupt taken after MWAIT\n");
}

/* ECX[0] = 1: an interrupt ends MWAIT even with IF = 0, and stays pending
 * until IF = 1 (vol. 2B, MWAIT, table 4-10). Without CPUID.5:ECX[1] the
 * extension is #GP. */
static void test_mwait_masked_interrupt(void)
{
	uint32_t ecx5 = cpuid(5, 0).ecx;
	if (!(ecx5 & CPUID5_ECX_EMX) || !(ecx5 & CPUID5_ECX_IBE)) {
		expect_fault("MWAIT with ECX[0] = 1 unsupported", try_mwait(1), VEC_GP);
		printf("# skipped: MWAIT ECX[0] = 1 (not in CPUID leaf 5)\n");
		return;
	}
	ticks = 0;
	apic_timer_start(VEC_TIMER, WAKE_TICKS, false);
	monitor(area, 0);
	mwait(1);
	TEST_ASSERT(apic_irr(VEC_TIMER));      /* it waited for the timer ... */
	TEST_ASSERT_EQ(ticks, 0);              /* ... and did not take it */
	__asm__ volatile("sti\n\tnop\n\tcli" : : : "memory");
	TEST_ASSERT_EQ(ticks, 1);
	printf("MWAIT with ECX[0] = 1 and IF = 0: ends on the timer, which stays "
	       "pending until STI\n");
}

static uint64_t user_monitor(uint64_t p)
{
	return (uint64_t)try_monitor((const volatile void *)p, 0);
}

static uint64_t user_mwait(uint64_t unused)
{
	(void)unused;
	return (uint64_t)try_mwait(0);
}

/* The exceptions of MONITOR and MWAIT in 64-bit mode (vol. 2B): #GP(0) for
 * RCX != 0 (MONITOR) or RCX[63:1] != 0 (MWAIT), a non-canonical address;
 * #UD at CPL > 0. */
static void test_faults(void)
{
	expect_fault("MONITOR with ECX = 1", try_monitor(area, 1), VEC_GP);
	expect_fault("MWAIT with ECX = 2", try_mwait(2), VEC_GP);
	expect_fault("MONITOR with RCX = 1 << 32", try_monitor(area, 1ull << 32), VEC_GP);
	expect_fault("MWAIT with RCX = 1 << 32", try_mwait(1ull << 32), VEC_GP);
	expect_fault("MONITOR of a non-canonical address",
		     try_monitor((const volatile void *)0x0000800000000000ull, 0), VEC_GP);
	printf("MONITOR with RCX != 0, MWAIT with RCX[63:1] != 0, MONITOR of a "
	       "non-canonical address: #GP(0)\n");
	expect_fault("MONITOR in ring 3", (int)user_call(user_monitor, (uintptr_t)area), VEC_UD);
	expect_fault("MWAIT in ring 3", (int)user_call(user_mwait, 0), VEC_UD);
	printf("MONITOR and MWAIT in ring 3: #UD\n");
}

/* MONITOR is checked like a byte load: it works on a read-only page and
 * sets the accessed bit, not the dirty bit; a page not present is #PF
 * with a read's error code (vol. 2B, MONITOR). */
static void test_monitor_paging(void)
{
	const uint64_t va = 0x4000000000ull;   /* above the 4 GiB identity map */
	int level;
	map_page(va, (uintptr_t)alloc_page(), 0);
	pte_t *pte = pte_lookup(va, &level);
	TEST_ASSERT(pte && level == 1 && !(*pte & (PTE_A | PTE_D)));
	expect_fault("MONITOR of a read-only page", try_monitor((const volatile void *)va, 0), -1);
	TEST_ASSERT_EQ(*pte & (PTE_A | PTE_D), PTE_A);
	disarm();
	unmap_page(va);
	expect_fault("MONITOR of a page not present", try_monitor((const volatile void *)va, 0),
		     VEC_PF);
	TEST_ASSERT_EQ(last_fault.error_code, 0);
	TEST_ASSERT_EQ(last_fault.cr2, va);
	printf("MONITOR: a read of its address (A set, D clear; #PF with error code 0)\n");
}

/* IA32_MISC_ENABLE[18] = 0 clears CPUID.1:ECX.MONITOR and makes both
 * instructions #UD (vol. 4, table 2-2; vol. 2B). */
static void test_misc_enable(void)
{
	uint64_t misc = rdmsr(MSR_IA32_MISC_ENABLE);
	TEST_ASSERT(misc & MISC_ENABLE_MONITOR);
	wrmsr(MSR_IA32_MISC_ENABLE, misc & ~MISC_ENABLE_MONITOR);
	TEST_ASSERT_EQ(cpuid(1, 0).ecx & CPUID1_ECX_MONITOR, 0);
	expect_fault("MONITOR, disabled", try_monitor(area, 0), VEC_UD);
	expect_fault("MWAIT, disabled", try_mwait(0), VEC_UD);
	wrmsr(MSR_IA32_MISC_ENABLE, misc);
	TEST_ASSERT(cpuid(1, 0).ecx & CPUID1_ECX_MONITOR);
	printf("IA32_MISC_ENABLE[18] = 0: CPUID bit clear, MONITOR and MWAIT #UD\n");
}

/* ---- MONITOR and MWAIT exiting (25.1.3, 27.2.1) ---- */

static uint64_t guest_monitor_twice(uint64_t p)
{
	monitor((const volatile void *)p, 0);
	monitor((const volatile void *)p, 1);   /* #GP, but the exit comes first */
	return 0x39;
}

static uint64_t guest_mwait_exits(uint64_t p)
{
	mwait(0);
	monitor((const volatile void *)p, 0);
	mwait(0);
	mwait(2);                                /* #GP, but the exit comes first */
	return 0x36;
}

/* MONITOR exiting: exit 39 with the instruction's length; fault-like
 * exits come before the #GP for ECX (25.1.1). */
static void test_monitor_exiting(void)
{
	if (!vmx_offered(VMX_CTLS_PROC, CPU_BASED_MONITOR_EXITING, "MONITOR exiting"))
		return;
	vmcs_init_guest64(&vcpu, guest_monitor_twice, (uintptr_t)area, 0,
			  CPU_BASED_MONITOR_EXITING, 0);
	vmx_run_expect_len(&vcpu, EXIT_REASON_MONITOR, 3);
	TEST_ASSERT_EQ(vcpu.exit_qual, 0);
	vmx_skip_instruction(&vcpu);
	vmx_run_expect_len(&vcpu, EXIT_REASON_MONITOR, 3);
	TEST_ASSERT_EQ(vcpu.regs.rcx, 1);
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x39);
	printf("MONITOR with MONITOR exiting: exit 39, length 3, also with ECX = 1\n");
}

/* MWAIT exiting: exit 36; the qualification is 1 if the monitor was
 * armed, else 0 (27.2.1). */
static void test_mwait_exiting(void)
{
	if (!vmx_offered(VMX_CTLS_PROC, CPU_BASED_MWAIT_EXITING, "MWAIT exiting"))
		return;
	vmcs_init_guest64(&vcpu, guest_mwait_exits, (uintptr_t)area, 0,
			  CPU_BASED_MWAIT_EXITING, 0);
	vmx_run_expect_len(&vcpu, EXIT_REASON_MWAIT, 3);
	TEST_ASSERT_EQ(vcpu.exit_qual, 0);
	vmx_skip_instruction(&vcpu);
	vmx_run_expect_len(&vcpu, EXIT_REASON_MWAIT, 3);
	TEST_ASSERT_EQ(vcpu.exit_qual, 1);
	vmx_skip_instruction(&vcpu);
	vmx_run_expect_len(&vcpu, EXIT_REASON_MWAIT, 3);
	TEST_ASSERT_EQ(vcpu.regs.rcx, 2);
	vmx_skip_instruction(&vcpu);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x36);
	printf("MWAIT with MWAIT exiting: exit 36, qualification 0 unarmed, 1 after "
	       "MONITOR; also with ECX = 2\n");
}

static uint64_t guest_ring3(uint64_t p)
{
	vmcall(1, user_call(user_monitor, p));
	return user_call(user_mwait, 0);
}

/* #UD for CPL > 0 comes before the exits (25.1.1). */
static void test_exiting_ring3(void)
{
	uint32_t proc = CPU_BASED_MONITOR_EXITING | CPU_BASED_MWAIT_EXITING;
	if (!vmx_ctl_allowed1(VMX_CTLS_PROC, proc))
		return;
	vmcs_init_guest64(&vcpu, guest_ring3, (uintptr_t)area, 0, proc, 0);
	TEST_ASSERT_EQ(vmx_expect_vmcall(&vcpu, 1), VEC_UD);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), VEC_UD);
	printf("MONITOR and MWAIT in ring 3 of the guest: #UD, not exits\n");
}

/* ---- MONITOR and MWAIT in a guest, without the exiting controls ---- */

static uint64_t guest_mwait_nop(uint64_t p)
{
	volatile uint8_t *line = (volatile uint8_t *)p;
	mwait(0);
	monitor(line, 0);
	line[line_size - 1] = 1;
	mwait(0);
	return 5;
}

/* As without VMX: no wait unarmed or after a store to the line. A long
 * timer with external-interrupt exiting catches a wait. The host disarms
 * the monitor first, whatever the VM exits did to it. */
static void test_guest_mwait_nop(void)
{
	if (!vmx_ctl_allowed1(VMX_CTLS_PIN, PIN_BASED_EXT_INTR_EXITING))
		return;
	disarm();
	vmcs_init_guest64(&vcpu, guest_mwait_nop, (uintptr_t)area, PIN_BASED_EXT_INTR_EXITING,
			  0, 0);
	apic_timer_start(VEC_TIMER, SAFETY_TICKS, false);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 5);
	apic_timer_stop();
	printf("MWAIT in a guest, unarmed or after a store to the line: no wait\n");
}

/* An armed MWAIT waits; with external-interrupt exiting the timer's
 * interrupt ends it with exit 1, RIP after MWAIT. The activity state
 * saved is active: the VMCS never shows MWAIT's state (24.4.2). */
static void test_guest_mwait_wakes(void)
{
	if (!vmx_offered(VMX_CTLS_PIN, PIN_BASED_EXT_INTR_EXITING, "external-interrupt exiting"))
		return;
	bool ack = vmx_ctl_allowed1(VMX_CTLS_EXIT, VM_EXIT_ACK_INTR_ON_EXIT);
	vmcs_init_guest64(&vcpu, wake_guest, (uintptr_t)area, PIN_BASED_EXT_INTR_EXITING, 0, 0);
	if (ack)
		vmcs_set_bits(VM_EXIT_CONTROLS, VM_EXIT_ACK_INTR_ON_EXIT);
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF);
	apic_timer_start(VEC_TIMER, WAKE_TICKS, false);
	vmx_run_expect(&vcpu, EXIT_REASON_EXTERNAL_INTERRUPT);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)wake_after);
	TEST_ASSERT_EQ(vmcs_read(GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_ACTIVE);
	if (ack) {
		TEST_ASSERT_EQ(vcpu.exit_intr_info, INTR_INFO_VALID | INTR_TYPE_EXT_INTR | VEC_TIMER);
		apic_eoi();
	} else {
		TEST_ASSERT(apic_irr(VEC_TIMER));
		__asm__ volatile("sti\n\tnop\n\tcli" : : : "memory");
	}
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED);
	vmx_run_to_done(&vcpu);
	printf("MONITOR, MWAIT in a guest: the timer ends the wait with exit 1, RIP "
	       "after MWAIT, activity state active\n");
}

static uint64_t guest_mwait_masked(uint64_t p)
{
	monitor((const volatile void *)p, 0);
	mwait(1);
	return 0x25;
}

/* With ECX[0] = 1 and IF = 0, "interrupt-window exiting" makes MWAIT not
 * wait: control passes to the next instruction (25.3, MWAIT). */
static void test_guest_mwait_window(void)
{
	if (!(cpuid(5, 0).ecx & CPUID5_ECX_IBE) ||
	    !vmx_offered(VMX_CTLS_PROC, CPU_BASED_INTR_WINDOW_EXITING, "interrupt-window exiting"))
		return;
	vmcs_init_guest64(&vcpu, guest_mwait_masked, (uintptr_t)area, 0,
			  CPU_BASED_INTR_WINDOW_EXITING, 0);
	apic_timer_start(VEC_TIMER, SAFETY_TICKS, false);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x25);
	bool waited = apic_irr(VEC_TIMER);
	apic_timer_stop();
	__asm__ volatile("sti\n\tnop\n\tcli" : : : "memory");   /* take it, if it came */
	if (waited)
		TEST_FAIL("MWAIT with ECX[0] = 1, IF = 0 and interrupt-window exiting "
			  "waited for an interrupt");
	printf("MWAIT with ECX[0] = 1 and IF = 0 under interrupt-window exiting: no "
	       "wait\n");
}

/* ---- VMX transitions clear address-range monitoring ---- */

static uint64_t guest_monitor_vmcall_mwait(uint64_t p)
{
	monitor((const volatile void *)p, 0);
	vmcall(1, 0);
	mwait(0);
	return 0;
}

static uint64_t guest_mwait(uint64_t unused)
{
	(void)unused;
	mwait(0);
	return 0;
}

/* VM exits (27.5.6) and VM entries (26.3.3) clear any address-range
 * monitoring, and so does VMXOFF (vol. 3C, VMXOFF): MWAIT then finds the
 * monitor unarmed (qualification 0), or does not wait. */
static void test_transitions_clear_monitor(void)
{
	if (!vmx_ctl_allowed1(VMX_CTLS_PROC, CPU_BASED_MWAIT_EXITING))
		return;
	vmcs_init_guest64(&vcpu, guest_monitor_vmcall_mwait, (uintptr_t)area, 0,
			  CPU_BASED_MWAIT_EXITING, 0);
	vmx_expect_vmcall(&vcpu, 1);
	vmx_run_expect_len(&vcpu, EXIT_REASON_MWAIT, 3);
	if (vcpu.exit_qual != 0)
		TEST_FAIL("MONITOR, VM exit, VM entry, MWAIT: qualification %lu, want 0 "
			  "(the transitions clear the monitor)", vcpu.exit_qual);
	printf("MONITOR in a guest, then a VM exit and entry: MWAIT finds it unarmed\n");

	vmcs_init_guest64(&vcpu, guest_mwait, 0, 0, CPU_BASED_MWAIT_EXITING, 0);
	monitor(area, 0);
	vmx_run_expect_len(&vcpu, EXIT_REASON_MWAIT, 3);
	if (vcpu.exit_qual != 0)
		TEST_FAIL("MONITOR in VMX root operation, VM entry, MWAIT: qualification %lu, "
			  "want 0 (VM entry clears the monitor)", vcpu.exit_qual);
	printf("MONITOR in VMX root operation, then VM entry: MWAIT finds it unarmed\n");

	monitor(area, 0);
	vmx_off();
	expect_no_wait("MONITOR, VMXOFF, MWAIT");
	vmx_on();
	printf("MONITOR, then VMXOFF: MWAIT does not wait\n");
}

/* ---- PAUSE-loop exiting (24.6.13, 25.1.3) ---- */

static void init_ple_guest(guest_fn_t fn, uint64_t arg, uint32_t proc)
{
	vmcs_init_guest64(&vcpu, fn, arg, 0, proc, SECONDARY_EXEC_PAUSE_LOOP_EXITING);
	vmcs_write(PLE_GAP, PLE_GAP_TICKS);
	vmcs_write(PLE_WINDOW, PLE_WINDOW_TICKS);
}

/* Run the spin loop to its PAUSE exit; returns the PAUSEs before it. The
 * loop lasted more than PLE_Window TSC ticks, and no PAUSE takes less than
 * a tick. */
static uint64_t run_spin_to_exit(void)
{
	vcpu.regs.rbx = 0;
	uint64_t t0 = rdtsc();
	vmx_run_expect_len(&vcpu, EXIT_REASON_PAUSE, 2);
	uint64_t elapsed = rdtsc() - t0;
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)ple_spin_pause);
	TEST_ASSERT(elapsed > PLE_WINDOW_TICKS);
	TEST_ASSERT(vcpu.regs.rbx > 8 && vcpu.regs.rbx <= PLE_WINDOW_TICKS);
	return vcpu.regs.rbx;
}

/* A PAUSE loop at CPL 0 exits (reason 40) once it has lasted more than
 * PLE_Window; the first PAUSE after VM entry starts a new loop. */
static void test_ple_spin(void)
{
	init_ple_guest(ple_spin_guest, 0, 0);
	uint64_t n = run_spin_to_exit();
	printf("# PAUSE-loop exit after %lu PAUSEs\n", n);
	vmx_skip_instruction(&vcpu);
	n = run_spin_to_exit();
	printf("# and after %lu more once resumed\n", n);
	printf("PAUSE loop with PLE_Gap 128, PLE_Window 4096: exit 40 after the window, "
	       "again after VMRESUME\n");
}

/* PAUSEs more than PLE_Gap apart are each the first of a loop: no exit,
 * however long it goes on. */
static void test_ple_gap(void)
{
	init_ple_guest(ple_gap_guest, 64, 0);
	uint64_t t0 = rdtsc();
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x9a9);
	TEST_ASSERT(rdtsc() - t0 > 4 * PLE_WINDOW_TICKS);
	printf("64 PAUSEs more than PLE_Gap apart, over 4 windows: no exit\n");
}

/* "PAUSE exiting" wins at CPL 0: the first PAUSE exits. */
static void test_ple_with_pause_exiting(void)
{
	if (!vmx_offered(VMX_CTLS_PROC, CPU_BASED_PAUSE_EXITING, "PAUSE exiting"))
		return;
	init_ple_guest(ple_spin_guest, 0, CPU_BASED_PAUSE_EXITING);
	vcpu.regs.rbx = 0x55;
	vmx_run_expect_len(&vcpu, EXIT_REASON_PAUSE, 2);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)ple_spin_pause);
	TEST_ASSERT_EQ(vcpu.regs.rbx, 0);
	printf("PAUSE exiting with PAUSE-loop exiting: exit 40 at the first PAUSE\n");
}

static uint64_t user_pause_loop(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		pause();
	return n;
}

static uint64_t guest_user_spin(uint64_t n)
{
	return user_call(user_pause_loop, n);
}

/* PAUSE-loop exiting looks at CPL 0 only. */
static void test_ple_ring3(void)
{
	init_ple_guest(guest_user_spin, 20000, 0);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 20000);
	printf("a PAUSE loop in ring 3 of the guest: no exit\n");
}

static void test_pause_loop_exiting(void)
{
	if (!vmx_offered(VMX_CTLS_PROC2, SECONDARY_EXEC_PAUSE_LOOP_EXITING, "PAUSE-loop exiting"))
		return;
	if (!vmx_ctl_allowed0(VMX_CTLS_PROC, CPU_BASED_PAUSE_EXITING)) {
		printf("# skipped: PAUSE-loop exiting (PAUSE exiting must be 1)\n");
		return;
	}
	test_ple_spin();
	test_ple_gap();
	test_ple_with_pause_exiting();
	test_ple_ring3();
}

/* ---- INIT (23.8, 25.2) ---- */

/* INIT sent to this CPU by the guest: a VM exit (reason 3, qualification
 * 0) at the instruction boundary after the ICR write, with none of INIT's
 * work done; VMRESUME continues the guest there. */
static void expect_init_exit(uint32_t icr, const char *how)
{
	vmcs_init_guest64(&vcpu, init_guest, icr, 0, 0, 0);
	vmx_run_expect(&vcpu, EXIT_REASON_INIT_SIGNAL);
	TEST_ASSERT_EQ(vcpu.exit_qual, 0);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)init_after);
	TEST_ASSERT_EQ(vcpu.regs.rdi, icr);
	TEST_ASSERT_EQ(vmcs_read(GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_ACTIVE);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 7);
	printf("INIT to %s in a guest: exit 3 after the ICR write; VMRESUME goes on\n", how);
}

static void test_init_nonroot(void)
{
	expect_init_exit(ICR_INIT | ICR_ASSERT, "its own APIC ID");
	expect_init_exit(ICR_INIT | ICR_ASSERT | ICR_ALL_INCL_SELF, "all including self");
	vmcs_init_guest64(&vcpu, init_guest, ICR_INIT | ICR_ASSERT | ICR_ALL_EXCL_SELF, 0, 0, 0);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 7);
	printf("INIT to all excluding self: no exit\n");
}

static uint64_t guest_nothing(uint64_t unused)
{
	(void)unused;
	return 0x11;
}

/* In VMX root operation INIT is blocked (23.8): execution goes on. It
 * stays pending; VM entry unblocks it and it exits before the first
 * guest instruction. After that exit it is gone. */
static void test_init_root(void)
{
	apic_write(APIC_ICR_HI, apic_read(APIC_ID) & 0xff000000u);
	apic_write(APIC_ICR_LO, ICR_INIT | ICR_ASSERT);
	for (int i = 0; i < 1000; i++)
		pause();
	printf("INIT to itself in VMX root operation: blocked\n");
	vmcs_init_guest64(&vcpu, guest_nothing, 0, 0, 0, 0);
	vmx_run_expect(&vcpu, EXIT_REASON_INIT_SIGNAL);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)guest_nothing);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 0x11);
	printf("the blocked INIT: exit 3 right after the next VM entry\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	cli();
	apic_enable();
	trap_set_handler(VEC_TIMER, count_tick);

	test_cpuid();
	test_mwait_nop();
	test_mwait_interrupt();
	test_mwait_masked_interrupt();
	test_faults();
	test_monitor_paging();
	test_misc_enable();
	disarm();

	vmx_on();
	test_monitor_exiting();
	test_exiting_ring3();
	/* The rest runs MONITOR, or MWAIT, in a guest without its exit. */
	if (vmx_ctl_allowed0(VMX_CTLS_PROC, CPU_BASED_MONITOR_EXITING | CPU_BASED_MWAIT_EXITING)) {
		test_mwait_exiting();
		test_transitions_clear_monitor();
		test_guest_mwait_nop();
		test_guest_mwait_wakes();
		test_guest_mwait_window();
	} else {
		printf("# skipped: MONITOR and MWAIT in a guest (their exiting controls "
		       "must be 1)\n");
	}
	test_pause_loop_exiting();
	test_init_nonroot();
	apic_timer_stop();
	test_init_root();   /* last: the INIT must not outlive VMX operation */
	TEST_PASS();
}
