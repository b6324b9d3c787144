/* The window's one font: a monospace face that fontconfig picks for
 * "monospace" (as a terminal would), opened with SDL2_ttf at the pixel
 * size the screen needs. Each glyph is rendered once, white; a run of
 * text is put together from them into one texture, kept in a cache and
 * tinted when drawn. A frame is then one copy per run of text, not one
 * per character: with a software renderer (Xvfb, a VM without a GPU) the
 * copies are what a frame costs, and most runs are the same from one step
 * to the next. */
#include <SDL2/SDL.h>
#include <SDL2/SDL_ttf.h>
#include <fontconfig/fontconfig.h>
#include <stdlib.h>
#include <string.h>

#include "gui/gui.h"

/* Latin-1 covers Portuguese; a few symbols are added for the panes. */
static const uint32_t extra[] = { 0x2192, 0x2190, 0x25b6, 0x25cf, 0x2502, 0x2500, 0x2191,
				  0x2193, 0x2713, 0x2717 };
#define NEXTRA (sizeof extra / sizeof extra[0])
#define NGLYPHS (256 + NEXTRA)

/* A cached run of text: its code points, and their white texture. */
struct run {
	uint64_t hash;
	uint32_t *cps;
	int n;
	SDL_Texture *tex;
};

#define RUN_SLOTS 4096   /* direct-mapped: a collision replaces the run */

struct gui_font {
	TTF_Font *ttf;
	SDL_Surface *glyph[NGLYPHS];
	int w, h;
	struct run runs[RUN_SLOTS];
};

/* The file of the face fontconfig matches to "monospace", or false. */
static bool find_monospace(char *path, size_t n)
{
	if (!FcInit())
		return false;
	FcPattern *pat = FcNameParse((const FcChar8 *)"monospace");
	bool found = false;
	if (pat) {
		FcConfigSubstitute(NULL, pat, FcMatchPattern);
		FcDefaultSubstitute(pat);
		FcResult res;
		FcPattern *match = FcFontMatch(NULL, pat, &res);
		FcChar8 *file = NULL;
		if (match && FcPatternGetString(match, FC_FILE, 0, &file) == FcResultMatch &&
		    strlen((const char *)file) < n) {
			strcpy(path, (const char *)file);
			found = true;
		}
		if (match)
			FcPatternDestroy(match);
		FcPatternDestroy(pat);
	}
	return found;
}

static int glyph_index(uint32_t cp)
{
	if (cp < 256)
		return cp >= 32 ? (int)cp : -1;
	for (size_t k = 0; k < NEXTRA; k++)
		if (extra[k] == cp)
			return 256 + (int)k;
	return -1;
}

static SDL_Surface *render_glyph(TTF_Font *f, uint32_t cp)
{
	if (cp == ' ' || (cp >= 0x7f && cp < 0xa1) || !TTF_GlyphIsProvided32(f, cp))
		return NULL;
	SDL_Surface *g = TTF_RenderGlyph32_Blended(f, cp, (SDL_Color){ 255, 255, 255, 255 });
	SDL_Surface *s = g ? SDL_ConvertSurfaceFormat(g, SDL_PIXELFORMAT_ARGB8888, 0) : NULL;
	SDL_FreeSurface(g);
	if (s)
		SDL_SetSurfaceBlendMode(s, SDL_BLENDMODE_NONE); /* copied as it is */
	return s;
}

struct gui_font *gui_font_open(SDL_Renderer *r, int px, char *why, size_t n)
{
	char path[4096];
	const char *env = getenv("NESTLAB_FONT"); /* for the tests: a missing font */
	if (env)
		snprintf(path, sizeof path, "%s", env);
	else if (!find_monospace(path, sizeof path)) {
		snprintf(why, n, "fontconfig");
		return NULL;
	}
	if (!TTF_WasInit() && TTF_Init() < 0) {
		snprintf(why, n, "%s", TTF_GetError());
		return NULL;
	}
	struct gui_font *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->ttf = TTF_OpenFont(path, px);
	if (!f->ttf) {
		snprintf(why, n, "%s", path);
		free(f);
		return NULL;
	}
	TTF_SetFontHinting(f->ttf, TTF_HINTING_LIGHT);
	if (TTF_GlyphMetrics32(f->ttf, 'M', NULL, NULL, NULL, NULL, &f->w) < 0 || f->w <= 0)
		f->w = px / 2 + 1;
	f->h = TTF_FontLineSkip(f->ttf);
	(void)r;
	for (uint32_t cp = 32; cp < 256; cp++)
		f->glyph[cp] = render_glyph(f->ttf, cp);
	for (size_t k = 0; k < NEXTRA; k++)
		f->glyph[256 + k] = render_glyph(f->ttf, extra[k]);
	return f;
}

void gui_font_cell(const struct gui_font *f, int *w, int *h)
{
	*w = f->w;
	*h = f->h;
}

static uint64_t hash_run(const uint32_t *cps, int n)
{
	uint64_t h = 0xcbf29ce484222325ull;            /* FNV-1a */
	for (int k = 0; k < n; k++)
		h = (h ^ cps[k]) * 0x100000001b3ull;
	return h;
}

static void drop_run(struct run *e)
{
	if (e->tex)
		SDL_DestroyTexture(e->tex);
	free(e->cps);
	*e = (struct run){ 0 };
}

/* The run's glyphs side by side, one cell each, in one white texture. */
static SDL_Texture *make_run(struct gui_font *f, SDL_Renderer *r, const uint32_t *cps, int n)
{
	SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, n * f->w, f->h, 32,
							SDL_PIXELFORMAT_ARGB8888);
	if (!s)
		return NULL;
	SDL_FillRect(s, NULL, 0);
	for (int k = 0; k < n; k++) {
		int i = glyph_index(cps[k]);
		SDL_Surface *g = i >= 0 ? f->glyph[i] : cps[k] == ' ' ? NULL : f->glyph['?'];
		if (g)
			SDL_BlitSurface(g, NULL, s, &(SDL_Rect){ k * f->w, 0, g->w, g->h });
	}
	SDL_Texture *t = SDL_CreateTextureFromSurface(r, s);
	SDL_FreeSurface(s);
	if (t)
		SDL_SetTextureBlendMode(t, SDL_BLENDMODE_BLEND);
	return t;
}

void gui_font_draw(struct gui_font *f, SDL_Renderer *r, int x, int y, const uint32_t *cps,
		   int n, uint8_t red, uint8_t green, uint8_t blue)
{
	if (n <= 0)
		return;
	uint64_t h = hash_run(cps, n);
	struct run *e = &f->runs[h % RUN_SLOTS];
	if (!e->tex || e->hash != h || e->n != n || memcmp(e->cps, cps, n * sizeof *cps)) {
		drop_run(e);
		e->cps = malloc(n * sizeof *cps);
		e->tex = e->cps ? make_run(f, r, cps, n) : NULL;
		if (!e->tex) {
			drop_run(e);
			return;
		}
		memcpy(e->cps, cps, n * sizeof *cps);
		e->hash = h;
		e->n = n;
	}
	SDL_SetTextureColorMod(e->tex, red, green, blue);
	SDL_RenderCopy(r, e->tex, NULL, &(SDL_Rect){ x, y, n * f->w, f->h });
}

void gui_font_close(struct gui_font *f)
{
	if (!f)
		return;
	for (size_t k = 0; k < NGLYPHS; k++)
		SDL_FreeSurface(f->glyph[k]);
	for (size_t k = 0; k < RUN_SLOTS; k++)
		drop_run(&f->runs[k]);
	TTF_CloseFont(f->ttf);
	free(f);
}
