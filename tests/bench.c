/* make bench: fixed integer workloads on nestlab's interpreter and, as the
 * peer measured in the same run, on Unicorn (QEMU's TCG translator inside a
 * library). Prints figures and ratios; never passes or fails on time. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unicorn/unicorn.h>
#include <unistd.h>

#include "emu/bus.h"
#include "emu/cpu.h"
#include "emu/event.h"
#include "emu/loader.h"
#include "emu/pc.h"
#include "emu/reverse.h"

#define RAM   (4u << 20)
#define CODE  0x1000u
#define DATA  0x10000u

struct workload {
	const char *name;
	const uint8_t *code;
	size_t len;
	uint64_t iters;          /* loop count loaded into ECX */
	unsigned per_iter;       /* instructions per iteration */
	unsigned fixed;          /* instructions outside the loop, HLT excluded */
};

/* mov ecx, N; L: dec ecx; jnz L; hlt */
static const uint8_t dec_jnz[] = {
	0xb9, 0, 0, 0, 0,
	0xff, 0xc9,
	0x75, 0xfc,
	0xf4,
};

/* mov ecx, N; mov esi, DATA; L: mov eax,[rsi]; add eax,ebx; mov [rsi],eax;
 * xor ebx,eax; dec ecx; jnz L; hlt */
static const uint8_t load_add_store[] = {
	0xb9, 0, 0, 0, 0,
	0xbe, DATA & 0xff, (DATA >> 8) & 0xff, (DATA >> 16) & 0xff, 0,
	0x8b, 0x06,
	0x01, 0xd8,
	0x89, 0x06,
	0x31, 0xc3,
	0xff, 0xc9,
	0x75, 0xf4,
	0xf4,
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void patch_count(uint8_t *code, uint64_t n)
{
	memcpy(code + 1, &(uint32_t){ (uint32_t)n }, 4);
}

static double run_nestlab(const struct workload *w, const uint8_t *code, uint64_t *insns)
{
	struct cpu *c = emu_new(RAM);
	if (!c) {
		fprintf(stderr, "bench: cannot create a machine\n");
		exit(1);
	}
	emu_reset_flat(c, SZ64);
	emu_phys_write(c, CODE, code, w->len);
	c->rip = CODE;
	double t0 = now();
	enum emu_stop s = emu_run(c, ~0ull >> 1);
	double t = now() - t0;
	if (s != EMU_STOP_HLT) {
		fprintf(stderr, "bench: %s did not reach HLT on nestlab (stop %d, rip %#llx)\n",
			w->name, s, (unsigned long long)c->rip);
		exit(1);
	}
	*insns = c->icount - 1; /* HLT is not part of the workload */
	emu_free(c);
	return t;
}

static double run_unicorn(const struct workload *w, const uint8_t *code)
{
	uc_engine *uc;
	if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK) {
		fprintf(stderr, "bench: cannot open Unicorn\n");
		exit(1);
	}
	uc_mem_map(uc, 0, RAM, UC_PROT_ALL);
	uc_mem_write(uc, CODE, code, w->len);
	double t0 = now();
	uc_err e = uc_emu_start(uc, CODE, CODE + w->len - 1, 0, 0);
	double t = now() - t0;
	if (e != UC_ERR_OK) {
		fprintf(stderr, "bench: Unicorn failed on %s: %s\n", w->name, uc_strerror(e));
		exit(1);
	}
	uc_close(uc);
	return t;
}

/* --- booting a guest image on nestlab and on QEMU TCG --- */

/* What the serial port showed, with host times (seconds from the start of
 * the run): the first byte, the end of the "start" line, the beginning of
 * the "end" line; and on nestlab, the instructions retired in between. */
struct serial_marks {
	double t0, first, start, end;
	uint64_t i_start, i_end;
	int lines;
	bool at_line_start;
};

static void mark_byte(struct serial_marks *m, uint8_t b, double t, uint64_t icount)
{
	if (!m->first)
		m->first = t;
	if (m->at_line_start && m->lines == 1 && !m->end) {
		m->end = t;
		m->i_end = icount;
	}
	m->at_line_start = b == '\n';
	if (b == '\n' && ++m->lines == 1) {
		m->start = t;
		m->i_start = icount;
	}
}

static void on_serial(void *opaque, const struct event *e)
{
	struct serial_marks *m = opaque;
	if (e->type == EVT_SERIAL)
		mark_byte(m, e->u.serial.byte, now() - m->t0, e->icount);
}

/* A machine with the guest loaded; NULL if it cannot be made. */
static struct cpu *load_guest(const char *image, FILE *sink)
{
	FILE *f = fopen(image, "rb");
	if (!f)
		return NULL;
	static uint8_t img[8 << 20];
	size_t len = fread(img, 1, sizeof img, f);
	fclose(f);
	struct cpu *c = emu_new(128u << 20);
	struct load_opts o = { image, NULL, NULL, 0 };
	if (!c || !pc_attach(c, sink, NULL) || load_image(c, img, len, &o).err != LOAD_OK) {
		if (c)
			pc_detach(c);
		emu_free(c);
		return NULL;
	}
	c->bus->console = sink;
	return c;
}

static bool boot_nestlab(const char *image, struct serial_marks *m)
{
	FILE *sink = fopen("/dev/null", "w");
	*m = (struct serial_marks){ .t0 = now() };
	struct cpu *c = sink ? load_guest(image, sink) : NULL;
	bool ok = c && evt_observe(c, on_serial, m);
	ok = ok && emu_run(c, 20000000000ull) == EMU_STOP_EXIT && c->exit_code == 33;
	if (c) {
		pc_detach(c);
		emu_free(c);
	}
	if (sink)
		fclose(sink);
	return ok && m->end > m->start;
}

static bool boot_qemu(const char *image, struct serial_marks *m)
{
	int fd[2];
	if (pipe(fd) < 0)
		return false;
	*m = (struct serial_marks){ .t0 = now() };
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		execlp("qemu-system-x86_64", "qemu-system-x86_64", "-accel", "tcg", "-M", "pc",
		       "-cpu", "IvyBridge-v1,-x2apic,-tsc-deadline,+pdpe1gb", "-m", "128M",
		       "-smp", "1", "-nodefaults", "-display", "none", "-no-reboot",
		       "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		       "-kernel", image, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	uint8_t b;
	while (read(fd[0], &b, 1) == 1)
		mark_byte(m, b, now() - m->t0, 0);
	close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 33 && m->end > m->start;
}

/* The CPU-bound guest on both, best of three each: MIPS over the work
 * between the start and end lines (the instruction count is nestlab's:
 * the same program retires the same instructions), and the time from
 * launch to the first serial byte. */
static void boot_bench(const char *image)
{
	struct serial_marks n, q, best_n = { 0 }, best_q = { 0 };
	bool have_q = false;
	for (int r = 0; r < 3; r++) {
		if (!boot_nestlab(image, &n)) {
			fprintf(stderr, "bench: %s did not run to its end on nestlab\n", image);
			exit(1);
		}
		if (!best_n.end || n.end - n.start < best_n.end - best_n.start)
			best_n = n;
		if (boot_qemu(image, &q)) {
			if (!have_q || q.end - q.start < best_q.end - best_q.start)
				best_q = q;
			have_q = true;
		}
	}
	double insns = (double)(best_n.i_end - best_n.i_start);
	double mn = insns / (best_n.end - best_n.start) / 1e6;
	if (have_q) {
		double mq = insns / (best_q.end - best_q.start) / 1e6;
		printf("cpu-bound guest: nestlab %.0f MIPS, qemu-tcg %.0f MIPS, ratio %.2f\n",
		       mn, mq, mn / mq);
		printf("first serial byte: nestlab %.1f ms, qemu-tcg %.1f ms\n",
		       best_n.first * 1e3, best_q.first * 1e3);
	} else {
		printf("cpu-bound guest: nestlab %.0f MIPS (qemu-system-x86_64 not found: no peer)\n", mn);
		printf("first serial byte: nestlab %.1f ms\n", best_n.first * 1e3);
	}
}

/* --- the VM-exit round trip --- */

/* The peer: the same CPUID loop on KVM, in a real-mode guest. Each CPUID
 * exits to the host kernel, which emulates it and enters again: KVM's
 * round trip on this machine (on a host that is itself a virtual
 * machine, each of those exits goes through the outer hypervisor too).
 * Returns seconds, or a negative number with *why set. */
static double kvm_cpuid_loop(uint32_t n, const char **why)
{
	/* mov esi, n; L: xor eax, eax; cpuid; dec esi; jnz L; hlt */
	uint8_t code[] = { 0x66, 0xbe, 0, 0, 0, 0, 0x66, 0x31, 0xc0, 0x0f, 0xa2,
			   0x66, 0x4e, 0x75, 0xf7, 0xf4 };
	memcpy(code + 2, &n, 4);
	double t = -1;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm = -1, vcpu = -1;
	void *mem = MAP_FAILED, *run_map = MAP_FAILED;
	long run_size = 0;
	*why = "/dev/kvm cannot be opened";
	if (kvm < 0)
		goto out;
	*why = "the KVM API version is not 12";
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != 12)
		goto out;
	*why = "KVM refused to create a VM";
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (vm < 0 || mem == MAP_FAILED)
		goto out;
	memcpy((uint8_t *)mem + 0x1000, code, sizeof code);
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = 0x10000,
		.userspace_addr = (uintptr_t)mem,
	};
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0 || vcpu < 0 || run_size <= 0)
		goto out;
	run_map = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	struct kvm_sregs sregs;
	if (run_map == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		goto out;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		goto out;
	struct kvm_run *run = run_map;
	double t0 = now();
	*why = "the guest did not reach its HLT";
	while (ioctl(vcpu, KVM_RUN, 0) == 0) {
		if (run->exit_reason == KVM_EXIT_HLT) {
			t = now() - t0;
			break;
		}
		if (run->exit_reason != KVM_EXIT_INTR)
			break;
	}
out:
	if (run_map != MAP_FAILED)
		munmap(run_map, (size_t)run_size);
	if (mem != MAP_FAILED)
		munmap(mem, 0x10000);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	if (kvm >= 0)
		close(kvm);
	return t;
}

/* guests/bench/vmexit.c on nestlab: its round trips between the start and
 * end lines (the guest prints how many), best of three. */
static void vmexit_bench(const char *image)
{
	const uint32_t trips = 1000000;
	struct serial_marks m, best = { 0 };
	for (int r = 0; r < 3; r++) {
		if (!boot_nestlab(image, &m)) {
			fprintf(stderr, "bench: %s did not run to its end on nestlab\n", image);
			exit(1);
		}
		if (!best.end || m.end - m.start < best.end - best.start)
			best = m;
	}
	double us = (best.end - best.start) / trips * 1e6;
	printf("vm-exit round trip (CPUID exit, 10-instruction handler, VMRESUME): "
	       "nestlab %.2f us, %.0f exits/s, %.1f guest instructions each\n",
	       us, 1e6 / us, (double)(best.i_end - best.i_start) / trips);
	const char *why;
	double tk = 1e9;
	for (int r = 0; r < 3; r++) {
		double t = kvm_cpuid_loop(trips, &why);
		if (t < 0) {
			tk = -1;
			break;
		}
		tk = t < tk ? t : tk;
	}
	if (tk > 0)
		printf("  kvm (the same CPUID loop, exits handled in the host kernel): %.2f us, "
		       "%.0f exits/s; nestlab/kvm time ratio %.2f\n",
		       tk / trips * 1e6, trips / tk, us / (tk / trips * 1e6));
	else
		printf("  kvm: not measured (%s)\n", why);
}

/* Reverse execution on the CPU-bound guest: the run with a snapshot every
 * 10 million instructions against the plain run (best of three each), the
 * share of the time the snapshots took, and how long a step back takes
 * from points spread over the run (restore the snapshot before, replay). */
static void reverse_bench(const char *image)
{
	FILE *sink = fopen("/dev/null", "w");
	double plain = 1e9, with = 1e9, share = 0, worst = 0, sum = 0;
	uint64_t insns = 0, held = 0;
	int steps = 0;
	for (int r = 0; r < 3 && sink; r++) {
		struct cpu *c = load_guest(image, sink);
		if (!c)
			break;
		double t0 = now();
		emu_run(c, 20000000000ull);
		double t = now() - t0;
		plain = t < plain ? t : plain;
		insns = c->icount;
		pc_detach(c);
		emu_free(c);
		c = load_guest(image, sink);
		struct reverse *rv = c ? rev_new(c, 10000000, 256u << 20) : NULL;
		if (!rv)
			break;
		t0 = now();
		rev_run(rv, 20000000000ull);
		t = now() - t0;
		if (t < with) {
			with = t;
			share = rv->snap_seconds / t;
			held = rv->st->peak;
		}
		for (int k = 1; r == 0 && k <= 8; k++) {
			rev_goto(rv, insns * k / 9);
			t0 = now();
			rev_step_back(rv);
			t = now() - t0;
			worst = t > worst ? t : worst;
			sum += t;
			steps++;
		}
		rev_free(rv);
		pc_detach(c);
		emu_free(c);
	}
	if (sink)
		fclose(sink);
	if (!steps) {
		printf("reverse execution: the guest did not run\n");
		return;
	}
	printf("snapshots every 10M instructions (cpu-bound guest, %.0fM instructions): "
	       "run %.3f s against %.3f s (%+.1f%%), snapshots %.2f%% of the run time, "
	       "%.1f MiB held at most\n",
	       insns / 1e6, with, plain, 100.0 * (with - plain) / plain, 100.0 * share,
	       held / 1048576.0);
	printf("step back one instruction: %.1f ms on average, %.1f ms at worst (%d points)\n",
	       1e3 * sum / steps, 1e3 * worst, steps);
}

int main(int argc, char **argv)
{
	uint64_t iters = 50000000;
	const char *guest = NULL, *vmexit_guest = NULL;
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--guest") && k + 1 < argc)
			guest = argv[++k];
		else if (!strcmp(argv[k], "--vmexit-guest") && k + 1 < argc)
			vmexit_guest = argv[++k];
		else
			iters = strtoull(argv[k], NULL, 0);
	}
	const struct workload ws[] = {
		{ "dec-jnz", dec_jnz, sizeof dec_jnz, iters, 2, 1 },
		{ "load-add-store-xor", load_add_store, sizeof load_add_store, iters / 2, 6, 2 },
	};
	for (size_t k = 0; k < sizeof ws / sizeof ws[0]; k++) {
		const struct workload *w = &ws[k];
		uint8_t code[64];
		memcpy(code, w->code, w->len);
		patch_count(code, w->iters);
		/* Best of three runs each, so a cold cache or a clock ramping
		 * up does not decide the figure. */
		uint64_t insns;
		double tn = 1e9, tu = 1e9;
		for (int r = 0; r < 3; r++) {
			double t = run_nestlab(w, code, &insns);
			tn = t < tn ? t : tn;
			t = run_unicorn(w, code);
			tu = t < tu ? t : tu;
		}
		uint64_t expect = w->iters * w->per_iter + w->fixed;
		if (insns != expect) {
			fprintf(stderr, "bench: %s retired %llu instructions, expected %llu\n",
				w->name, (unsigned long long)insns, (unsigned long long)expect);
			return 1;
		}
		double mn = insns / tn / 1e6, mu = insns / tu / 1e6;
		printf("%s: %.0f MIPS (unicorn-tcg %.0f MIPS, ratio %.2f)\n", w->name, mn, mu, mn / mu);
	}
	if (guest) {
		boot_bench(guest);
		reverse_bench(guest);
	}
	if (vmexit_guest)
		vmexit_bench(vmexit_guest);
	return 0;
}
