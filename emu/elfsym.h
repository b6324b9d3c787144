/* The function symbols of an ELF image, for showing code by name (the
 * debugger window's Code pane): ELF32 or ELF64, little-endian, the
 * symbols of type FUNC or NOTYPE defined in an executable section. The
 * file is never trusted: an offset or size outside it, or a table that
 * makes no sense, leaves the table empty. */
#ifndef EMU_ELFSYM_H
#define EMU_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elfsym {
	uint64_t addr, size;     /* size 0: up to the next symbol */
	const char *name;        /* into the table's own copy of the strings */
};

struct elfsyms {
	struct elfsym *v;        /* sorted by address */
	size_t n;
	char *strings;
	struct { uint64_t lo, hi; } text[8];  /* the executable sections */
	int ntext;
};

/* Read the symbols of img; false (and an empty table) when it has none. */
bool elfsyms_load(struct elfsyms *t, const uint8_t *img, size_t len);
void elfsyms_free(struct elfsyms *t);

/* The symbol addr is in, with *off the distance from its start; NULL
 * outside the executable sections or before the first symbol, and past a
 * sized symbol's end. */
const char *elfsyms_find(const struct elfsyms *t, uint64_t addr, uint64_t *off);

#endif
