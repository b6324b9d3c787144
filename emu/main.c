/* nestlab: the command line. `run` is one session (emu/session.h) on the
 * backend asked for; `compare` is two, the interpreter's and KVM's, side by
 * side (emu/compare.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu/compare.h"
#include "emu/loader.h"
#include "emu/msg.h"
#include "emu/record.h"
#include "emu/session.h"
#include "gui/gui.h"

static enum lang lang;

#define say(id, ...) fprintf(stderr, msg(lang, MSG_##id), ##__VA_ARGS__)

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

static bool is_debug_option(const char *a)
{
	return !strcmp(a, "--save-at") || !strcmp(a, "--restore") || !strcmp(a, "--snap-every") ||
	       !strcmp(a, "--snap-budget") || !strcmp(a, "--gdb");
}

/* Options that one backend cannot honour, said before anything runs. */
static int check_backend(int argc, char **argv, struct run_opts *o, bool compare)
{
	for (int k = 0; k < argc; k++) {
		const char *a = argv[k];
		if (compare && (!strcmp(a, "--backend") || !strcmp(a, "--trace") ||
				!strcmp(a, "--trace-walks") || !strcmp(a, "--stats") ||
				!strcmp(a, "--record") || is_debug_option(a))) {
			say(CMP_OPTION, a);
			return -1;
		}
		if (!compare && o->backend == BACKEND_KVM && is_debug_option(a)) {
			say(DEBUG_NEEDS_INTERP, a);
			return -1;
		}
		if (!compare && o->backend == BACKEND_KVM &&
		    (!strcmp(a, "--trace") || !strcmp(a, "--trace-walks"))) {
			say(KVM_NEEDS_INTERP, a);
			return -1;
		}
	}
	if (!compare && o->backend == BACKEND_KVM && o->have_max_insns) {
		say(KVM_NO_INSNS);
		return -1;
	}
	if (o->record && o->backend == BACKEND_KVM) {
		say(RECORD_NEEDS_INTERP);
		return -1;
	}
	if (o->record && (o->restore || o->gdb_port >= 0)) {
		say(RECORD_NOT_WITH, o->restore ? "--restore" : "--gdb");
		return -1;
	}
	return 0;
}

/* The snapshot and debugger options (docs/debugging.md): --save-at N FILE,
 * --restore FILE, --snap-every N, --snap-budget MIB, --gdb PORT. Returns
 * how many arguments after argv[k] it took, 0 when argv[k] is none of
 * them, -1 after saying what is wrong. */
static int parse_debug_option(int argc, char **argv, int k, struct run_opts *o)
{
	const char *a = argv[k];
	if (!is_debug_option(a))
		return 0;
	int values = !strcmp(a, "--save-at") ? 2 : 1;
	if (k + values >= argc) {
		say(MISSING_VALUE, a);
		return -1;
	}
	const char *val = argv[k + 1];
	if (!strcmp(a, "--restore")) {
		o->restore = val;
		return 1;
	}
	uint64_t n;
	bool ok = parse_u64(val, &n);
	if (!strcmp(a, "--save-at")) {
		o->save_at = n;
		o->save_file = argv[k + 2];
	} else if (!strcmp(a, "--snap-every")) {
		ok = ok && n > 0;
		o->snap_every = n;
	} else if (!strcmp(a, "--snap-budget")) {
		ok = ok && n > 0 && n <= (1u << 20);
		o->snap_budget_mib = n;
	} else {
		ok = ok && n <= 65535;
		o->gdb_port = (int)n;
	}
	if (!ok) {
		say(BAD_NUMBER, val, a);
		return -1;
	}
	return values;
}

static int parse_run(int argc, char **argv, struct run_opts *o, bool compare)
{
	*o = (struct run_opts){ .load = 0x100000, .mem_mib = 128, .max_insns = 10000000000ull,
				.snap_budget_mib = 256, .gdb_port = -1 };
	o->quiet = compare;
	for (int k = 0; k < argc; k++) {
		const char *a = argv[k];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(msg(lang, compare ? MSG_CMP_USAGE : MSG_RUN_USAGE), stdout);
			exit(0);
		}
		if (!strcmp(a, "--stats")) {
			o->stats = true;
			continue;
		}
		if (compare && !strcmp(a, "--json")) {
			o->json = true;
			continue;
		}
		if (!strcmp(a, "--trace-walks")) {
			o->trace_walks = true;
			continue;
		}
		int used = parse_debug_option(argc, argv, k, o);
		if (used < 0)
			return -1;
		if (used) {
			k += used;
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
						      "--backend", "--record" };
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
		if (!strcmp(a, "--backend")) {
			if (!strcmp(val, "kvm")) {
				o->backend = BACKEND_KVM;
			} else if (!strcmp(val, "interp") || !strcmp(val, "interpreter")) {
				o->backend = BACKEND_INTERP;
			} else {
				say(BAD_BACKEND, val);
				return -1;
			}
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
		if (!strcmp(a, "--record")) {
			o->record = val;
			continue;
		}
		if (!strcmp(a, "--input")) {
			o->input = val;
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
		} else if (!strcmp(a, "--mem")) {
			if (n < 2 || n > 65536) {
				say(BAD_MEM, val);
				return -1;
			}
			o->mem_mib = n;
		} else {
			o->max_insns = n;
			o->have_max_insns = true;
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
		o->snap_every = 10000000; /* gdb's reverse-step needs snapshots */
	return check_backend(argc, argv, o, compare);
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	if (parse_run(argc, argv, &o, false) < 0)
		return EXIT_USAGE;
	o.lang = lang;
	struct run_outcome r;
	session_run(&o, stdout, &r);
	return r.status;
}

/* One side of a comparison: its serial output kept in memory. */
static bool run_side(const struct run_opts *o, enum backend_kind kind, struct compare_side *s,
		     char **buf)
{
	size_t len = 0;
	FILE *f = open_memstream(buf, &len);
	if (!f)
		return false;
	struct run_opts side = *o;
	side.backend = kind;
	s->name = kind == BACKEND_KVM ? "KVM" : msg(lang, MSG_CMP_INTERP);
	session_run(&side, f, &s->r);
	fclose(f);
	s->serial = *buf;
	return s->r.ran;
}

/* Both sides of one image; false when one could not run (said already),
 * with *status the reason. */
static bool compare_one(const struct run_opts *o, struct comparison *c, char **bufs, int *status)
{
	*c = (struct comparison){ .image = o->image, .append = o->append };
	if (!run_side(o, BACKEND_INTERP, &c->side[0], &bufs[0])) {
		*status = c->side[0].r.status;
		return false;
	}
	if (!run_side(o, BACKEND_KVM, &c->side[1], &bufs[1])) {
		*status = c->side[1].r.status;
		return false;
	}
	return true;
}

/* A hypervisor image where KVM offers no VMX: its modules, bare. The
 * module's file is the image and the rest of its string the command
 * line, as the hypervisor would boot it. */
static void module_opts(const struct run_opts *o, int k, struct run_opts *m, char *path, size_t n)
{
	*m = *o;
	const char *sp = strchr(o->modules[k], ' ');
	size_t len = sp ? (size_t)(sp - o->modules[k]) : strlen(o->modules[k]);
	if (len >= n)
		len = n - 1;
	memcpy(path, o->modules[k], len);
	path[len] = 0;
	m->image = path;
	m->append = sp ? sp + 1 : NULL;
	m->nmodules = 0;
}

/* Standard input is read once, for both sides: kept in a file (path, a
 * mkstemp template) that each side takes as --input. */
static bool stdin_to_file(char *path)
{
	size_t bytes;
	uint8_t *in = session_read_file("/dev/stdin", &bytes, lang);
	int fd = in ? mkstemp(path) : -1;
	bool ok = fd >= 0 && write(fd, in, bytes) == (ssize_t)bytes;
	if (fd >= 0)
		close(fd);
	free(in);
	if (!ok && fd >= 0)
		unlink(path);
	if (!ok && in)
		say(CANNOT_WRITE, path, strerror(errno ? errno : EIO));
	return ok;
}

static int cmd_compare(int argc, char **argv)
{
	struct run_opts o;
	if (parse_run(argc, argv, &o, true) < 0)
		return EXIT_USAGE;
	o.lang = lang;
	struct run_opts list[MAX_MODULES];
	char paths[MAX_MODULES][4096];
	int n = 1;
	list[0] = o;
	char note[768] = "", hint[512];
	size_t len;
	uint8_t *img = o.bits ? NULL : session_read_file(o.image, &len, lang);
	if (!o.bits && !img)
		return EXIT_BAD_IMAGE;
	if (img && loader_needs_vmx(img, len)) {
		int offered = kvm_offers_vmx(session_kvm_device(), lang, hint, sizeof hint);
		if (offered < 0) {
			say(KVM_ERROR, hint);
			free(img);
			return EXIT_KVM;
		}
		if (!offered) {
			if (!o.nmodules) {
				say(CMP_NO_MODULES, o.image, hint);
				free(img);
				return EXIT_KVM;
			}
			snprintf(note, sizeof note, msg(lang, MSG_CMP_BARE), o.image, hint);
			n = o.nmodules;
			for (int k = 0; k < n; k++)
				module_opts(&o, k, &list[k], paths[k], sizeof paths[k]);
		}
	}
	free(img);
	char input[] = "/tmp/nestlab-input-XXXXXX";
	bool own_input = !o.input && !isatty(0);
	if (own_input && !stdin_to_file(input))
		return EXIT_BAD_IMAGE;
	for (int k = 0; own_input && k < n; k++)
		list[k].input = input;

	struct comparison cmp[MAX_MODULES];
	const struct comparison *done[MAX_MODULES];
	char *bufs[MAX_MODULES][2] = { { 0 } };
	int status = 0, ndone = 0;
	if (note[0] && !o.json)
		fputs(note, stdout);
	for (int k = 0; k < n && !status; k++) {
		if (!compare_one(&list[k], &cmp[k], bufs[k], &status))
			break;
		done[ndone++] = &cmp[k];
		if (!o.json)
			compare_print(stdout, &cmp[k], lang);
	}
	if (!status) {
		for (int k = 0; k < ndone; k++)
			status |= !compare_same(done[k]);
		if (o.json) {
			char *j = compare_json(done, ndone, note[0] ? note : NULL);
			if (j)
				puts(j);
			free(j);
		}
	}
	for (int k = 0; k < n; k++) {
		free(bufs[k][0]);
		free(bufs[k][1]);
	}
	if (own_input)
		unlink(input);
	return status;
}

/* The options of replay: what watches the run (--stats, --trace, the
 * snapshots and gdb), never what would change it. */
static int parse_replay(int argc, char **argv, struct run_opts *w, const char **file)
{
	*w = (struct run_opts){ .gdb_port = -1, .snap_budget_mib = 256 };
	for (int k = 0; k < argc; k++) {
		const char *a = argv[k];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(msg(lang, MSG_REPLAY_USAGE), stdout);
			exit(0);
		}
		if (!strcmp(a, "--stats")) {
			w->stats = true;
			continue;
		}
		if (!strcmp(a, "--trace-walks")) {
			w->trace_walks = true;
			continue;
		}
		if (!strcmp(a, "--trace") && k + 1 < argc) {
			w->trace = argv[++k];
			continue;
		}
		if (!strcmp(a, "--lang") && k + 1 < argc) {
			k++;    /* main() has taken it */
			continue;
		}
		int used = strcmp(a, "--restore") ? parse_debug_option(argc, argv, k, w) : 0;
		if (used < 0)
			return -1;
		if (used) {
			k += used;
			continue;
		}
		if (a[0] != '-' && !*file) {
			*file = a;
			continue;
		}
		say(REPLAY_OPTION, a);
		return -1;
	}
	if (!*file) {
		fputs(msg(lang, MSG_REPLAY_USAGE), stderr);
		return -1;
	}
	if (w->trace_walks && !w->trace) {
		say(NEEDS_TRACE);
		return -1;
	}
	if (w->gdb_port >= 0 && !w->snap_every)
		w->snap_every = 10000000;
	return 0;
}

static int cmd_replay(int argc, char **argv)
{
	struct run_opts w;
	const char *file = NULL;
	if (parse_replay(argc, argv, &w, &file) < 0)
		return EXIT_USAGE;
	struct replay r;
	if (!replay_load(file, &r, lang)) {
		replay_free(&r);
		return EXIT_BAD_IMAGE;
	}
	r.o.stats = w.stats;
	r.o.trace = w.trace;
	r.o.trace_walks = w.trace_walks;
	r.o.snap_every = w.snap_every;
	r.o.snap_budget_mib = w.snap_budget_mib;
	r.o.gdb_port = w.gdb_port;
	r.o.save_file = w.save_file;
	r.o.save_at = w.save_at;
	struct run_outcome out;
	session_run(&r.o, stdout, &out);
	int status = out.status;
	if (!out.ran) {
		/* could not even start: said already */
	} else if (out.status == r.status && out.stats.insns == r.insns) {
		say(REPLAY_SAME, file, r.end, (unsigned long long)r.insns);
	} else {
		say(REPLAY_DIFFERS, file, r.end, r.status, (unsigned long long)r.insns, out.end,
		    out.status, (unsigned long long)out.stats.insns);
		status = EXIT_REPLAY_DIFFERS;
	}
	replay_free(&r);
	return status;
}

/* Options of run that the window does not take. */
static bool gui_refuses(const char *a)
{
	static const char *const no[] = { "--backend", "--gdb", "--trace", "--trace-walks",
					   "--save-at", "--restore", "--stats", "--record" };
	for (size_t k = 0; k < sizeof no / sizeof no[0]; k++)
		if (!strcmp(a, no[k]))
			return true;
	return false;
}

/* nestlab gui: the window's own options, then run's. */
static int cmd_gui(int argc, char **argv)
{
	const char *script = NULL, *shot = NULL, *dump = NULL;
	int w = 1440, h = 900, n = 0;
	char **rest = calloc((size_t)argc + 1, sizeof *rest);
	if (!rest)
		return EXIT_USAGE;
	for (int k = 0; k < argc; k++) {
		const char *a = argv[k];
		bool valued = !strcmp(a, "--script") || !strcmp(a, "--screenshot") ||
			      !strcmp(a, "--dump-text") || !strcmp(a, "--size");
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(msg(lang, MSG_GUI_USAGE), stdout);
			free(rest);
			return 0;
		}
		if (gui_refuses(a)) {
			say(GUI_OPTION, a);
			free(rest);
			return EXIT_USAGE;
		}
		if (!valued) {
			rest[n++] = argv[k];
			continue;
		}
		if (k + 1 >= argc) {
			say(MISSING_VALUE, a);
			free(rest);
			return EXIT_USAGE;
		}
		const char *v = argv[++k];
		char end;
		if (!strcmp(a, "--script"))
			script = v;
		else if (!strcmp(a, "--screenshot"))
			shot = v;
		else if (!strcmp(a, "--dump-text"))
			dump = v;
		else if (sscanf(v, "%dx%d%c", &w, &h, &end) != 2 || w <= 0 || h <= 0 ||
			 w > 16384 || h > 16384) {
			say(GUI_BAD_SIZE, v);
			free(rest);
			return EXIT_USAGE;
		}
	}
	struct run_opts o;
	int status = parse_run(n, rest, &o, false);
	if (status == 0 && (shot || dump) && !script) {
		say(GUI_NEEDS_SCRIPT, shot ? "--screenshot" : "--dump-text");
		status = -1;
	}
	if (status < 0) {
		free(rest);
		return EXIT_USAGE;
	}
	o.lang = lang;
	status = gui_main(&o, script, shot, dump, w, h);
	free(rest);
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
	if (!strcmp(argv[1], "compare"))
		return cmd_compare(argc - 2, argv + 2);
	if (!strcmp(argv[1], "replay"))
		return cmd_replay(argc - 2, argv + 2);
	if (!strcmp(argv[1], "gui"))
		return cmd_gui(argc - 2, argv + 2);
	say(UNKNOWN_COMMAND, argv[1]);
	return EXIT_USAGE;
}
