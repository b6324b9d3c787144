/* One run of an image, start to end, on either backend: read it, build
 * the machine (devices, loader, serial input), run it, say how it ended.
 * `nestlab run` is one of these; `nestlab compare` is two. */
#ifndef EMU_SESSION_H
#define EMU_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "emu/backend.h"
#include "emu/loader.h"
#include "emu/msg.h"

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
	EXIT_KVM = 14,
	EXIT_NO_DISPLAY = 16,    /* nestlab gui: no display, no font */
	EXIT_REPLAY_DIFFERS = 18, /* nestlab replay: it did not end as recorded */
	EXIT_GDB_ENDED = 20,     /* --gdb: gdb killed the run, or went away */
};

#define NESTLAB_VERSION "0.1.0"

#define MAX_MODULES 16

struct run_opts {
	enum lang lang;
	enum backend_kind backend;
	const char *image;
	const char *append;
	const char *modules[MAX_MODULES];
	int nmodules;
	int bits;                /* 0: not a flat binary */
	uint64_t load, entry;
	bool have_load, have_entry;
	uint64_t mem_mib;
	uint64_t max_insns;
	bool have_max_insns;
	double timeout;          /* host seconds, 0: none */
	const char *trace;       /* JSON Lines trace file */
	const char *input;       /* bytes for the serial port to receive, or NULL */
	bool trace_walks;        /* ... with every page walk */
	bool stats;
	bool quiet;              /* no messages about how the run ended (compare) */
	/* The interpreter's snapshots and debugger (emu/session_debug.c): */
	const char *save_file;   /* --save-at N FILE */
	uint64_t save_at;
	const char *restore;     /* --restore FILE */
	uint64_t snap_every;     /* in-memory snapshots (reverse execution), 0: none */
	uint64_t snap_budget_mib;
	int gdb_port;            /* -1: no gdb stub */
	const char *record;      /* --record FILE: what a replay needs (emu/record.h) */
	/* A replay's files are copies: the names the guest sees on its
	 * command line are the recorded ones. NULL: the path itself. */
	const char *image_as;
	const char *modules_as[MAX_MODULES];
	bool json;               /* compare: the table as JSON */
};

/* How a run went. */
struct run_outcome {
	int status;              /* the exit status nestlab run gives */
	bool ran;                /* the guest ran (else status says why not) */
	char end[160];           /* how it ended, in words */
	bool timed_out;          /* --timeout (host time) ended it */
	struct backend_stats stats;
	uint64_t vmx_exits;      /* VM exits the VT-x model made (interpreter) */
};

/* The KVM device: NESTLAB_KVM_DEVICE, else /dev/kvm. */
const char *session_kvm_device(void);

/* Read a whole file; NULL (with the message said) on failure. */
uint8_t *session_read_file(const char *path, size_t *len, enum lang lang);

/* The machine for one run: read, loaded, devices attached, input queued. */
struct session_machine {
	struct cpu *c;
	uint8_t *img;
	size_t len;
	uint8_t *modbufs[MAX_MODULES];
	struct module mods[MAX_MODULES];
	uint8_t *input;          /* the serial input queued, for --record */
	size_t input_len;
};

/* Build it without running it (the debugger window runs it itself):
 * 0, or the exit status with the reason said. Free it even on failure. */
int session_machine_build(const struct run_opts *o, FILE *serial, struct session_machine *m);
void session_machine_free(struct session_machine *m);

/* Run o->image on o->backend, serial output (COM1 and 0xE9) to serial. */
void session_run(const struct run_opts *o, FILE *serial, struct run_outcome *out);

#endif
