/* The demo (make demo): a small kernel booted like any Multiboot image.
 * The runtime has already switched to 64-bit mode with paging; here the
 * kernel looks at its CPU, does some ordinary integer work, then takes a
 * page fault on purpose, handles it, and calls into ring 3 and back.
 * Last it turns hypervisor: with VT-x it runs a function of its own as a
 * guest and prints each VM exit the guest causes. */
#include "lib/boot.h"
#include "lib/catch.h"
#include "lib/printf.h"
#include "lib/test.h"
#include "lib/user.h"
#include "lib/vmx.h"
#include "lib/work.h"
#include "lib/x86.h"

NESTLAB_NEEDS_VMX();

const char test_name[] = "demo";

static uint8_t sieve[100000];

static uint64_t in_ring3(uint64_t x)
{
	return x * x + 1;
}

/* The guest: asks CPUID for the vendor, writes to a port, returns. */
static uint64_t guest(uint64_t arg)
{
	struct cpuid_regs r = cpuid(0, 0);
	outb(0x80, (uint8_t)arg);
	return r.ebx;
}

/* The hypervisor: run the guest, print each exit and handle it. CPUID is
 * answered with a vendor of the hypervisor's own; the port write is
 * only reported. */
static void hypervisor(void)
{
	if (!vmx_supported()) {
		printf("  VT-x: not offered by this CPU\n");
		return;
	}
	vmx_on();
	static struct vcpu v;
	vmcs_init_guest64(&v, guest, 42, 0, CPU_BASED_UNCOND_IO_EXITING, 0);
	printf("  VT-x: a function of this kernel runs as a guest (VMLAUNCH)\n");
	for (;;) {
		uint32_t reason = vmx_run(&v);
		if (vmx_guest_done(&v))
			break;
		printf("    VM exit %u (%s) at guest RIP 0x%lx, qualification 0x%lx\n", reason,
		       vmx_exit_reason_name(reason), v.guest_rip, v.exit_qual);
		if (reason == EXIT_REASON_CPUID) {
			v.regs.rax = 0;
			__builtin_memcpy(&v.regs.rbx, "nest", 4); /* EBX:EDX:ECX */
			__builtin_memcpy(&v.regs.rdx, "labH", 4);
			__builtin_memcpy(&v.regs.rcx, "VVVV", 4);
		} else if (reason != EXIT_REASON_IO_INSTRUCTION) {
			TEST_FAIL("unexpected VM exit %u", reason);
		}
		vmx_skip_instruction(&v);
	}
	char seen[5] = { 0 };
	__builtin_memcpy(seen, &v.regs.rdi, 4); /* the guest's result: its EBX */
	printf("    the guest returned (VMCALL); its CPUID vendor began \"%s\"\n", seen);
	vmx_off();
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	char vendor[13], brand[49];
	struct cpuid_regs r = cpuid(0, 0);
	__builtin_memcpy(vendor, &r.ebx, 4);
	__builtin_memcpy(vendor + 4, &r.edx, 4);
	__builtin_memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = 0;
	for (uint32_t k = 0; k < 3; k++) {
		r = cpuid(0x80000002u + k, 0);
		__builtin_memcpy(brand + 16 * k, &r, 16);
	}
	brand[48] = 0;
	printf("nestlab demo: a small kernel in 64-bit mode, booted with Multiboot\n");
	printf("  cpu: %s, %s\n", vendor, brand);

	uint64_t t0 = rdtsc();
	unsigned p = primes_below(sieve, sizeof sieve);
	uint64_t t1 = rdtsc();
	printf("  primes below 100000: %u (%lu instructions of virtual time)\n", p, t1 - t0);
	static const char fox[] = "The quick brown fox jumps over the lazy dog";
	printf("  crc32(\"%s\") = %08x\n", fox, crc32(fox, sizeof fox - 1));

	/* Touch a page that is not mapped: the handler records the fault. */
	uint64_t va = 0x7f0000000000ull;
	uint8_t v;
	int vec = try_read8((const volatile void *)va, &v);
	printf("  read of unmapped 0x%lx: vector %d (page fault), CR2 = 0x%lx, error code 0x%lx\n",
	       va, vec, last_fault.cr2, last_fault.error_code);
	printf("  ring 3 computed 12 * 12 + 1 = %lu\n", user_call(in_ring3, 12));
	hypervisor();
	printf("  instructions so far: %lu (nestlab run --trace FILE records every VM entry and exit)\n",
	       rdtsc());
	TEST_PASS();
}
