/* One differential case: generate, load both machines, step, compare. */
#ifndef TESTS_DIFF_RUN_H
#define TESTS_DIFF_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/diff/diff.h"
#include "tests/diff/machine.h"

struct ctx {
	struct machine *ref[4];  /* the oracle, by mode (SZ16..SZ64) */
	struct machine *dut[4];  /* the machine under test, by mode */
	uint64_t seed;
	bool verbose;
	bool self;               /* the machine under test is a second oracle */
	int reports_left;        /* full failure reports still to print */
	/* coverage counters, for --stats */
	uint64_t steps;          /* instructions compared */
	uint64_t exc[258];       /* sequences ended by each exception (and HLT, errors) */
	uint64_t left;           /* sequences ended by a branch leaving them */
};

/* Run case case_no of family fam (number fidx) in mode; true if it passed. */
bool run_case(struct ctx *x, int fidx, const struct family *fam, int mode, uint32_t case_no);

#endif
