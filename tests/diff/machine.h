/* The two machines of a differential run behind one small interface:
 * nestlab (nestlab.c) and the Unicorn oracle (oracle.c). A second oracle
 * can stand in for nestlab (--self) to check the harness itself. */
#ifndef TESTS_DIFF_MACHINE_H
#define TESTS_DIFF_MACHINE_H

#include <stddef.h>
#include <stdint.h>

struct regs {
	uint64_t gpr[16];
	uint64_t rip;
	uint64_t rflags;
};

/* m_step() results besides an exception vector (0..255). */
#define STEP_OK       (-1)
#define STEP_HLT      0x100  /* stopped at HLT */
#define STEP_MEMERR   0x101  /* touched memory outside RAM: a harness bug */
#define STEP_OTHER    0x102  /* anything else the machine reports */

struct machine {
	const char *name;
	int mode;   /* SZ16, SZ32, SZ64 */
	void *impl;
	void (*load)(struct machine *m, const struct regs *r, const uint8_t *ram);
	void (*get)(struct machine *m, struct regs *r);
	void (*set)(struct machine *m, const struct regs *r);
	void (*write)(struct machine *m, uint32_t pa, const void *buf, size_t len);
	void (*read)(struct machine *m, uint32_t pa, void *buf, size_t len);
	int (*step)(struct machine *m);
	void (*free)(struct machine *m);
};

/* Both return NULL (after a message) if the machine cannot be made. */
struct machine *oracle_new(int mode);
struct machine *nestlab_new(int mode);

#endif
