/* The decoder: bytes to struct insn (SDM vol. 2, chapter 2). Prefixes, REX,
 * the opcode maps, ModRM/SIB/displacement, immediates; operand and address
 * size from the code size and the 66h/67h/REX.W prefixes. It never touches
 * CPU state: the result depends only on the bytes and the code size, which
 * is what lets decoded instructions be cached. */
#include <string.h>

#include "emu/decode.h"
#include "emu/optab.h"

struct rd {
	const uint8_t *b;
	int n, pos;
	bool short_;  /* ran past n */
};

static uint64_t take(struct rd *r, int bytes)
{
	uint64_t v = 0;
	if (r->pos + bytes > r->n) {
		r->short_ = true;
		r->pos += bytes;
		return 0;
	}
	for (int k = 0; k < bytes; k++)
		v |= (uint64_t)r->b[r->pos + k] << (8 * k);
	r->pos += bytes;
	return v;
}

static int64_t sext(uint64_t v, int bytes)
{
	int sh = 64 - 8 * bytes;
	return (int64_t)(v << sh) >> sh;
}

/* Byte registers without REX: 4..7 name AH, CH, DH, BH (SDM vol. 2, 3.1.1.1). */
static uint8_t byte_reg(unsigned r, uint8_t rex)
{
	return (r < 4 || rex || r > 7) ? (uint8_t)r : (uint8_t)(REG_AH + r - 4);
}

/* ModRM memory forms with 16-bit addressing (SDM vol. 2, table 2-1). */
static void modrm16(struct rd *r, struct insn *i, unsigned mod, unsigned rm)
{
	static const uint8_t base[8] = { R_BX, R_BX, R_BP, R_BP, EA_NONE, EA_NONE, R_BP, R_BX };
	static const uint8_t index[8] = { R_SI, R_DI, R_SI, R_DI, R_SI, R_DI, EA_NONE, EA_NONE };
	i->base = base[rm];
	i->index = index[rm];
	if (rm == 4 || rm == 5) {
		i->base = i->index;
		i->index = EA_NONE;
	}
	if (mod == 0 && rm == 6) {
		i->base = EA_NONE;
		i->disp = (uint16_t)take(r, 2);
	} else if (mod == 1) {
		i->disp = sext(take(r, 1), 1);
	} else if (mod == 2) {
		i->disp = (uint16_t)take(r, 2);
	}
	i->seg = i->base == R_BP ? SEG_SS : SEG_DS;
}

/* ModRM/SIB memory forms with 32/64-bit addressing (tables 2-2, 2-3). */
static void modrm32(struct rd *r, struct insn *i, unsigned mod, unsigned rm,
		    uint8_t rex, bool mode64)
{
	unsigned b = rm;
	i->index = EA_NONE;
	i->scale = 0;
	if (rm == 4) {
		unsigned sib = (unsigned)take(r, 1);
		unsigned idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
		i->scale = (uint8_t)(sib >> 6);
		if (idx != 4)
			i->index = (uint8_t)idx;
		b = sib & 7;
		if (mod == 0 && b == 5)
			i->base = EA_NONE;
		else
			i->base = (uint8_t)(b | ((rex & 1) << 3));
	} else if (mod == 0 && rm == 5) {
		i->base = mode64 ? EA_RIP : EA_NONE;
	} else {
		i->base = (uint8_t)(rm | ((rex & 1) << 3));
	}
	if (mod == 1)
		i->disp = sext(take(r, 1), 1);
	else if (mod == 2 || i->base == EA_NONE || i->base == EA_RIP)
		i->disp = sext(take(r, 4), 4);
	i->seg = (i->base == R_SP || i->base == R_BP) ? SEG_SS : SEG_DS;
}

static int osz_of(uint32_t f, int code_sz, bool p66, uint8_t rex)
{
	if (f & D_BYTE)
		return SZ8;
	if (code_sz == SZ64) {
		if ((rex & 8) || (f & D_F64))
			return SZ64;
		if (f & D_D64)
			return p66 ? SZ16 : SZ64;
		return p66 ? SZ16 : SZ32;
	}
	return (code_sz == SZ16) != p66 ? SZ16 : SZ32;
}

int emu_decode_ex(const uint8_t *bytes, int n, int code_sz, struct insn *out,
		  bool *ends_block)
{
	struct rd r = { bytes, n > 15 ? 15 : n, 0, false };
	struct insn i;
	bool p66 = false, p67 = false, mode64 = code_sz == SZ64;
	uint8_t rex = 0;

	memset(&i, 0, sizeof i);
	i.seg_ovr = SEG_NONE;
	i.base = i.index = EA_NONE;
	/* Legacy prefixes, any order; a REX counts only right before the opcode. */
	for (;;) {
		if (r.pos >= r.n)
			return -1;
		uint8_t b = bytes[r.pos];
		if (b == 0x66) p66 = true;
		else if (b == 0x67) p67 = true;
		else if (b == 0xf0) i.lock = 1;
		else if (b == 0xf2) i.rep = REP_F2;
		else if (b == 0xf3) i.rep = REP_F3;
		else if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e)
			i.seg_ovr = (uint8_t)((b >> 3) & 3);
		else if (b == 0x64 || b == 0x65)
			i.seg_ovr = (uint8_t)(SEG_FS + (b & 1));
		else if (mode64 && (b & 0xf0) == 0x40) {
			r.pos++;
			rex = b;
			if (r.pos < r.n) {
				uint8_t nb = bytes[r.pos];
				if (nb == 0x66 || nb == 0x67 || nb == 0xf0 || nb == 0xf2 ||
				    nb == 0xf3 || nb == 0x26 || nb == 0x2e || nb == 0x36 ||
				    nb == 0x3e || nb == 0x64 || nb == 0x65 || (nb & 0xf0) == 0x40) {
					rex = 0; /* a prefix after REX cancels it */
					continue;
				}
			}
			break;
		} else
			break;
		r.pos++;
	}
	i.rex = rex;
	i.p66 = p66;

	/* Opcode and map. A VEX prefix (C4/C5) brings its own map and
	 * register bits (SDM vol. 2, 2.3); outside 64-bit mode C4/C5 are
	 * LES/LDS unless the next byte would be a register ModRM. */
	unsigned map = MAP_1B, opb = (unsigned)take(&r, 1);
	bool vex = false;
	if ((opb == 0xc4 || opb == 0xc5) && r.pos < r.n &&
	    (mode64 || (bytes[r.pos] & 0xc0) == 0xc0)) {
		/* 66, F2, F3, LOCK or REX before VEX: #UD (2.3.2). */
		if (p66 || i.rep || i.lock || rex)
			return 0;
		unsigned b1 = (unsigned)take(&r, 1), w = 0, b2 = b1, m = 1;
		if (opb == 0xc4) {
			m = b1 & 0x1f;
			b2 = (unsigned)take(&r, 1);
			w = b2 >> 7;
		}
		unsigned rxb = opb == 0xc4 ? (~b1 >> 5) & 7 : (~b1 >> 5) & 4;
		if (b2 & 4)
			return 0; /* VEX.L = 1: no 256-bit forms here */
		if (b2 & 3)
			return 0; /* a 66/F3/F2 form (pp): none implemented */
		i.vreg = (uint8_t)((~b2 >> 3) & (mode64 ? 15 : 7));
		if (mode64)
			rex = (uint8_t)(0x40 | (w << 3) | rxb);
		i.rex = rex;
		vex = true;
		if (m != 2)
			return r.short_ ? -1 : 0; /* only the 0F38 map (BMI1) */
		map = MAP_0F38;
		opb = (unsigned)take(&r, 1);
	} else if (opb == 0x0f) {
		map = MAP_0F;
		opb = (unsigned)take(&r, 1);
		if (opb == 0x38 || opb == 0x3a) {
			map = opb == 0x38 ? MAP_0F38 : MAP_0F3A;
			opb = (unsigned)take(&r, 1);
		}
	}
	if (r.short_)
		return -1;
	i.op = (uint16_t)(map << 8 | opb);

	const struct opent *e = vex ? optab_vex(opb) : &optab[map][opb];
	if (!e)
		return 0;
	if (map == MAP_0F && i.rep == REP_F3) {
		const struct opent *alt = optab_f3(opb);
		if (alt)
			e = alt;
	}
	uint32_t f = e->f;
	if (!e->fn && !(f & D_GROUP))
		return 0;

	/* ModRM, and the group member it selects. */
	unsigned modrm = 0, mod = 3, reg = 0, rm = 0;
	if (f & D_MODRM) {
		modrm = (unsigned)take(&r, 1);
		if (r.short_)
			return -1;
		mod = modrm >> 6;
		reg = (modrm >> 3) & 7;
		rm = modrm & 7;
		if (f & D_GROUP) {
			e = &e->grp[reg];
			f |= e->f;
		}
	}
	if (!e->fn)
		return 0;
	if ((mode64 && (f & D_I64)) || (!mode64 && (f & D_I64ONLY)))
		return 0;
	if ((f & D_NOPFX) && (p66 || i.rep))
		return 0;

	i.osz = (uint8_t)osz_of(f, code_sz, p66, rex);
	if (mode64)
		i.asz = p67 ? SZ32 : SZ64;
	else
		i.asz = (code_sz == SZ16) != p67 ? SZ16 : SZ32;
	i.modrm = (uint8_t)modrm;
	i.mod = (uint8_t)mod;
	i.reg = (uint8_t)(reg | ((rex & 4) << 1));
	if (f & D_BYTE)
		i.reg = byte_reg(i.reg, rex);

	if (f & D_OPREG) {
		unsigned rr = (opb & 7) | ((rex & 1) << 3);
		i.reg = (f & D_BYTE) ? byte_reg(rr, rex) : (uint8_t)rr;
	}
	if (f & D_FORCEREG) {
		mod = 3;
		i.mod = 3;
	}
	if (f & D_MODRM) {
		if (mod == 3) {
			i.rm = (uint8_t)(rm | ((rex & 1) << 3));
			if (f & (D_BYTE | D_RMB))
				i.rm = byte_reg(i.rm, rex);
			if (f & D_MEM)
				return 0;
		} else {
			if (f & D_REGONLY)
				return 0;
			if (i.asz == SZ16)
				modrm16(&r, &i, mod, rm);
			else
				modrm32(&r, &i, mod, rm, rex, mode64);
		}
	} else if (f & D_MOFFS) {
		i.mod = 0;
		i.disp = (int64_t)take(&r, 1 << i.asz);
		i.seg = SEG_DS;
	}
	if (i.seg_ovr != SEG_NONE)
		i.seg = i.seg_ovr;
	else if (!(f & (D_MODRM | D_MOFFS)))
		i.seg = SEG_DS;

	/* Immediates. */
	if (f & D_PTR) {
		i.imm = take(&r, i.osz == SZ16 ? 2 : 4);
		i.imm2 = (uint16_t)take(&r, 2);
	} else if (f & D_ENTER) {
		i.imm = take(&r, 2);
		i.imm2 = (uint16_t)take(&r, 1);
	} else if (f & D_IB) {
		uint64_t v = take(&r, 1);
		i.imm = (f & D_SX) ? (uint64_t)sext(v, 1) : v;
	} else if (f & D_IW) {
		i.imm = take(&r, 2);
	} else if (f & D_IZ) {
		int nb = i.osz == SZ16 ? 2 : 4;
		i.imm = (uint64_t)sext(take(&r, nb), nb);
	} else if (f & D_IV) {
		i.imm = take(&r, 1 << i.osz);
	}
	if (r.short_)
		return -1;
	/* LOCK only on the listed read-modify-write forms with a memory
	 * destination (SDM vol. 2, LOCK). */
	if (i.lock && (!(f & D_LOCK) || mod == 3))
		return 0;

	i.len = (uint8_t)r.pos;
	i.fn = e->fn;
	if ((f & D_MODRM) && mod == 3 && e->rsz && e->rsz[i.osz])
		i.fn = e->rsz[i.osz];
	if ((f & D_MODRM) && mod != 3 && e->msz && e->msz[i.osz])
		i.fn = e->msz[i.osz];
	if (ends_block)
		*ends_block = (f & D_END) != 0;
	*out = i;
	return i.len;
}

int emu_decode(const uint8_t *bytes, int n, int code_sz, struct insn *out)
{
	return emu_decode_ex(bytes, n, code_sz, out, NULL);
}
