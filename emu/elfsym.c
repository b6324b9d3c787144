/* ELF symbols by address (emu/elfsym.h). Offsets and layouts from the
 * System V ABI's ELF chapter (section headers, Elf32_Sym / Elf64_Sym). */
#include <stdlib.h>
#include <string.h>

#include "emu/elfsym.h"

#define SHT_SYMTAB     2
#define SHF_EXECINSTR  0x4
#define STT_NOTYPE     0
#define STT_FUNC       2

/* A little-endian field of w bytes at off, if it is inside the file. */
static bool rd(const uint8_t *p, size_t len, uint64_t off, unsigned w, uint64_t *v)
{
	if (off > len || w > len - off)
		return false;
	*v = 0;
	for (unsigned k = 0; k < w; k++)
		*v |= (uint64_t)p[off + k] << (8 * k);
	return true;
}

/* Where each field is in the two classes. */
struct layout {
	unsigned shoff, shentsize, shnum;               /* in the ELF header */
	unsigned sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, word;
	unsigned sym_size, st_value, st_size, st_info, st_shndx;
};

static const struct layout elf32 = { 0x20, 0x2e, 0x30, 4, 8, 0xc, 0x10, 0x14, 0x18, 4,
				     16, 4, 8, 12, 14 };
static const struct layout elf64 = { 0x28, 0x3a, 0x3c, 4, 8, 0x10, 0x18, 0x20, 0x28, 8,
				     24, 8, 16, 4, 6 };

struct section {
	uint64_t type, flags, addr, offset, size, link;
};

static bool section(const uint8_t *p, size_t len, const struct layout *l, uint64_t shoff,
		    uint64_t entsize, uint64_t k, struct section *s)
{
	uint64_t at = shoff + k * entsize;
	unsigned w = l->word;
	return rd(p, len, at + l->sh_type, 4, &s->type) && rd(p, len, at + l->sh_flags, w, &s->flags) &&
	       rd(p, len, at + l->sh_addr, w, &s->addr) && rd(p, len, at + l->sh_offset, w, &s->offset) &&
	       rd(p, len, at + l->sh_size, w, &s->size) && rd(p, len, at + l->sh_link, 4, &s->link);
}

static int by_addr(const void *a, const void *b)
{
	const struct elfsym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The symbols of one SHT_SYMTAB section, its strings copied. */
static bool read_symtab(struct elfsyms *t, const uint8_t *p, size_t len, const struct layout *l,
			uint64_t shoff, uint64_t entsize, uint64_t shnum, const struct section *st)
{
	struct section str;
	if (st->link >= shnum || !section(p, len, l, shoff, entsize, st->link, &str) ||
	    str.offset > len || str.size > len - str.offset || st->offset > len ||
	    st->size > len - st->offset)
		return false;
	t->strings = malloc(str.size + 1);
	t->v = calloc(st->size / l->sym_size + 1, sizeof *t->v);
	if (!t->strings || !t->v)
		return false;
	memcpy(t->strings, p + str.offset, str.size);
	t->strings[str.size] = 0;
	for (uint64_t at = st->offset; at + l->sym_size <= st->offset + st->size; at += l->sym_size) {
		uint64_t name = 0, value = 0, size = 0, info = 0, shndx = 0;
		struct section in;
		bool ok = rd(p, len, at, 4, &name) && rd(p, len, at + l->st_value, l->word, &value) &&
			  rd(p, len, at + l->st_size, l->word, &size) &&
			  rd(p, len, at + l->st_info, 1, &info) && rd(p, len, at + l->st_shndx, 2, &shndx);
		unsigned type = info & 0xf;
		if (!ok || (type != STT_FUNC && type != STT_NOTYPE) || !shndx || shndx >= shnum ||
		    name >= str.size || !t->strings[name] ||
		    !section(p, len, l, shoff, entsize, shndx, &in) || !(in.flags & SHF_EXECINSTR))
			continue;
		t->v[t->n++] = (struct elfsym){ value, size, t->strings + name };
	}
	qsort(t->v, t->n, sizeof *t->v, by_addr);
	return t->n > 0;
}

bool elfsyms_load(struct elfsyms *t, const uint8_t *img, size_t len)
{
	memset(t, 0, sizeof *t);
	uint64_t cls, shoff, entsize, shnum;
	if (len < 0x40 || memcmp(img, "\177ELF", 4) || img[5] != 1 || !rd(img, len, 4, 1, &cls) ||
	    (cls != 1 && cls != 2))
		return false;
	const struct layout *l = cls == 1 ? &elf32 : &elf64;
	if (!rd(img, len, l->shoff, l->word, &shoff) || !rd(img, len, l->shentsize, 2, &entsize) ||
	    !rd(img, len, l->shnum, 2, &shnum) || entsize < (cls == 1 ? 40u : 64u))
		return false;
	bool found = false;
	for (uint64_t k = 0; k < shnum; k++) {
		struct section s;
		if (!section(img, len, l, shoff, entsize, k, &s))
			break;
		if ((s.flags & SHF_EXECINSTR) && s.size && t->ntext < 8) {
			t->text[t->ntext].lo = s.addr;
			t->text[t->ntext++].hi = s.addr + s.size;
		}
		if (s.type == SHT_SYMTAB && !found)
			found = read_symtab(t, img, len, l, shoff, entsize, shnum, &s);
	}
	if (!found)
		elfsyms_free(t);
	return found;
}

void elfsyms_free(struct elfsyms *t)
{
	free(t->v);
	free(t->strings);
	memset(t, 0, sizeof *t);
}

const char *elfsyms_find(const struct elfsyms *t, uint64_t addr, uint64_t *off)
{
	bool text = false;
	for (int k = 0; k < t->ntext; k++)
		text |= addr >= t->text[k].lo && addr < t->text[k].hi;
	if (!text || !t->n || addr < t->v[0].addr)
		return NULL;
	size_t lo = 0, hi = t->n;          /* the last symbol at or below addr */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	const struct elfsym *s = &t->v[lo];
	if (s->size && addr - s->addr >= s->size)
		return NULL;
	*off = addr - s->addr;
	return s->name;
}
