/* nestlab: the command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu/cpu.h"
#include "emu/msg.h"

#define NESTLAB_VERSION "0.1.0"

/* Exit statuses; even numbers, so they never collide with isa-debug-exit's
 * odd (v << 1) | 1. docs/cli.md lists them. */
enum {
	EXIT_HALTED = 0,
	EXIT_USAGE = 2,
	EXIT_BAD_IMAGE = 4,
	EXIT_GUEST_EXCEPTION = 6,
	EXIT_BUDGET = 8,
};

static enum lang lang;

#define say(id, ...) fprintf(stderr, msg(lang, MSG_##id), ##__VA_ARGS__)

struct run_opts {
	const char *image;
	int bits;
	uint64_t load, entry;
	bool have_entry;
	uint64_t mem_mib;
	uint64_t max_insns;
	bool stats;
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
	switch (c->code_sz) {
	case SZ64: return msg(lang, MSG_MODE_LONG64);
	case SZ32: return msg(lang, MSG_MODE_PROT32);
	default:   return msg(lang, MSG_MODE_PROT16);
	}
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
	*o = (struct run_opts){ .bits = 64, .load = 0x100000, .mem_mib = 64,
				.max_insns = 10000000000ull };
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
		if (a[0] != '-' || !a[1]) {
			if (o->image) {
				say(TWO_IMAGES, o->image, a);
				return -1;
			}
			o->image = a;
			continue;
		}
		static const char *const valued[] = { "--bits", "--load", "--entry", "--mem",
						      "--max-insns", "--lang" };
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
		} else if (!strcmp(a, "--entry")) {
			o->entry = n;
			o->have_entry = true;
		} else if (!strcmp(a, "--mem")) {
			if (n < 1 || n > 65536) {
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
	if (!o->have_entry)
		o->entry = o->load;
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
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
	uint64_t ram = o.mem_mib << 20;
	if (len == 0) {
		say(EMPTY_IMAGE, o.image);
		free(img);
		return EXIT_BAD_IMAGE;
	}
	if (o.load > ram || len > ram - o.load) {
		say(IMAGE_TOO_BIG, o.image, (unsigned long long)len,
		    (unsigned long long)o.load, (unsigned long long)o.mem_mib);
		free(img);
		return EXIT_BAD_IMAGE;
	}
	if (o.entry >= ram) {
		say(ENTRY_OUTSIDE, (unsigned long long)o.entry);
		free(img);
		return EXIT_BAD_IMAGE;
	}
	if (o.bits == 16 && (o.entry > 0xffff || o.load + len > 0x10000)) {
		say(ENTRY_16BIT);
		free(img);
		return EXIT_BAD_IMAGE;
	}
	struct cpu *c = emu_new(ram);
	if (!c) {
		say(NO_MEMORY, (unsigned long long)o.mem_mib);
		free(img);
		return EXIT_BAD_IMAGE;
	}
	emu_reset_flat(c, o.bits == 16 ? SZ16 : o.bits == 32 ? SZ32 : SZ64);
	emu_phys_write(c, o.load, img, len);
	free(img);
	c->rip = o.entry;

	double t0 = now();
	enum emu_stop stop = emu_run(c, o.max_insns);
	double t = now() - t0;
	fflush(stdout);

	int status;
	char end[128];
	switch (stop) {
	case EMU_STOP_EXIT:
		status = (int)(c->exit_code & 0xff);
		snprintf(end, sizeof end, msg(lang, MSG_END_EXIT), (unsigned)status);
		break;
	case EMU_STOP_HLT:
		status = EXIT_HALTED;
		snprintf(end, sizeof end, "%s", msg(lang, MSG_END_HALT));
		break;
	case EMU_STOP_EXCEPTION: {
		char err[48] = "";
		if (c->exc.has_error)
			snprintf(err, sizeof err, msg(lang, MSG_ERROR_CODE), c->exc.error);
		say(STOP_EXCEPTION, vector_name(c->exc.vector), c->exc.vector, err,
		    (unsigned long long)c->exc.rip, mode_name(c));
		status = EXIT_GUEST_EXCEPTION;
		snprintf(end, sizeof end, "%s", msg(lang, MSG_END_EXCEPTION));
		break;
	}
	default:
		say(STOP_BUDGET, (unsigned long long)c->icount, (unsigned long long)c->rip,
		    mode_name(c));
		status = EXIT_BUDGET;
		snprintf(end, sizeof end, "%s", msg(lang, MSG_END_BUDGET));
		break;
	}
	if (o.stats)
		say(STATS, (unsigned long long)c->icount, t,
		    t > 0 ? (double)c->icount / t / 1e6 : 0.0, end);
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
