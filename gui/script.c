/* The scripted mode (`--script FILE`, docs/gui.md): one command a line,
 * read and checked whole before the window opens, then played a frame at
 * a time. A command waits while the machine runs (after `key c`, `key x`,
 * run-to-exit, ...), except pause and wait-frames; so a script sees the
 * same machine every time. */
#include <SDL2/SDL.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu/backend.h"
#include "gui/gui.h"

#define say(lang, id, ...) fprintf(stderr, msg(lang, MSG_##id), ##__VA_ARGS__)

enum cmd_kind {
	C_KEY, C_STEP, C_STEP_BACK, C_RUN_TO_EXIT, C_RUN_TO_ENTRY, C_CONTINUE, C_PAUSE,
	C_BACK_TO_EXIT, C_GOTO_EXIT, C_WAIT, C_LANG, C_WALK, C_WALK_STEP, C_MEMORY, C_PMEMORY,
	C_BREAK, C_BREAK_EXIT, C_SCREENSHOT, C_DUMP, C_QUIT, C_TIME_STEPS,
};

static const struct {
	const char *name;
	enum cmd_kind kind;
	char arg;            /* 0 none, 'n' a number, 's' a word, '?' an optional number */
} commands[] = {
	{ "key", C_KEY, 's' },               { "step", C_STEP, '?' },
	{ "step-back", C_STEP_BACK, '?' },   { "run-to-exit", C_RUN_TO_EXIT, 0 },
	{ "run-to-entry", C_RUN_TO_ENTRY, 0 }, { "continue", C_CONTINUE, 0 },
	{ "pause", C_PAUSE, 0 },             { "back-to-exit", C_BACK_TO_EXIT, 0 },
	{ "goto-exit", C_GOTO_EXIT, 'n' },   { "wait-frames", C_WAIT, 'n' },
	{ "lang", C_LANG, 's' },             { "walk", C_WALK, 'n' },
	{ "walk-step", C_WALK_STEP, 'n' },   { "memory", C_MEMORY, 'n' },
	{ "pmemory", C_PMEMORY, 'n' },       { "break", C_BREAK, 'n' },
	{ "break-exit", C_BREAK_EXIT, 'n' }, { "screenshot", C_SCREENSHOT, 's' },
	{ "dump", C_DUMP, 's' },             { "quit", C_QUIT, 0 },
	{ "time-steps", C_TIME_STEPS, 'n' },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

struct cmd {
	enum cmd_kind kind;
	uint64_t n;
	char word[256];
	int key;
	unsigned mod;
};

struct gui_script {
	struct cmd *cmd;
	size_t n, at;
	uint64_t wait;       /* frames left of a wait-frames */
};

static const struct { const char *name; int sym; } key_names[] = {
	{ "F1", SDLK_F1 }, { "F5", SDLK_F5 }, { "F6", SDLK_F6 }, { "F7", SDLK_F7 },
	{ "F8", SDLK_F8 }, { "F9", SDLK_F9 }, { "Backspace", SDLK_BACKSPACE },
	{ "PageUp", SDLK_PAGEUP }, { "PageDown", SDLK_PAGEDOWN }, { "Escape", SDLK_ESCAPE },
	{ "Return", SDLK_RETURN }, { "Pause", SDLK_PAUSE },
};

/* "s", "F7", "shift+x": false if no such key. */
static bool parse_key(const char *w, int *sym, unsigned *mod)
{
	*mod = 0;
	if (!strncmp(w, "shift+", 6)) {
		*mod = KMOD_SHIFT;
		w += 6;
	}
	for (size_t k = 0; k < sizeof key_names / sizeof key_names[0]; k++)
		if (!strcmp(w, key_names[k].name)) {
			*sym = key_names[k].sym;
			return true;
		}
	if (strlen(w) == 1 && w[0] > ' ' && w[0] < 127) {
		*sym = w[0] >= 'A' && w[0] <= 'Z' ? w[0] - 'A' + 'a' : w[0];
		if (w[0] >= 'A' && w[0] <= 'Z')
			*mod = KMOD_SHIFT;
		return true;
	}
	return false;
}

/* One line into c; false (said) if it is wrong. */
static bool parse_line(char *line, struct cmd *c, const char *path, int lineno, enum lang lang)
{
	char *name = strtok(line, " \t"), *arg = strtok(NULL, " \t"), *extra = strtok(NULL, " \t");
	size_t k = 0;
	while (k < NCOMMANDS && strcmp(commands[k].name, name))
		k++;
	if (k == NCOMMANDS) {
		say(lang, GUI_SCRIPT_UNKNOWN, path, lineno, name);
		return false;
	}
	char want = commands[k].arg;
	*c = (struct cmd){ .kind = commands[k].kind, .n = 1 };
	if (extra || (!arg && want && want != '?') || (arg && !want)) {
		say(lang, GUI_SCRIPT_ARGS, path, lineno, name);
		return false;
	}
	if (arg && (want == 'n' || want == '?')) {
		char *end;
		c->n = strtoull(arg, &end, 0);
		if (*end || *arg == '-') {
			say(lang, GUI_SCRIPT_ARGS, path, lineno, name);
			return false;
		}
	} else if (arg) {
		snprintf(c->word, sizeof c->word, "%s", arg);
	}
	if (c->kind == C_KEY && !parse_key(c->word, &c->key, &c->mod)) {
		say(lang, GUI_SCRIPT_KEY, path, lineno, c->word);
		return false;
	}
	if (c->kind == C_LANG && msg_lang_parse(c->word) < 0) {
		say(lang, BAD_LANG, c->word);
		return false;
	}
	return true;
}

struct gui_script *gui_script_open(const char *path, enum lang lang)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		say(lang, CANNOT_READ, path, strerror(errno));
		return NULL;
	}
	struct gui_script *s = calloc(1, sizeof *s);
	char line[512];
	int lineno = 0;
	bool ok = s != NULL;
	while (ok && fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\r\n#")] = 0;
		if (!line[strspn(line, " \t")])
			continue;
		struct cmd *nc = realloc(s->cmd, (s->n + 1) * sizeof *nc);
		ok = nc != NULL;
		if (ok) {
			s->cmd = nc;
			ok = parse_line(line, &s->cmd[s->n++], path, lineno, lang);
		}
	}
	fclose(f);
	if (!ok) {
		gui_script_close(s);
		return NULL;
	}
	return s;
}

/* time-steps N (make bench): N steps forward then N back, each drawn and
 * presented as a key press would be; the host time each took. */
static void time_steps(struct gui *g, uint64_t n)
{
	double worst[2] = { 0, 0 }, total[2] = { 0, 0 }, drawing = 0;
	for (int back = 0; back < 2; back++)
		for (uint64_t k = 0; k < n; k++) {
			double t0 = backend_now();
			if (back)
				gui_step_back(g);
			else
				gui_step(g);
			double t1 = backend_now();
			gui_draw(g);
			SDL_RenderPresent(g->ren);
			double t = (backend_now() - t0) * 1e3;
			drawing += (backend_now() - t1) * 1e3;
			total[back] += t;
			if (t > worst[back])
				worst[back] = t;
		}
	if (n)
		printf(msg(g->lang, MSG_GUI_STEP_TIMES), (unsigned long long)n,
		       total[0] / (double)n, worst[0], total[1] / (double)n, worst[1],
		       drawing / (double)(2 * n));
}

static void play(struct gui_script *s, struct gui *g, const struct cmd *c)
{
	switch (c->kind) {
	case C_KEY:          gui_key(g, c->key, c->mod); break;
	case C_STEP:         for (uint64_t k = 0; k < c->n; k++) gui_step(g); break;
	case C_TIME_STEPS:   time_steps(g, c->n); break;
	case C_STEP_BACK:    for (uint64_t k = 0; k < c->n; k++) gui_step_back(g); break;
	case C_RUN_TO_EXIT:  gui_continue(g, RUN_TO_EXIT); break;
	case C_RUN_TO_ENTRY: gui_continue(g, RUN_TO_ENTRY); break;
	case C_CONTINUE:     gui_continue(g, RUN_FREE); break;
	case C_PAUSE:        gui_pause(g); break;
	case C_BACK_TO_EXIT: gui_back_to_exit(g); break;
	case C_GOTO_EXIT:
		if (!gui_goto_exit(g, c->n))
			snprintf(g->status, sizeof g->status, L(g, GUI_NO_SUCH_EXIT),
				 (unsigned long long)c->n);
		break;
	case C_WAIT:         s->wait = c->n; break;
	case C_LANG:         g->lang = (enum lang)msg_lang_parse(c->word); break;
	case C_WALK:         gui_set_address(g, PROMPT_WALK, c->n); break;
	case C_WALK_STEP:    g->walk_shown = (int)c->n; break;
	case C_MEMORY:       gui_set_address(g, PROMPT_MEM, c->n); break;
	case C_PMEMORY:      gui_set_address(g, PROMPT_PMEM, c->n); break;
	case C_BREAK:        gui_toggle_breakpoint(g, c->n); break;
	case C_BREAK_EXIT:   g->break_reason = (int)(c->n & 0xffff); break;
	case C_SCREENSHOT:   gui_draw(g); gui_screenshot(g, c->word); break;
	case C_DUMP:         gui_dump_text(g, c->word); break;
	case C_QUIT:         s->at = s->n; break;
	}
}

bool gui_script_tick(struct gui_script *s, struct gui *g)
{
	if (s->wait) {
		s->wait--;
		return true;
	}
	while (s->at < s->n && !s->wait) {
		const struct cmd *c = &s->cmd[s->at];
		if (g->running && c->kind != C_PAUSE && c->kind != C_WAIT)
			return true; /* wait for the machine to stop */
		s->at++;
		play(s, g, c);
		if (c->kind == C_SCREENSHOT || c->kind == C_DUMP || g->running)
			return true; /* one per frame, so the window shows it */
	}
	return s->at < s->n || s->wait;
}

void gui_script_close(struct gui_script *s)
{
	if (!s)
		return;
	free(s->cmd);
	free(s);
}
