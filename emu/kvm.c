/* The KVM backend (emu/backend.h): the machine the loader filled runs on
 * /dev/kvm. The API is the kernel's (Documentation/virt/kvm/api.rst): a
 * system fd, a VM fd, a vCPU fd with its mmap'd struct kvm_run; KVM_RUN
 * returns to user space for what the kernel does not handle itself.
 *
 * The split between kernel and user space is KVM's usual one (as QEMU's
 * "-M pc" with its default kernel irqchip): the local APIC with its timer,
 * the 8259 pair, the I/O APIC (KVM_CREATE_IRQCHIP) and the 8254
 * (KVM_CREATE_PIT2) live in the kernel; COM1, the 0xE9 console,
 * isa-debug-exit and fw_cfg are nestlab's own device models, reached
 * through KVM_EXIT_IO and KVM_EXIT_MMIO exactly as the interpreter reaches
 * them, and COM1's interrupt goes back in with KVM_IRQ_LINE. Guest RAM is
 * the machine's own RAM, mapped with KVM_SET_USER_MEMORY_REGION, so what
 * the loader wrote is what the vCPU sees. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "emu/backend.h"
#include "emu/bus.h"
#include "emu/cpuid.h"
#include "emu/kvm.h"

/* How often the run looks at the clock and at a halted vCPU. */
#define TICK_US 20000

/* The I/O APIC's page: RAM must stay below it (the PCI hole of a PC). */
#define KVM_RAM_TOP 0xfec00000ull

struct kvm_backend {
	struct backend b;               /* first: the API */
	int sys, vm, vcpu;              /* /dev/kvm, the VM, the vCPU */
	struct kvm_run *run;            /* the vCPU's shared page */
	size_t run_size;
	uint64_t exits[KVM_EXIT_NAMES]; /* exits to user space, by KVM_EXIT_* */
	struct kvm_stat_set before;     /* KVM's statistics when the run began */
};

static const char *const exit_names[KVM_EXIT_NAMES] = {
	[KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN", [KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
	[KVM_EXIT_IO] = "KVM_EXIT_IO", [KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
	[KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG", [KVM_EXIT_HLT] = "KVM_EXIT_HLT",
	[KVM_EXIT_MMIO] = "KVM_EXIT_MMIO", [KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN", [KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
	[KVM_EXIT_INTR] = "KVM_EXIT_INTR", [KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS", [KVM_EXIT_NMI] = "KVM_EXIT_NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR", [KVM_EXIT_OSI] = "KVM_EXIT_OSI",
	[KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT", [KVM_EXIT_X86_RDMSR] = "KVM_EXIT_X86_RDMSR",
	[KVM_EXIT_X86_WRMSR] = "KVM_EXIT_X86_WRMSR",
};

const char *kvm_exit_name(unsigned reason)
{
	return reason < KVM_EXIT_NAMES && exit_names[reason] ? exit_names[reason] : "KVM_EXIT_?";
}

#define say(buf, len, lang, id, ...) snprintf(buf, len, msg(lang, MSG_##id), ##__VA_ARGS__)

int kvm_open(const char *device, enum lang lang, char *why, size_t len)
{
	int fd = open(device, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
			say(why, len, lang, KVM_NO_DEVICE, device);
		else if (errno == EACCES || errno == EPERM)
			say(why, len, lang, KVM_NO_PERMISSION, device);
		else
			say(why, len, lang, KVM_OPEN_FAILED, device, strerror(errno));
		return -1;
	}
	/* KVM_GET_API_VERSION is 12 since Linux 2.6.22, and must be. */
	int v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		say(why, len, lang, KVM_API_VERSION, device, v);
		close(fd);
		return -1;
	}
	return fd;
}

/* KVM_GET_SUPPORTED_CPUID, grown until the table fits (E2BIG). The caller
 * frees it. */
struct kvm_cpuid2 *kvm_supported_cpuid(int sys)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *t = calloc(1, sizeof *t + n * sizeof t->entries[0]);
		if (!t)
			return NULL;
		t->nent = n;
		if (ioctl(sys, KVM_GET_SUPPORTED_CPUID, t) == 0)
			return t;
		free(t);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

/* The guest's CPUID: what KVM can offer, with the feature bits cut down to
 * those nestlab's model has (emu/cpuid.c), and nestlab's signature
 * (family, model, stepping), so that a guest sees much the same processor
 * on both backends, as QEMU's "-cpu IvyBridge" gives it under KVM. The
 * vendor stays the host's: KVM's emulation follows it. The hypervisor bit
 * stays KVM's: this is a virtual machine. */
static void shape_cpuid(struct kvm_cpuid2 *t)
{
	for (unsigned k = 0; k < t->nent; k++) {
		struct kvm_cpuid_entry2 *e = &t->entries[k];
		struct cpuid_leaf m;
		emu_cpuid(e->function, e->index, &m);
		switch (e->function) {
		case 1:
			e->eax = m.eax;
			e->ebx = m.ebx;
			e->ecx &= m.ecx | (1u << 31);
			e->edx &= m.edx;
			break;
		case 7:
			if (e->index == 0) {
				e->ebx &= m.ebx;
				e->ecx &= m.ecx;
				e->edx &= m.edx;
			}
			break;
		case 0x80000001u:
			e->ecx &= m.ecx;
			e->edx &= m.edx;
			break;
		}
	}
}

/* Where KVM offers VMX (CPUID.1:ECX.VMX in KVM_GET_SUPPORTED_CPUID), the
 * guest gets the VMX capability MSRs as the host's KVM reports them (the
 * feature MSRs of KVM_GET_MSR_FEATURE_INDEX_LIST, read on the system fd),
 * as QEMU does. Untested here: this machine's KVM cannot nest. */
static bool pass_vmx_msrs(struct kvm_backend *k)
{
	struct { struct kvm_msr_list l; uint32_t idx[512]; } list = { .l.nmsrs = 512 };
	if (ioctl(k->sys, KVM_GET_MSR_FEATURE_INDEX_LIST, &list) < 0)
		return false;
	struct { struct kvm_msrs m; struct kvm_msr_entry e[32]; } msrs = { 0 };
	for (uint32_t j = 0; j < list.l.nmsrs && j < 512 && msrs.m.nmsrs < 32; j++)
		if (list.idx[j] >= 0x480 && list.idx[j] <= 0x491) /* IA32_VMX_BASIC .. VMFUNC */
			msrs.e[msrs.m.nmsrs++].index = list.idx[j];
	if (!msrs.m.nmsrs)
		return false;
	int got = ioctl(k->sys, KVM_GET_MSRS, &msrs);
	if (got <= 0)
		return false;
	msrs.m.nmsrs = (uint32_t)got;
	return ioctl(k->vcpu, KVM_SET_MSRS, &msrs) == got;
}

static struct kvm_segment to_kvm_seg(const struct seg *s)
{
	return (struct kvm_segment){
		.base = s->base, .limit = s->limit, .selector = s->sel,
		.type = AR_TYPE(s->ar), .present = !!(s->ar & AR_P), .dpl = AR_DPL(s->ar),
		.db = !!(s->ar & AR_DB), .s = !!(s->ar & AR_S), .l = !!(s->ar & AR_L),
		.g = !!(s->ar & AR_G), .avl = (s->ar >> 12) & 1, .unusable = !!(s->ar & AR_UNUSABLE),
	};
}

static struct seg from_kvm_seg(const struct kvm_segment *s)
{
	uint32_t ar = s->type | (s->s ? AR_S : 0) | ((uint32_t)s->dpl << 5) | (s->present ? AR_P : 0) |
		      ((uint32_t)s->avl << 12) | (s->l ? AR_L : 0) | (s->db ? AR_DB : 0) |
		      (s->g ? AR_G : 0) | (s->unusable ? AR_UNUSABLE : 0);
	return (struct seg){ .sel = s->selector, .base = s->base, .limit = s->limit, .ar = ar };
}

/* kvm_regs in the order of its fields, as indices into cpu->gpr. */
static const int reg_order[16] = {
	R_AX, R_BX, R_CX, R_DX, R_SI, R_DI, R_SP, R_BP,
	R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15,
};

/* The vCPU in the state the loader left in the machine (the Multiboot
 * state, plain ELF64's long mode, a flat binary's fixture). The local
 * APIC's base and the rest of sregs stay as KVM made them. */
static bool set_state(struct kvm_backend *k)
{
	struct cpu *c = k->b.cpu;
	struct kvm_sregs s;
	if (ioctl(k->vcpu, KVM_GET_SREGS, &s) < 0)
		return false;
	struct kvm_segment *segs[6] = { &s.es, &s.cs, &s.ss, &s.ds, &s.fs, &s.gs };
	for (int n = 0; n < 6; n++)
		*segs[n] = to_kvm_seg(&c->seg[n]);
	s.tr = to_kvm_seg(&c->tr);
	s.ldt = to_kvm_seg(&c->ldtr);
	s.gdt = (struct kvm_dtable){ .base = c->gdtr.base, .limit = c->gdtr.limit };
	s.idt = (struct kvm_dtable){ .base = c->idtr.base, .limit = c->idtr.limit };
	s.cr0 = c->cr0;
	s.cr3 = c->cr3;
	s.cr4 = c->cr4;
	s.efer = c->efer;
	struct kvm_regs r = { .rip = c->rip, .rflags = emu_get_rflags(c) };
	__u64 *rv = &r.rax;
	for (int n = 0; n < 16; n++)
		rv[n] = c->gpr[reg_order[n]];
	return ioctl(k->vcpu, KVM_SET_SREGS, &s) == 0 && ioctl(k->vcpu, KVM_SET_REGS, &r) == 0;
}

/* Back into the machine: where the guest was, for the messages. */
static void get_state(struct kvm_backend *k)
{
	struct cpu *c = k->b.cpu;
	struct kvm_sregs s;
	struct kvm_regs r;
	if (ioctl(k->vcpu, KVM_GET_REGS, &r) < 0 || ioctl(k->vcpu, KVM_GET_SREGS, &s) < 0)
		return;
	const __u64 *rv = &r.rax;
	for (int n = 0; n < 16; n++)
		c->gpr[reg_order[n]] = rv[n];
	c->rip = r.rip;
	c->rflags = r.rflags | FL_1;
	c->lf.kind = LF_NONE;
	const struct kvm_segment *segs[6] = { &s.es, &s.cs, &s.ss, &s.ds, &s.fs, &s.gs };
	for (int n = 0; n < 6; n++)
		c->seg[n] = from_kvm_seg(segs[n]);
	c->cr0 = s.cr0;
	c->cr3 = s.cr3;
	c->cr4 = s.cr4;
	c->efer = s.efer;
	c->cpl = s.cs.dpl;
	emu_update_mode(c);
}

/* COM1's interrupt line, into the in-kernel PIC and I/O APIC. */
static void irq_to_kvm(void *opaque, unsigned gsi, bool level)
{
	struct kvm_backend *k = opaque;
	struct kvm_irq_level l = { .irq = gsi, .level = level };
	ioctl(k->vm, KVM_IRQ_LINE, &l);
}

/* KVM_EXIT_IO: `count` accesses of `size` bytes at data_offset in the
 * shared page (more than one for INS/OUTS with REP). */
static void do_io(struct kvm_backend *k)
{
	struct bus *bus = k->b.cpu->bus;
	uint8_t *p = (uint8_t *)k->run + k->run->io.data_offset;
	int size = k->run->io.size;
	for (uint32_t n = 0; n < k->run->io.count; n++, p += size) {
		uint32_t v = 0;
		if (k->run->io.direction == KVM_EXIT_IO_OUT) {
			memcpy(&v, p, (size_t)size);
			bus_out(bus, k->run->io.port, size, v);
		} else {
			v = bus_in(bus, k->run->io.port, size);
			memcpy(p, &v, (size_t)size);
		}
	}
}

/* KVM_EXIT_MMIO: one access of up to 8 bytes, to the same bus. */
static void do_mmio(struct kvm_backend *k)
{
	struct bus *bus = k->b.cpu->bus;
	int len = (int)k->run->mmio.len;
	uint64_t v = 0;
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return;
	if (k->run->mmio.is_write) {
		memcpy(&v, k->run->mmio.data, (size_t)len);
		bus_write(bus, k->run->mmio.phys_addr, len, v);
	} else {
		v = bus_read(bus, k->run->mmio.phys_addr, len);
		memcpy(k->run->mmio.data, &v, (size_t)len);
	}
}

/* The timer tick: SIGALRM is blocked in user space and let through only
 * inside KVM_RUN (KVM_SET_SIGNAL_MASK), where it makes KVM_RUN return
 * EINTR. So the handler has nothing to do and no state to touch. */
static void on_tick(int sig)
{
	(void)sig;
}

struct tick {
	struct sigaction old_action;
	sigset_t old_mask;
	struct itimerval old_timer;
};

static bool tick_start(struct kvm_backend *k, struct tick *t)
{
	struct sigaction sa = { .sa_handler = on_tick };
	sigemptyset(&sa.sa_mask);
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	if (sigaction(SIGALRM, &sa, &t->old_action) < 0)
		return false;
	sigprocmask(SIG_BLOCK, &alrm, &t->old_mask);
	/* Inside KVM_RUN: the mask the thread had, without SIGALRM. The
	 * kernel's sigset is 8 bytes, the first 64 signals. */
	sigset_t in_run = t->old_mask;
	sigdelset(&in_run, SIGALRM);
	struct { struct kvm_signal_mask m; uint8_t set[8]; } km = { .m.len = 8 };
	memcpy(km.set, &in_run, 8);
	struct itimerval it = { { 0, TICK_US }, { 0, TICK_US } };
	return ioctl(k->vcpu, KVM_SET_SIGNAL_MASK, &km) == 0 &&
	       setitimer(ITIMER_REAL, &it, &t->old_timer) == 0;
}

/* The tick that interrupted KVM_RUN stays pending in user space, where
 * SIGALRM is blocked: take it, or the next KVM_RUN returns at once. */
static void tick_take(void)
{
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	struct timespec zero = { 0, 0 };
	while (sigtimedwait(&alrm, NULL, &zero) == SIGALRM)
		;
}

static void tick_stop(struct tick *t)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	tick_take();
	sigprocmask(SIG_SETMASK, &t->old_mask, NULL);
	sigaction(SIGALRM, &t->old_action, NULL);
	setitimer(ITIMER_REAL, &t->old_timer, NULL);
}

/* At a tick: a vCPU halted with interrupts off can only be woken by an NMI,
 * INIT or SMI, none of which can come with one CPU and no firmware: it is
 * halted for good (the interpreter's EMU_STOP_HLT). An INIT the guest sent
 * itself leaves it waiting for a SIPI: EMU_STOP_INIT. Else 0: go on. */
static enum emu_stop halted_for_good(struct kvm_backend *k)
{
	struct kvm_mp_state mp;
	struct kvm_regs r;
	if (ioctl(k->vcpu, KVM_GET_MP_STATE, &mp) < 0)
		return EMU_STOP_BUDGET;
	if (mp.mp_state == KVM_MP_STATE_INIT_RECEIVED)
		return EMU_STOP_INIT;
	if (mp.mp_state == KVM_MP_STATE_HALTED && ioctl(k->vcpu, KVM_GET_REGS, &r) == 0 &&
	    !(r.rflags & FL_IF))
		return EMU_STOP_HLT;
	return EMU_STOP_BUDGET;
}

/* An exit that ends the run: the stop, with b.why said where needed. */
static enum emu_stop exit_stop(struct kvm_backend *k)
{
	struct kvm_run *run = k->run;
	struct cpu *c = k->b.cpu;
	char *why = k->b.why;
	size_t n = sizeof k->b.why;
	enum lang l = k->b.lang;
	get_state(k);
	unsigned long long rip = c->rip;
	switch (run->exit_reason) {
	case KVM_EXIT_HLT:
		return EMU_STOP_HLT;
	case KVM_EXIT_SHUTDOWN:
		c->triple = true;
		say(why, n, l, KVM_TRIPLE, rip, backend_mode_name(c, l));
		return EMU_STOP_TRIPLE;
	case KVM_EXIT_FAIL_ENTRY:
		say(why, n, l, KVM_FAIL_ENTRY, rip, backend_mode_name(c, l),
		    (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return EMU_STOP_BACKEND;
	case KVM_EXIT_INTERNAL_ERROR: {
		static const char *const sub[] = {
			[KVM_INTERNAL_ERROR_EMULATION] = "an instruction KVM could not emulate",
			[KVM_INTERNAL_ERROR_SIMUL_EX] = "an exception while delivering another",
			[KVM_INTERNAL_ERROR_DELIVERY_EV] = "an event that could not be delivered",
			[KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON] = "an exit reason KVM did not expect",
		};
		unsigned s = run->internal.suberror;
		say(why, n, l, KVM_INTERNAL, s, s < 5 && sub[s] ? sub[s] : "?", rip,
		    backend_mode_name(c, l));
		return EMU_STOP_BACKEND;
	}
	default:
		say(why, n, l, KVM_UNHANDLED, run->exit_reason, kvm_exit_name(run->exit_reason), rip);
		return EMU_STOP_BACKEND;
	}
}

/* One KVM_RUN and what came back: EMU_STOP_BUDGET to go on. */
static enum emu_stop step(struct kvm_backend *k)
{
	if (ioctl(k->vcpu, KVM_RUN, 0) < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			tick_take();
			k->exits[KVM_EXIT_INTR]++;
			return halted_for_good(k);
		}
		int e = errno;
		get_state(k);
		say(k->b.why, sizeof k->b.why, k->b.lang, KVM_RUN_FAILED,
		    (unsigned long long)k->b.cpu->rip, strerror(e));
		return EMU_STOP_BACKEND;
	}
	unsigned reason = k->run->exit_reason;
	k->exits[reason < KVM_EXIT_NAMES ? reason : KVM_EXIT_UNKNOWN]++;
	switch (reason) {
	case KVM_EXIT_IO:
		do_io(k);
		break;
	case KVM_EXIT_MMIO:
		do_mmio(k);
		break;
	case KVM_EXIT_INTR:
		tick_take();
		return halted_for_good(k);
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		break;
	default:
		return exit_stop(k);
	}
	return k->b.cpu->exit_requested ? EMU_STOP_EXIT : EMU_STOP_BUDGET;
}

static void collect_stats(struct kvm_backend *k)
{
	struct backend_stats *s = &k->b.stats;
	s->nuser = 0;
	s->user_total = 0;
	for (unsigned r = 0; r < KVM_EXIT_NAMES && s->nuser < STAT_MAX; r++) {
		if (!k->exits[r])
			continue;
		struct stat_count *e = &s->user[s->nuser++];
		snprintf(e->name, sizeof e->name, "%s", kvm_exit_name(r));
		e->n = k->exits[r];
		s->user_total += k->exits[r];
	}
	kvm_stats_since(k->vcpu, &k->before, s, k->b.lang);
}

static enum emu_stop kvm_run_guest(struct backend *b, const struct run_limits *l)
{
	struct kvm_backend *k = (struct kvm_backend *)b;
	double limit = l->timeout ? l->timeout : KVM_DEFAULT_TIMEOUT;
	struct tick t = { 0 };
	b->timed_out = false;
	b->why[0] = 0;
	kvm_stats_read(k->vcpu, &k->before);
	double t0 = backend_now();
	enum emu_stop stop = EMU_STOP_BUDGET;
	if (!tick_start(k, &t)) {
		say(b->why, sizeof b->why, b->lang, KVM_SETUP_FAILED, "KVM_SET_SIGNAL_MASK",
		    strerror(errno));
		tick_stop(&t);
		return EMU_STOP_BACKEND;
	}
	while ((stop = step(k)) == EMU_STOP_BUDGET) {
		if (backend_now() - t0 >= limit) {
			b->timed_out = true;
			break;
		}
	}
	b->stats.seconds = backend_now() - t0;
	tick_stop(&t);
	if (b->timed_out) {
		get_state(k);
		say(b->why, sizeof b->why, b->lang, KVM_STOP_TIMEOUT, b->stats.seconds,
		    msg(b->lang, l->timeout ? MSG_KVM_BY_TIMEOUT : MSG_KVM_BY_DEFAULT),
		    (unsigned long long)b->cpu->rip, backend_mode_name(b->cpu, b->lang));
	} else if (stop == EMU_STOP_EXIT || stop == EMU_STOP_HLT || stop == EMU_STOP_INIT) {
		get_state(k);
	}
	collect_stats(k);
	return stop;
}

static void kvm_free(struct backend *b)
{
	struct kvm_backend *k = (struct kvm_backend *)b;
	if (b->cpu) {
		b->cpu->irq_out = NULL;
		b->cpu->irq_out_opaque = NULL;
	}
	if (k->run)
		munmap(k->run, k->run_size);
	if (k->vcpu >= 0)
		close(k->vcpu);
	if (k->vm >= 0)
		close(k->vm);
	if (k->sys >= 0)
		close(k->sys);
	free(k);
}

static const struct backend_ops kvm_ops = {
	.name = "KVM",
	.run = kvm_run_guest,
	.free = kvm_free,
};

/* An ioctl of the setup: on failure, say which and why. */
static bool setup(struct kvm_backend *k, bool ok, const char *what, char *why, size_t len)
{
	if (!ok)
		say(why, len, k->b.lang, KVM_SETUP_FAILED, what, strerror(errno));
	return ok;
}

/* The VM: memory, irqchip, PIT, the vCPU and its CPUID. */
static bool make_vm(struct kvm_backend *k, bool vmx, char *why, size_t len)
{
	struct bus *bus = k->b.cpu->bus;
	k->vm = ioctl(k->sys, KVM_CREATE_VM, 0);
	if (!setup(k, k->vm >= 0, "KVM_CREATE_VM", why, len))
		return false;
	/* Intel without unrestricted guest needs three pages for real mode;
	 * they go where QEMU puts them, just below the BIOS. */
	ioctl(k->vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	struct kvm_userspace_memory_region ram = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = bus->ram_size,
		.userspace_addr = (uintptr_t)bus->ram,
	};
	struct kvm_pit_config pit = { .flags = 0 };
	if (!setup(k, ioctl(k->vm, KVM_SET_USER_MEMORY_REGION, &ram) == 0,
		   "KVM_SET_USER_MEMORY_REGION", why, len) ||
	    !setup(k, ioctl(k->vm, KVM_CREATE_IRQCHIP, 0) == 0, "KVM_CREATE_IRQCHIP", why, len) ||
	    !setup(k, ioctl(k->vm, KVM_CREATE_PIT2, &pit) == 0, "KVM_CREATE_PIT2", why, len))
		return false;
	k->vcpu = ioctl(k->vm, KVM_CREATE_VCPU, 0);
	long size = ioctl(k->sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (!setup(k, k->vcpu >= 0 && size > 0, "KVM_CREATE_VCPU", why, len))
		return false;
	k->run_size = (size_t)size;
	void *m = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, k->vcpu, 0);
	if (!setup(k, m != MAP_FAILED, "mmap(vcpu)", why, len))
		return false;
	k->run = m;
	struct kvm_cpuid2 *cpuid = kvm_supported_cpuid(k->sys);
	if (!setup(k, cpuid != NULL, "KVM_GET_SUPPORTED_CPUID", why, len))
		return false;
	shape_cpuid(cpuid);
	bool ok = setup(k, ioctl(k->vcpu, KVM_SET_CPUID2, cpuid) == 0, "KVM_SET_CPUID2", why, len);
	free(cpuid);
	if (ok && vmx && !pass_vmx_msrs(k))
		return setup(k, false, "KVM_SET_MSRS (VMX capabilities)", why, len);
	/* The TSC starts at 0, as on the interpreter (TSC = instructions
	 * retired) and under QEMU, which resets it when the VM starts. */
	struct { struct kvm_msrs m; struct kvm_msr_entry e; } tsc = {
		.m.nmsrs = 1, .e = { .index = 0x10 /* IA32_TIME_STAMP_COUNTER */, .data = 0 },
	};
	return ok && setup(k, set_state(k), "KVM_SET_SREGS", why, len) &&
	       setup(k, ioctl(k->vcpu, KVM_SET_MSRS, &tsc) == 1, "KVM_SET_MSRS (TSC)", why, len);
}

struct backend *backend_kvm_new(struct cpu *c, enum lang lang, const struct kvm_config *cfg,
				char *why, size_t len)
{
	if (c->bus->ram_size > KVM_RAM_TOP) {
		say(why, len, lang, KVM_MEM_HOLE, (unsigned long long)(c->bus->ram_size >> 20));
		return NULL;
	}
	if ((c->efer & EFER_LMA) && !(c->cr0 & CR0_PG)) {
		say(why, len, lang, KVM_FLAT64);
		return NULL;
	}
	struct kvm_backend *k = calloc(1, sizeof *k);
	if (!k) {
		say(why, len, lang, KVM_SETUP_FAILED, "calloc", strerror(ENOMEM));
		return NULL;
	}
	k->b = (struct backend){ .ops = &kvm_ops, .cpu = c, .lang = lang };
	k->vm = k->vcpu = -1;
	k->sys = kvm_open(cfg->device, lang, why, len);
	if (k->sys < 0) {
		kvm_free(&k->b);
		return NULL;
	}
	bool vmx = false;
	if (cfg->needs_vmx) {
		char hint[256];
		if (kvm_vmx_hint(k->sys, lang, hint, sizeof hint) != 1) {
			say(why, len, lang, KVM_NO_VMX, hint);
			kvm_free(&k->b);
			return NULL;
		}
		vmx = true;
	}
	if (!make_vm(k, vmx, why, len)) {
		kvm_free(&k->b);
		return NULL;
	}
	c->irq_out = irq_to_kvm;
	c->irq_out_opaque = k;
	return &k->b;
}
