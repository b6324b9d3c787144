/* One run of an image on either backend (emu/session.h): the machine is
 * built the same way for both (the devices that stay in user space, the
 * loader, the serial input), so the same image gives the same output. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu/bus.h"
#include "emu/cpu.h"
#include "emu/devices.h"
#include "emu/loader.h"
#include "emu/pc.h"
#include "emu/session.h"
#include "emu/record.h"
#include "emu/session_debug.h"
#include "emu/trace.h"
#include "emu/vtime.h"
#include "vmx/entry.h"

#define say(lang, id, ...) fprintf(stderr, msg(lang, MSG_##id), ##__VA_ARGS__)

const char *session_kvm_device(void)
{
	const char *d = getenv("NESTLAB_KVM_DEVICE");
	return d && *d ? d : "/dev/kvm";
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
uint8_t *session_read_file(const char *path, size_t *len, enum lang lang)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		say(lang, CANNOT_READ, path, strerror(errno));
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
		say(lang, CANNOT_READ, path, buf ? strerror(errno) : strerror(ENOMEM));
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Load a flat binary into the fixture state --bits asks for. */
static int load_flat(struct cpu *c, const struct run_opts *o, const uint8_t *img, size_t len)
{
	uint64_t ram = o->mem_mib << 20;
	if (o->load > ram || len > ram - o->load) {
		say(o->lang, IMAGE_TOO_BIG, o->image, (unsigned long long)len,
		    (unsigned long long)o->load, (unsigned long long)o->mem_mib);
		return -1;
	}
	if (o->entry >= ram) {
		say(o->lang, ENTRY_OUTSIDE, (unsigned long long)o->entry);
		return -1;
	}
	if (o->bits == 16 && (o->entry > 0xffff || o->load + len > 0x10000)) {
		say(o->lang, ENTRY_16BIT);
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
	case LOAD_NOT_BOOTABLE:  say(o->lang, LOAD_NOT_BOOTABLE, o->image); break;
	case LOAD_BAD_HEADER:    say(o->lang, LOAD_BAD_HEADER, o->image, a, b); break;
	case LOAD_BAD_ELF:       say(o->lang, LOAD_BAD_ELF, o->image, a); break;
	case LOAD_TRUNCATED:     say(o->lang, LOAD_TRUNCATED, o->image, a, b); break;
	case LOAD_OVERLAP:       say(o->lang, LOAD_OVERLAP, o->image, a, b); break;
	case LOAD_NO_FIT:        say(o->lang, LOAD_NO_FIT, o->image, a, b); break;
	case LOAD_MODULE_NO_FIT: say(o->lang, LOAD_MODULE_NO_FIT, o->image, a); break;
	default:                 say(o->lang, LOAD_UNSUPPORTED, o->image, a); break;
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
		bufs[k] = session_read_file(path, &len, o->lang);
		if (!bufs[k])
			return -1;
		m[k] = (struct module){ o->modules_as[k] ? o->modules_as[k] : o->modules[k],
					bufs[k], len };
	}
	return 0;
}

static void say_exception_name(enum lang lang, const struct exc *e, char *err, size_t n)
{
	err[0] = 0;
	if (e->has_error)
		snprintf(err, n, msg(lang, MSG_ERROR_CODE), e->error);
}

/* The last VM entry that failed, and why: the check's name, section and
 * the sentence from the check table (vmx/entry.c), for a student whose
 * hypervisor never got its guest running. */
static void say_failed_entry(enum lang lang, const struct cpu *c)
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
	say(lang, VMX_FAILED_ENTRIES, (unsigned long long)c->vmx.failed.count,
	    (unsigned long long)c->vmx.failed.rip, why);
}

void session_machine_free(struct session_machine *m)
{
	for (int k = 0; k < MAX_MODULES; k++)
		free(m->modbufs[k]);
	free(m->img);
	free(m->input);
	if (m->c)
		pc_detach(m->c);
	emu_free(m->c);
}

/* The devices: all of them for the interpreter; on KVM only those that
 * stay in user space (emu/kvm.c says which live in the kernel). */
int session_machine_build(const struct run_opts *o, FILE *serial, struct session_machine *m)
{
	m->img = session_read_file(o->image, &m->len, o->lang);
	if (!m->img)
		return EXIT_BAD_IMAGE;
	if (m->len == 0) {
		say(o->lang, EMPTY_IMAGE, o->image);
		return EXIT_BAD_IMAGE;
	}
	m->c = emu_new(o->mem_mib << 20);
	if (!m->c) {
		say(o->lang, NO_MEMORY, (unsigned long long)o->mem_mib);
		return EXIT_BAD_IMAGE;
	}
	struct cpu *c = m->c;
	c->bus->console = serial;
	bool ok = o->backend == BACKEND_KVM ? pc_attach_outside(c, serial, o->append)
					    : pc_attach(c, serial, o->append);
	if (!ok) {
		say(o->lang, NO_DEVICES);
		return EXIT_BAD_IMAGE;
	}
	if (o->bits) {
		if (load_flat(c, o, m->img, m->len) < 0)
			return EXIT_BAD_IMAGE;
	} else {
		if (read_modules(o, m->mods, m->modbufs) < 0)
			return EXIT_BAD_IMAGE;
		struct load_opts lo = { o->image_as ? o->image_as : o->image, o->append, m->mods,
					o->nmodules };
		struct load_result r = load_image(c, m->img, m->len, &lo);
		if (r.err) {
			say_load_error(o, &r);
			return EXIT_BAD_IMAGE;
		}
	}
	/* Serial input: the --input file, or standard input when it is not a
	 * terminal (nor gdb's session). It is all queued before the run
	 * starts, so the same input gives the same run whatever the timing of
	 * the host. A restored snapshot carries what was left of its input. */
	if (!o->restore && (o->input || (!isatty(0) && o->gdb_port < 0))) {
		m->input = session_read_file(o->input ? o->input : "/dev/stdin", &m->input_len,
					     o->lang);
		if (!m->input)
			return EXIT_BAD_IMAGE;
		uart_input(c->uart, m->input, m->input_len);
	}
	return 0;
}

static struct backend *make_backend(const struct run_opts *o, struct session_machine *m)
{
	if (o->backend == BACKEND_INTERP) {
		struct backend *b = backend_interp_new(m->c, o->lang);
		if (!b)
			say(o->lang, NO_MEMORY, 0ull);
		return b;
	}
	struct kvm_config cfg = {
		.device = session_kvm_device(),
		.needs_vmx = !o->bits && loader_needs_vmx(m->img, m->len),
	};
	char why[512];
	struct backend *b = backend_kvm_new(m->c, o->lang, &cfg, why, sizeof why);
	if (!b)
		say(o->lang, KVM_ERROR, why);
	return b;
}

/* The interpreter's own words for a stop that has no b->why. */
static void say_interp_stop(const struct run_opts *o, const struct backend *b, enum emu_stop stop)
{
	const struct cpu *c = b->cpu;
	enum lang lang = o->lang;
	char err[48];
	switch (stop) {
	case EMU_STOP_EXCEPTION:
		say_exception_name(lang, &c->exc, err, sizeof err);
		say(lang, STOP_EXCEPTION, vector_name(c->exc.vector), c->exc.vector, err,
		    (unsigned long long)c->exc.rip, backend_mode_name(c, lang));
		break;
	case EMU_STOP_TRIPLE:
		if (c->vmx.abort) {
			enum msg_id why = c->vmx.abort == 1 ? MSG_VMX_ABORT_1 :
					  c->vmx.abort == 2 ? MSG_VMX_ABORT_2 : MSG_VMX_ABORT_4;
			say(lang, STOP_VMX_ABORT, c->vmx.abort,
			    (unsigned long long)c->vmx.field[VMCS_GUEST_RIP], msg(lang, why));
			break;
		}
		say_exception_name(lang, &c->exc, err, sizeof err);
		say(lang, STOP_TRIPLE, (unsigned long long)c->exc.rip, backend_mode_name(c, lang),
		    vector_name(c->exc.vector), c->exc.vector, err,
		    vector_name(c->first_exc.vector), (unsigned long long)c->first_exc.rip);
		break;
	case EMU_STOP_INIT:
		say(lang, STOP_INIT, (unsigned long long)c->rip, backend_mode_name(c, lang));
		break;
	case EMU_STOP_DEBUG:
		say(lang, STOP_GDB, (unsigned long long)c->icount, (unsigned long long)c->rip,
		    backend_mode_name(c, lang));
		break;
	case EMU_STOP_BUDGET:
		if (b->timed_out)
			say(lang, STOP_TIMEOUT, b->stats.seconds, (unsigned long long)c->icount,
			    (unsigned long long)c->rip, backend_mode_name(c, lang));
		else if (c->vtime_out)
			say(lang, STOP_VTIME, (double)emu_now((struct cpu *)c) / 1e9,
			    (unsigned long long)c->icount, (unsigned long long)c->rip,
			    backend_mode_name(c, lang));
		else
			say(lang, STOP_BUDGET, (unsigned long long)c->icount,
			    (unsigned long long)c->rip, backend_mode_name(c, lang));
		if (c->last_delivered.vector == 0xff) {
			say(lang, NO_EXCEPTION);
		} else {
			say_exception_name(lang, &c->last_delivered, err, sizeof err);
			say(lang, LAST_EXCEPTION, vector_name(c->last_delivered.vector),
			    c->last_delivered.vector, err, (unsigned long long)c->last_delivered.rip,
			    (unsigned long long)(c->icount - c->last_delivered_icount));
		}
		break;
	default:
		break;
	}
}

/* The exit status and the words for how the run ended. */
static int outcome(const struct run_opts *o, const struct backend *b, enum emu_stop stop,
		   struct run_outcome *out)
{
	enum lang lang = o->lang;
	int status;
	enum msg_id end;
	switch (stop) {
	case EMU_STOP_EXIT:
		status = (int)(b->cpu->exit_code & 0xff);
		snprintf(out->end, sizeof out->end, msg(lang, MSG_END_EXIT), (unsigned)status);
		return status;
	case EMU_STOP_HLT:       status = EXIT_HALTED; end = MSG_END_HALT; break;
	case EMU_STOP_EXCEPTION: status = EXIT_GUEST_EXCEPTION; end = MSG_END_EXCEPTION; break;
	case EMU_STOP_TRIPLE:    status = EXIT_TRIPLE; end = MSG_END_TRIPLE; break;
	case EMU_STOP_INIT:      status = EXIT_INIT; end = MSG_END_INIT; break;
	case EMU_STOP_BACKEND:   status = EXIT_KVM; end = MSG_END_BACKEND; break;
	case EMU_STOP_DEBUG:     status = EXIT_GDB_ENDED; end = MSG_END_GDB; break;
	default:
		status = EXIT_BUDGET;
		end = b->timed_out ? MSG_END_TIMEOUT : MSG_END_BUDGET;
		break;
	}
	snprintf(out->end, sizeof out->end, "%s", msg(lang, end));
	return status;
}

static void say_counts(enum lang lang, const struct stat_count *s, int n)
{
	for (int k = 0; k < n; k++)
		say(lang, STATS_COUNT, (unsigned long long)s[k].n, s[k].name);
}

/* --stats: the interpreter's instructions and VM exits, or KVM's exits. */
static void say_stats(const struct run_opts *o, const struct backend *b, const char *end)
{
	const struct cpu *c = b->cpu;
	const struct backend_stats *s = &b->stats;
	enum lang lang = o->lang;
	if (o->backend == BACKEND_KVM) {
		say(lang, STATS_KVM, s->seconds, (unsigned long long)s->user_total, end);
		say_counts(lang, s->user, s->nuser);
		if (s->has_kernel) {
			say(lang, STATS_KERNEL);
			say_counts(lang, s->kernel, s->nkernel);
		} else {
			say(lang, STATS_NOTE, s->kernel_why);
		}
		return;
	}
	double t = s->seconds;
	say(lang, STATS, (unsigned long long)c->icount, t,
	    t > 0 ? (double)c->icount / t / 1e6 : 0.0, end);
	if (c->vmx.entries) {
		say(lang, STATS_VMX, (unsigned long long)c->vmx.entries,
		    (unsigned long long)c->vmx.exits);
		for (unsigned r = 0; r < VMX_EXIT_REASONS; r++)
			if (c->vmx.exits_by_reason[r])
				say(lang, STATS_VMX_REASON, (unsigned long long)c->vmx.exits_by_reason[r],
				    r, vmx_exit_reason_name(r));
	}
}

void session_run(const struct run_opts *o, FILE *serial, struct run_outcome *out)
{
	*out = (struct run_outcome){ .status = EXIT_BAD_IMAGE };
	struct session_machine m = { 0 };
	struct backend *b = NULL;
	struct trace *tr = NULL;
	struct session_debug *dbg = NULL;
	out->status = session_machine_build(o, serial, &m);
	if (out->status)
		goto done;
	out->status = EXIT_KVM;
	b = make_backend(o, &m);
	if (!b)
		goto done;
	if (o->backend == BACKEND_INTERP && session_debugging(o)) {
		dbg = session_debug_new(o, m.c, m.img, m.len, m.mods, &out->status);
		if (!dbg)
			goto done;
	}
	if (o->trace) {
		tr = trace_open(m.c, o->trace, o->image_as ? o->image_as : o->image, o->trace_walks);
		if (!tr) {
			say(o->lang, CANNOT_WRITE, o->trace, strerror(errno));
			out->status = EXIT_BAD_IMAGE;
			goto done;
		}
	}
	struct run_limits l = { .max_insns = o->max_insns, .timeout = o->timeout };
	enum emu_stop stop = dbg ? session_debug_run(dbg, b, &l) : backend_run(b, &l);
	fflush(serial);
	out->ran = true;
	out->status = outcome(o, b, stop, out);
	out->stats = b->stats;
	out->vmx_exits = m.c->vmx.exits;
	out->timed_out = b->timed_out;
	if (!o->quiet) {
		if (b->why[0])
			fputs(b->why, stderr);
		else
			say_interp_stop(o, b, stop);
		if (m.c->wait_sipi)
			say(o->lang, WAIT_SIPI);
		if (m.c->vmx.failed.count && (o->stats || stop != EMU_STOP_EXIT))
			say_failed_entry(o->lang, m.c);
		if (o->stats)
			say_stats(o, b, out->end);
		if (o->stats && dbg)
			session_debug_stats(dbg, o, b->stats.seconds);
	}
	static const char *const reasons[] = {
		[EMU_STOP_BUDGET] = "budget", [EMU_STOP_HLT] = "halt",
		[EMU_STOP_EXCEPTION] = "exception", [EMU_STOP_EXIT] = "exit",
		[EMU_STOP_TRIPLE] = "triple-fault", [EMU_STOP_INIT] = "init",
		[EMU_STOP_BACKEND] = "backend", [EMU_STOP_DEBUG] = "debug",
	};
	trace_close(tr, b->timed_out ? "timeout" : reasons[stop], (unsigned)out->status);
	if (o->record) {
		struct record_inputs in = { m.img, m.len, m.mods, m.input, m.input_len };
		if (!record_write(o->record, o, &in, out))
			out->status = EXIT_BAD_IMAGE;
	}
done:
	session_debug_free(dbg);
	backend_free(b);
	session_machine_free(&m);
}
