/* Asynchronous events and the exits that watch them (SDM vol. 3C, 25.2,
 * 26.7, 27.2.2): external-interrupt exiting with and without
 * "acknowledge interrupt on exit", NMI exiting, the interrupt and NMI
 * windows, the monitor trap flag and the VMX-preemption timer; and the
 * activity state a VM exit from HLT saves.
 *
 * The guest raises real interrupts and NMIs by sending itself IPIs
 * through the local APIC, which it shares with the host (no APIC
 * virtualization here), so each event happens at a known instruction.
 *
 * QEMU's TCG has no VMX: the SDM is the only oracle. */
// oracle: sdm
#include "lib/apic.h"
#include "lib/boot.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/vmx.h"
#include "lib/x86.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "vmx_events";

#define VEC_IPI   0x50
#define VEC_TIMER 0x51

/* The interrupt command register (SDM vol. 3, 10.6.1). */
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define ICR_SELF    (1u << 18)   /* destination shorthand: self */

static struct vcpu vcpu;

/* Guests whose instruction addresses the host checks. Each ends in RET,
 * which returns to vmx_guest_return (vmx.h). */
uint64_t window_guest(uint64_t), nmi_window_guest(uint64_t), mtf_guest(uint64_t);
uint64_t spin_guest(uint64_t), hlt_guest(uint64_t);
extern const char window_open[], nmi_window_open[], mtf_step1[], mtf_step2[];
extern const char hlt_after[], isr_stubs[];
__asm__(".pushsection .text\n"
	/* STI, then one instruction in its shadow, then the window. */
	"window_guest:\n"
	"	sti\n"
	"	nop\n"
	"window_open:\n"
	"	nop\n"
	"	cli\n"
	"	ret\n"
	/* IRETQ to the next instruction: it ends virtual-NMI blocking. */
	"nmi_window_guest:\n"
	"	movq %rsp, %rax\n"
	"	pushq $0x10\n"                 /* SS: KERNEL_DS */
	"	pushq %rax\n"
	"	pushfq\n"
	"	pushq $0x08\n"                 /* CS: KERNEL_CS */
	"	leaq nmi_window_open(%rip), %rax\n"
	"	pushq %rax\n"
	"	iretq\n"
	"nmi_window_open:\n"
	"	nop\n"
	"	ret\n"
	"mtf_guest:\n"
	"	nop\n"
	"mtf_step1:\n"
	"	xchg %rax, %rax\n"
	"mtf_step2:\n"
	"	ret\n"
	"spin_guest:\n"
	"1:	pause\n"
	"	jmp 1b\n"
	"hlt_guest:\n"
	"	hlt\n"
	"hlt_after:\n"
	"	ret\n"
	".popsection\n");

static bool offered(enum vmx_ctls set, uint32_t bits, const char *what)
{
	if (vmx_ctl_allowed1(set, bits))
		return true;
	printf("# skipped: %s (control not offered)\n", what);
	return false;
}

static void self_ipi(uint32_t icr_lo)
{
	apic_write(APIC_ICR_HI, 0);
	apic_write(APIC_ICR_LO, ICR_SELF | icr_lo);
}

static uint64_t guest_send_ipi(uint64_t icr_lo)
{
	self_ipi((uint32_t)icr_lo);
	return 7;
}

static volatile unsigned interrupts;

/* An interrupt handler for host or guest (they share the IDT). */
static void count_and_eoi(struct trap_frame *f)
{
	(void)f;
	interrupts++;
	apic_eoi();
}

/* ---- external interrupts (25.2, 27.2.2) ---- */

/* "Acknowledge interrupt on exit": the CPU takes the vector from the
 * APIC (it moves from IRR to ISR) and reports it in VM_EXIT_INTR_INFO.
 * Without it the interrupt stays requested and the field is invalid;
 * the host takes it when it sets IF. RFLAGS.IF of the guest does not
 * matter with external-interrupt exiting (24.6.1). */
static void test_external_interrupt_exiting(void)
{
	if (!offered(VMX_CTLS_PIN, PIN_BASED_EXT_INTR_EXITING, "external-interrupt exiting"))
		return;
	if (offered(VMX_CTLS_EXIT, VM_EXIT_ACK_INTR_ON_EXIT, "acknowledge interrupt on exit")) {
		vmcs_init_guest64(&vcpu, guest_send_ipi, VEC_IPI, PIN_BASED_EXT_INTR_EXITING,
				  0, 0);
		vmcs_set_bits(VM_EXIT_CONTROLS, VM_EXIT_ACK_INTR_ON_EXIT);
		vmx_run_expect(&vcpu, EXIT_REASON_EXTERNAL_INTERRUPT);
		TEST_ASSERT_EQ(vcpu.exit_intr_info,
			       INTR_INFO_VALID | INTR_TYPE_EXT_INTR | VEC_IPI);
		TEST_ASSERT(apic_isr(VEC_IPI));
		TEST_ASSERT(!apic_irr(VEC_IPI));
		apic_eoi();
		TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 7);
		printf("external interrupt, acknowledged on exit: exit 1, vector in "
		       "VM_EXIT_INTR_INFO, in service at the APIC\n");
	}

	trap_set_handler(VEC_IPI, count_and_eoi);
	interrupts = 0;
	vmcs_init_guest64(&vcpu, guest_send_ipi, VEC_IPI, PIN_BASED_EXT_INTR_EXITING, 0, 0);
	vmcs_clear_bits(VM_EXIT_CONTROLS, VM_EXIT_ACK_INTR_ON_EXIT);
	vmx_run_expect(&vcpu, EXIT_REASON_EXTERNAL_INTERRUPT);
	TEST_ASSERT_EQ(vcpu.exit_intr_info & INTR_INFO_VALID, 0);
	TEST_ASSERT(apic_irr(VEC_IPI));
	TEST_ASSERT_EQ(interrupts, 0);
	sti();
	pause();
	cli();
	TEST_ASSERT_EQ(interrupts, 1);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 7);
	trap_set_handler(VEC_IPI, NULL);
	printf("external interrupt, not acknowledged: exit 1, still requested; the "
	       "host takes it with STI\n");
}

/* A VM exit from HLT saves activity state HLT (27.3.4); RIP is already
 * past the HLT. */
static void test_exit_from_hlt(void)
{
	if (!vmx_ctl_allowed1(VMX_CTLS_PIN, PIN_BASED_EXT_INTR_EXITING) ||
	    !(rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_ACTIVITY_HLT)) {
		printf("# skipped: exit from HLT (no activity state HLT)\n");
		return;
	}
	vmcs_init_guest64(&vcpu, hlt_guest, 0, PIN_BASED_EXT_INTR_EXITING, 0, 0);
	vmcs_set_bits(VM_EXIT_CONTROLS,
		      vmx_adjust_ctls(VMX_CTLS_EXIT, VM_EXIT_ACK_INTR_ON_EXIT) &
		      VM_EXIT_ACK_INTR_ON_EXIT);
	apic_timer_start(VEC_TIMER, 20000, false);
	vmx_run_expect(&vcpu, EXIT_REASON_EXTERNAL_INTERRUPT);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)hlt_after);
	TEST_ASSERT_EQ(vmcs_read(GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_HLT);
	if (vcpu.exit_intr_info & INTR_INFO_VALID)
		apic_eoi();
	else
		TEST_ASSERT(apic_irr(VEC_TIMER));
	printf("timer interrupt while the guest is halted: exit 1, activity state HLT\n");
	/* Resuming in the active state runs the RET after HLT. */
	vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_clear_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_EXT_INTR_EXITING);
	if (!(vcpu.exit_intr_info & INTR_INFO_VALID)) {
		trap_set_handler(VEC_TIMER, count_and_eoi);
		sti();
		pause();
		cli();
		trap_set_handler(VEC_TIMER, NULL);
	}
	vmx_run_to_done(&vcpu);
}

/* ---- NMIs (24.6.1, 27.2.2) ---- */

static volatile unsigned guest_nmis;

static void guest_nmi_handler(struct trap_frame *f)
{
	(void)f;
	guest_nmis++;
}

static void test_nmi_exiting(void)
{
	/* Without NMI exiting the NMI goes through the guest's IDT. */
	trap_set_handler(VEC_NMI, guest_nmi_handler);
	guest_nmis = 0;
	vmcs_init_guest64(&vcpu, guest_send_ipi, APIC_DM_NMI, 0, 0, 0);
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 7);
	TEST_ASSERT_EQ(guest_nmis, 1);
	printf("NMI without NMI exiting: delivered to the guest\n");

	if (offered(VMX_CTLS_PIN, PIN_BASED_NMI_EXITING, "NMI exiting")) {
		vmcs_init_guest64(&vcpu, guest_send_ipi, APIC_DM_NMI, PIN_BASED_NMI_EXITING,
				  0, 0);
		vmx_run_expect(&vcpu, EXIT_REASON_EXCEPTION_NMI);
		TEST_ASSERT_EQ(vcpu.exit_intr_info, INTR_INFO_VALID | INTR_TYPE_NMI | VEC_NMI);
		TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 7);
		TEST_ASSERT_EQ(guest_nmis, 1);
		printf("NMI with NMI exiting: exit 0, interruption type 2, vector 2\n");
	}
	trap_set_handler(VEC_NMI, NULL);
}

/* ---- the interrupt window (25.2, 26.7.5) ---- */

static void test_interrupt_window(void)
{
	if (!offered(VMX_CTLS_PROC, CPU_BASED_INTR_WINDOW_EXITING, "interrupt-window exiting"))
		return;
	/* IF = 0 at entry: the window opens after STI and the instruction in
	 * its shadow. */
	vmcs_init_guest64(&vcpu, window_guest, 0, 0, CPU_BASED_INTR_WINDOW_EXITING, 0);
	vmx_run_expect(&vcpu, EXIT_REASON_INTERRUPT_WINDOW);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)window_open);
	TEST_ASSERT_EQ(vcpu.exit_qual, 0);
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING);
	vmx_run_to_done(&vcpu);
	printf("interrupt window: exit 7 after STI and the instruction it shields\n");

	/* IF = 1 and no blocking: the exit comes before the first instruction. */
	vmcs_init_guest64(&vcpu, window_guest, 0, 0, CPU_BASED_INTR_WINDOW_EXITING, 0);
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF);
	vmx_run_expect(&vcpu, EXIT_REASON_INTERRUPT_WINDOW);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)window_guest);
	printf("interrupt window open at entry: exit 7 before any instruction\n");

	/* An interrupt that is already requested waits: the window exit has
	 * priority over the interrupt (26.7.5); afterwards it is delivered. */
	trap_set_handler(VEC_IPI, count_and_eoi);
	interrupts = 0;
	self_ipi(VEC_IPI);
	vmcs_init_guest64(&vcpu, window_guest, 0, 0, CPU_BASED_INTR_WINDOW_EXITING, 0);
	vmx_run_expect(&vcpu, EXIT_REASON_INTERRUPT_WINDOW);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)window_open);
	TEST_ASSERT_EQ(interrupts, 0);
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_INTR_WINDOW_EXITING);
	vmx_run_to_done(&vcpu);
	TEST_ASSERT_EQ(interrupts, 1);     /* the guest took it, same handler */
	trap_set_handler(VEC_IPI, NULL);
	printf("interrupt window with an interrupt pending: the exit comes first, "
	       "then the guest takes the interrupt\n");
}

/* ---- the NMI window (25.2, 26.7.6) ---- */

static void test_nmi_window(void)
{
	uint32_t pin = PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS;
	if (!offered(VMX_CTLS_PIN, pin, "virtual NMIs") ||
	    !offered(VMX_CTLS_PROC, CPU_BASED_NMI_WINDOW_EXITING, "NMI-window exiting"))
		return;
	/* No virtual-NMI blocking: exit before the first instruction. */
	vmcs_init_guest64(&vcpu, nmi_window_guest, 0, pin, CPU_BASED_NMI_WINDOW_EXITING, 0);
	vmx_run_expect(&vcpu, EXIT_REASON_NMI_WINDOW);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)nmi_window_guest);
	printf("NMI window open at entry: exit 8 before any instruction\n");

	/* Virtual-NMI blocking: the window opens after the IRET that ends it. */
	vmcs_init_guest64(&vcpu, nmi_window_guest, 0, pin, CPU_BASED_NMI_WINDOW_EXITING, 0);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
	vmx_run_expect(&vcpu, EXIT_REASON_NMI_WINDOW);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)nmi_window_open);
	TEST_ASSERT_EQ(vmcs_read(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_NMI, 0);
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
	vmx_run_to_done(&vcpu);
	printf("NMI window after IRET ends virtual-NMI blocking: exit 8\n");
}

/* With virtual NMIs, injecting an NMI sets virtual-NMI blocking, which
 * the guest's IRET ends (26.6.1.2, 25.3); the VM exit saves it in bit 3
 * of the interruptibility state (27.3.4). */
static volatile uint32_t blocking_in_handler;

static void nmi_reporting_handler(struct trap_frame *f)
{
	(void)f;
	blocking_in_handler = (uint32_t)vmcall(0x4e4d49, 0);
}

static uint64_t guest_nothing(uint64_t unused)
{
	(void)unused;
	return 0;
}

static void test_virtual_nmi_blocking(void)
{
	uint32_t pin = PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS;
	if (!vmx_ctl_allowed1(VMX_CTLS_PIN, pin))
		return;
	trap_set_handler(VEC_NMI, nmi_reporting_handler);
	vmcs_init_guest64(&vcpu, guest_nothing, 0, pin, 0, 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | INTR_TYPE_NMI | VEC_NMI);
	vmx_run_expect(&vcpu, EXIT_REASON_VMCALL);
	uint32_t in_handler = (uint32_t)vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	vcpu.regs.rax = in_handler;
	vmx_skip_instruction(&vcpu);
	vmx_run_to_done(&vcpu);
	trap_set_handler(VEC_NMI, NULL);
	TEST_ASSERT(in_handler & GUEST_INTR_STATE_NMI);
	TEST_ASSERT_EQ(vmcs_read(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_NMI, 0);
	printf("NMI injected with virtual NMIs: virtual-NMI blocking until the "
	       "handler's IRET\n");
}

/* ---- the monitor trap flag (25.5.2, 26.7.2) ---- */

static volatile unsigned guest_irqs_seen;

static void guest_irq_handler(struct trap_frame *f)
{
	(void)f;
	guest_irqs_seen++;
}

static void test_monitor_trap_flag(void)
{
	if (!offered(VMX_CTLS_PROC, CPU_BASED_MONITOR_TRAP_FLAG, "monitor trap flag"))
		return;
	/* One exit after every instruction. */
	vmcs_init_guest64(&vcpu, mtf_guest, 0, 0, CPU_BASED_MONITOR_TRAP_FLAG, 0);
	vmx_run_expect(&vcpu, EXIT_REASON_MONITOR_TRAP_FLAG);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)mtf_step1);
	TEST_ASSERT_EQ(vcpu.exit_qual, 0);
	vmx_run_expect(&vcpu, EXIT_REASON_MONITOR_TRAP_FLAG);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)mtf_step2);
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_MONITOR_TRAP_FLAG);
	vmx_run_to_done(&vcpu);
	printf("monitor trap flag: exit 37 after each instruction\n");

	/* With an injected event the exit comes before the first instruction
	 * of its handler (26.7.2). The handler is the runtime's stub. */
	trap_set_handler(VEC_IPI, guest_irq_handler);
	guest_irqs_seen = 0;
	vmcs_init_guest64(&vcpu, mtf_guest, 0, 0, CPU_BASED_MONITOR_TRAP_FLAG, 0);
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | INTR_TYPE_EXT_INTR | VEC_IPI);
	vmx_run_expect(&vcpu, EXIT_REASON_MONITOR_TRAP_FLAG);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)(isr_stubs + 16 * VEC_IPI));
	TEST_ASSERT_EQ(guest_irqs_seen, 0);
	vmcs_clear_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_MONITOR_TRAP_FLAG);
	vmx_run_to_done(&vcpu);
	TEST_ASSERT_EQ(guest_irqs_seen, 1);
	trap_set_handler(VEC_IPI, NULL);
	printf("monitor trap flag with an injected interrupt: exit 37 at the "
	       "handler's first instruction\n");
}

/* ---- the VMX-preemption timer (25.5.1, 26.7.4) ---- */

static uint64_t guest_count_then_call(uint64_t n)
{
	for (volatile uint64_t i = 0; i < n; i++)
		pause();
	return vmcall(1, 0);
}

static void test_preemption_timer(void)
{
	if (!offered(VMX_CTLS_PIN, PIN_BASED_PREEMPTION_TIMER, "VMX-preemption timer"))
		return;
	bool save = vmx_ctl_allowed1(VMX_CTLS_EXIT, VM_EXIT_SAVE_PREEMPTION_TIMER);
	uint32_t pin = PIN_BASED_PREEMPTION_TIMER;

	/* Value 0: the exit comes before the first instruction. */
	vmcs_init_guest64(&vcpu, spin_guest, 0, pin, 0, 0);
	vmcs_write(VMX_PREEMPTION_TIMER_VALUE, 0);
	vmx_run_expect(&vcpu, EXIT_REASON_PREEMPTION_TIMER);
	TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)spin_guest);
	TEST_ASSERT_EQ(vcpu.exit_qual, 0);
	printf("preemption timer at 0: exit 52 before any instruction\n");

	/* A guest that spins forever is stopped by the timer; the saved
	 * value is then 0 (27.3.4). */
	vmcs_init_guest64(&vcpu, spin_guest, 0, pin, 0, 0);
	if (save)
		vmcs_set_bits(VM_EXIT_CONTROLS, VM_EXIT_SAVE_PREEMPTION_TIMER);
	vmcs_write(VMX_PREEMPTION_TIMER_VALUE, 500);
	vmx_run_expect(&vcpu, EXIT_REASON_PREEMPTION_TIMER);
	if (save)
		TEST_ASSERT_EQ(vmcs_read(VMX_PREEMPTION_TIMER_VALUE), 0);
	printf("preemption timer: a spinning guest is stopped with exit 52\n");

	/* The timer counts in the HLT state too, and its exit saves that
	 * activity state (25.5.1, 27.3.4). */
	if (rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_ACTIVITY_HLT) {
		vmcs_init_guest64(&vcpu, hlt_guest, 0, pin, 0, 0);
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, 300);
		vmx_run_expect(&vcpu, EXIT_REASON_PREEMPTION_TIMER);
		TEST_ASSERT_EQ(vmcs_read(GUEST_ACTIVITY_STATE), GUEST_ACTIVITY_HLT);
		TEST_ASSERT_EQ(vcpu.guest_rip, (uintptr_t)hlt_after);
		printf("preemption timer while the guest is halted: exit 52, activity "
		       "state HLT\n");
	}

	if (!save) {
		printf("# skipped: saving the preemption timer (control not offered)\n");
		return;
	}
	/* Another exit saves what is left; without the save control the
	 * field keeps the value it had (27.3.4). */
	vmcs_init_guest64(&vcpu, guest_count_then_call, 2000, pin, 0, 0);
	vmcs_set_bits(VM_EXIT_CONTROLS, VM_EXIT_SAVE_PREEMPTION_TIMER);
	vmcs_write(VMX_PREEMPTION_TIMER_VALUE, 0xffffffff);
	vmx_run_expect(&vcpu, EXIT_REASON_VMCALL);
	uint64_t left = vmcs_read(VMX_PREEMPTION_TIMER_VALUE);
	TEST_ASSERT(left < 0xffffffff && left > 0);
	vmcs_clear_bits(VM_EXIT_CONTROLS, VM_EXIT_SAVE_PREEMPTION_TIMER);
	vmcs_write(VMX_PREEMPTION_TIMER_VALUE, 0x7fffffff);
	vmx_skip_instruction(&vcpu);
	vmx_run_to_done(&vcpu);
	TEST_ASSERT_EQ(vmcs_read(VMX_PREEMPTION_TIMER_VALUE), 0x7fffffff);
	printf("preemption timer saved on exit with the save control, kept without\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	apic_enable();
	vmx_on();
	test_external_interrupt_exiting();
	test_exit_from_hlt();
	test_nmi_exiting();
	test_interrupt_window();
	test_nmi_window();
	test_virtual_nmi_blocking();
	test_monitor_trap_flag();
	test_preemption_timer();
	apic_timer_stop();
	vmx_off();
	TEST_PASS();
}
