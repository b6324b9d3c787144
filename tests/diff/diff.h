/* Differential testing against Unicorn: the shared vocabulary.
 *
 * A case is a short sequence of generated instructions run step by step on
 * nestlab and on Unicorn from the same state. Each generated instruction
 * (struct ginsn) carries, besides its bytes, what the harness must do just
 * before it (point a base register into the data area, put a value on the
 * stack) and what the SDM leaves undefined after it (flags, sometimes the
 * destination), so the comparison checks exactly the architectural result. */
#ifndef TESTS_DIFF_H
#define TESTS_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#include "emu/cpu.h"

/* The memory both machines see. Everything lies below 64 KiB so real mode
 * reaches it with all segment bases 0. Data and stack are compared after
 * every step; instructions only ever address those two areas. */
#define RAM_SIZE    0x10000u
#define CODE_BASE   0x1000u
#define CODE_SIZE   0x100u   /* a sequence, then HLT filler (ends Unicorn's blocks) */
#define DATA_BASE   0x4000u
#define DATA_SIZE   0x1000u
#define STACK_BASE  0x6000u
#define STACK_SIZE  0x1000u
#define STACK_MID   (STACK_BASE + STACK_SIZE / 2)

/* Memory operands land in the middle of the data area, leaving room for
 * string instructions running either way and BT offsets reaching out. */
#define DATA_LO     (DATA_BASE + 0x200u)
#define DATA_HI     (DATA_BASE + DATA_SIZE - 0x200u)

#define MAX_INSNS   8
#define MAX_STEPS   48

/* ---- the PRNG: splitmix64, one stream per case ---- */
struct rng {
	uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. The modulo bias is irrelevant here. */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(rng_next(r) % n);
}

/* True with probability num/den. */
static inline bool rng_chance(struct rng *r, uint32_t num, uint32_t den)
{
	return rng_below(r, den) < num;
}

/* ---- generated instructions ---- */

/* Where an operand lives, for rules that depend on it or undefine it. */
enum { LOC_NONE, LOC_REG, LOC_MEM };
struct loc {
	uint8_t kind;   /* LOC_* */
	uint8_t reg;    /* LOC_REG: byte-register id (see below) or GPR number */
	uint8_t size;   /* bytes */
	uint32_t addr;  /* LOC_MEM: physical address */
};

/* Byte registers are named as nestlab's decoder names them: 0..15 are the
 * low bytes of the GPRs (4..7 = SPL..DIL need REX), 16..19 are AH..BH. */
#define BREG_AH 16

/* Set before the instruction runs: reg = (reg & ~mask) | (val & mask).
 * With target >= 0 the address of instruction `target` of the sequence (or
 * of its end when target == n) is added to val at layout. */
struct setreg {
	uint8_t reg;
	int8_t target;
	uint64_t val, mask;
};

/* Bytes stored before the instruction runs (a return address on the stack,
 * the flags POPF will load, a jump table entry). target as in setreg: the
 * bytes then hold that address, little-endian, len bytes of it. */
struct setmem {
	uint32_t addr;
	uint8_t len;
	int8_t target;
	uint8_t b[16];
};

/* Flags or results the SDM leaves undefined in a way that depends on the
 * operands at run time; evaluated from the state just before the step. */
enum dyn {
	DYN_NONE,
	DYN_SHL_SHR,   /* SHL/SAL/SHR: count rules, CF undefined if count >= width */
	DYN_SAR,       /* SAR: count rules */
	DYN_ROT,       /* ROL/ROR: OF undefined if masked count > 1 */
	DYN_RC,        /* RCL/RCR: OF undefined if masked count > 1 */
	DYN_SHXD,      /* SHLD/SHRD: AF, OF; all flags and dst if count > width */
	DYN_BSX,       /* BSF/BSR: dst undefined if the source is 0 */
	DYN_CMPXCHG32, /* CMPXCHG 32-bit in 64-bit mode: see undef_before() */
	DYN_PUSHSEG,   /* PUSH Sreg with operand size > 16: upper slot bytes */
};

/* Instructions Unicorn 2.0.1 rejects because its CPU model lacks the CPUID
 * feature (its x86 features are fixed in x86_reg_reset: no POPCNT, no
 * MOVBE). For these the harness computes the SDM result itself, on the
 * oracle's state, when and only when Unicorn raises #UD. */
enum ref { REF_NONE, REF_POPCNT, REF_MOVBE };

struct ginsn {
	uint8_t b[16];           /* 16: one test is an over-long instruction */
	uint8_t len;
	uint16_t off;            /* offset from CODE_BASE, set by layout */
	char name[40];           /* for failure reports */

	struct setreg set[5];
	uint8_t nset;
	struct setmem mem[2];
	uint8_t nmem;

	uint32_t undef;          /* flags undefined whatever the operands */
	uint8_t dyn;             /* enum dyn */
	uint8_t width;           /* operand width in bits, for dyn rules */
	int16_t count;           /* shift/rotate count: immediate, or -1 for CL */
	struct loc dst, src;     /* for dyn rules and REF models */

	/* Relocations, resolved once every length is known. */
	int8_t rel_at;           /* offset of a branch displacement, or -1 */
	uint8_t rel_size;        /* 1, 2 or 4 */
	int8_t rel_target;       /* target instruction index; n = the end */
	int8_t rip_at;           /* offset of a RIP-relative disp32, or -1 */
	uint32_t rip_addr;       /* the address it must reach */

	uint32_t ea;             /* the memory operand's address (reports), or 0 */
	uint8_t ea_size;
	bool repeats;            /* REP string: may take several steps */
	uint8_t ref;             /* enum ref */
};

struct seq {
	struct ginsn in[MAX_INSNS];
	int n;
};

/* ---- generation ---- */

struct gen {
	struct rng *r;
	int mode;       /* SZ16, SZ32, SZ64 */
	int idx, n;     /* which instruction of how many is being generated */
	bool taken[16]; /* registers whose setups this instruction depends on */
};

struct family {
	const char *name;
	void (*gen)(struct gen *g, struct ginsn *gi);
	bool random_df; /* start with DF set half the time */
};

extern const struct family fam_alu, fam_mov, fam_muldiv, fam_shift, fam_bit,
	fam_stack, fam_branch, fam_string, fam_flagops, fam_bcd, fam_mix;

/* ---- the encoder (enc.c) ---- */

/* One instruction being encoded. Fill the fields, then enc_emit(). */
struct enc {
	int mode;            /* SZ16/32/64 */
	int osz;             /* SZ8..SZ64; decides 66h and REX.W */
	bool fixed_osz;      /* the opcode ignores operand size: no 66h/REX.W */
	int asz;             /* address size: SZ16/32/64 */
	uint8_t pfx[4];      /* extra legacy prefixes (segment, REP, LOCK) */
	int npfx;
	uint8_t rex;         /* REX.WRXB bits wanted (low 4 bits) */
	bool want_rex;       /* emit a REX even if no bit is set */
	bool no_rex;         /* AH..BH in use: a REX would rename them */
	uint8_t opc[3];
	int nopc;
	bool has_modrm;
	uint8_t mod, reg, rm; /* reg and rm low 3 bits; REX bits live in rex */
	bool has_sib;
	uint8_t sib;
	int dispsz;          /* 0, 1, 2 or 4 */
	int64_t disp;
	int immsz;           /* 0, 1, 2, 4 or 8 */
	uint64_t imm;
	int imm2sz;          /* ENTER's second immediate */
	uint64_t imm2;
	bool no_riprel;      /* keep memory operands off RIP-relative forms */
	bool riprel;         /* disp32 is RIP-relative to riptarget */
	uint32_t riptarget;
	struct rng *r;       /* for prefix order and the like */
	int imm_at;          /* set by enc_emit: offset of the immediate */
};

void enc_init(struct enc *e, struct gen *g, int osz);
void enc_op(struct enc *e, int n, ...);              /* opcode bytes */
void enc_prefix(struct enc *e, uint8_t p);
bool enc_has_prefix(const struct enc *e, uint8_t p);
/* ModRM.reg from a GPR, or from a byte-register id when byte is set. */
void enc_reg(struct enc *e, int r, bool byte);
/* ModRM.reg as an opcode extension (/digit). */
void enc_digit(struct enc *e, int d);
/* The r/m operand as a register (GPR, or byte-register id when byte). */
void enc_rm_reg(struct enc *e, int r, bool byte);
/* The low opcode bits name a register (50+r, B8+r, ...): adds r & 7 to the
 * last opcode byte and REX.B for r >= 8. */
void enc_opreg(struct enc *e, int r, bool byte);
void enc_imm(struct enc *e, int size, uint64_t v);

/* The r/m operand as memory: pick an address of `size` bytes in the data
 * area (aligned to `align` if nonzero), an addressing form, and the setups
 * that make the form reach it. Registers in g->taken are left alone. Also
 * adds a harmless segment override now and then. Returns the address. */
uint32_t enc_rm_mem(struct enc *e, struct gen *g, struct ginsn *gi,
		    uint32_t size, uint32_t align);
/* An address in the data area for `size` bytes, aligned to `align` if
 * nonzero, else aligned to size half the time. */
uint32_t pick_data_addr(struct gen *g, uint32_t size, uint32_t align);
/* The same for a given address, whatever it is (LEA, NOP: any value). */
void enc_rm_mem_at(struct enc *e, struct gen *g, struct ginsn *gi, uint32_t addr,
		   bool anywhere);

/* Write the bytes into gi (b, len, rip_at/rel_at offsets). */
void enc_emit(struct enc *e, struct ginsn *gi);

/* ---- operand helpers (enc.c) ---- */
/* The r/m operand: a register half the time (dst: never RSP/SPL), else
 * memory in the data area. Pick register operands first: a byte register
 * decides whether the instruction may carry a REX. */
struct loc rm_operand(struct gen *g, struct enc *e, struct ginsn *gi, int osz, bool dst);
/* The ModRM.reg operand. */
int reg_operand(struct gen *g, struct enc *e, int osz, bool dst);
/* A LOCK prefix now and then, for a lockable form with a memory destination. */
void maybe_lock(struct gen *g, struct enc *e, struct loc dst);
int pick_osz(struct gen *g, bool byte_ok);       /* SZ8..SZ64 legal in the mode */
int pick_gpr(struct gen *g, bool dst);            /* a GPR number; dst avoids RSP */
int pick_breg(struct gen *g, struct enc *e, bool dst); /* byte-register id, keeps e's REX state */
uint64_t pick_value(struct gen *g, int bits);     /* biased: edges, small, random */
void add_set(struct ginsn *gi, int reg, uint64_t val, uint64_t mask);
void add_set_target(struct ginsn *gi, int reg, int target, uint64_t noise);
void add_mem(struct ginsn *gi, uint32_t addr, int len, uint64_t val);
void add_mem_target(struct ginsn *gi, uint32_t addr, int len, int target);
void set_name(struct ginsn *gi, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int osz_bits(int osz);
uint64_t osz_mask(int osz);
/* A register (GPR or byte id) as an operand location. */
struct loc loc_reg(int r, int osz);
struct loc loc_mem(uint32_t addr, int osz);
/* Names for reports: "b", "w", "d", "q" by SZ8..SZ64. */
extern const char *const sz_suffix[4];

#endif
