/* The record of a run (--record FILE) and its replay (nestlab replay
 * FILE): everything a run depends on, so that an instructor can run a
 * student's run again, instruction for instruction. The interpreter is
 * deterministic (docs/debugging.md): the same image, modules, options and
 * serial input give the same run; the record holds exactly those, and how
 * the run ended, so that a replay can say whether it ended the same way.
 *
 * The file is JSON (cJSON), readable by a person: the options in plain
 * words, the files and the input in base64. docs/debugging.md describes
 * it. */
#ifndef EMU_RECORD_H
#define EMU_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/loader.h"
#include "emu/session.h"

/* What a run used, besides its options. */
struct record_inputs {
	const uint8_t *image;
	size_t image_len;
	const struct module *modules;   /* o->nmodules of them */
	const uint8_t *input;           /* the serial input queued, or NULL */
	size_t input_len;
};

/* Write the record of a finished run. False (said) when it cannot. */
bool record_write(const char *path, const struct run_opts *o, const struct record_inputs *in,
		  const struct run_outcome *out);

/* A record read back: the run's options, its files put in a directory of
 * their own (removed by replay_free), and how the run ended. */
struct replay {
	struct run_opts o;
	char dir[128];                  /* $TMPDIR/nestlab-replay-XXXXXX */
	char image_path[160];
	char module_paths[MAX_MODULES][160];
	char input_path[160];
	char *owned[MAX_MODULES + 4];   /* the strings the options point to */
	int nowned;
	int status;                     /* the recorded run's exit status */
	uint64_t insns;                 /* ... and instructions */
	char end[160];                  /* ... and how it ended, in words */
};

/* Read FILE; false (said, in lang) when it is not a record nestlab can
 * replay. */
bool replay_load(const char *path, struct replay *r, enum lang lang);
void replay_free(struct replay *r);

/* base64 (RFC 4648), for the files inside a record. Both return a new
 * buffer (NULL: out of memory, or for decode, not base64). */
char *base64_encode(const uint8_t *p, size_t n);
uint8_t *base64_decode(const char *s, size_t *n);

#endif
