/* The interpreter's snapshots, reverse execution and gdb stub for one run
 * (emu/session_debug.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/gdbstub.h"
#include "emu/reverse.h"
#include "emu/session_debug.h"
#include "emu/snapfile.h"
#include "emu/snapstore.h"

#define say(lang, id, ...) fprintf(stderr, msg(lang, MSG_##id), ##__VA_ARGS__)

struct session_debug {
	const struct run_opts *o;  /* outlives the session */
	enum lang lang;
	struct cpu *c;
	struct snapfile_id id;   /* what a --save-at file is made from */
	struct reverse *rev;     /* --snap-every, --gdb */
	struct gdbstub *gdb;
};

bool session_debugging(const struct run_opts *o)
{
	return o->save_file || o->restore || o->snap_every || o->gdb_port >= 0;
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

static bool snapfile_ok(enum lang lang, enum snapfile_err e, const char *path)
{
	switch (e) {
	case SNAPFILE_OK:           return true;
	case SNAPFILE_IO:           say(lang, CANNOT_READ, path, strerror(errno)); break;
	case SNAPFILE_NOT_SNAPSHOT: say(lang, SNAPF_NOT, path); break;
	case SNAPFILE_VERSION:      say(lang, SNAPF_VERSION, path); break;
	case SNAPFILE_OTHER_IMAGE:  say(lang, SNAPF_OTHER, path); break;
	case SNAPFILE_TRUNCATED:    say(lang, SNAPF_TRUNCATED, path); break;
	default:                    say(lang, SNAPF_CORRUPT, path); break;
	}
	return false;
}

struct session_debug *session_debug_new(const struct run_opts *o, struct cpu *c,
					const uint8_t *img, size_t len,
					const struct module *mods, int *status)
{
	struct session_debug *d = calloc(1, sizeof *d);
	*status = EXIT_BAD_IMAGE;
	if (!d) {
		say(o->lang, GDB_NO_MEMORY);
		return NULL;
	}
	d->o = o;
	d->lang = o->lang;
	d->c = c;
	d->id = (struct snapfile_id){ NESTLAB_VERSION, config_hash(o, img, len, mods) };
	if (o->restore) {
		if (!snapfile_ok(o->lang, snapfile_read(c, o->restore, &d->id), o->restore))
			goto fail;
		say(o->lang, SNAP_RESTORED, o->restore, (unsigned long long)c->icount);
	}
	if (o->snap_every) {
		d->rev = rev_new(c, o->snap_every, o->snap_budget_mib << 20);
		if (!d->rev) {
			say(o->lang, GDB_NO_MEMORY);
			goto fail;
		}
	}
	if (o->gdb_port >= 0) {
		unsigned bound;
		d->gdb = gdb_listen((unsigned)o->gdb_port, &bound);
		if (!d->gdb) {
			say(o->lang, GDB_CANNOT_LISTEN, (unsigned)o->gdb_port, strerror(errno));
			*status = EXIT_USAGE;
			goto fail;
		}
		say(o->lang, GDB_LISTENING, bound, bound);
	}
	return d;
fail:
	session_debug_free(d);
	return NULL;
}

static void save_snapshot(struct session_debug *d, const char *path)
{
	if (snapfile_write(d->c, path, &d->id) != SNAPFILE_OK)
		say(d->lang, CANNOT_WRITE, path, strerror(errno));
	else
		say(d->lang, SNAP_SAVED, (unsigned long long)d->c->icount, path);
}

/* Run to the budget, the timeout or the guest's end; with --save-at, stop
 * on the way to write the snapshot; with reverse control, through it. */
static enum emu_stop run_loop(struct session_debug *d, struct backend *b,
			      const struct run_limits *l, double t0)
{
	const struct run_opts *o = d->o;
	struct cpu *c = d->c;
	enum emu_stop stop = EMU_STOP_BUDGET;
	bool save = o->save_file != NULL;
	if (save && o->save_at >= c->icount) {
		stop = backend_interp_slices(b, l, d->rev, o->save_at, t0);
		if (stop == EMU_STOP_BUDGET && c->icount == o->save_at) {
			save = false;
			save_snapshot(d, o->save_file);
		}
	}
	if (stop == EMU_STOP_BUDGET && !b->timed_out)
		stop = backend_interp_slices(b, l, d->rev, UINT64_MAX, t0);
	if (save)
		say(d->lang, SNAP_NOT_REACHED, (unsigned long long)c->icount,
		    (unsigned long long)o->save_at);
	return stop;
}

enum emu_stop session_debug_run(struct session_debug *d, struct backend *b,
				const struct run_limits *l)
{
	struct cpu *c = d->c;
	double t0 = backend_now();
	enum emu_stop stop = EMU_STOP_BUDGET;
	c->vtime_limit = l->max_insns; /* as the interpreter backend does */
	b->timed_out = false;
	if (d->gdb) {
		bool detached;
		stop = gdb_serve(d->gdb, d->rev, l->max_insns, &detached);
		/* detached, even at a breakpoint: the guest goes on alone */
		if (detached && (stop == EMU_STOP_BUDGET || stop == EMU_STOP_DEBUG) &&
		    c->icount < l->max_insns)
			stop = run_loop(d, b, l, t0);
	} else {
		stop = run_loop(d, b, l, t0);
	}
	b->stats.seconds = backend_now() - t0;
	b->stats.has_insns = true;
	b->stats.insns = c->icount;
	return stop;
}

void session_debug_stats(const struct session_debug *d, const struct run_opts *o, double seconds)
{
	if (!d->rev)
		return;
	const struct snapstore *st = d->rev->st;
	say(o->lang, STATS_SNAP, (unsigned long long)st->taken, (unsigned long long)d->rev->interval,
	    (double)st->bytes / (1 << 20), (double)st->peak / (1 << 20),
	    (unsigned long long)o->snap_budget_mib,
	    seconds > 0 ? 100.0 * d->rev->snap_seconds / seconds : 0.0);
}

void session_debug_free(struct session_debug *d)
{
	if (!d)
		return;
	gdb_close(d->gdb);
	rev_free(d->rev);
	free(d);
}
