/* The keys (docs/gui.md), the address prompt, and the help overlay that
 * lists them. */
#include <SDL2/SDL.h>
#include <stdlib.h>
#include <string.h>

#include "gui/gui.h"
#include "vmx/vmx.h"

void gui_set_address(struct gui *g, int kind, uint64_t a)
{
	if (kind == PROMPT_WALK) {
		g->walk_addr = a;
		g->walk_set = true;
		g->walk_shown = -1;
	} else {
		g->mem_addr = a;
		g->mem_phys = kind == PROMPT_PMEM;
	}
}

static void prompt_key(struct gui *g, int sym)
{
	size_t n = strlen(g->prompt);
	if (sym == SDLK_ESCAPE) {
		g->prompt_kind = PROMPT_NONE;
	} else if (sym == SDLK_BACKSPACE && n) {
		g->prompt[n - 1] = 0;
	} else if (sym == SDLK_RETURN || sym == SDLK_KP_ENTER) {
		char *end;
		uint64_t a = strtoull(g->prompt, &end, 16);
		if (*g->prompt && !*end)
			gui_set_address(g, g->prompt_kind, a);
		else
			snprintf(g->status, sizeof g->status, L(g, GUI_BAD_ADDRESS), g->prompt);
		g->prompt_kind = PROMPT_NONE;
	}
}

void gui_text_input(struct gui *g, const char *s)
{
	if (!g->prompt_kind)
		return;
	size_t n = strlen(g->prompt);
	for (; *s && n + 1 < sizeof g->prompt; s++)
		if (strchr("0123456789abcdefABCDEFx", *s))
			g->prompt[n++] = *s;
	g->prompt[n] = 0;
}

static void ask(struct gui *g, int kind)
{
	g->prompt_kind = kind;
	g->prompt[0] = 0;
}

/* Break on the reason of the last exit, or stop breaking. */
static void toggle_break_reason(struct gui *g)
{
	const struct gui_vmevent *e = gui_last_exit(g);
	if (g->break_reason >= 0)
		g->break_reason = -1;
	else if (e)
		g->break_reason = e->reason;
	else
		snprintf(g->status, sizeof g->status, "%s", L(g, GUI_NO_EXIT_YET));
}

static void walk_step(struct gui *g, int d)
{
	int n = gui_walk_refs(g);
	int k = g->walk_shown < 0 ? (d < 0 ? n : 0) : g->walk_shown;
	k += d;
	g->walk_shown = k < 0 ? 0 : k >= n ? -1 : k;
}

void gui_key(struct gui *g, int sym, unsigned mod)
{
	bool shift = mod & KMOD_SHIFT;
	if (g->prompt_kind) {
		prompt_key(g, sym);
		return;
	}
	if (g->help && sym != SDLK_F1 && sym != SDLK_SLASH && sym != SDLK_l) {
		g->help = false;
		return;
	}
	switch (sym) {
	case SDLK_s: case SDLK_F7:
		if (shift)
			gui_step_back(g);
		else
			gui_step(g);
		break;
	case SDLK_BACKSPACE:   gui_step_back(g); break;
	case SDLK_n: case SDLK_F8: gui_step_over(g); break;
	case SDLK_c: case SDLK_F5: gui_continue(g, RUN_FREE); break;
	case SDLK_p: case SDLK_PAUSE: case SDLK_F6: gui_pause(g); break;
	case SDLK_x:
		if (shift)
			gui_back_to_exit(g);
		else
			gui_continue(g, RUN_TO_EXIT);
		break;
	case SDLK_e:           gui_continue(g, RUN_TO_ENTRY); break;
	case SDLK_b:           toggle_break_reason(g); break;
	case SDLK_F9:          gui_toggle_breakpoint(g, g->c->rip); break;
	case SDLK_F1: case SDLK_SLASH: g->help = !g->help; break;
	case SDLK_l:           g->lang = g->lang == LANG_EN ? LANG_PT_BR : LANG_EN; break;
	case SDLK_t:           g->att = !g->att; break;
	case SDLK_m:           ask(g, shift ? PROMPT_PMEM : PROMPT_MEM); break;
	case SDLK_w:           ask(g, PROMPT_WALK); break;
	case SDLK_RIGHTBRACKET: walk_step(g, 1); break;
	case SDLK_LEFTBRACKET: walk_step(g, -1); break;
	case SDLK_PAGEDOWN:    g->vmcs_scroll += 10; break;
	case SDLK_PAGEUP:      g->vmcs_scroll = g->vmcs_scroll > 10 ? g->vmcs_scroll - 10 : 0; break;
	case SDLK_q:           g->quit = true; break;
	default: break;
	}
}

void pane_help(struct gui *g, struct gui_rect outer)
{
	static const enum msg_id lines[] = {
		MSG_GUI_HELP_STEP, MSG_GUI_HELP_OVER, MSG_GUI_HELP_CONT, MSG_GUI_HELP_PAUSE,
		MSG_GUI_HELP_EXIT, MSG_GUI_HELP_ENTRY, MSG_GUI_HELP_BREAK_REASON,
		MSG_GUI_HELP_BP, MSG_GUI_HELP_BACK, MSG_GUI_HELP_BACK_EXIT, MSG_GUI_HELP_MEM,
		MSG_GUI_HELP_WALK, MSG_GUI_HELP_WALK_STEP, MSG_GUI_HELP_SCROLL,
		MSG_GUI_HELP_SYNTAX, MSG_GUI_HELP_LANG, MSG_GUI_HELP_CLICK, MSG_GUI_HELP_QUIT,
	};
	struct gui_rect r = gui_pane(g, outer, MSG_GUI_PANE_HELP);
	int row = 1;
	for (size_t k = 0; k < sizeof lines / sizeof lines[0] && row < r.h; k++)
		gui_text(g, r, 2, row++, COL_TEXT, "%s", msg(g->lang, lines[k]));
	gui_text(g, r, 2, row + 1, COL_DIM, "%s", L(g, GUI_HELP_CLOSE));
}
