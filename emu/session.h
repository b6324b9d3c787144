/* One run of an image, start to end, on either backend: read it, build
 * the machine (devices, loader, serial input), run it, say how it ended.
 * `nestlab run` is one of these; `nestlab compare` is two. */
#ifndef EMU_SESSION_H
#define EMU_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "emu/backend.h"
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
	EXIT_REPLAY_DIFFERS = 16,
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

/* Run o->image on o->backend, serial output (COM1 and 0xE9) to serial. */
void session_run(const struct run_opts *o, FILE *serial, struct run_outcome *out);

#endif
