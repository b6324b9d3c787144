/* The instruction encoder of the differential test: prefixes, REX, ModRM,
 * SIB, displacement and immediates (SDM vol. 2, chapter 2), and the
 * memory-operand picker that chooses an addressing form and sets the base
 * and index registers, just before the instruction, so the effective
 * address lands where the generator wants it. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tests/diff/diff.h"

const char *const sz_suffix[4] = { "b", "w", "d", "q" };

int osz_bits(int osz)
{
	return 8 << osz;
}

uint64_t osz_mask(int osz)
{
	return osz == SZ64 ? ~0ull : (1ull << osz_bits(osz)) - 1;
}

static int default_asz(int mode)
{
	return mode;
}

void enc_init(struct enc *e, struct gen *g, int osz)
{
	memset(e, 0, sizeof *e);
	e->mode = g->mode;
	e->osz = osz;
	e->asz = default_asz(g->mode);
	e->r = g->r;
	e->imm_at = -1;
}

void enc_op(struct enc *e, int n, ...)
{
	va_list ap;
	va_start(ap, n);
	for (int k = 0; k < n; k++)
		e->opc[e->nopc++] = (uint8_t)va_arg(ap, int);
	va_end(ap);
}

void enc_prefix(struct enc *e, uint8_t p)
{
	assert(e->npfx < 4);
	e->pfx[e->npfx++] = p;
}

bool enc_has_prefix(const struct enc *e, uint8_t p)
{
	for (int k = 0; k < e->npfx; k++)
		if (e->pfx[k] == p)
			return true;
	return false;
}

/* A byte-register id in a 3-bit field plus a REX bit (rexbit). */
static uint8_t byte_field(struct enc *e, int r, uint8_t rexbit)
{
	if (r >= BREG_AH) {
		e->no_rex = true;
		return (uint8_t)(r - BREG_AH + 4);
	}
	if (r >= 4)
		e->want_rex = true;
	if (r >= 8)
		e->rex |= rexbit;
	return (uint8_t)(r & 7);
}

static uint8_t gpr_field(struct enc *e, int r, uint8_t rexbit)
{
	if (r >= 8)
		e->rex |= rexbit;
	return (uint8_t)(r & 7);
}

void enc_reg(struct enc *e, int r, bool byte)
{
	e->has_modrm = true;
	e->reg = byte ? byte_field(e, r, 4) : gpr_field(e, r, 4);
}

void enc_digit(struct enc *e, int d)
{
	e->has_modrm = true;
	e->reg = (uint8_t)d;
}

void enc_rm_reg(struct enc *e, int r, bool byte)
{
	e->has_modrm = true;
	e->mod = 3;
	e->rm = byte ? byte_field(e, r, 1) : gpr_field(e, r, 1);
}

void enc_opreg(struct enc *e, int r, bool byte)
{
	uint8_t f = byte ? byte_field(e, r, 1) : gpr_field(e, r, 1);
	e->opc[e->nopc - 1] = (uint8_t)(e->opc[e->nopc - 1] + f);
}

void enc_imm(struct enc *e, int size, uint64_t v)
{
	e->immsz = size;
	e->imm = v;
}

/* ---- setups ---- */

void add_set(struct ginsn *gi, int reg, uint64_t val, uint64_t mask)
{
	assert(gi->nset < sizeof gi->set / sizeof gi->set[0]);
	gi->set[gi->nset++] = (struct setreg){ (uint8_t)reg, -1, val, mask };
}

void add_set_target(struct ginsn *gi, int reg, int target, uint64_t noise)
{
	assert(gi->nset < sizeof gi->set / sizeof gi->set[0]);
	gi->set[gi->nset++] = (struct setreg){ (uint8_t)reg, (int8_t)target, noise, ~0ull };
}

void add_mem(struct ginsn *gi, uint32_t addr, int len, uint64_t val)
{
	assert(gi->nmem < 2 && len <= 8);
	struct setmem *m = &gi->mem[gi->nmem++];
	memset(m, 0, sizeof *m);
	m->addr = addr;
	m->len = (uint8_t)len;
	m->target = -1;
	for (int k = 0; k < len; k++)
		m->b[k] = (uint8_t)(val >> (8 * k));
}

void add_mem_target(struct ginsn *gi, uint32_t addr, int len, int target)
{
	add_mem(gi, addr, len, 0);
	gi->mem[gi->nmem - 1].target = (int8_t)target;
}

void set_name(struct ginsn *gi, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(gi->name, sizeof gi->name, fmt, ap);
	va_end(ap);
}

struct loc loc_reg(int r, int osz)
{
	return (struct loc){ LOC_REG, (uint8_t)r, (uint8_t)(1 << osz), 0 };
}

struct loc loc_mem(uint32_t addr, int osz)
{
	return (struct loc){ LOC_MEM, 0, (uint8_t)(1 << osz), addr };
}

/* ---- operand choices ---- */

int pick_osz(struct gen *g, bool byte_ok)
{
	int lo = byte_ok ? SZ8 : SZ16, hi = g->mode == SZ64 ? SZ64 : SZ32;
	return lo + (int)rng_below(g->r, (uint32_t)(hi - lo + 1));
}

int pick_gpr(struct gen *g, bool dst)
{
	int n = g->mode == SZ64 ? 16 : 8;
	for (;;) {
		int r = (int)rng_below(g->r, (uint32_t)n);
		if (!(dst && r == R_SP))
			return r;
	}
}

int pick_breg(struct gen *g, struct enc *e, bool dst)
{
	for (;;) {
		int r;
		bool rex_w = !e->fixed_osz && e->osz == SZ64;
		if (g->mode != SZ64 || e->no_rex) {
			r = (int)rng_below(g->r, 8);
			r = r < 4 ? r : r - 4 + BREG_AH;
		} else if (e->rex || e->want_rex || rex_w) {
			r = (int)rng_below(g->r, 16);
		} else {
			r = (int)rng_below(g->r, 20);
		}
		if (dst && r == R_SP)
			continue; /* SPL would move the stack */
		if (r >= BREG_AH)
			e->no_rex = true;
		else if (r >= 4)
			e->want_rex = true;
		return r;
	}
}

uint64_t pick_value(struct gen *g, int bits)
{
	uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
	switch (rng_below(g->r, 16)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return mask;
	case 3: return 1ull << (bits - 1);
	case 4: return (1ull << (bits - 1)) - 1;
	case 5: return rng_below(g->r, 16);
	case 6: return (0 - (uint64_t)rng_below(g->r, 16)) & mask;
	case 7: return 1ull << rng_below(g->r, (uint32_t)bits);
	default: return rng_next(g->r) & mask;
	}
}

/* ---- memory operands ---- */

/* Segment overrides that change nothing here: every base is 0. CS is left
 * out in protected mode, where writing through a code segment is #GP. */
static void maybe_segment(struct enc *e, struct gen *g)
{
	static const uint8_t all[6] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };
	static const uint8_t nocs[5] = { 0x26, 0x36, 0x3e, 0x64, 0x65 };
	if (!rng_chance(g->r, 1, 6))
		return;
	if (g->mode == SZ32)
		enc_prefix(e, nocs[rng_below(g->r, 5)]);
	else
		enc_prefix(e, all[rng_below(g->r, 6)]);
}

static bool reg_free(const struct enc *e, const struct gen *g, int r)
{
	if (r == R_SP || g->taken[r])
		return false;
	if (r >= 8 && (g->mode != SZ64 || e->no_rex))
		return false;
	return true;
}

static int pick_free(struct enc *e, struct gen *g)
{
	int n = g->mode == SZ64 ? 16 : 8;
	for (int tries = 0; tries < 64; tries++) {
		int r = (int)rng_below(g->r, (uint32_t)n);
		if (reg_free(e, g, r))
			return r;
	}
	return -1;
}

/* Bits above the address size are ignored; fill them with noise so that a
 * machine that uses them is caught. */
static uint64_t with_noise(struct gen *g, uint64_t v, int asz)
{
	int regbits = g->mode == SZ64 ? 64 : 32;
	int abits = 8 << asz;
	if (abits >= regbits)
		return v;
	uint64_t amask = (1ull << abits) - 1;
	uint64_t rmask = regbits == 64 ? ~0ull : (1ull << regbits) - 1;
	uint64_t noise = rng_chance(g->r, 1, 2) ? rng_next(g->r) : 0;
	return ((v & amask) | (noise & ~amask)) & rmask;
}

/* A 16-bit addressing form (SDM vol. 2, table 2-1). */
static void mem16(struct enc *e, struct gen *g, struct ginsn *gi, uint32_t addr)
{
	static const int8_t base[8] = { R_BX, R_BX, R_BP, R_BP, R_SI, R_DI, R_BP, R_BX };
	static const int8_t index[8] = { R_SI, R_DI, R_SI, R_DI, -1, -1, -1, -1 };
	int rm, mod;
	for (int tries = 0;; tries++) {
		rm = (int)rng_below(g->r, 8);
		mod = (int)rng_below(g->r, 3);
		if (mod == 0 && rm == 6)
			break; /* [disp16] needs no register */
		if (tries > 32) {
			rm = 6, mod = 0;
			break;
		}
		if (g->taken[base[rm]] || (index[rm] >= 0 && g->taken[index[rm]]))
			continue;
		break;
	}
	e->has_modrm = true;
	e->mod = (uint8_t)mod;
	e->rm = (uint8_t)rm;
	if (mod == 0 && rm == 6) {
		e->dispsz = 2;
		e->disp = addr & 0xffff;
		return;
	}
	int64_t disp = 0;
	if (mod == 1) {
		e->dispsz = 1;
		disp = (int8_t)rng_next(g->r);
	} else if (mod == 2) {
		e->dispsz = 2;
		disp = (int16_t)(rng_chance(g->r, 1, 2) ? rng_next(g->r) : rng_below(g->r, 64));
	}
	e->disp = disp;
	uint64_t iv = 0;
	if (index[rm] >= 0) {
		iv = rng_chance(g->r, 1, 2) ? rng_next(g->r) : rng_below(g->r, 128);
		add_set(gi, index[rm], with_noise(g, iv, SZ16), ~0ull);
	}
	uint64_t bv = (uint64_t)addr - (uint64_t)disp - iv;
	add_set(gi, base[rm], with_noise(g, bv, SZ16), ~0ull);
}

enum { F_BASE, F_SIB, F_SIB_NOBASE, F_SIB_NOINDEX, F_ABS, F_RIP, F_NFORMS };

/* A 32/64-bit addressing form (tables 2-2 and 2-3). Falls back to an
 * absolute address when the registers a form needs are all taken. */
static void mem32(struct enc *e, struct gen *g, struct ginsn *gi, uint64_t addr, bool anywhere)
{
	int abits = 8 << e->asz;
	uint64_t amask = abits == 64 ? ~0ull : (1ull << abits) - 1;
	bool fits32 = addr < 0x80000000ull || e->asz != SZ64;
	int form, base = -1, index = -1;

	for (int tries = 0;; tries++) {
		base = index = -1;
		form = (int)rng_below(g->r, F_NFORMS);
		if (tries > 32)
			form = F_ABS;
		if (form == F_RIP && (g->mode != SZ64 || anywhere || e->no_riprel))
			continue;
		if (form == F_ABS || form == F_SIB_NOBASE) {
			if (!fits32)
				continue;
		}
		if (form == F_BASE || form == F_SIB || form == F_SIB_NOINDEX) {
			base = pick_free(e, g);
			if (base < 0)
				continue;
		}
		if (form == F_SIB || form == F_SIB_NOBASE) {
			index = pick_free(e, g);
			if (index < 0 || index == base)
				continue;
		}
		break;
	}

	e->has_modrm = true;
	int scale = (int)rng_below(g->r, 4);
	uint64_t iv = 0;
	if (index >= 0) {
		if (form == F_SIB_NOBASE && e->asz == SZ64)
			/* disp32 is sign-extended: keep index*scale near addr */
			iv = rng_below(g->r, 1u << 20);
		else
			iv = rng_chance(g->r, 1, 2) ? rng_next(g->r) : rng_below(g->r, 256);
		iv &= amask;
	}

	switch (form) {
	case F_ABS:
		e->mod = 0;
		e->dispsz = 4;
		e->disp = (int32_t)(uint32_t)addr;
		if (g->mode == SZ64) {
			/* [disp32] needs a SIB in 64-bit mode: rm=5 is RIP-relative */
			e->rm = 4;
			e->has_sib = true;
			e->sib = (uint8_t)((rng_below(g->r, 4) << 6) | (4 << 3) | 5);
		} else {
			e->rm = 5;
		}
		return;
	case F_RIP:
		e->mod = 0;
		e->rm = 5;
		e->dispsz = 4;
		e->riprel = true;
		e->riptarget = (uint32_t)addr;
		return;
	case F_SIB_NOBASE:
		e->mod = 0;
		e->rm = 4;
		e->has_sib = true;
		e->sib = (uint8_t)((scale << 6) | ((index & 7) << 3) | 5);
		if (index >= 8)
			e->rex |= 2;
		e->dispsz = 4;
		e->disp = (int32_t)(uint32_t)((addr - (iv << scale)) & amask);
		add_set(gi, index, with_noise(g, iv, e->asz), ~0ull);
		return;
	default:
		break;
	}

	/* Forms with a base register: pick mod and displacement. RBP/R13 as a
	 * base with mod 0 would mean "no base", so they get a displacement. */
	int mod = (int)rng_below(g->r, 3);
	if (mod == 0 && (base & 7) == 5)
		mod = 1;
	int64_t disp = 0;
	if (mod == 1) {
		disp = (int8_t)rng_next(g->r);
		e->dispsz = 1;
	} else if (mod == 2) {
		disp = (int32_t)(rng_chance(g->r, 1, 2) ? rng_next(g->r) : rng_below(g->r, 512));
		e->dispsz = 4;
	}
	e->mod = (uint8_t)mod;
	e->disp = disp;
	if (base >= 8)
		e->rex |= 1;
	if (form == F_BASE && (base & 7) != 4) {
		e->rm = (uint8_t)(base & 7);
	} else {
		/* SIB: with an index, or none (index field 4 without REX.X).
		 * RSP-numbered bases (R12) always need this form. */
		int ifield = 4;
		if (form == F_SIB) {
			ifield = index & 7;
			if (index >= 8)
				e->rex |= 2;
		} else {
			scale = (int)rng_below(g->r, 4); /* ignored without index */
			iv = 0;
		}
		e->rm = 4;
		e->has_sib = true;
		e->sib = (uint8_t)((scale << 6) | (ifield << 3) | (base & 7));
	}
	if (form == F_SIB)
		add_set(gi, index, with_noise(g, iv, e->asz), ~0ull);
	uint64_t bv = (addr - (uint64_t)disp - (iv << scale)) & amask;
	add_set(gi, base, with_noise(g, bv, e->asz), ~0ull);
}

static void pick_asz(struct enc *e, struct gen *g)
{
	if (!rng_chance(g->r, 1, 5))
		return;
	if (g->mode == SZ16)
		e->asz = SZ32;
	else if (g->mode == SZ32)
		e->asz = SZ16;
	else
		e->asz = SZ32;
}

void enc_rm_mem_at(struct enc *e, struct gen *g, struct ginsn *gi, uint32_t addr, bool anywhere)
{
	pick_asz(e, g);
	maybe_segment(e, g);
	if (e->asz == SZ16) {
		mem16(e, g, gi, anywhere ? (uint32_t)rng_next(g->r) & 0xffff : addr);
		return;
	}
	uint64_t a = addr;
	if (anywhere) {
		a = rng_next(g->r);
		if (e->asz == SZ32 || rng_chance(g->r, 1, 2))
			a &= 0x7fffffff;
	}
	mem32(e, g, gi, a, anywhere);
}

uint32_t pick_data_addr(struct gen *g, uint32_t size, uint32_t align)
{
	uint32_t span = DATA_HI - DATA_LO - size;
	uint32_t addr = DATA_LO + rng_below(g->r, span);
	if (align)
		addr &= ~(align - 1);
	else if (rng_chance(g->r, 1, 2))
		addr &= ~(size - 1);
	return addr;
}

uint32_t enc_rm_mem(struct enc *e, struct gen *g, struct ginsn *gi, uint32_t size, uint32_t align)
{
	uint32_t addr = pick_data_addr(g, size, align);
	enc_rm_mem_at(e, g, gi, addr, false);
	gi->ea = addr;
	gi->ea_size = (uint8_t)size;
	return addr;
}

/* ---- emitting ---- */

static bool needs_66(const struct enc *e)
{
	if (e->fixed_osz || e->osz == SZ8)
		return false;
	if (e->mode == SZ16)
		return e->osz == SZ32;
	return e->osz == SZ16;
}

static int encoded_length(const struct enc *e, int np, bool rex)
{
	return np + rex + e->nopc + e->has_modrm + e->has_sib + e->dispsz + e->immsz + e->imm2sz;
}

void enc_emit(struct enc *e, struct ginsn *gi)
{
	uint8_t pfx[8];
	int np = 0;
	for (int k = 0; k < e->npfx; k++)
		pfx[np++] = e->pfx[k];
	if (needs_66(e))
		pfx[np++] = 0x66;
	else if (!e->fixed_osz && e->osz == SZ64 && rng_chance(e->r, 1, 8))
		pfx[np++] = 0x66; /* REX.W wins over 66h */
	if (e->asz != default_asz(e->mode))
		pfx[np++] = 0x67;

	uint8_t rex = e->rex;
	if (!e->fixed_osz && e->osz == SZ64)
		rex |= 8;
	bool emit_rex = e->mode == SZ64 && (rex || e->want_rex);
	assert(!(emit_rex && e->no_rex));
	assert(e->mode == SZ64 || !rex);
	/* Now and then a REX that changes nothing. */
	if (e->mode == SZ64 && !emit_rex && !e->no_rex && rng_chance(e->r, 1, 10))
		emit_rex = true;

	/* Over 15 bytes (LOCK, a segment, 66h, 67h, REX, SIB, disp32 and
	 * imm32 together): drop segment overrides and a redundant 66h, which
	 * change nothing here. */
	for (int k = np - 1; k >= 0 && encoded_length(e, np, emit_rex) > 15; k--) {
		bool seg = pfx[k] == 0x26 || pfx[k] == 0x2e || pfx[k] == 0x36 ||
			   pfx[k] == 0x3e || pfx[k] == 0x64 || pfx[k] == 0x65;
		bool extra66 = pfx[k] == 0x66 && !needs_66(e);
		if (seg || extra66) {
			pfx[k] = pfx[--np];
			k = np;
		}
	}
	assert(encoded_length(e, np, emit_rex) <= 15);

	/* Legacy prefixes may come in any order. */
	for (int k = np - 1; k > 0; k--) {
		int j = (int)rng_below(e->r, (uint32_t)k + 1);
		uint8_t t = pfx[k];
		pfx[k] = pfx[j];
		pfx[j] = t;
	}

	uint8_t *b = gi->b;
	int n = 0;
	for (int k = 0; k < np; k++)
		b[n++] = pfx[k];
	if (emit_rex)
		b[n++] = (uint8_t)(0x40 | rex);
	for (int k = 0; k < e->nopc; k++)
		b[n++] = e->opc[k];
	if (e->has_modrm)
		b[n++] = (uint8_t)((e->mod << 6) | ((e->reg & 7) << 3) | (e->rm & 7));
	if (e->has_sib)
		b[n++] = e->sib;
	if (e->dispsz) {
		if (e->riprel)
			gi->rip_at = (int8_t)n, gi->rip_addr = e->riptarget;
		for (int k = 0; k < e->dispsz; k++)
			b[n++] = (uint8_t)((uint64_t)e->disp >> (8 * k));
	}
	e->imm_at = n;
	for (int k = 0; k < e->immsz; k++)
		b[n++] = (uint8_t)(e->imm >> (8 * k));
	for (int k = 0; k < e->imm2sz; k++)
		b[n++] = (uint8_t)(e->imm2 >> (8 * k));
	gi->len = (uint8_t)n;
}

/* ---- operands as families use them ---- */

struct loc rm_operand(struct gen *g, struct enc *e, struct ginsn *gi, int osz, bool dst)
{
	if (rng_chance(g->r, 1, 2)) {
		int r = osz == SZ8 ? pick_breg(g, e, dst) : pick_gpr(g, dst);
		enc_rm_reg(e, r, osz == SZ8);
		return loc_reg(r, osz);
	}
	uint32_t a = enc_rm_mem(e, g, gi, 1u << osz, 0);
	return loc_mem(a, osz);
}

int reg_operand(struct gen *g, struct enc *e, int osz, bool dst)
{
	int r = osz == SZ8 ? pick_breg(g, e, dst) : pick_gpr(g, dst);
	enc_reg(e, r, osz == SZ8);
	return r;
}

void maybe_lock(struct gen *g, struct enc *e, struct loc dst)
{
	if (dst.kind == LOC_MEM && rng_chance(g->r, 1, 8))
		enc_prefix(e, 0xf0);
}
