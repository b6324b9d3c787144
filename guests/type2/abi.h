/* The system-call interface of type2's host kernel, as its ring-3
 * processes see it: the numbers, the calls' wrappers, and struct kvm_run,
 * the page a VMM and the kernel's hypervisor module share, as QEMU and
 * KVM share the kvm_run structure mmap()ed from a vCPU's file descriptor.
 *
 * A call is INT 0x80 (a gate with DPL 3, so that ring 3 may use it) with
 * the number in RAX and the arguments in RDI, RSI, RDX, R10; the result
 * comes back in RAX (negative: an error). Every other register is kept. */
#ifndef TYPE2_ABI_H
#define TYPE2_ABI_H

#include <stdint.h>

#define SYSCALL_VECTOR 0x80
#define SYSCALL_INSN_LEN 2      /* CD 80: a blocked call is re-issued from here */

enum sys {
	SYS_WRITE = 1,          /* (buf, len): the kernel prints it as "[name] text" */
	SYS_EXIT,               /* (code, why): the end of the process; why may be 0 */
	SYS_YIELD,              /* give the CPU to the next runnable process */
	SYS_SLEEP,              /* (ms): sleep that long */
	SYS_MODULE,             /* (k, struct module_info *): Multiboot module k */
	SYS_MEMORY,             /* (size): RAM of one's own, 2 MiB-aligned; 0 if none */
	/* The hypervisor module ("/dev/kvm"): */
	SYS_KVM_CREATE_VM,      /* () -> a VM number */
	SYS_KVM_SET_MEMORY,     /* (vm, buf, size): buf (from SYS_MEMORY) is guest-physical 0 */
	SYS_KVM_SET_BOOT,       /* (vm, entry, info): the registers a Multiboot loader leaves */
	SYS_KVM_RUN,            /* (vm, struct kvm_run *): run until an exit for user space */
};

/* A module, read-only: its bytes and its command line. */
struct module_info {
	const uint8_t *bytes;
	uint64_t len;
	const char *cmdline;
};

/* Why SYS_KVM_RUN came back (kvm_run.exit_reason), after KVM's
 * KVM_EXIT_* of the same names. */
enum kvm_exit {
	KVM_EXIT_IO = 1,        /* IN or OUT: io */
	KVM_EXIT_MMIO,          /* a 32-bit access outside RAM and the local APIC: mmio */
	KVM_EXIT_HYPERCALL,     /* VMCALL: hypercall */
	KVM_EXIT_INTR,          /* the host's timer interrupted the guest: run again */
	/* The guest cannot go on; why says what happened. */
	KVM_EXIT_SHUTDOWN,      /* a triple fault */
	KVM_EXIT_HLT,           /* HLT with nothing that could wake it */
	KVM_EXIT_FAIL_ENTRY,    /* VM entry failed */
	KVM_EXIT_INTERNAL_ERROR,/* an exit the kernel cannot handle */
};

/* Filled by the kernel at each return from SYS_KVM_RUN. For an IN, an
 * MMIO read or a hypercall, the VMM puts the answer in data (ret) before
 * its next SYS_KVM_RUN, which completes the instruction. */
struct kvm_run {
	uint32_t exit_reason;   /* enum kvm_exit */
	uint64_t exits;         /* VM exits of this VM so far */
	union {
		struct {
			uint16_t port;
			uint8_t size;   /* 1, 2 or 4 bytes */
			uint8_t in;     /* 1: IN, the VMM sets data */
			uint32_t data;
		} io;
		struct {
			uint64_t gpa;
			uint8_t size;   /* 4 */
			uint8_t is_write;
			uint32_t data;  /* written, or to be read */
		} mmio;
		struct {
			uint32_t nr, a, b, c;   /* EAX, EBX, ECX, EDX */
			uint32_t ret;           /* to EAX */
		} hypercall;
		char why[160];
	};
};

/* How a VMM process ends (SYS_EXIT's code): the guest's isa-debug-exit
 * status (0-255), or one of these, with why. */
#define VMM_STOPPED  256        /* the guest was stopped */
#define VMM_NO_START 257        /* the guest could not be started */

static inline int64_t syscall4(uint64_t nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	register uint64_t r10 __asm__("r10") = d;
	__asm__ volatile("int $0x80" : "+a"(nr) : "D"(a), "S"(b), "d"(c), "r"(r10) : "memory");
	return (int64_t)nr;
}

static inline void sys_write(const char *buf, uint64_t len) { syscall4(SYS_WRITE, (uintptr_t)buf, len, 0, 0); }
static inline _Noreturn void sys_exit(int code, const char *why)
{
	syscall4(SYS_EXIT, (uint64_t)code, (uintptr_t)why, 0, 0);
	__builtin_unreachable();
}
static inline void sys_yield(void) { syscall4(SYS_YIELD, 0, 0, 0, 0); }
static inline void sys_sleep(uint64_t ms) { syscall4(SYS_SLEEP, ms, 0, 0, 0); }
static inline int64_t sys_module(unsigned k, struct module_info *m) { return syscall4(SYS_MODULE, k, (uintptr_t)m, 0, 0); }
static inline void *sys_memory(uint64_t size) { return (void *)(uintptr_t)syscall4(SYS_MEMORY, size, 0, 0, 0); }
static inline int64_t kvm_create_vm(void) { return syscall4(SYS_KVM_CREATE_VM, 0, 0, 0, 0); }
static inline int64_t kvm_set_memory(int64_t vm, void *buf, uint64_t size) { return syscall4(SYS_KVM_SET_MEMORY, (uint64_t)vm, (uintptr_t)buf, size, 0); }
static inline int64_t kvm_set_boot(int64_t vm, uint32_t entry, uint32_t info) { return syscall4(SYS_KVM_SET_BOOT, (uint64_t)vm, entry, info, 0); }
static inline int64_t kvm_run(int64_t vm, struct kvm_run *run) { return syscall4(SYS_KVM_RUN, (uint64_t)vm, (uintptr_t)run, 0, 0); }

#endif
