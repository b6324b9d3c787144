/* The window's one font: a monospace face that fontconfig picks for
 * "monospace" (as a terminal would), opened with SDL2_ttf at the pixel
 * size the screen needs. Each glyph is rendered once, white, into its own
 * texture and tinted when drawn, so a frame of text costs no rendering. */
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

struct gui_font {
	TTF_Font *ttf;
	SDL_Texture *glyph[NGLYPHS];
	int w, h;
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

static SDL_Texture *render_glyph(TTF_Font *f, SDL_Renderer *r, uint32_t cp)
{
	if (cp == ' ' || (cp >= 0x7f && cp < 0xa1) || !TTF_GlyphIsProvided32(f, cp))
		return NULL;
	SDL_Surface *s = TTF_RenderGlyph32_Blended(f, cp, (SDL_Color){ 255, 255, 255, 255 });
	if (!s)
		return NULL;
	SDL_Texture *t = SDL_CreateTextureFromSurface(r, s);
	SDL_FreeSurface(s);
	return t;
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
	for (uint32_t cp = 32; cp < 256; cp++)
		f->glyph[cp] = render_glyph(f->ttf, r, cp);
	for (size_t k = 0; k < NEXTRA; k++)
		f->glyph[256 + k] = render_glyph(f->ttf, r, extra[k]);
	return f;
}

void gui_font_cell(const struct gui_font *f, int *w, int *h)
{
	*w = f->w;
	*h = f->h;
}

void gui_font_draw(struct gui_font *f, SDL_Renderer *r, int x, int y, uint32_t cp,
		   uint8_t red, uint8_t green, uint8_t blue)
{
	int k = glyph_index(cp);
	SDL_Texture *t = k >= 0 ? f->glyph[k] : f->glyph['?'];
	if (!t)
		return;
	int w, h;
	SDL_QueryTexture(t, NULL, NULL, &w, &h);
	SDL_SetTextureColorMod(t, red, green, blue);
	SDL_RenderCopy(r, t, NULL, &(SDL_Rect){ x, y, w, h });
}

void gui_font_close(struct gui_font *f)
{
	if (!f)
		return;
	for (size_t k = 0; k < NGLYPHS; k++)
		if (f->glyph[k])
			SDL_DestroyTexture(f->glyph[k]);
	TTF_CloseFont(f->ttf);
	free(f);
}
