/* build/tests/diff: nestlab against Unicorn on random instruction
 * sequences, family by family, in real, 32-bit and 64-bit mode.
 *
 *   diff [--cases N] [--seed S] [--family NAME] [--mode 16|32|64]
 *        [--case K] [--first K] [--verbose] [--reports N] [--stats] [--self]
 *
 * --cases N runs N cases per family and mode (default 3000); the seed
 * defaults to 1 so that CI runs are reproducible. Every case draws from its
 * own PRNG stream, derived from the seed, the family, the mode and the case
 * number, so a failing case reruns alone with --family, --mode, --seed and
 * --case (a failure report prints that command line); --first K starts a
 * run at case K. --reports N bounds the full failure reports (default 20);
 * --stats prints how many instructions were compared and how sequences
 * ended. One line per family "NAME: N cases, F failed", then "N passed, F
 * failed" last; the exit status is 1 if anything failed. --self runs
 * Unicorn against a second Unicorn: that must pass, or the harness itself
 * is at fault. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/diff/run.h"

static const struct family *const families[] = {
	&fam_alu, &fam_mov, &fam_muldiv, &fam_shift, &fam_bit,
	&fam_stack, &fam_branch, &fam_string, &fam_flagops, &fam_bcd, &fam_mix,
};
#define NFAM ((int)(sizeof families / sizeof families[0]))

static void usage(void)
{
	fprintf(stderr, "usage: diff [--cases N] [--seed S] [--family NAME] [--mode 16|32|64]\n"
			"            [--case K] [--first K] [--verbose] [--reports N] [--stats] [--self]\nfamilies:");
	for (int f = 0; f < NFAM; f++)
		fprintf(stderr, " %s", families[f]->name);
	fprintf(stderr, "\n");
	exit(2);
}

static const char *arg(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		usage();
	return argv[++*i];
}

int main(int argc, char **argv)
{
	struct ctx x = { .seed = 1, .reports_left = 20 };
	long cases = 3000, only_case = -1, first = 0;
	const char *only_fam = NULL;
	int only_mode = -1;
	bool stats = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--cases"))
			cases = strtol(arg(argc, argv, &i), NULL, 0);
		else if (!strcmp(a, "--seed"))
			x.seed = strtoull(arg(argc, argv, &i), NULL, 0);
		else if (!strcmp(a, "--family"))
			only_fam = arg(argc, argv, &i);
		else if (!strcmp(a, "--first"))
			first = strtol(arg(argc, argv, &i), NULL, 0);
		else if (!strcmp(a, "--case"))
			only_case = strtol(arg(argc, argv, &i), NULL, 0);
		else if (!strcmp(a, "--reports"))
			x.reports_left = (int)strtol(arg(argc, argv, &i), NULL, 0);
		else if (!strcmp(a, "--verbose"))
			x.verbose = true;
		else if (!strcmp(a, "--stats"))
			stats = true;
		else if (!strcmp(a, "--self"))
			x.self = true;
		else if (!strcmp(a, "--mode")) {
			int m = (int)strtol(arg(argc, argv, &i), NULL, 0);
			only_mode = m == 16 ? SZ16 : m == 32 ? SZ32 : m == 64 ? SZ64 : -2;
			if (only_mode < 0)
				usage();
		} else {
			usage();
		}
	}
	if (only_fam) {
		bool found = false;
		for (int f = 0; f < NFAM; f++)
			found |= !strcmp(families[f]->name, only_fam);
		if (!found)
			usage();
	}

	for (int m = SZ16; m <= SZ64; m++) {
		if (only_mode >= 0 && m != only_mode)
			continue;
		x.ref[m] = oracle_new(m);
		x.dut[m] = x.self ? oracle_new(m) : nestlab_new(m);
		if (!x.ref[m] || !x.dut[m])
			return 2;
	}

	long passed = 0, failed = 0;
	for (int f = 0; f < NFAM; f++) {
		const struct family *fam = families[f];
		if (only_fam && strcmp(fam->name, only_fam))
			continue;
		long fc = 0, ff = 0;
		for (int m = SZ16; m <= SZ64; m++) {
			if (only_mode >= 0 && m != only_mode)
				continue;
			long lo = only_case >= 0 ? only_case : first;
			long hi = only_case >= 0 ? only_case + 1 : cases;
			for (long c = lo; c < hi; c++) {
				fc++;
				if (!run_case(&x, f, fam, m, (uint32_t)c))
					ff++;
			}
		}
		printf("%s: %ld cases, %ld failed\n", fam->name, fc, ff);
		if (stats) {
			printf("  %" PRIu64 " instructions compared; sequences ended by:", x.steps);
			for (int v = 0; v < 258; v++)
				if (x.exc[v])
					printf(" vector %d: %" PRIu64 ";", v, x.exc[v]);
			printf(" leaving branch: %" PRIu64 "\n", x.left);
			x.steps = x.left = 0;
			memset(x.exc, 0, sizeof x.exc);
		}
		fflush(stdout);
		passed += fc - ff;
		failed += ff;
	}
	for (int m = SZ16; m <= SZ64; m++) {
		if (x.ref[m])
			x.ref[m]->free(x.ref[m]);
		if (x.dut[m])
			x.dut[m]->free(x.dut[m]);
	}
	printf("%ld passed, %ld failed\n", passed, failed);
	return failed ? 1 : 0;
}
