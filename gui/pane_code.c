/* The Code pane: the instructions around RIP, disassembled by Capstone in
 * the CPU's current mode (16, 32 or 64-bit), Intel or AT&T syntax (key
 * t). Memory is read as gdb reads it (emu/gdbtarget.h): through the
 * current paging and EPT, without side effects. ▶ marks RIP, ● a
 * breakpoint. */
#include <capstone/capstone.h>
#include <string.h>

#include "emu/gdbtarget.h"
#include "gui/code.h"
#include "gui/gui.h"

static bool open_cs(const struct gui *g, csh *h)
{
	cs_mode mode = g->c->code_sz == SZ64 ? CS_MODE_64 :
		       g->c->code_sz == SZ32 ? CS_MODE_32 : CS_MODE_16;
	if (cs_open(CS_ARCH_X86, mode, h) != CS_ERR_OK)
		return false;
	if (g->att)
		cs_option(*h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	return true;
}

/* Read up to 16 bytes at lin; how many could be read. */
static size_t fetch(struct gui *g, uint64_t lin, uint8_t *buf)
{
	size_t n = 0;
	while (n < 16 && gdb_mem_read(g->c, lin + n, buf + n, 1))
		n++;
	return n;
}

/* One instruction at lin into *insn (allocated by Capstone); false if
 * it cannot be read or decoded. */
static bool decode_one(struct gui *g, csh h, uint64_t lin, cs_insn **insn)
{
	uint8_t buf[16];
	size_t n = fetch(g, lin, buf);
	return n && cs_disasm(h, buf, n, lin, 1, insn) == 1;
}

bool gui_call_at(struct gui *g, uint64_t rip, uint64_t *next)
{
	csh h;
	cs_insn *i;
	if (!open_cs(g, &h))
		return false;
	bool call = false;
	if (decode_one(g, h, rip, &i)) {
		call = !strncmp(i->mnemonic, "call", 4);
		*next = rip + i->size;
		cs_free(i, 1);
	}
	cs_close(&h);
	return call;
}

/* Where to start so that `before` instructions precede rip: x86 cannot
 * be decoded backwards, so try each start up to 40 bytes back and keep
 * the furthest whose instructions end exactly at rip. */
static uint64_t start_before(struct gui *g, csh h, uint64_t rip, int before)
{
	for (uint64_t back = 40; back > 0; back--) {
		uint64_t at = rip - back;
		int count = 0;
		while (at < rip) {
			cs_insn *i;
			if (!decode_one(g, h, at, &i))
				break;
			at += i->size;
			cs_free(i, 1);
			count++;
		}
		if (at == rip && count <= before)
			return rip - back;
	}
	return rip;
}

const char *gui_symbol(const struct gui *g, uint64_t addr, uint64_t *off)
{
	if (!g->c->vmx.nonroot)
		return elfsyms_find(&g->syms, addr, off);
	const char *found = NULL;
	for (int k = 0; k < MAX_MODULES; k++) {
		uint64_t o;
		const char *s = elfsyms_find(&g->modsyms[k], addr, &o);
		if (s && found)
			return NULL;    /* two modules could be running here: say none */
		if (s) {
			found = s;
			*off = o;
		}
	}
	return found;
}

static bool is_breakpoint(const struct cpu *c, uint64_t a)
{
	for (int k = 0; k < c->dbg.nbp; k++)
		if (c->dbg.bp[k] == a)
			return true;
	return false;
}

static void line(struct gui *g, struct gui_rect r, int row, const cs_insn *i)
{
	bool here = i->address == g->c->rip;
	if (here)
		gui_fill(g, r, 0, row, r.w, 1, COL_HERE_BG);
	if (is_breakpoint(g->c, i->address))
		gui_text(g, r, 0, row, COL_BAD, "●");
	if (here)
		gui_text(g, r, 1, row, COL_HERE, "▶");
	char bytes[3 * 8 + 1] = "";
	for (unsigned k = 0; k < i->size && k < 6; k++)
		snprintf(bytes + 3 * k, 4, "%02x ", i->bytes[k]);
	int x = 3 + gui_text(g, r, 3, row, COL_DIM, "%016llx", (unsigned long long)i->address);
	gui_text(g, r, x + 1, row, COL_DIM, "%s", bytes);
	gui_text(g, r, x + 19, row, here ? COL_HERE : COL_TEXT, "%-7s %s", i->mnemonic, i->op_str);
}

void pane_code(struct gui *g, struct gui_rect outer)
{
	struct gui_rect r = gui_pane(g, outer, MSG_GUI_PANE_CODE);
	csh h;
	if (!open_cs(g, &h)) {
		gui_text(g, r, 0, 0, COL_BAD, "capstone");
		return;
	}
	gui_text(g, r, r.w - 6, -1, COL_DIM, "%s", g->att ? "AT&T" : "Intel");
	uint64_t off;
	const char *in = gui_symbol(g, g->c->rip, &off);
	if (in)
		gui_text(g, r, 6, -1, COL_DIM, "%s+0x%llx", in, (unsigned long long)off);
	uint64_t at = start_before(g, h, g->c->rip, r.h / 4);
	for (int row = 0; row < r.h; row++) {
		cs_insn *i;
		if (!decode_one(g, h, at, &i)) {
			gui_text(g, r, 3, row, COL_BAD, L(g, GUI_UNREADABLE),
				 (unsigned long long)at);
			break;
		}
		const char *name = gui_symbol(g, at, &off);
		if (name && !off && row + 1 < r.h)   /* a function starts: its name */
			gui_text(g, r, 1, row++, COL_TITLE, "%s:", name);
		line(g, r, row, i);
		at += i->size;
		cs_free(i, 1);
	}
	cs_close(&h);
}
