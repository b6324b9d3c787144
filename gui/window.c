/* `nestlab gui`: the window, its text grid, the frame loop. The machine is
 * built as `nestlab run` builds it (emu/session.h) and runs under reverse
 * control; each frame handles input, plays the script, runs a slice of the
 * machine if it is running, and repaints at most 60 times a second. */
#include <SDL2/SDL.h>
#include <SDL2/SDL_ttf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gui/gui.h"

#define say(lang, id, ...) fprintf(stderr, msg(lang, MSG_##id), ##__VA_ARGS__)

/* Snapshots for going back: one every so many instructions, so a step
 * back replays at most this many (a few milliseconds). */
#define SNAP_EVERY 1000000
#define FONT_PX 14

static const uint8_t palette[COL_COUNT][3] = {
	[COL_TEXT] = { 220, 223, 228 },   [COL_DIM] = { 128, 138, 152 },
	[COL_TITLE] = { 120, 180, 255 },  [COL_CHANGED] = { 255, 196, 64 },
	[COL_BAD] = { 255, 96, 96 },      [COL_GOOD] = { 110, 220, 130 },
	[COL_HERE] = { 255, 255, 255 },   [COL_ACCENT] = { 206, 150, 255 },
	[COL_BG] = { 16, 18, 22 },        [COL_PANE] = { 27, 30, 36 },
	[COL_BORDER] = { 58, 64, 76 },    [COL_HERE_BG] = { 44, 62, 96 },
};

void gui_color_rgb(enum gui_color c, uint8_t *r, uint8_t *gr, uint8_t *b)
{
	*r = palette[c][0];
	*gr = palette[c][1];
	*b = palette[c][2];
}

int gui_width(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* The next code point of a UTF-8 string (malformed bytes as '?'). */
static uint32_t next_cp(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;
	uint32_t cp = *p++;
	int more = cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : cp >= 0xc0 ? 1 : 0;
	if (cp >= 0x80 && !more)
		cp = '?';
	else if (more)
		cp &= 0x3f >> more;
	for (; more && (*p & 0xc0) == 0x80; more--)
		cp = (cp << 6) | (*p++ & 0x3f);
	*s = (const char *)p;
	return more ? '?' : cp;
}

int gui_text(struct gui *g, struct gui_rect r, int col, int row, enum gui_color color,
	     const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (row < -1 || row >= r.h || col >= r.w)
		return 0;
	if (g->dump)
		fprintf(g->dump, "[%s] %s\n", g->pane ? g->pane : "", buf);
	/* The cells inside r, drawn as one run. */
	uint32_t cps[sizeof buf];
	const char *s = buf;
	int x = col, first = -1, n = 0;
	while (*s && x < r.w) {
		uint32_t cp = next_cp(&s);
		if (x >= 0) {
			if (first < 0)
				first = x;
			cps[n++] = cp;
		}
		x++;
	}
	if (n)
		gui_font_draw(g->font, g->ren, (r.x + first) * g->cw, (r.y + row) * g->ch, cps, n,
			      palette[color][0], palette[color][1], palette[color][2]);
	return x - col;
}

void gui_fill(struct gui *g, struct gui_rect r, int col, int row, int w, int h,
	      enum gui_color color)
{
	if (col + w > r.w)
		w = r.w - col;
	SDL_SetRenderDrawColor(g->ren, palette[color][0], palette[color][1], palette[color][2], 255);
	SDL_RenderFillRect(g->ren, &(SDL_Rect){ (r.x + col) * g->cw, (r.y + row) * g->ch,
						w * g->cw, h * g->ch });
}

struct gui_rect gui_pane(struct gui *g, struct gui_rect r, enum msg_id title)
{
	SDL_Rect px = { r.x * g->cw, r.y * g->ch, r.w * g->cw, r.h * g->ch };
	const uint8_t *b = palette[COL_PANE], *e = palette[COL_BORDER];
	SDL_SetRenderDrawColor(g->ren, b[0], b[1], b[2], 255);
	SDL_RenderFillRect(g->ren, &px);
	SDL_SetRenderDrawColor(g->ren, e[0], e[1], e[2], 255);
	SDL_RenderDrawRect(g->ren, &px);
	g->pane = msg(g->lang, title);
	struct gui_rect in = { r.x + 1, r.y + 1, r.w - 2, r.h - 1 };
	gui_text(g, in, 0, -1, COL_TITLE, "%s", g->pane);
	return in;
}

bool gui_screenshot(struct gui *g, const char *path)
{
	int w, h;
	SDL_GetRendererOutputSize(g->ren, &w, &h);
	uint8_t *px = malloc((size_t)w * h * 3);
	bool ok = px && SDL_RenderReadPixels(g->ren, NULL, SDL_PIXELFORMAT_RGB24, px, w * 3) == 0 &&
		  gui_png_write(path, px, w, h);
	free(px);
	if (!ok)
		say(g->lang, CANNOT_WRITE, path, SDL_GetError());
	return ok;
}

bool gui_dump_text(struct gui *g, const char *path)
{
	g->dump = fopen(path, "w");
	if (!g->dump) {
		say(g->lang, CANNOT_WRITE, path, strerror(errno));
		return false;
	}
	gui_draw(g);
	bool ok = fclose(g->dump) == 0;
	g->dump = NULL;
	return ok;
}

/* The grid for the window's current size: HiDPI screens give more pixels
 * per point, and the font is opened at that many pixels, so text stays
 * sharp. */
static bool fit(struct gui *g, char *why, size_t n)
{
	int pw, ph;
	SDL_GetWindowSize(g->win, &g->ww, &g->wh);
	SDL_GetRendererOutputSize(g->ren, &pw, &ph);
	float scale = g->ww > 0 ? (float)pw / (float)g->ww : 1.0f;
	if (!g->font || scale != g->scale) {
		gui_font_close(g->font);
		g->scale = scale;
		g->font = gui_font_open(g->ren, (int)(FONT_PX * scale + 0.5f), why, n);
		if (!g->font)
			return false;
		gui_font_cell(g->font, &g->cw, &g->ch);
	}
	g->cols = pw / g->cw;
	g->rows = ph / g->ch;
	return true;
}

static bool open_window(struct gui *g, int w, int h)
{
	char why[512];
	if (SDL_Init(SDL_INIT_VIDEO) < 0) {
		say(g->lang, GUI_NO_DISPLAY, SDL_GetError());
		return false;
	}
	g->win = SDL_CreateWindow("nestlab", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, w, h,
				  SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI);
	if (!g->win) {
		say(g->lang, GUI_NO_DISPLAY, SDL_GetError());
		return false;
	}
	SDL_SetWindowMinimumSize(g->win, GUI_MIN_W, GUI_MIN_H);
	g->ren = SDL_CreateRenderer(g->win, -1, SDL_RENDERER_ACCELERATED);
	if (!g->ren)
		g->ren = SDL_CreateRenderer(g->win, -1, SDL_RENDERER_SOFTWARE);
	if (!g->ren) {
		say(g->lang, GUI_NO_DISPLAY, SDL_GetError());
		return false;
	}
	if (!fit(g, why, sizeof why)) {
		say(g->lang, GUI_NO_FONT, why);
		return false;
	}
	SDL_StartTextInput();
	return true;
}

static void handle_events(struct gui *g)
{
	SDL_Event ev;
	while (SDL_PollEvent(&ev)) {
		switch (ev.type) {
		case SDL_QUIT:
			g->quit = true;
			break;
		case SDL_KEYDOWN:
			gui_key(g, ev.key.keysym.sym, ev.key.keysym.mod);
			break;
		case SDL_TEXTINPUT:
			gui_text_input(g, ev.text.text);
			break;
		case SDL_MOUSEMOTION:
			g->mouse_x = (int)(ev.motion.x * g->scale) / g->cw;
			g->mouse_y = (int)(ev.motion.y * g->scale) / g->ch;
			break;
		case SDL_MOUSEBUTTONDOWN:
			gui_click(g, (int)(ev.button.x * g->scale), (int)(ev.button.y * g->scale));
			break;
		case SDL_WINDOWEVENT: {
			char why[512];
			if (ev.window.event == SDL_WINDOWEVENT_SIZE_CHANGED && !fit(g, why, sizeof why))
				g->quit = true;
			break;
		}
		default:
			break;
		}
	}
}

/* The image's kind, for the Levels pane: the teaching hypervisors by name. */
static const char *image_kind(const char *image)
{
	const char *base = strrchr(image, '/');
	base = base ? base + 1 : image;
	static const char *const kinds[] = { "type1", "type2", "nested" };
	for (size_t k = 0; k < 3; k++)
		if (!strncmp(base, kinds[k], strlen(kinds[k])))
			return kinds[k];
	return NULL;
}

static int run_window(struct gui *g, struct gui_script *script, const char *shot,
		      const char *dump)
{
	int status = 0;
	bool playing = script != NULL;
	while (!g->quit) {
		uint32_t t0 = SDL_GetTicks();
		handle_events(g);
		if (playing && !gui_script_tick(script, g)) {
			playing = false;
			if (!shot && !dump)
				g->quit = true;
		}
		gui_frame_run(g);
		gui_draw(g);
		if (!playing && script && (shot || dump)) {
			if ((shot && !gui_screenshot(g, shot)) || (dump && !gui_dump_text(g, dump)))
				status = EXIT_BAD_IMAGE;
			g->quit = true;
		}
		SDL_RenderPresent(g->ren);
		uint32_t spent = SDL_GetTicks() - t0;
		if (spent < 16)
			SDL_Delay(16 - spent);
	}
	return status;
}

int gui_main(const struct run_opts *o, const char *script_path, const char *shot,
	     const char *dump, int w, int h)
{
	struct gui g = { .o = o, .lang = o->lang, .break_reason = -1, .walk_shown = -1 };
	int status = EXIT_USAGE;
	struct gui_script *script = NULL;
	if (w < GUI_MIN_W || h < GUI_MIN_H) {
		say(g.lang, GUI_TOO_SMALL, w, h, GUI_MIN_W, GUI_MIN_H);
		return EXIT_USAGE;
	}
	if (script_path && !(script = gui_script_open(script_path, g.lang)))
		return EXIT_USAGE;
	if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) {
		say(g.lang, GUI_NO_DISPLAY, "DISPLAY");
		gui_script_close(script);
		return EXIT_NO_DISPLAY;
	}
	FILE *sink = fopen("/dev/null", "w");
	status = session_machine_build(o, sink, &g.m);
	if (status)
		goto done;
	g.c = g.m.c;
	g.c->vtime_limit = o->max_insns;
	elfsyms_load(&g.syms, g.m.img, g.m.len);
	for (int k = 0; k < o->nmodules && !o->bits; k++)
		elfsyms_load(&g.modsyms[k], g.m.mods[k].data, g.m.mods[k].len);
	g.image_kind = image_kind(o->image);
	g.rev = rev_new(g.c, SNAP_EVERY, o->snap_budget_mib << 20);
	if (!g.rev || !gui_history_attach(&g)) {
		say(g.lang, NO_MEMORY, 0ull);
		status = EXIT_BAD_IMAGE;
		goto done;
	}
	status = EXIT_NO_DISPLAY;
	if (!open_window(&g, w, h))
		goto done;
	gui_remember(&g);
	status = run_window(&g, script, shot, dump);
done:
	gui_script_close(script);
	gui_font_close(g.font);
	if (g.ren)
		SDL_DestroyRenderer(g.ren);
	if (g.win)
		SDL_DestroyWindow(g.win);
	if (TTF_WasInit())
		TTF_Quit();
	SDL_Quit();
	rev_free(g.rev);
	gui_history_free(&g);
	elfsyms_free(&g.syms);
	for (int k = 0; k < MAX_MODULES; k++)
		elfsyms_free(&g.modsyms[k]);
	session_machine_free(&g.m);
	if (sink)
		fclose(sink);
	return status;
}
