/* The backend API: what runs a loaded machine. The interpreter
 * (emu/backend_interp.c) and KVM (emu/kvm.c) both take a struct cpu that
 * the loader has filled (RAM, devices, the entry state), run it until it
 * stops, say why, and count what they saw. The devices and the loader are
 * shared, so the same image runs on both and their outputs can be compared
 * (nestlab compare). As in kvmtool's kvm_cpu__start() or halfix's cpuapi.h,
 * the front end sees one interface whichever backend runs. */
#ifndef EMU_BACKEND_H
#define EMU_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"
#include "emu/msg.h"

enum backend_kind { BACKEND_INTERP, BACKEND_KVM };

/* What a run may use up. */
struct run_limits {
	uint64_t max_insns;    /* interpreter: instructions, and ns of virtual time */
	double timeout;        /* host seconds; 0: none (KVM then uses KVM_DEFAULT_TIMEOUT) */
};

/* KVM has no instruction budget; a run without --timeout stops after this
 * many host seconds, so that no run can hang (the interpreter's default
 * budget is 10 s of virtual time; a KVM that is itself nested or
 * paravirtual can take much longer than bare metal, hence the margin). */
#define KVM_DEFAULT_TIMEOUT 60.0

/* A count with its name: an exit reason, a KVM statistic, a kind of
 * device access. */
struct stat_count {
	char name[48];
	uint64_t n;
};

#define STAT_MAX 48

struct backend_stats {
	double seconds;                /* host time spent running */
	bool has_insns;                /* the backend counts instructions ... */
	uint64_t insns;                /* ... retired (the interpreter) */
	/* The exits to user space by reason (KVM), or the device accesses the
	 * interpreter served, where a hardware VM would have exited. */
	struct stat_count user[STAT_MAX];
	int nuser;
	uint64_t user_total;
	/* The exits KVM handled in the kernel, from its statistics. */
	struct stat_count kernel[STAT_MAX];
	int nkernel;
	uint64_t kernel_exits;         /* KVM's "exits" statistic: every exit */
	bool has_kernel;
	char kernel_why[200];          /* !has_kernel: why, in the user's language */
};

struct backend;

struct backend_ops {
	const char *name;              /* "interpreter", "KVM" */
	/* Run until the guest stops or a limit runs out. EMU_STOP_BUDGET with
	 * b->timed_out set is the timeout; EMU_STOP_BACKEND means the backend
	 * cannot go on, b->why says why. */
	enum emu_stop (*run)(struct backend *b, const struct run_limits *l);
	void (*free)(struct backend *b);
};

struct backend {
	const struct backend_ops *ops;
	struct cpu *cpu;               /* the machine: registers, RAM, devices */
	enum lang lang;                /* for the messages the backend writes */
	bool timed_out;                /* the host-time limit ended the run */
	char why[512];                 /* a one-line reason (EMU_STOP_BACKEND) */
	struct backend_stats stats;
};

/* The interpreter. Never fails but for memory. */
struct backend *backend_interp_new(struct cpu *c, enum lang lang);

struct reverse;

/* The interpreter's run loop, for its run and for emu/session_debug.c:
 * emu_run() (or rev_run() under reverse control) in slices, so that the
 * host-time limit (counted from t0) is looked at now and then, until the
 * guest stops, l->max_insns, or first stop_at instructions (UINT64_MAX:
 * none). Sets b->timed_out when the time ran out. */
enum emu_stop backend_interp_slices(struct backend *b, const struct run_limits *l,
				    struct reverse *rev, uint64_t stop_at, double t0);

/* What the KVM backend needs to know besides the machine. */
struct kvm_config {
	const char *device;            /* "/dev/kvm", or NESTLAB_KVM_DEVICE */
	bool needs_vmx;                /* a hypervisor image (loader_needs_vmx) */
};

/* KVM: opens the device, creates the VM and vCPU, maps the machine's RAM
 * and puts the vCPU in the state the loader left in c. NULL with a one-line
 * message in why (what is missing and what to do) when it cannot. */
struct backend *backend_kvm_new(struct cpu *c, enum lang lang, const struct kvm_config *cfg,
				char *why, size_t whylen);

/* Whether KVM on this host offers VMX to its guests: 1 yes, 0 no (hint
 * says why and what to do), -1 KVM unusable (hint says why). */
int kvm_offers_vmx(const char *device, enum lang lang, char *hint, size_t len);

/* Host monotonic time in seconds. */
double backend_now(void);

/* The CPU's mode in words, for messages ("64-bit mode", ...). */
const char *backend_mode_name(const struct cpu *c, enum lang lang);

static inline enum emu_stop backend_run(struct backend *b, const struct run_limits *l)
{
	return b->ops->run(b, l);
}

static inline void backend_free(struct backend *b)
{
	if (b)
		b->ops->free(b);
}

#endif
