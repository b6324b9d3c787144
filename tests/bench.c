/* make bench: fixed integer workloads on nestlab's interpreter and, as the
 * peer measured in the same run, on Unicorn (QEMU's TCG translator inside a
 * library). Prints figures and ratios; never passes or fails on time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicorn/unicorn.h>

#include "emu/cpu.h"

#define RAM   (4u << 20)
#define CODE  0x1000u
#define DATA  0x10000u

struct workload {
	const char *name;
	const uint8_t *code;
	size_t len;
	uint64_t iters;          /* loop count loaded into ECX */
	unsigned per_iter;       /* instructions per iteration */
	unsigned fixed;          /* instructions outside the loop, HLT excluded */
};

/* mov ecx, N; L: dec ecx; jnz L; hlt */
static const uint8_t dec_jnz[] = {
	0xb9, 0, 0, 0, 0,
	0xff, 0xc9,
	0x75, 0xfc,
	0xf4,
};

/* mov ecx, N; mov esi, DATA; L: mov eax,[rsi]; add eax,ebx; mov [rsi],eax;
 * xor ebx,eax; dec ecx; jnz L; hlt */
static const uint8_t load_add_store[] = {
	0xb9, 0, 0, 0, 0,
	0xbe, DATA & 0xff, (DATA >> 8) & 0xff, (DATA >> 16) & 0xff, 0,
	0x8b, 0x06,
	0x01, 0xd8,
	0x89, 0x06,
	0x31, 0xc3,
	0xff, 0xc9,
	0x75, 0xf4,
	0xf4,
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void patch_count(uint8_t *code, uint64_t n)
{
	memcpy(code + 1, &(uint32_t){ (uint32_t)n }, 4);
}

static double run_nestlab(const struct workload *w, const uint8_t *code, uint64_t *insns)
{
	struct cpu *c = emu_new(RAM);
	if (!c) {
		fprintf(stderr, "bench: cannot create a machine\n");
		exit(1);
	}
	emu_reset_flat(c, SZ64);
	emu_phys_write(c, CODE, code, w->len);
	c->rip = CODE;
	double t0 = now();
	enum emu_stop s = emu_run(c, ~0ull >> 1);
	double t = now() - t0;
	if (s != EMU_STOP_HLT) {
		fprintf(stderr, "bench: %s did not reach HLT on nestlab (stop %d, rip %#llx)\n",
			w->name, s, (unsigned long long)c->rip);
		exit(1);
	}
	*insns = c->icount - 1; /* HLT is not part of the workload */
	emu_free(c);
	return t;
}

static double run_unicorn(const struct workload *w, const uint8_t *code)
{
	uc_engine *uc;
	if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK) {
		fprintf(stderr, "bench: cannot open Unicorn\n");
		exit(1);
	}
	uc_mem_map(uc, 0, RAM, UC_PROT_ALL);
	uc_mem_write(uc, CODE, code, w->len);
	double t0 = now();
	uc_err e = uc_emu_start(uc, CODE, CODE + w->len - 1, 0, 0);
	double t = now() - t0;
	if (e != UC_ERR_OK) {
		fprintf(stderr, "bench: Unicorn failed on %s: %s\n", w->name, uc_strerror(e));
		exit(1);
	}
	uc_close(uc);
	return t;
}

int main(int argc, char **argv)
{
	uint64_t iters = 50000000;
	if (argc > 1)
		iters = strtoull(argv[1], NULL, 0);
	const struct workload ws[] = {
		{ "dec-jnz", dec_jnz, sizeof dec_jnz, iters, 2, 1 },
		{ "load-add-store-xor", load_add_store, sizeof load_add_store, iters / 2, 6, 2 },
	};
	for (size_t k = 0; k < sizeof ws / sizeof ws[0]; k++) {
		const struct workload *w = &ws[k];
		uint8_t code[64];
		memcpy(code, w->code, w->len);
		patch_count(code, w->iters);
		/* Best of three runs each, so a cold cache or a clock ramping
		 * up does not decide the figure. */
		uint64_t insns;
		double tn = 1e9, tu = 1e9;
		for (int r = 0; r < 3; r++) {
			double t = run_nestlab(w, code, &insns);
			tn = t < tn ? t : tn;
			t = run_unicorn(w, code);
			tu = t < tu ? t : tu;
		}
		uint64_t expect = w->iters * w->per_iter + w->fixed;
		if (insns != expect) {
			fprintf(stderr, "bench: %s retired %llu instructions, expected %llu\n",
				w->name, (unsigned long long)insns, (unsigned long long)expect);
			return 1;
		}
		double mn = insns / tn / 1e6, mu = insns / tu / 1e6;
		printf("%s: %.0f MIPS (unicorn-tcg %.0f MIPS, ratio %.2f)\n", w->name, mn, mu, mn / mu);
	}
	return 0;
}
