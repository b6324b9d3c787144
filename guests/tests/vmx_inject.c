/* Event injection on VM entry (SDM vol. 3C, 24.8.3 and 26.6): the host
 * puts an event in VM_ENTRY_INTR_INFO_FIELD and the CPU delivers it
 * through the guest's IDT before the guest's first instruction, as if it
 * had happened at GUEST_RIP. Hardware exceptions with an error code,
 * software interrupts and exceptions (with the instruction length that
 * decides the return address), NMIs and external interrupts; injected
 * events ignore the exception bitmap; and an exception while delivering
 * an injected event exits with the event in the IDT-vectoring fields
 * (27.2.4).
 *
 * The guest shares the runtime's IDT: the handlers below run in VMX
 * non-root operation and write what they saw to globals the host reads.
 *
 * QEMU's TCG has no VMX: the SDM is the only oracle. */
// oracle: sdm
#include "lib/boot.h"
#include "lib/idt.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/vmx.h"
#include "lib/x86.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "vmx_inject";

#define VEC_SOFT 0x60    /* a software interrupt */
#define VEC_EXT  0x40    /* an external interrupt */
#define VEC_GONE 0x61    /* a vector whose gate is made not present */

static struct vcpu vcpu;

/* What the last handler saw. */
static volatile struct {
	unsigned count;
	uint64_t vector, error_code, rip, rflags;
	uint32_t interruptibility;   /* for the NMI handler: reported by the host */
} seen;

static void record(struct trap_frame *f)
{
	seen.count++;
	seen.vector = f->vector;
	seen.error_code = f->error_code;
	seen.rip = f->rip;
	seen.rflags = f->rflags;
}

/* The NMI handler asks the host, with a VMCALL, to look at the guest's
 * interruptibility state while the NMI is being handled. */
static void nmi_handler(struct trap_frame *f)
{
	record(f);
	seen.interruptibility = (uint32_t)vmcall(0x4e4d49, 0);
}

static uint64_t guest_count(uint64_t unused)
{
	(void)unused;
	return seen.count;
}

/* A guest that starts at fn with the event in the injection field. */
static void start_with(uint64_t rip, uint32_t info, uint32_t error, uint32_t len)
{
	vmcs_init_guest64(&vcpu, guest_count, 0, 0, 0, 0);
	vmcs_write(GUEST_RIP, rip);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info | INTR_INFO_VALID);
	vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	vmcs_write(VM_ENTRY_INSTRUCTION_LEN, len);
	seen.count = 0;
}

/* Run the guest to its end; the handler must have run once, for vector,
 * with return address rip. */
static void expect_delivered(uint64_t vector, uint64_t rip)
{
	TEST_ASSERT_EQ(vmx_run_to_done(&vcpu), 1);
	TEST_ASSERT_EQ(seen.vector, vector);
	TEST_ASSERT_EQ(seen.rip, rip);
	/* Every VM exit clears the valid bit of the injection field (24.8.3). */
	TEST_ASSERT_EQ(vmcs_read(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID, 0);
}

static uint64_t entry_point(void)
{
	return (uintptr_t)guest_count;
}

/* A hardware exception: the return address is GUEST_RIP itself (a fault
 * at the first instruction); the error code is pushed (26.6.1.2). */
static void test_hardware_exception(void)
{
	trap_set_handler(VEC_GP, record);
	start_with(entry_point(), INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE | VEC_GP,
		   0x58, 0);
	expect_delivered(VEC_GP, entry_point());
	TEST_ASSERT_EQ(seen.error_code, 0x58);
	trap_set_handler(VEC_GP, NULL);
	printf("#GP(0x58) injected: the guest's handler sees it at GUEST_RIP with its "
	       "error code\n");
}

/* Software interrupts and exceptions return to GUEST_RIP plus the
 * VM-entry instruction length, as if the INT n, INT3 or INT1 that raised
 * them were just before the guest's first instruction (26.6.1.2). */
static void test_software_events(void)
{
	uint64_t fn = entry_point();

	trap_set_handler(VEC_SOFT, record);
	start_with(fn - 2, INTR_TYPE_SOFT_INTR | VEC_SOFT, 0, 2);
	expect_delivered(VEC_SOFT, fn);
	trap_set_handler(VEC_SOFT, NULL);
	printf("software interrupt 0x60, length 2: returns to GUEST_RIP + 2\n");

	trap_set_handler(VEC_BP, record);
	start_with(fn - 1, INTR_TYPE_SOFT_EXCEPTION | VEC_BP, 0, 1);
	expect_delivered(VEC_BP, fn);
	trap_set_handler(VEC_BP, NULL);
	printf("software exception #BP, length 1: returns to GUEST_RIP + 1\n");

	trap_set_handler(VEC_DB, record);
	start_with(fn - 1, INTR_TYPE_PRIV_SW_EXCEPTION | VEC_DB, 0, 1);
	expect_delivered(VEC_DB, fn);
	trap_set_handler(VEC_DB, NULL);
	printf("privileged software exception #DB (INT1), length 1: returns to "
	       "GUEST_RIP + 1\n");
}

/* An injected NMI blocks further NMIs until the handler's IRET (26.6.1.2,
 * SDM vol. 3, 6.7.1); the VM exit saves that blocking (27.3.4). */
static void test_nmi(void)
{
	trap_set_handler(VEC_NMI, nmi_handler);
	start_with(entry_point(), INTR_TYPE_NMI | VEC_NMI, 0, 0);
	vmx_run_expect(&vcpu, EXIT_REASON_VMCALL);
	TEST_ASSERT_EQ(vcpu.regs.rax, 0x4e4d49);
	uint32_t in_handler = (uint32_t)vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	vcpu.regs.rax = in_handler;
	vmx_skip_instruction(&vcpu);
	expect_delivered(VEC_NMI, entry_point());
	TEST_ASSERT(in_handler & GUEST_INTR_STATE_NMI);
	TEST_ASSERT_EQ(seen.interruptibility, in_handler);
	TEST_ASSERT_EQ(vmcs_read(GUEST_INTERRUPTIBILITY_INFO) & GUEST_INTR_STATE_NMI, 0);
	trap_set_handler(VEC_NMI, NULL);
	printf("NMI injected: blocking by NMI in the handler, gone after its IRET\n");
}

/* An external interrupt needs RFLAGS.IF = 1 (26.3.1.4); the handler, an
 * interrupt gate, sees IF = 1 in the pushed RFLAGS. */
static void test_external_interrupt(void)
{
	trap_set_handler(VEC_EXT, record);
	start_with(entry_point(), INTR_TYPE_EXT_INTR | VEC_EXT, 0, 0);
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF);
	expect_delivered(VEC_EXT, entry_point());
	TEST_ASSERT(seen.rflags & RFLAGS_IF);
	trap_set_handler(VEC_EXT, NULL);
	printf("external interrupt 0x40 injected with IF = 1: delivered at GUEST_RIP\n");
}

/* Injection does not consult the exception bitmap (26.6.1.1): the event
 * goes to the guest even with its bit set. */
static void test_bitmap_ignored(void)
{
	trap_set_handler(VEC_UD, record);
	start_with(entry_point(), INTR_TYPE_HARD_EXCEPTION | VEC_UD, 0, 0);
	vmcs_write(EXCEPTION_BITMAP, 1u << VEC_UD);
	expect_delivered(VEC_UD, entry_point());
	trap_set_handler(VEC_UD, NULL);
	printf("#UD injected with #UD in the exception bitmap: delivered, no exit\n");
}

/* An event whose gate is not present raises #NP with the IDT bit and
 * the vector in the error code, and EXT set because the event came from
 * outside the instruction stream (SDM vol. 3, 6.13). With #NP in the
 * exception bitmap that exits, and the IDT-vectoring information field
 * holds the event that was being delivered (27.2.4). */
static void expect_np_during(uint32_t info, uint32_t error, int gate)
{
	/* A software interrupt comes from the instruction stream: EXT = 0
	 * in the #NP's error code (26.6.1.2); it is injected with a length. */
	bool soft = (info & INTR_INFO_TYPE_MASK) == INTR_TYPE_SOFT_INTR;
	idt_set_gate(gate, GATE_INTERRUPT, 0, 0, false);
	start_with(entry_point(), info, error, soft ? 2 : 0);
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF);
	vmcs_write(EXCEPTION_BITMAP, 1u << VEC_NP);
	trap_set_handler(VEC_DF, record);   /* a wrong #DF ends the guest cleanly */
	uint32_t reason = vmx_run(&vcpu);
	trap_set_handler(VEC_DF, NULL);
	idt_set_gate(gate, GATE_INTERRUPT, 0, 0, true);
	if (reason != EXIT_REASON_EXCEPTION_NMI)
		TEST_FAIL("want the #NP exit, got exit reason 0x%x (%s); the guest's "
			  "handlers saw %u events, the last vector %lu", reason,
			  vmx_exit_reason_name(reason), seen.count, seen.vector);
	uint32_t np = INTR_INFO_VALID | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE | VEC_NP;
	if (vcpu.exit_intr_info != np)
		TEST_FAIL("VM_EXIT_INTR_INFO 0x%x, want 0x%x", vcpu.exit_intr_info, np);
	TEST_ASSERT_EQ(vcpu.exit_intr_error, (uint32_t)gate << 3 | ERR_IDT | (soft ? 0 : ERR_EXT));
	TEST_ASSERT_EQ(vcpu.idt_vectoring_info, info | INTR_INFO_VALID);
	/* The length of the software interrupt being delivered (27.2.4). */
	if (soft)
		TEST_ASSERT_EQ(vcpu.exit_insn_len, 2);
	if (info & INTR_INFO_DELIVER_CODE)
		TEST_ASSERT_EQ(vcpu.idt_vectoring_error, error);
	TEST_ASSERT_EQ(seen.count, 0);
}

static void test_idt_vectoring(void)
{
	expect_np_during(INTR_TYPE_EXT_INTR | VEC_GONE, 0, VEC_GONE);
	printf("external interrupt through a not-present gate: #NP exit, the interrupt "
	       "in IDT_VECTORING_INFO_FIELD\n");
	expect_np_during(INTR_TYPE_SOFT_INTR | VEC_GONE, 0, VEC_GONE);
	printf("software interrupt through a not-present gate: #NP exit, EXT clear, "
	       "the injected length in VM_EXIT_INSTRUCTION_LEN\n");
	/* #AC is a benign exception with an error code: #NP while delivering
	 * it is not a double fault (SDM vol. 3, table 6-5), unlike #GP. */
	expect_np_during(INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE | VEC_AC, 0x58,
			 VEC_AC);
	printf("#AC(0x58) through a not-present gate: #NP exit, the #AC and its error "
	       "code in the IDT-vectoring fields\n");
	/* #GP then #NP would be a double fault (SDM vol. 3, table 6-5), but
	 * the #NP exits first: making the #DF is the VMM's job, from the
	 * IDT-vectoring information (31.7.1.1). */
	expect_np_during(INTR_TYPE_HARD_EXCEPTION | INTR_INFO_DELIVER_CODE | VEC_GP, 0x58,
			 VEC_GP);
	printf("#GP(0x58) through a not-present gate: #NP exit, not #DF; the #GP and "
	       "its error code in the IDT-vectoring fields\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	vmx_on();
	test_hardware_exception();
	test_software_events();
	test_nmi();
	test_external_interrupt();
	test_bitmap_ignored();
	test_idt_vectoring();
	vmx_off();
	TEST_PASS();
}
