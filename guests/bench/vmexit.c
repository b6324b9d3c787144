/* The VM-exit round trip (make bench): a guest runs CPUID in a loop; each
 * CPUID exits to a handler of about ten instructions (read the exit
 * reason, step GUEST_RIP over the CPUID, VMRESUME). The time between the
 * "start" and "end" lines on the serial port, divided by the exits, is
 * one round trip: VM exit, handler, VM entry. The VMCS is set up by the
 * guest library (guests/lib/vmx.h); the loop and the handler are the
 * assembly below, so that the figure measures the VMX transitions and
 * not a C run loop. With VPID the TLB survives the trip, as on hardware. */
#include "lib/boot.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/vmx.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "vmexit";

#define ROUND_TRIPS 1000000u

/* The guest: RSI CPUIDs, then VMCALL. The handler: on CPUID (exit reason
 * 10) GUEST_RIP += VM_EXIT_INSTRUCTION_LEN and VMRESUME; anything else
 * returns to C with the reason in EAX. The guest's registers are not
 * saved: the guest only uses RAX-RDX (CPUID clobbers them anyway) and
 * RSI, which the handler leaves alone. */
extern const char bench_guest[], bench_exit[];
uint32_t bench_launch(uint64_t trips);
uint64_t host_rsp; /* bench_launch's stack, for the way back */
__asm__(".pushsection .text\n"
	"bench_guest:\n\t"
	"xor %eax, %eax\n\t"
	"cpuid\n\t"
	"dec %rsi\n\t"
	"jnz bench_guest\n\t"
	"vmcall\n"
	/* bench_launch(trips): save the callee-saved registers, VMLAUNCH */
	".globl bench_launch\n"
	"bench_launch:\n\t"
	"push %rbx\n\tpush %rbp\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n\t"
	"mov %rdi, %rsi\n\t"
	"mov %rsp, host_rsp(%rip)\n\t"
	"mov $0x6c14, %edx\n\t"          /* HOST_RSP */
	"vmwrite %rsp, %rdx\n\t"
	"vmlaunch\n\t"
	"mov $0xffffffff, %eax\n\t"       /* VMLAUNCH failed */
	"jmp 2f\n"
	"bench_exit:\n\t"
	"mov $0x4402, %edx\n\t"          /* VM_EXIT_REASON */
	"vmread %rdx, %rax\n\t"
	"cmp $10, %eax\n\t"
	"jne 2f\n\t"
	"mov $0x681e, %edx\n\t"          /* GUEST_RIP */
	"vmread %rdx, %rcx\n\t"
	"mov $0x440c, %edx\n\t"          /* VM_EXIT_INSTRUCTION_LEN */
	"vmread %rdx, %rbx\n\t"
	"add %rbx, %rcx\n\t"
	"mov $0x681e, %edx\n\t"
	"vmwrite %rcx, %rdx\n\t"
	"vmresume\n\t"
	"mov $0xfffffffe, %eax\n"         /* VMRESUME failed */
	"2:\n\t"
	"mov host_rsp(%rip), %rsp\n\t"
	"pop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbp\n\tpop %rbx\n\t"
	"ret\n"
	".popsection\n");

static uint64_t unused_guest(uint64_t arg)
{
	return arg;
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	if (!vmx_supported())
		TEST_FAIL("no VMX");
	vmx_on();
	uint32_t proc2 = vmx_ctl_allowed1(VMX_CTLS_PROC2, SECONDARY_EXEC_ENABLE_VPID)
			 ? SECONDARY_EXEC_ENABLE_VPID : 0;
	static struct vcpu v;
	vmcs_init_guest64(&v, unused_guest, 0, 0, 0, proc2);
	if (proc2)
		vmcs_write(VIRTUAL_PROCESSOR_ID, 1);
	vmcs_write(GUEST_RIP, (uintptr_t)bench_guest);
	vmcs_write(HOST_RIP, (uintptr_t)bench_exit);
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr, idtr;
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
	printf("start\n");
	uint32_t reason = bench_launch(ROUND_TRIPS);
	/* a VM exit leaves GDTR and IDTR limits at 0xFFFF (27.5.2) */
	__asm__ volatile("lgdt %0; lidt %1" : : "m"(gdtr), "m"(idtr));
	printf("end %u round trips\n", ROUND_TRIPS);
	if (reason != EXIT_REASON_VMCALL)
		TEST_FAIL("the loop ended with exit reason %#x, not VMCALL", reason);
	printf("# %s\n", proc2 ? "with VPID" : "without VPID");
	TEST_PASS();
}
