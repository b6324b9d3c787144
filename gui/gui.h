/* The debugger window (`nestlab gui`, docs/gui.md): one SDL2 window of
 * panes over one machine run under reverse control. This header is what
 * the panes share: the window's state, the text grid they draw on, and
 * the machine's history the window records from the event stream.
 *
 * Everything is drawn as text on a grid of monospace cells, so every pane
 * is also a list of lines: `--dump-text` and the script's `dump` write
 * them out, which is what the GUI tests check. */
#ifndef GUI_GUI_H
#define GUI_GUI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "emu/cpu.h"
#include "emu/elfsym.h"
#include "emu/msg.h"
#include "emu/reverse.h"
#include "emu/session.h"
#include "vmx/vmcs.h"

/* The window must be at least this big (points), docs/gui.md. */
#define GUI_MIN_W 1280
#define GUI_MIN_H 800

enum gui_color {
	COL_TEXT, COL_DIM, COL_TITLE, COL_CHANGED, COL_BAD, COL_GOOD, COL_HERE,
	COL_ACCENT, COL_BG, COL_PANE, COL_BORDER, COL_HERE_BG, COL_COUNT
};

/* A rectangle of cells. */
struct gui_rect {
	int x, y, w, h;
};

/* One VM entry or exit, as the timeline keeps it. */
struct gui_vmevent {
	uint64_t icount, vtime;
	bool exit;               /* a VM exit, else a VM entry */
	bool ok;                 /* entry: the guest ran */
	uint16_t reason;         /* exit: the basic exit reason */
	uint64_t vmcs;           /* the current VMCS: the guest's lane */
	uint16_t vpid;
	uint64_t qual, guest_rip;
};

/* One byte of serial output and when it was sent. */
struct gui_serial {
	uint64_t icount;
	uint8_t byte;
};

/* What the registers pane compares with after a step. */
struct gui_regs {
	uint64_t gpr[16], rip, rflags, cr0, cr2, cr3, cr4, efer;
	struct seg seg[6];
};

/* Where a run started by a key or the script stops. */
enum gui_target { RUN_FREE, RUN_TO_EXIT, RUN_TO_ENTRY, RUN_TO_RIP };

struct gui_font;

struct gui {
	/* the machine */
	const struct run_opts *o;
	struct session_machine m;
	struct cpu *c;
	struct reverse *rev;
	const char *image_kind;  /* "type1", "type2", "nested" or NULL: Levels */
	struct elfsyms syms;     /* the image's function symbols (Code pane) ... */
	struct elfsyms modsyms[MAX_MODULES];  /* ... and its modules' */
	bool running;
	bool stepping;           /* one instruction: stop after a VM exit too */
	enum gui_target target;
	uint64_t target_rip;
	bool ended;              /* the guest stopped for good */
	enum emu_stop stop;      /* why the last run stopped */
	int break_reason;        /* stop at VM exits of this reason, -1: none */
	char status[256];        /* the last thing that happened, in words */

	/* what the last step changed */
	struct gui_regs before;
	uint64_t before_fields[VMCS_NFIELDS];
	bool have_before;

	/* the history, from the event stream (gui/history.c) */
	struct gui_vmevent *ev;
	size_t nev, cap_ev;
	struct gui_serial *serial;
	size_t nserial, cap_serial;
	uint64_t seen_icount;    /* the furthest event position recorded ... */
	int seen_ord;            /* ... and its order among events at that count */
	uint64_t last_icount;    /* the event before, in this pass */
	int last_ord;

	/* the window */
	struct SDL_Window *win;
	struct SDL_Renderer *ren;
	struct gui_font *font;
	int cw, ch;              /* cell size, pixels */
	int cols, rows;          /* the grid */
	int ww, wh;              /* window size, points */
	float scale;             /* pixels per point (HiDPI) */
	enum lang lang;
	bool att;                /* AT&T syntax in the code pane */
	bool help;               /* the help overlay is up */
	bool quit;
	uint64_t mem_addr;       /* the memory pane's address ... */
	bool mem_phys;           /* ... guest-physical, else guest-virtual */
	uint64_t walk_addr;      /* the walk pane's guest-linear address */
	bool walk_set;
	int vmcs_scroll;         /* rows of the VMCS pane scrolled off */
	int walk_shown;          /* memory references of the walk shown, -1: all */
	char prompt[64];         /* a one-line prompt being typed, "" if none */
	int prompt_kind;
	int mouse_x, mouse_y;    /* cells */
	struct gui_rect timeline; /* where the timeline was drawn, for the mouse */

	/* text dump of the next frame drawn (the tests) */
	FILE *dump;
	const char *pane;        /* the pane drawing, for the dump */
};

/* Draw text at a cell of r (clipped to it), printf-style; also into the
 * dump when one is being written. Returns the columns used. */
int gui_text(struct gui *g, struct gui_rect r, int col, int row, enum gui_color color,
	     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Fill cells of r with a colour. */
void gui_fill(struct gui *g, struct gui_rect r, int col, int row, int w, int h,
	      enum gui_color color);
/* A pane's frame and title; returns the area inside. */
struct gui_rect gui_pane(struct gui *g, struct gui_rect r, enum msg_id title);
/* The function an address is in (gui/pane_code.c): the image's symbols
 * in VMX root operation or without VMX; in a guest, a module's, when
 * exactly one module has a function there. NULL: none known. */
const char *gui_symbol(const struct gui *g, uint64_t addr, uint64_t *off);

/* Columns a UTF-8 string takes. */
int gui_width(const char *s);

#define L(g, id) msg((g)->lang, MSG_##id)

/* The font (gui/font.c): fontconfig finds a monospace face. */
struct gui_font *gui_font_open(struct SDL_Renderer *r, int px, char *why, size_t n);
void gui_font_cell(const struct gui_font *f, int *w, int *h);
void gui_font_draw(struct gui_font *f, struct SDL_Renderer *r, int x, int y, const uint32_t *cps,
		   int n, uint8_t red, uint8_t green, uint8_t blue);
void gui_font_close(struct gui_font *f);

/* The history (gui/history.c). */
bool gui_history_attach(struct gui *g);
void gui_history_rewound(struct gui *g);
/* The last VM exit at or before the machine's position, or NULL. */
const struct gui_vmevent *gui_last_exit(const struct gui *g);
void gui_history_free(struct gui *g);

/* The controls (gui/control.c). */
void gui_step(struct gui *g);
void gui_step_over(struct gui *g);
void gui_continue(struct gui *g, enum gui_target t);
void gui_pause(struct gui *g);
void gui_step_back(struct gui *g);
void gui_back_to_exit(struct gui *g);
void gui_goto_event(struct gui *g, const struct gui_vmevent *e);
void gui_toggle_breakpoint(struct gui *g, uint64_t rip);
void gui_frame_run(struct gui *g);
void gui_remember(struct gui *g);

/* Keys and the script (gui/keys.c, gui/script.c). */
void gui_key(struct gui *g, int sym, unsigned mod);
void gui_text_input(struct gui *g, const char *s);
void gui_click(struct gui *g, int px, int py);
struct gui_script;
struct gui_script *gui_script_open(const char *path, enum lang lang);
/* Run the script's commands due this frame; false once it has ended. */
bool gui_script_tick(struct gui_script *s, struct gui *g);
void gui_script_close(struct gui_script *s);

/* Screenshots (gui/png.c, gui/window.c). */
bool gui_png_write(const char *path, const uint8_t *rgb, int w, int h);
bool gui_screenshot(struct gui *g, const char *path);
bool gui_dump_text(struct gui *g, const char *path);

/* Drawing the whole window (gui/layout.c) and each pane (gui/pane_*.c). */
void gui_draw(struct gui *g);
void pane_levels(struct gui *g, struct gui_rect r);
void pane_regs(struct gui *g, struct gui_rect r);
void pane_code(struct gui *g, struct gui_rect r);
void pane_memory(struct gui *g, struct gui_rect r);
void pane_vmcs(struct gui *g, struct gui_rect r);
void pane_walk(struct gui *g, struct gui_rect r);
void pane_timeline(struct gui *g, struct gui_rect r);
void pane_entry(struct gui *g, struct gui_rect r);
void pane_console(struct gui *g, struct gui_rect r);
void pane_help(struct gui *g, struct gui_rect r);
/* The walk pane's memory references (for stepping through them). */
int gui_walk_refs(struct gui *g);
/* Go to the n-th VM exit of the timeline (from 1), as a click does. */
bool gui_goto_exit(struct gui *g, size_t n);
/* Ask for an address (key m, M, w): the prompt's kind. */
enum { PROMPT_NONE, PROMPT_MEM, PROMPT_PMEM, PROMPT_WALK };
void gui_set_address(struct gui *g, int kind, uint64_t a);

void gui_color_rgb(enum gui_color c, uint8_t *r, uint8_t *gr, uint8_t *b);

/* `nestlab gui`: the window over o's machine. Returns the exit status. */
int gui_main(const struct run_opts *o, const char *script, const char *shot,
	     const char *dump, int w, int h);

#endif
