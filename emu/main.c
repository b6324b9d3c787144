/* nestlab: the command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emu/cpu.h"
#include "emu/devices.h"
#include "emu/loader.h"
#include "emu/msg.h"
#include "emu/gdbstub.h"
#include "emu/pc.h"
#include "emu/reverse.h"
#include "emu/snapfile.h"
#include "emu/trace.h"
#include "emu/vtime.h"
#include "vmx/entry.h"

#define NESTLAB_VERSION "0.1.0"

/* Exit statuses; even numbers, so they never collide with isa-debug-exit's
 * odd (v << 1) | 1. docs/cli.md lists them. */
enum {
	EXIT_HALTED = 0,
	EXIT_USAGE = 2,
	EXIT_BAD_IMAGE = 4,
	EXIT_GUEST_EXCEPTION = 6,
	EXIT_BUDGET = 8,
	EXIT_TRIPLE = 10,
	EXIT_INIT = 12,
};

static enum lang lang;

#define say(id, ...) fprintf(stderr, msg(lang, MSG_##id), ##__VA_ARGS__)

#define MAX_MODULES 16

struct run_opts {
	const char *image;
	const char *append;
	const char *modules[MAX_MODULES];
	int nmodules;
	int bits;                /* 0: not a flat binary */
	uint64_t load, entry;
	bool have_load, have_entry;
	uint64_t mem_mib;
	uint64_t max_insns;
	double timeout;          /* host seconds, 0: none */
	const char *trace;       /* JSON Lines trace file */
	const char *input;       /* bytes for the serial port to receive, or NULL */
	bool trace_walks;        /* ... with every page walk */
	bool stats;
	const char *save_file;   /* --save-at N FILE */
	uint64_t save_at;
	const char *restore;     /* --restore FILE */
	uint64_t snap_every;     /* in-memory snapshots (reverse execution), 0: none */
	uint64_t snap_budget_mib;
	int gdb_port;            /* -1: no gdb stub */
};

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-')
		return false;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static const char *mode_name(const struct cpu *c)
{
	if (!(c->cr0 & CR0_PE))
		return msg(lang, MSG_MODE_REAL);
	if (c->code_sz == SZ64)
		return msg(lang, MSG_MODE_LONG64);
	if (c->efer & EFER_LMA)
		return msg(lang, MSG_MODE_COMPAT);
	return msg(lang, c->code_sz == SZ32 ? MSG_MODE_PROT32 : MSG_MODE_PROT16);
}

static const char *vector_name(unsigned v)
{
	static const char *const names[] = {
		"#DE (divide error)", "#DB (debug)", "NMI", "#BP (breakpoint)",
		"#OF (overflow)", "#BR (bound range)", "#UD (invalid opcode)",
		"#NM (device not available)", "#DF (double fault)", "coprocessor overrun",
		"#TS (invalid TSS)", "#NP (segment not present)", "#SS (stack fault)",
		"#GP (general protection)", "#PF (page fault)", "reserved",
		"#MF (x87 error)", "#AC (alignment check)", "#MC (machine check)",
		"#XM (SIMD exception)",
	};
	return v < sizeof names / sizeof names[0] ? names[v] : "exception";
}

/* Read the whole file; NULL (with the message said) on failure. */
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		say(CANNOT_READ, path, strerror(errno));
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (!buf)
			break;
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		uint8_t *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	if (!buf || ferror(f)) {
		say(CANNOT_READ, path, buf ? strerror(errno) : strerror(ENOMEM));
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

static int parse_run(int argc, char **argv, struct run_opts *o)
{
	*o = (struct run_opts){ .load = 0x100000, .mem_mib = 128, .max_insns = 10000000000ull,
				.snap_budget_mib = 256, .gdb_port = -1 };
	for (int k = 0; k < argc; k++) {
		const char *a = argv[k];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(msg(lang, MSG_RUN_USAGE), stdout);
			exit(0);
		}
		if (!strcmp(a, "--stats")) {
			o->stats = true;
			continue;
		}
		if (!strcmp(a, "--trace-walks")) {
			o->trace_walks = true;
			continue;
		}
		if (!strcmp(a, "--save-at")) {
			/* two values: N and FILE */
			if (k + 2 >= argc) {
				say(MISSING_VALUE, a);
				return -1;
			}
			if (!parse_u64(argv[k + 1], &o->save_at)) {
				say(BAD_NUMBER, argv[k + 1], a);
				return -1;
			}
			o->save_file = argv[k + 2];
			k += 2;
			continue;
		}
		if (a[0] != '-' || !a[1]) {
			if (o->image) {
				say(TWO_IMAGES, o->image, a);
				return -1;
			}
			o->image = a;
			continue;
		}
		static const char *const valued[] = { "--bits", "--load", "--entry", "--mem",
						      "--max-insns", "--lang", "--append",
						      "--module", "--timeout", "--trace", "--input",
						      "--restore", "--snap-every", "--snap-budget", "--gdb" };
		bool known = false;
		for (size_t v = 0; v < sizeof valued / sizeof valued[0]; v++)
			known |= !strcmp(a, valued[v]);
		if (!known) {
			say(UNKNOWN_OPTION, a);
			return -1;
		}
		if (k + 1 >= argc) {
			say(MISSING_VALUE, a);
			return -1;
		}
		const char *val = argv[++k];
		uint64_t n = 0;
		if (!strcmp(a, "--lang")) {
			int l = msg_lang_parse(val);
			if (l < 0) {
				say(BAD_LANG, val);
				return -1;
			}
			lang = (enum lang)l;
			continue;
		}
		if (!strcmp(a, "--append")) {
			o->append = val;
			continue;
		}
		if (!strcmp(a, "--trace")) {
			o->trace = val;
			continue;
		}
		if (!strcmp(a, "--input")) {
			o->input = val;
			continue;
		}
		if (!strcmp(a, "--restore")) {
			o->restore = val;
			continue;
		}
		if (!strcmp(a, "--module")) {
			if (o->nmodules == MAX_MODULES) {
				say(BAD_NUMBER, val, a);
				return -1;
			}
			o->modules[o->nmodules++] = val;
			continue;
		}
		if (!strcmp(a, "--timeout")) {
			char *end;
			o->timeout = strtod(val, &end);
			if (*end || !(o->timeout > 0) || o->timeout > 1e7) {
				say(BAD_NUMBER, val, a);
				return -1;
			}
			continue;
		}
		if (!parse_u64(val, &n)) {
			if (!strcmp(a, "--bits"))
				say(BAD_BITS, val);
			else
				say(BAD_NUMBER, val, a);
			return -1;
		}
		if (!strcmp(a, "--bits")) {
			if (n != 16 && n != 32 && n != 64) {
				say(BAD_BITS, val);
				return -1;
			}
			o->bits = (int)n;
		} else if (!strcmp(a, "--load")) {
			o->load = n;
			o->have_load = true;
		} else if (!strcmp(a, "--entry")) {
			o->entry = n;
			o->have_entry = true;
		} else if (!strcmp(a, "--snap-every")) {
			if (n == 0) {
				say(BAD_NUMBER, val, a);
				return -1;
			}
			o->snap_every = n;
		} else if (!strcmp(a, "--snap-budget")) {
			if (n == 0 || n > (1u << 20)) {
				say(BAD_NUMBER, val, a);
				return -1;
			}
			o->snap_budget_mib = n;
		} else if (!strcmp(a, "--gdb")) {
			if (n > 65535) {
				say(BAD_NUMBER, val, a);
				return -1;
			}
			o->gdb_port = (int)n;
		} else if (!strcmp(a, "--mem")) {
			if (n < 2 || n > 65536) {
				say(BAD_MEM, val);
				return -1;
			}
			o->mem_mib = n;
		} else {
			o->max_insns = n;
		}
	}
	if (!o->image) {
		say(NO_IMAGE);
		return -1;
	}
	if (!o->bits && (o->have_load || o->have_entry)) {
		say(FLAT_ONLY, o->have_load ? "--load" : "--entry");
		return -1;
	}
	if (o->trace_walks && !o->trace) {
		say(NEEDS_TRACE);
		return -1;
	}
	if (!o->have_entry)
		o->entry = o->load;
	if (o->gdb_port >= 0 && !o->snap_every)
		o->snap_every = 10000000;
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Load a flat binary into the fixture state --bits asks for. */
static int load_flat(struct cpu *c, const struct run_opts *o, const uint8_t *img, size_t len)
{
	uint64_t ram = o->mem_mib << 20;
	if (o->load > ram || len > ram - o->load) {
		say(IMAGE_TOO_BIG, o->image, (unsigned long long)len,
		    (unsigned long long)o->load, (unsigned long long)o->mem_mib);
		return -1;
	}
	if (o->entry >= ram) {
		say(ENTRY_OUTSIDE, (unsigned long long)o->entry);
		return -1;
	}
	if (o->bits == 16 && (o->entry > 0xffff || o->load + len > 0x10000)) {
		say(ENTRY_16BIT);
		return -1;
	}
	emu_reset_flat(c, o->bits == 16 ? SZ16 : o->bits == 32 ? SZ32 : SZ64);
	emu_phys_write(c, o->load, img, len);
	c->rip = o->entry;
	return 0;
}

/* Say why a load failed, in the user's language. */
static void say_load_error(const struct run_opts *o, const struct load_result *r)
{
	unsigned long long a = r->a, b = r->b;
	switch (r->err) {
	case LOAD_NOT_BOOTABLE:  say(LOAD_NOT_BOOTABLE, o->image); break;
	case LOAD_BAD_HEADER:    say(LOAD_BAD_HEADER, o->image, a, b); break;
	case LOAD_BAD_ELF:       say(LOAD_BAD_ELF, o->image, a); break;
	case LOAD_TRUNCATED:     say(LOAD_TRUNCATED, o->image, a, b); break;
	case LOAD_OVERLAP:       say(LOAD_OVERLAP, o->image, a, b); break;
	case LOAD_NO_FIT:        say(LOAD_NO_FIT, o->image, a, b); break;
	case LOAD_MODULE_NO_FIT: say(LOAD_MODULE_NO_FIT, o->image, a); break;
	default:                 say(LOAD_UNSUPPORTED, o->image, a); break;
	}
}

/* Read the modules ('FILE [ARGS]': the file is up to the first space; the
 * whole string is the module's command line, as QEMU's -initrd does). */
static int read_modules(const struct run_opts *o, struct module *m, uint8_t **bufs)
{
	for (int k = 0; k < o->nmodules; k++) {
		char path[4096];
		const char *sp = strchr(o->modules[k], ' ');
		size_t n = sp ? (size_t)(sp - o->modules[k]) : strlen(o->modules[k]);
		if (n >= sizeof path)
			n = sizeof path - 1;
		memcpy(path, o->modules[k], n);
		path[n] = 0;
		size_t len;
		bufs[k] = read_file(path, &len);
		if (!bufs[k])
			return -1;
		m[k] = (struct module){ o->modules[k], bufs[k], len };
	}
	return 0;
}

/* What a snapshot file must have been made from: the image, its modules
 * and the options that shape the machine. */
static uint64_t config_hash(const struct run_opts *o, const uint8_t *img, size_t len,
			    const struct module *m)
{
	uint64_t h = snap_hash(SNAP_HASH_INIT, img, len);
	uint64_t nums[] = { o->mem_mib, (uint64_t)o->bits, o->load, o->entry,
			    (uint64_t)o->nmodules };
	h = snap_hash(h, nums, sizeof nums);
	if (o->append)
		h = snap_hash(h, o->append, strlen(o->append) + 1);
	for (int k = 0; k < o->nmodules && !o->bits; k++) {
		h = snap_hash(h, m[k].name, strlen(m[k].name) + 1);
		h = snap_hash(h, m[k].data, m[k].len);
	}
	return h;
}

static bool say_snapfile_error(enum snapfile_err e, const char *path)
{
	switch (e) {
	case SNAPFILE_OK:           return true;
	case SNAPFILE_IO:           say(CANNOT_READ, path, strerror(errno)); break;
	case SNAPFILE_NOT_SNAPSHOT: say(SNAPF_NOT, path); break;
	case SNAPFILE_VERSION:      say(SNAPF_VERSION, path); break;
	case SNAPFILE_OTHER_IMAGE:  say(SNAPF_OTHER, path); break;
	case SNAPFILE_TRUNCATED:    say(SNAPF_TRUNCATED, path); break;
	default:                    say(SNAPF_CORRUPT, path); break;
	}
	return false;
}

/* Run to the budget, the timeout or the guest's end; with --save-at, stop
 * on the way to write the snapshot; with --snap-every, under reverse
 * control (emu/reverse.h). */
static enum emu_stop run_loop(struct cpu *c, const struct run_opts *o, struct reverse *rev,
			      const struct snapfile_id *id, bool *timed_out)
{
	double t0 = now();
	enum emu_stop stop = EMU_STOP_BUDGET;
	bool save = o->save_file != NULL;
	while (c->icount < o->max_insns && !c->vtime_out) {
		if (save && c->icount == o->save_at) {
			save = false;
			if (snapfile_write(c, o->save_file, id) != SNAPFILE_OK)
				say(CANNOT_WRITE, o->save_file, strerror(errno));
			else
				say(SNAP_SAVED, (unsigned long long)c->icount, o->save_file);
		}
		uint64_t slice = o->max_insns - c->icount;
		if (o->timeout && slice > 20000000)
			slice = 20000000;
		if (save && o->save_at > c->icount && o->save_at - c->icount < slice)
			slice = o->save_at - c->icount;
		stop = rev ? rev_run(rev, slice) : emu_run(c, slice);
		if (stop != EMU_STOP_BUDGET)
			break;
		if (o->timeout && now() - t0 >= o->timeout) {
			*timed_out = true;
			break;
		}
	}
	if (save && c->icount == o->save_at && stop == EMU_STOP_BUDGET) {
		save = false;
		if (snapfile_write(c, o->save_file, id) == SNAPFILE_OK)
			say(SNAP_SAVED, (unsigned long long)c->icount, o->save_file);
	}
	if (save)
		say(SNAP_NOT_REACHED, (unsigned long long)c->icount, (unsigned long long)o->save_at);
	return stop;
}

static void say_snap_stats(const struct reverse *rev, const struct run_opts *o, double t)
{
	const struct snapstore *st = rev->st;
	say(STATS_SNAP, (unsigned long long)st->taken, (unsigned long long)rev->interval,
	    (double)st->bytes / (1 << 20), (double)st->peak / (1 << 20),
	    (unsigned long long)o->snap_budget_mib, t > 0 ? 100.0 * rev->snap_seconds / t : 0.0);
}

static void say_exception_name(const struct exc *e, char *err, size_t n)
{
	err[0] = 0;
	if (e->has_error)
		snprintf(err, n, msg(lang, MSG_ERROR_CODE), e->error);
}

/* The last VM entry that failed, and why: the check's name, section and
 * the sentence from the check table (vmx/entry.c), for a student whose
 * hypervisor never got its guest running. */
static void say_failed_entry(const struct cpu *c)
{
	char why[512];
	const struct entry_check *k = c->vmx.failed.check;
	unsigned err = c->vmx.failed.error;
	const char *sentence = k ? (lang == LANG_PT_BR ? k->why_pt : k->why) : NULL;
	if (k && err)
		snprintf(why, sizeof why, msg(lang, MSG_VMX_FAIL_CHECK), "VMfailValid", err,
			 k->name, k->sdm, sentence);
	else if (k)
		snprintf(why, sizeof why, msg(lang, MSG_VMX_FAIL_GUEST), k->name, k->sdm, sentence);
	else if (c->vmx.failed.reason)
		snprintf(why, sizeof why, "%s", msg(lang, MSG_VMX_FAIL_MSR));
	else if (err)
		snprintf(why, sizeof why, msg(lang, MSG_VMX_FAIL_ERROR), err, vmx_error_text(err));
	else
		snprintf(why, sizeof why, "%s", msg(lang, MSG_VMX_FAIL_INVALID));
	say(VMX_FAILED_ENTRIES, (unsigned long long)c->vmx.failed.count,
	    (unsigned long long)c->vmx.failed.rip, why);
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	if (parse_run(argc, argv, &o) < 0)
		return EXIT_USAGE;

	size_t len;
	uint8_t *img = read_file(o.image, &len);
	if (!img)
		return EXIT_BAD_IMAGE;
	if (len == 0) {
		say(EMPTY_IMAGE, o.image);
		free(img);
		return EXIT_BAD_IMAGE;
	}
	struct cpu *c = emu_new(o.mem_mib << 20);
	if (!c) {
		say(NO_MEMORY, (unsigned long long)o.mem_mib);
		free(img);
		return EXIT_BAD_IMAGE;
	}
	int status = EXIT_BAD_IMAGE;
	struct reverse *rev = NULL;
	struct gdbstub *gdb = NULL;
	struct module mods[MAX_MODULES] = { 0 };
	uint8_t *modbufs[MAX_MODULES] = { 0 };
	if (!pc_attach(c, stdout, o.append)) {
		say(NO_DEVICES);
		goto out;
	}
	if (o.bits) {
		if (load_flat(c, &o, img, len) < 0)
			goto out;
	} else {
		if (read_modules(&o, mods, modbufs) < 0)
			goto out;
		struct load_opts lo = { o.image, o.append, mods, o.nmodules };
		struct load_result r = load_image(c, img, len, &lo);
		if (r.err) {
			say_load_error(&o, &r);
			goto out;
		}
	}

	struct snapfile_id id = { NESTLAB_VERSION, config_hash(&o, img, len, mods) };
	if (o.restore) {
		if (!say_snapfile_error(snapfile_read(c, o.restore, &id), o.restore))
			goto out;
		say(SNAP_RESTORED, o.restore, (unsigned long long)c->icount);
	}

	/* Serial input: the --input file, or standard input when it is not a
	 * terminal. It is all queued before the run starts, so the same input
	 * gives the same run whatever the timing of the host. A snapshot
	 * carries what was left of its run's input. */
	if (!o.restore && (o.input || (!isatty(0) && o.gdb_port < 0))) {
		size_t n;
		uint8_t *in = read_file(o.input ? o.input : "/dev/stdin", &n);
		if (!in)
			goto out;
		uart_input(c->uart, in, n);
		free(in);
	}

	struct trace *tr = NULL;
	if (o.trace) {
		tr = trace_open(c, o.trace, o.image, o.trace_walks);
		if (!tr) {
			say(CANNOT_WRITE, o.trace, strerror(errno));
			goto out;
		}
	}

	/* Run in slices so that --timeout is checked now and then; virtual
	 * time does not depend on the slicing. The budget also bounds virtual
	 * time (instructions plus halted time, in ns), so a guest that only
	 * waits for timers ends too. */
	double t0 = now(), t = 0;
	enum emu_stop stop = EMU_STOP_BUDGET;
	bool timed_out = false;
	c->vtime_limit = o.max_insns;
	if (o.snap_every) {
		rev = rev_new(c, o.snap_every, o.snap_budget_mib << 20);
		if (!rev) {
			say(GDB_NO_MEMORY);
			goto out;
		}
	}
	if (o.gdb_port >= 0) {
		unsigned bound;
		gdb = gdb_listen((unsigned)o.gdb_port, &bound);
		if (!gdb) {
			say(GDB_CANNOT_LISTEN, (unsigned)o.gdb_port, strerror(errno));
			status = EXIT_USAGE;
			goto out;
		}
		say(GDB_LISTENING, bound, bound);
		bool detached;
		stop = gdb_serve(gdb, rev, o.max_insns, &detached);
		if (detached && stop == EMU_STOP_BUDGET && c->icount < o.max_insns)
			stop = run_loop(c, &o, rev, &id, &timed_out);
	} else {
		stop = run_loop(c, &o, rev, &id, &timed_out);
	}
	t = now() - t0;
	fflush(stdout);

	char end[128], err[48];
	switch (stop) {
	case EMU_STOP_EXIT:
		status = (int)(c->exit_code & 0xff);
		snprintf(end, sizeof end, msg(lang, MSG_END_EXIT), (unsigned)status);
		break;
	case EMU_STOP_HLT:
		status = EXIT_HALTED;
		snprintf(end, sizeof end, "%s", msg(lang, MSG_END_HALT));
		break;
	case EMU_STOP_EXCEPTION:
		say_exception_name(&c->exc, err, sizeof err);
		say(STOP_EXCEPTION, vector_name(c->exc.vector), c->exc.vector, err,
		    (unsigned long long)c->exc.rip, mode_name(c));
		status = EXIT_GUEST_EXCEPTION;
		snprintf(end, sizeof end, "%s", msg(lang, MSG_END_EXCEPTION));
		break;
	case EMU_STOP_TRIPLE:
		if (c->vmx.abort) {
			enum msg_id why = c->vmx.abort == 1 ? MSG_VMX_ABORT_1 :
					  c->vmx.abort == 2 ? MSG_VMX_ABORT_2 : MSG_VMX_ABORT_4;
			say(STOP_VMX_ABORT, c->vmx.abort,
			    (unsigned long long)c->vmx.field[VMCS_GUEST_RIP], msg(lang, why));
			status = EXIT_TRIPLE;
			snprintf(end, sizeof end, "%s", msg(lang, MSG_END_TRIPLE));
			break;
		}
		say_exception_name(&c->exc, err, sizeof err);
		say(STOP_TRIPLE, (unsigned long long)c->exc.rip, mode_name(c),
		    vector_name(c->exc.vector), c->exc.vector, err,
		    vector_name(c->first_exc.vector), (unsigned long long)c->first_exc.rip);
		status = EXIT_TRIPLE;
		snprintf(end, sizeof end, "%s", msg(lang, MSG_END_TRIPLE));
		break;
	case EMU_STOP_INIT:
		say(STOP_INIT, (unsigned long long)c->rip, mode_name(c));
		status = EXIT_INIT;
		snprintf(end, sizeof end, "%s", msg(lang, MSG_END_INIT));
		break;
	default:
		if (timed_out)
			say(STOP_TIMEOUT, t, (unsigned long long)c->icount,
			    (unsigned long long)c->rip, mode_name(c));
		else if (c->vtime_out)
			say(STOP_VTIME, (double)emu_now(c) / 1e9, (unsigned long long)c->icount,
			    (unsigned long long)c->rip, mode_name(c));
		else
			say(STOP_BUDGET, (unsigned long long)c->icount,
			    (unsigned long long)c->rip, mode_name(c));
		if (c->last_delivered.vector == 0xff) {
			say(NO_EXCEPTION);
		} else {
			say_exception_name(&c->last_delivered, err, sizeof err);
			say(LAST_EXCEPTION, vector_name(c->last_delivered.vector),
			    c->last_delivered.vector, err, (unsigned long long)c->last_delivered.rip,
			    (unsigned long long)(c->icount - c->last_delivered_icount));
		}
		status = EXIT_BUDGET;
		snprintf(end, sizeof end, "%s", msg(lang, MSG_END_BUDGET));
		break;
	}
	if (c->wait_sipi)
		say(WAIT_SIPI);
	if (c->vmx.failed.count && (o.stats || stop != EMU_STOP_EXIT))
		say_failed_entry(c);
	if (o.stats) {
		say(STATS, (unsigned long long)c->icount, t,
		    t > 0 ? (double)c->icount / t / 1e6 : 0.0, end);
		if (rev)
			say_snap_stats(rev, &o, t);
		if (c->vmx.entries) {
			say(STATS_VMX, (unsigned long long)c->vmx.entries,
			    (unsigned long long)c->vmx.exits);
			for (unsigned r = 0; r < VMX_EXIT_REASONS; r++)
				if (c->vmx.exits_by_reason[r])
					say(STATS_VMX_REASON,
					    (unsigned long long)c->vmx.exits_by_reason[r], r,
					    vmx_exit_reason_name(r));
		}
	}
	static const char *const reasons[] = {
		[EMU_STOP_BUDGET] = "budget", [EMU_STOP_HLT] = "halt",
		[EMU_STOP_EXCEPTION] = "exception", [EMU_STOP_EXIT] = "exit",
		[EMU_STOP_TRIPLE] = "triple-fault", [EMU_STOP_INIT] = "init",
		[EMU_STOP_DEBUG] = "debug",
	};
	trace_close(tr, timed_out ? "timeout" : reasons[stop], (unsigned)status);
out:
	gdb_close(gdb);
	rev_free(rev);
	for (int k = 0; k < MAX_MODULES; k++)
		free(modbufs[k]);
	free(img);
	pc_detach(c);
	emu_free(c);
	return status;
}

int main(int argc, char **argv)
{
	lang = msg_lang_from_env();
	/* A --lang anywhere applies to every message, usage errors included. */
	for (int k = 1; k + 1 < argc; k++)
		if (!strcmp(argv[k], "--lang") && msg_lang_parse(argv[k + 1]) >= 0)
			lang = (enum lang)msg_lang_parse(argv[k + 1]);

	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		fputs(msg(lang, MSG_USAGE), argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("nestlab %s\n", NESTLAB_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 2, argv + 2);
	say(UNKNOWN_COMMAND, argv[1]);
	return EXIT_USAGE;
}
