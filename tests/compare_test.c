/* nestlab compare's formatting (emu/compare.c) and the hypervisor note
 * (loader_needs_vmx), without KVM. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "emu/compare.h"
#include "emu/loader.h"

Test(compare, same_output_has_no_diff)
{
	cr_assert_null(compare_diff("a\nb\n", "a\nb\n"));
	/* "# " lines are informational: left out of the comparison. */
	cr_assert_null(compare_diff("a\n# vendor Intel\nb\n", "a\n# vendor AMD\nb\n"));
}

Test(compare, diff_marks_each_side)
{
	char *d = compare_diff("one\ntwo\nthree\n", "one\nTWO\nthree\nfour\n");
	cr_assert_not_null(d);
	cr_assert(strstr(d, "  - two\n"), "%s", d);
	cr_assert(strstr(d, "  + TWO\n"), "%s", d);
	cr_assert(strstr(d, "  + four\n"), "%s", d);
	cr_assert(strstr(d, "    one\n"), "context: %s", d);
	free(d);
}

Test(compare, counts_lines)
{
	unsigned n, info;
	compare_count_lines("a\n# x\nb\n", &n, &info);
	cr_assert_eq(n, 3);
	cr_assert_eq(info, 1);
}

static void side(struct compare_side *s, const char *name, const char *serial, double t)
{
	memset(s, 0, sizeof *s);
	s->name = name;
	s->serial = serial;
	s->r.ran = true;
	s->r.status = 1;
	snprintf(s->r.end, sizeof s->r.end, "the guest exited with status 1");
	s->r.stats.seconds = t;
}

Test(compare, table_is_aligned_and_says_identical)
{
	struct comparison c = { .image = "g.elf" };
	side(&c.side[0], "interpreter", "hi\n", 0.002);
	side(&c.side[1], "KVM", "hi\n", 0.040);
	c.side[0].r.stats.has_insns = true;
	c.side[0].r.stats.insns = 1234567;
	c.side[1].r.stats.nuser = 1;
	c.side[1].r.stats.user_total = 2000;
	snprintf(c.side[1].r.stats.user[0].name, 48, "KVM_EXIT_IO");
	c.side[1].r.stats.user[0].n = 2000;
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	compare_print(f, &c, LANG_EN);
	fclose(f);
	cr_assert(strstr(buf, "1,234,567"), "%s", buf);
	cr_assert(strstr(buf, "serial output: identical"), "%s", buf);
	cr_assert(strstr(buf, "same end and same output"), "%s", buf);
	/* The value columns start at the same place on every row. */
	const char *a = strstr(buf, "wall time"), *b = strstr(buf, "how it ended");
	cr_assert(a && b);
	cr_assert_eq(strstr(a, "2.000 ms") - a, strstr(b, "the guest") - b, "%s", buf);
	cr_assert(strstr(buf, "20.000 us"), "40 ms over 2000 exits: %s", buf);
	free(buf);
	cr_assert(compare_same(&c));
	c.side[1].serial = "ho\n";
	cr_assert_not(compare_same(&c));
}

Test(compare, json_has_the_fields)
{
	struct comparison c = { .image = "g.elf" };
	side(&c.side[0], "interpreter", "hi\n", 0.002);
	side(&c.side[1], "KVM", "ho\n", 0.040);
	const struct comparison *list[1] = { &c };
	char *j = compare_json(list, 1, NULL);
	cr_assert_not_null(j);
	cr_assert(strstr(j, "\"serial_identical\":\tfalse"), "%s", j);
	cr_assert(strstr(j, "\"serial_diff\""), "%s", j);
	cr_assert(strstr(j, "\"wall_seconds\""), "%s", j);
	free(j);
}

/* A minimal ELF32 with one SHT_NOTE section holding the nestlab note. */
static size_t note_elf(uint8_t *img, const char *owner, const char *desc)
{
	memset(img, 0, 512);
	memcpy(img, "\x7f" "ELF\x01\x01\x01", 7);
	uint32_t shoff = 256;
	uint16_t shentsize = 40, shnum = 2;
	memcpy(img + 32, &shoff, 4);
	memcpy(img + 46, &shentsize, 2);
	memcpy(img + 48, &shnum, 2);
	uint8_t *sh = img + shoff + 40;     /* section 1 */
	uint32_t type = 7, off = 128, size = 24;
	memcpy(sh + 4, &type, 4);
	memcpy(sh + 16, &off, 4);
	memcpy(sh + 20, &size, 4);
	uint32_t note[3] = { 8, 4, NESTLAB_NOTE_NEEDS };
	memcpy(img + 128, note, 12);
	memcpy(img + 140, owner, 8);
	memcpy(img + 148, desc, 4);
	return 512;
}

Test(loader, hypervisor_note)
{
	uint8_t img[512];
	size_t len = note_elf(img, "nestlab", "vmx");
	cr_assert(loader_needs_vmx(img, len));
	note_elf(img, "nestlaX", "vmx");
	cr_assert_not(loader_needs_vmx(img, len));
	note_elf(img, "nestlab", "svm");
	cr_assert_not(loader_needs_vmx(img, len));
	/* A section header table past the end of the file: no. */
	note_elf(img, "nestlab", "vmx");
	cr_assert_not(loader_needs_vmx(img, 300));
	cr_assert_not(loader_needs_vmx((const uint8_t *)"\x7f" "ELF", 4));
}
