/* The case driver: build a sequence and a starting state from the case's
 * own PRNG stream, run it one instruction at a time on the oracle and on
 * the machine under test, and compare after every step.
 *
 * Protocol of a step, in order:
 *  1. apply the instruction's setups to both machines (they are equal here);
 *  2. read the oracle's state: rules that depend on operands (shift counts,
 *     a zero BSF source) are evaluated on it;
 *  3. step both; a REP string instruction is stepped until RIP leaves it;
 *  4. compare GPRs, RIP, RFLAGS minus the undefined flags, data and stack
 *     memory minus undefined bytes; or, if either raised an exception, that
 *     both raised the same one (and the rest of the state, which a fault
 *     leaves alone);
 *  5. copy the oracle's registers, flags and undefined bytes into the
 *     machine under test, so undefined results cannot diverge later
 *     (nestlab.c leaves nestlab's lazy flags alone when they are equal).
 * The sequence ends at an exception, at a mismatch, or when RIP leaves the
 * instruction boundaries of the sequence. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tests/diff/run.h"

/* RFLAGS bits compared: all that software can change but RF, which only
 * matters for debug faults and IRET. */
#define FLAGS_CMP (0x3f7fd5u & ~(uint32_t)FL_RF)

static const char *const regname64[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};
static const char *const regname32[8] = {
	"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
};

static int mode_bits(int mode)
{
	return mode == SZ64 ? 64 : mode == SZ32 ? 32 : 16;
}

/* What the SDM leaves undefined after one step. */
struct undef {
	uint32_t flags;
	uint64_t reg[16];          /* undefined bits per GPR */
	struct { uint32_t addr, len; } mem[2];
	int nmem;
};

struct diffs {
	char text[2048];
	size_t len;
	bool any;
};

static void note(struct diffs *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct diffs *d, const char *fmt, ...)
{
	va_list ap;
	d->any = true;
	if (d->len >= sizeof d->text - 1)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(d->text + d->len, sizeof d->text - d->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		d->len += (size_t)n;
	if (d->len > sizeof d->text - 1)
		d->len = sizeof d->text - 1;
}

/* ---- generation and layout ---- */

static uint64_t case_seed(uint64_t seed, int fidx, int mode, uint32_t case_no)
{
	struct rng r = { seed ^ 0x6e6573746c6162ull };
	r.s ^= rng_next(&r) * (uint64_t)(fidx + 1);
	r.s ^= rng_next(&r) * (uint64_t)(mode + 11);
	r.s ^= rng_next(&r) * (uint64_t)(case_no + 101);
	return rng_next(&r);
}

static uint32_t insn_addr(const struct seq *s, int k)
{
	if (k >= s->n)
		return CODE_BASE + s->in[s->n - 1].off + s->in[s->n - 1].len;
	return CODE_BASE + s->in[k].off;
}

static void put_le(uint8_t *p, int len, uint64_t v)
{
	for (int k = 0; k < len; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

/* Assign offsets, then resolve branch displacements, RIP-relative
 * displacements and setups that hold instruction addresses. */
static bool layout(struct seq *s)
{
	uint16_t off = 0;
	for (int k = 0; k < s->n; k++) {
		s->in[k].off = off;
		off = (uint16_t)(off + s->in[k].len);
	}
	if (off > CODE_SIZE - 16)
		return false;
	for (int k = 0; k < s->n; k++) {
		struct ginsn *gi = &s->in[k];
		uint32_t next = CODE_BASE + gi->off + gi->len;
		if (gi->rel_at >= 0 && gi->rel_target < 0)
			gi->rel_target = (int8_t)s->n;
		if (gi->rel_at >= 0) {
			int64_t rel = (int64_t)insn_addr(s, gi->rel_target) - next;
			if (gi->rel_size == 1 && (rel < -128 || rel > 127))
				return false;
			put_le(gi->b + gi->rel_at, gi->rel_size, (uint64_t)rel);
		}
		if (gi->rip_at >= 0)
			put_le(gi->b + gi->rip_at, 4, (uint64_t)gi->rip_addr - next);
		for (int j = 0; j < gi->nset; j++)
			if (gi->set[j].target >= 0)
				gi->set[j].val += insn_addr(s, gi->set[j].target);
		for (int j = 0; j < gi->nmem; j++)
			if (gi->mem[j].target >= 0)
				put_le(gi->mem[j].b, gi->mem[j].len, insn_addr(s, gi->mem[j].target));
	}
	return true;
}

static void generate(struct rng *r, const struct family *fam, int mode, struct seq *s)
{
	struct gen g = { .r = r, .mode = mode };
	memset(s, 0, sizeof *s);
	s->n = 1 + (int)rng_below(r, MAX_INSNS);
	g.n = s->n;
	for (int k = 0; k < s->n; k++) {
		struct ginsn *gi = &s->in[k];
		gi->rel_at = gi->rip_at = -1;
		gi->rel_target = -1;
		g.idx = k;
		memset(g.taken, 0, sizeof g.taken);
		fam->gen(&g, gi);
	}
}

static void initial_state(struct rng *r, const struct family *fam, int mode,
			  struct regs *st, uint8_t *ram)
{
	struct gen g = { .r = r, .mode = mode };
	memset(st, 0, sizeof *st);
	int n = mode == SZ64 ? 16 : 8;
	for (int k = 0; k < n; k++)
		st->gpr[k] = pick_value(&g, mode == SZ64 ? 64 : 32);
	uint64_t sp = STACK_MID - rng_below(r, 0x100);
	if (!rng_chance(r, 1, 8))
		sp &= ~7ull;
	/* Real mode stacks use SP only; ESP's upper half must survive. */
	if (mode == SZ16 && rng_chance(r, 1, 4))
		sp |= rng_next(r) & 0xffff0000u;
	st->gpr[R_SP] = sp;
	st->rip = CODE_BASE;
	st->rflags = FL_1 | (rng_next(r) & FL_ARITH);
	if (fam->random_df ? rng_chance(r, 1, 2) : rng_chance(r, 1, 16))
		st->rflags |= FL_DF;
	for (uint32_t a = DATA_BASE; a < DATA_BASE + DATA_SIZE; a += 8)
		put_le(ram + a, 8, rng_next(r));
	for (uint32_t a = STACK_BASE; a < STACK_BASE + STACK_SIZE; a += 8)
		put_le(ram + a, 8, rng_next(r));
}

/* ---- undefined results ---- */

static uint64_t loc_value(struct machine *m, const struct regs *r, struct loc l)
{
	uint64_t mask = l.size == 8 ? ~0ull : (1ull << (8 * l.size)) - 1;
	if (l.kind == LOC_MEM) {
		uint8_t b[8] = { 0 };
		m->read(m, l.addr, b, l.size);
		uint64_t v = 0;
		for (int k = 0; k < l.size; k++)
			v |= (uint64_t)b[k] << (8 * k);
		return v;
	}
	if (l.size == 1 && l.reg >= BREG_AH)
		return (r->gpr[l.reg - BREG_AH] >> 8) & 0xff;
	return r->gpr[l.reg] & mask;
}

static void undef_loc(struct undef *u, struct loc l)
{
	if (l.kind == LOC_REG) {
		u->reg[l.reg] = ~0ull;
	} else if (l.kind == LOC_MEM && u->nmem < 2) {
		u->mem[u->nmem].addr = l.addr;
		u->mem[u->nmem++].len = l.size;
	}
}

static void undef_before(const struct ginsn *gi, struct machine *ref, const struct regs *pre,
			 int mode, struct undef *u)
{
	memset(u, 0, sizeof *u);
	u->flags = gi->undef;
	uint64_t cnt = gi->count >= 0 ? (uint64_t)gi->count : pre->gpr[R_CX] & 0xff;
	unsigned c = (unsigned)(cnt & (gi->width == 64 ? 63 : 31));
	switch (gi->dyn) {
	case DYN_SHL_SHR:
		if (c >= gi->width)
			u->flags |= FL_CF;
		/* fall through */
	case DYN_SAR:
		if (c)
			u->flags |= FL_AF;
		if (c > 1)
			u->flags |= FL_OF;
		break;
	case DYN_ROT: case DYN_RC:
		if (c > 1)
			u->flags |= FL_OF;
		break;
	case DYN_SHXD:
		if (c)
			u->flags |= FL_AF;
		if (c > 1)
			u->flags |= FL_OF;
		if (c > gi->width) {
			u->flags |= FL_ARITH;
			undef_loc(u, gi->dst);
		}
		break;
	case DYN_BSX:
		if (loc_value(ref, pre, gi->src) == 0)
			undef_loc(u, gi->dst);
		break;
	case DYN_CMPXCHG32:
		/* 32-bit CMPXCHG in 64-bit mode. Equal: RAX is not written
		 * (SDM), but Unicorn 2.0.1 writes EAX back and so clears
		 * RAX[63:32]; masked. Not equal with a register destination:
		 * the SDM's pseudo-code writes DEST back (which would clear
		 * its upper half) while Intel parts leave the register alone;
		 * either is accepted. */
		if (mode != SZ64)
			break;
		if ((uint32_t)pre->gpr[R_AX] == (uint32_t)loc_value(ref, pre, gi->dst))
			u->reg[R_AX] = 0xffffffff00000000ull;
		else if (gi->dst.kind == LOC_REG)
			u->reg[gi->dst.reg] = 0xffffffff00000000ull;
		break;
	default:
		break;
	}
}

static void undef_after(const struct ginsn *gi, const struct regs *post, int mode, struct undef *u)
{
	if (gi->dyn == DYN_PUSHSEG && gi->width > 16 && u->nmem < 2) {
		uint64_t sp = post->gpr[R_SP] & (mode == SZ16 ? 0xffff : ~0ull);
		u->mem[u->nmem].addr = (uint32_t)sp + 2;
		u->mem[u->nmem++].len = gi->width / 8 - 2;
	}
}

/* ---- models for what Unicorn's CPU model lacks ---- */

static void write_reg(struct regs *r, int reg, int width, uint64_t v)
{
	if (width == 16)
		r->gpr[reg] = (r->gpr[reg] & ~0xffffull) | (v & 0xffff);
	else if (width == 32)
		r->gpr[reg] = (uint32_t)v; /* zero-extends in 64-bit mode */
	else
		r->gpr[reg] = v;
}

static uint64_t bswap_n(uint64_t v, int width)
{
	uint64_t o = 0;
	for (int k = 0; k < width / 8; k++)
		o |= ((v >> (8 * k)) & 0xff) << (width - 8 - 8 * k);
	return o;
}

/* POPCNT and MOVBE as the SDM defines them, run on the oracle's state. */
static void ref_model(struct machine *ref, const struct ginsn *gi)
{
	struct regs r;
	ref->get(ref, &r);
	uint64_t src = loc_value(ref, &r, gi->src);
	if (gi->ref == REF_POPCNT) {
		write_reg(&r, gi->dst.reg, gi->width, (uint64_t)__builtin_popcountll(src));
		r.rflags &= ~(uint64_t)FL_ARITH;
		if (src == 0)
			r.rflags |= FL_ZF;
	} else if (gi->dst.kind == LOC_REG) {
		write_reg(&r, gi->dst.reg, gi->width, bswap_n(src, gi->width));
	} else {
		uint8_t b[8];
		put_le(b, gi->width / 8, bswap_n(src, gi->width));
		ref->write(ref, gi->dst.addr, b, gi->width / 8);
	}
	r.rip += gi->len;
	ref->set(ref, &r);
}

/* ---- stepping and comparing ---- */

/* One instruction: a REP string instruction keeps RIP on itself until its
 * last iteration, on Unicorn always and on nestlab maybe. */
static int step_insn(struct machine *m, const struct ginsn *gi, uint32_t at)
{
	int v = m->step(m);
	for (int k = 0; gi->repeats && v == STEP_OK && k < 100000; k++) {
		struct regs r;
		m->get(m, &r);
		if (r.rip != at)
			break;
		v = m->step(m);
	}
	return v;
}

static void compare(int mode, const struct regs *a, const struct regs *b,
		    const struct undef *u, struct machine *ma, struct machine *mb,
		    struct diffs *d)
{
	int n = mode == SZ64 ? 16 : 8;
	uint64_t wmask = mode == SZ64 ? ~0ull : 0xffffffffull;
	for (int k = 0; k < n; k++) {
		uint64_t m = wmask & ~u->reg[k];
		if ((a->gpr[k] & m) != (b->gpr[k] & m))
			note(d, "  %-6s expected %016" PRIx64 "  got %016" PRIx64 "\n",
			     mode == SZ64 ? regname64[k] : regname32[k], a->gpr[k] & wmask,
			     b->gpr[k] & wmask);
	}
	if ((a->rip & wmask) != (b->rip & wmask))
		note(d, "  rip    expected %016" PRIx64 "  got %016" PRIx64 "\n", a->rip & wmask,
		     b->rip & wmask);
	uint32_t fm = FLAGS_CMP & ~u->flags;
	if ((a->rflags & fm) != (b->rflags & fm))
		note(d, "  rflags expected %08" PRIx64 "  got %08" PRIx64
		     "  (compared bits %08x, differing %08" PRIx64 ")\n",
		     a->rflags, b->rflags, fm, (a->rflags ^ b->rflags) & fm);

	static const uint32_t area[2][2] = { { DATA_BASE, DATA_SIZE }, { STACK_BASE, STACK_SIZE } };
	int shown = 0;
	for (int k = 0; k < 2; k++) {
		uint8_t x[DATA_SIZE > STACK_SIZE ? DATA_SIZE : STACK_SIZE];
		uint8_t y[sizeof x];
		ma->read(ma, area[k][0], x, area[k][1]);
		mb->read(mb, area[k][0], y, area[k][1]);
		if (!memcmp(x, y, area[k][1]))
			continue;
		for (uint32_t i = 0; i < area[k][1]; i++) {
			uint32_t pa = area[k][0] + i;
			bool masked = false;
			for (int j = 0; j < u->nmem; j++)
				masked |= pa >= u->mem[j].addr && pa < u->mem[j].addr + u->mem[j].len;
			if (x[i] == y[i] || masked)
				continue;
			if (shown++ < 8)
				note(d, "  mem[%#06x] expected %02x  got %02x\n", pa, x[i], y[i]);
			else if (shown == 9)
				note(d, "  (more memory differs)\n");
		}
	}
}

static void print_regs(const char *title, int mode, const struct regs *r)
{
	int n = mode == SZ64 ? 16 : 8;
	printf("  %s:", title);
	for (int k = 0; k < n; k++) {
		if (k % 4 == 0)
			printf("\n   ");
		if (mode == SZ64)
			printf(" %-3s=%016" PRIx64, regname64[k], r->gpr[k]);
		else
			printf(" %-3s=%08" PRIx64, regname32[k], r->gpr[k]);
	}
	printf("\n    rip=%" PRIx64 " rflags=%08" PRIx64 "\n", r->rip, r->rflags);
}

static void print_seq(const struct seq *s, int mark)
{
	for (int k = 0; k < s->n; k++) {
		const struct ginsn *gi = &s->in[k];
		char hex[64];
		int p = 0;
		for (int j = 0; j < gi->len; j++)
			p += snprintf(hex + p, sizeof hex - (size_t)p, "%02x ", gi->b[j]);
		printf("  %c %04x: %-46s %s\n", k == mark ? '>' : ' ', CODE_BASE + gi->off, hex,
		       gi->name);
		for (int j = 0; j < gi->nset; j++)
			printf("            before: %s = %#" PRIx64 " (mask %#" PRIx64 ")\n",
			       regname64[gi->set[j].reg], gi->set[j].val, gi->set[j].mask);
		for (int j = 0; j < gi->nmem; j++) {
			printf("            before: mem[%#x] =", gi->mem[j].addr);
			for (int b = 0; b < gi->mem[j].len; b++)
				printf(" %02x", gi->mem[j].b[b]);
			printf("\n");
		}
	}
}

static const char *vec_name(int v)
{
	static char buf[16];
	switch (v) {
	case STEP_OK: return "none";
	case STEP_HLT: return "hlt";
	case STEP_MEMERR: return "unmapped-memory";
	case STEP_OTHER: return "other-error";
	case VEC_DE: return "#DE";
	case VEC_UD: return "#UD";
	case VEC_GP: return "#GP";
	case VEC_SS: return "#SS";
	case VEC_PF: return "#PF";
	default:
		snprintf(buf, sizeof buf, "vector %d", v);
		return buf;
	}
}

static void apply_setups(const struct ginsn *gi, struct machine *m)
{
	if (!gi->nset && !gi->nmem)
		return;
	struct regs r;
	m->get(m, &r);
	for (int j = 0; j < gi->nset; j++) {
		const struct setreg *s = &gi->set[j];
		r.gpr[s->reg] = (r.gpr[s->reg] & ~s->mask) | (s->val & s->mask);
		if (m->mode != SZ64)
			r.gpr[s->reg] = (uint32_t)r.gpr[s->reg];
	}
	m->set(m, &r);
	for (int j = 0; j < gi->nmem; j++)
		m->write(m, gi->mem[j].addr, gi->mem[j].b, gi->mem[j].len);
}

bool run_case(struct ctx *x, int fidx, const struct family *fam, int mode, uint32_t case_no)
{
	struct rng r = { case_seed(x->seed, fidx, mode, case_no) };
	struct seq s;
	static uint8_t ram[RAM_SIZE];
	struct regs st;
	struct machine *ref = x->ref[mode], *dut = x->dut[mode];

	do
		generate(&r, fam, mode, &s);
	while (!layout(&s));
	initial_state(&r, fam, mode, &st, ram);
	memset(ram + CODE_BASE, 0xf4, CODE_SIZE); /* HLT after the sequence */
	for (int k = 0; k < s.n; k++)
		memcpy(ram + CODE_BASE + s.in[k].off, s.in[k].b, s.in[k].len);
	ref->load(ref, &st, ram);
	dut->load(dut, &st, ram);

	if (x->verbose) {
		printf("case %s/%d #%u\n", fam->name, mode_bits(mode), case_no);
		print_seq(&s, -1);
	}

	int k = 0;
	for (int step = 0; step < MAX_STEPS && k < s.n; step++) {
		const struct ginsn *gi = &s.in[k];
		uint32_t at = CODE_BASE + gi->off;
		struct regs pre, a, b;
		struct undef u;
		struct diffs d = { .len = 0 };

		apply_setups(gi, ref);
		apply_setups(gi, dut);
		ref->get(ref, &pre);
		undef_before(gi, ref, &pre, mode, &u);
		char ea_before[64] = "";
		if (gi->ea) {
			uint8_t mb[16];
			int n = gi->ea_size > 16 ? 16 : gi->ea_size;
			ref->read(ref, gi->ea, mb, (size_t)n);
			for (int j = 0; j < n; j++)
				snprintf(ea_before + 3 * j, sizeof ea_before - 3 * (size_t)j, " %02x", mb[j]);
		}

		int va = step_insn(ref, gi, at);
		if (va == VEC_UD && gi->ref != REF_NONE) {
			ref_model(ref, gi);
			va = STEP_OK;
		}
		int vb = step_insn(dut, gi, at);
		if (vb == VEC_UD && gi->ref != REF_NONE && x->self) {
			ref_model(dut, gi);
			vb = STEP_OK;
		}
		ref->get(ref, &a);
		dut->get(dut, &b);
		undef_after(gi, &a, mode, &u);

		if (va != vb)
			note(&d, "  exception expected %s  got %s\n", vec_name(va), vec_name(vb));
		if (va == STEP_MEMERR || va == STEP_OTHER)
			note(&d, "  (the oracle stopped with %s: a harness bug)\n", vec_name(va));
		compare(mode, &a, &b, &u, ref, dut, &d);

		if (x->verbose)
			printf("  step %d @%04x %-28s %s%s\n", step, at, gi->name,
			       d.any ? "MISMATCH" : "ok",
			       va != STEP_OK ? vec_name(va) : "");
		if (d.any) {
			if (x->reports_left > 0) {
				x->reports_left--;
				printf("FAIL %s mode %d seed %" PRIu64 " case %u, step %d, instruction %d (%s)\n",
				       fam->name, mode_bits(mode), x->seed, case_no, step, k, gi->name);
				printf("  rerun: diff --family %s --mode %d --seed %" PRIu64 " --case %u --verbose\n",
				       fam->name, mode_bits(mode), x->seed, case_no);
				print_seq(&s, k);
				print_regs("state before (after setups)", mode, &pre);
				if (gi->ea)
					printf("  memory operand at %#x, before:%s\n", gi->ea, ea_before);
				print_regs("expected (unicorn)", mode, &a);
				print_regs("got (nestlab)", mode, &b);
				printf("  differences:\n%s", d.text);
			}
			return false;
		}
		x->steps++;
		if (va != STEP_OK) {
			x->exc[va < 0x102 ? va : 0x101]++;
			return true; /* both raised the same exception */
		}

		/* Undefined results: the oracle's become the truth. */
		dut->set(dut, &a);
		for (int j = 0; j < u.nmem; j++) {
			uint8_t buf[16];
			ref->read(ref, u.mem[j].addr, buf, u.mem[j].len);
			dut->write(dut, u.mem[j].addr, buf, u.mem[j].len);
		}

		int next = -1;
		for (int j = 0; j < s.n; j++)
			if (a.rip == CODE_BASE + s.in[j].off)
				next = j;
		if (next < 0) {
			/* reached the end, or left the sequence */
			x->left += a.rip != insn_addr(&s, s.n);
			break;
		}
		k = next;
	}
	return true;
}
