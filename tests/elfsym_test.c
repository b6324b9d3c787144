/* ELF symbols by address (emu/elfsym.c), on a guest this build made and
 * on files that are not what they claim. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/elfsym.h"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s (run make first)", path);
	static uint8_t buf[4 << 20];
	*len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return buf;
}

/* type1.elf is an ELF32 file of 64-bit code: every symbol is found at its
 * own address, and inside it by its offset. */
Test(elfsym, every_symbol_is_found_where_it_is)
{
	size_t len;
	uint8_t *img = slurp(NESTLAB_BUILD "/guests/type1/type1.elf", &len);
	struct elfsyms t;
	cr_assert(elfsyms_load(&t, img, len));
	cr_assert_gt(t.n, 50);
	bool vmx_enter = false;
	for (size_t k = 0; k < t.n; k++) {
		uint64_t off;
		const char *s = elfsyms_find(&t, t.v[k].addr, &off);
		cr_assert_not_null(s, "%s", t.v[k].name);
		cr_assert_eq(off, 0);
		vmx_enter |= !strcmp(t.v[k].name, "vmx_enter");
		bool next_starts = k + 1 < t.n && t.v[k + 1].addr == t.v[k].addr + 1;
		if (t.v[k].size > 1 && !next_starts) {
			cr_assert_eq(elfsyms_find(&t, t.v[k].addr + 1, &off) != NULL, true);
			cr_assert_eq(off, 1, "%s", t.v[k].name);
		}
	}
	cr_assert(vmx_enter);
	uint64_t off;
	cr_assert_null(elfsyms_find(&t, 0x10, &off), "below the code");
	cr_assert_null(elfsyms_find(&t, ~0ull, &off), "past the code");
	elfsyms_free(&t);
}

Test(elfsym, damaged_files_give_an_empty_table)
{
	size_t len;
	uint8_t *img = slurp(NESTLAB_BUILD "/guests/type1/type1.elf", &len);
	static uint8_t bad[4 << 20];
	struct elfsyms t;
	cr_assert_not(elfsyms_load(&t, img, 100), "cut short");
	cr_assert_eq(t.n, 0);
	memcpy(bad, img, len);
	memset(bad + 0x20, 0xff, 4);               /* e_shoff far past the end */
	cr_assert_not(elfsyms_load(&t, bad, len));
	memcpy(bad, img, len);
	bad[4] = 7;                                 /* no such class */
	cr_assert_not(elfsyms_load(&t, bad, len));
	cr_assert_not(elfsyms_load(&t, (const uint8_t *)"not an ELF file at all, really", 30));
	/* random bytes in the section headers: whatever is kept is sorted,
	 * named, and inside the file (make asan checks the reads) */
	srand(7);
	for (int k = 0; k < 200; k++) {
		memcpy(bad, img, len);
		uint32_t shoff = (uint32_t)bad[0x20] | bad[0x21] << 8 | bad[0x22] << 16 |
				 (uint32_t)bad[0x23] << 24;
		for (int j = 0; j < 64; j++)
			bad[(shoff + (size_t)(rand() % 400)) % len] = (uint8_t)rand();
		if (elfsyms_load(&t, bad, len)) {
			for (size_t s = 0; s < t.n; s++) {
				cr_assert_gt(strlen(t.v[s].name), 0);
				cr_assert(!s || t.v[s - 1].addr <= t.v[s].addr);
				uint64_t off;
				const char *n = elfsyms_find(&t, t.v[s].addr, &off);
				cr_assert(!n || off == 0 || t.v[s].size == 0 ||
					  t.v[s].addr - off >= t.v[0].addr);
			}
		}
		elfsyms_free(&t);
	}
}
