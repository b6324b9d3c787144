/* The image loader (Multiboot v1 spec, sections 3.1 header, 3.2 machine
 * state, 3.3 boot information; the ELF specification for program headers).
 * Layout in guest memory: the image where it asks to be; modules after it,
 * each page-aligned; then the Multiboot information structure with its
 * strings, module list and memory map. docs/loader.md describes it. */
#include <stdio.h>
#include <string.h>

#include "emu/loader.h"
#include "emu/mem.h"
#include "emu/paging.h"

#define MB_HEADER_MAGIC  0x1badb002u
#define MB_SEARCH        8192
#define MB_AOUT_KLUDGE   (1u << 16)
#define MB_KNOWN_REQS    0x7u  /* page-align modules, memory info, video mode */

/* Multiboot information flags (spec 3.3). */
#define MBI_MEMORY   (1u << 0)
#define MBI_CMDLINE  (1u << 2)
#define MBI_MODS     (1u << 3)
#define MBI_MMAP     (1u << 6)
#define MBI_LOADER   (1u << 9)

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static struct load_result fail(enum load_err e, uint64_t a, uint64_t b)
{
	return (struct load_result){ .err = e, .a = a, .b = b };
}

static bool fits(const struct cpu *c, uint64_t addr, uint64_t size)
{
	return addr <= c->bus->ram_size && size <= c->bus->ram_size - addr;
}

/* A loaded range, for the overlap check and to know where the image ends. */
struct range {
	uint64_t lo, hi;
};

static bool overlaps(const struct range *r, int n, uint64_t lo, uint64_t hi)
{
	for (int k = 0; k < n; k++)
		if (lo < r[k].hi && r[k].lo < hi)
			return true;
	return false;
}

#define MAX_SEGS 64

/* Load the PT_LOAD segments of an ELF32 or ELF64 file by physical address.
 * Sets *entry and *end (the highest byte loaded + 1). */
static struct load_result load_elf(struct cpu *c, const uint8_t *img, size_t len,
				   uint64_t *entry, uint64_t *end, bool *is64)
{
	if (len < 52 || memcmp(img, "\x7f" "ELF", 4) != 0)
		return fail(LOAD_BAD_ELF, 0, 0);
	bool e64 = img[4] == 2;
	if ((img[4] != 1 && img[4] != 2) || img[5] != 1)
		return fail(LOAD_BAD_ELF, 0, 0); /* 32/64-bit little-endian only */
	if (e64 && len < 64)
		return fail(LOAD_TRUNCATED, 0, len);
	uint16_t machine = rd16(img + 18);
	if (machine != (e64 ? 62 : 3))
		return fail(LOAD_BAD_ELF, machine, 0);
	uint64_t phoff = e64 ? rd64(img + 32) : rd32(img + 28);
	uint16_t phentsize = rd16(img + (e64 ? 54 : 42));
	uint16_t phnum = rd16(img + (e64 ? 56 : 44));
	*entry = e64 ? rd64(img + 24) : rd32(img + 24);
	*is64 = e64;
	if (phnum == 0 || phentsize < (e64 ? 56 : 32))
		return fail(LOAD_BAD_ELF, 0, 0);
	if (phoff > len || (uint64_t)phnum * phentsize > len - phoff)
		return fail(LOAD_TRUNCATED, phoff, len);

	struct range r[MAX_SEGS];
	int n = 0;
	*end = 0;
	for (unsigned k = 0; k < phnum; k++) {
		const uint8_t *ph = img + phoff + (uint64_t)k * phentsize;
		if (rd32(ph) != 1) /* PT_LOAD */
			continue;
		uint64_t off, paddr, filesz, memsz;
		if (e64) {
			off = rd64(ph + 8);
			paddr = rd64(ph + 24);
			filesz = rd64(ph + 32);
			memsz = rd64(ph + 40);
		} else {
			off = rd32(ph + 4);
			paddr = rd32(ph + 12);
			filesz = rd32(ph + 16);
			memsz = rd32(ph + 20);
		}
		if (filesz > memsz)
			return fail(LOAD_BAD_ELF, k, 0);
		if (off > len || filesz > len - off)
			return fail(LOAD_TRUNCATED, off + filesz, len);
		if (!fits(c, paddr, memsz))
			return fail(LOAD_NO_FIT, paddr, memsz);
		if (n == MAX_SEGS)
			return fail(LOAD_BAD_ELF, k, 0);
		if (overlaps(r, n, paddr, paddr + memsz))
			return fail(LOAD_OVERLAP, paddr, memsz);
		r[n++] = (struct range){ paddr, paddr + memsz };
		emu_phys_write(c, paddr, img + off, filesz);
		static const uint8_t zero[4096];
		for (uint64_t z = filesz; z < memsz; z += sizeof zero) {
			uint64_t chunk = memsz - z < sizeof zero ? memsz - z : sizeof zero;
			emu_phys_write(c, paddr + z, zero, chunk);
		}
		if (paddr + memsz > *end)
			*end = paddr + memsz;
	}
	if (n == 0)
		return fail(LOAD_BAD_ELF, 0, 0);
	return (struct load_result){ .err = LOAD_OK };
}

/* The a.out kludge: the header's address fields say what to load where. */
static struct load_result load_aout(struct cpu *c, const uint8_t *img, size_t len,
				    size_t hoff, uint64_t *entry, uint64_t *end)
{
	const uint8_t *h = img + hoff;
	if (hoff + 32 > len)
		return fail(LOAD_TRUNCATED, hoff + 32, len);
	uint32_t header_addr = rd32(h + 12), load_addr = rd32(h + 16);
	uint32_t load_end = rd32(h + 20), bss_end = rd32(h + 24);
	*entry = rd32(h + 28);
	if (load_addr > header_addr || header_addr - load_addr > hoff)
		return fail(LOAD_BAD_HEADER, header_addr, load_addr);
	uint64_t foff = hoff - (header_addr - load_addr);
	uint64_t size = load_end ? (uint64_t)load_end - load_addr : len - foff;
	if (load_end && load_end < load_addr)
		return fail(LOAD_BAD_HEADER, load_end, load_addr);
	if (size > len - foff)
		return fail(LOAD_TRUNCATED, foff + size, len);
	uint64_t top = bss_end > load_addr + size ? bss_end : load_addr + size;
	if (!fits(c, load_addr, top - load_addr))
		return fail(LOAD_NO_FIT, load_addr, top - load_addr);
	emu_phys_write(c, load_addr, img + foff, size);
	static const uint8_t zero[4096];
	for (uint64_t a = load_addr + size; a < top; a += sizeof zero)
		emu_phys_write(c, a, zero, top - a < sizeof zero ? top - a : sizeof zero);
	*end = top;
	return (struct load_result){ .err = LOAD_OK };
}

/* Write into guest RAM at *at and advance it: the info area builder. */
struct area {
	struct cpu *c;
	uint64_t at;
};

static uint64_t put(struct area *a, const void *p, size_t n)
{
	uint64_t where = a->at;
	emu_phys_write(a->c, where, p, n);
	a->at += n;
	return where;
}

static uint64_t put_str(struct area *a, const char *s)
{
	return put(a, s, strlen(s) + 1);
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* The memory map: low RAM, the EBDA and BIOS holes a PC has, RAM above
 * 1 MiB, and the APIC pages (type 1 available, 2 reserved). */
static size_t build_mmap(const struct cpu *c, uint8_t *out)
{
	uint64_t ram = c->bus->ram_size;
	const struct { uint64_t base, len; uint32_t type; } e[] = {
		{ 0, 0x9fc00, 1 },
		{ 0x9fc00, 0x400, 2 },
		{ 0xf0000, 0x10000, 2 },
		{ 0x100000, ram > 0x100000 ? ram - 0x100000 : 0, 1 },
		{ 0xfec00000, 0x1000, 2 },
		{ 0xfee00000, 0x1000, 2 },
	};
	size_t n = 0;
	for (unsigned k = 0; k < sizeof e / sizeof e[0]; k++) {
		if (!e[k].len)
			continue;
		put32(out + n, 20);
		put64(out + n + 4, e[k].base);
		put64(out + n + 12, e[k].len);
		put32(out + n + 20, e[k].type);
		n += 24;
	}
	return n;
}

static uint64_t page_up(uint64_t v)
{
	return (v + PAGE_SIZE - 1) & PAGE_MASK;
}

/* Modules, then the information structure (spec 3.3). Returns its address. */
static struct load_result boot_info(struct cpu *c, uint64_t end, const struct load_opts *o,
				    uint64_t *info_at)
{
	uint64_t at = page_up(end);
	uint8_t mods[16 * 64];
	if (o->nmodules > 64)
		return fail(LOAD_MODULE_NO_FIT, (uint64_t)o->nmodules, 0);
	uint64_t need = 0;
	for (int k = 0; k < o->nmodules; k++)
		need += page_up(o->modules[k].len) + PAGE_SIZE;
	if (!fits(c, at, need + 3 * PAGE_SIZE))
		return fail(LOAD_MODULE_NO_FIT, at, need);
	uint64_t mod_start[64];
	for (int k = 0; k < o->nmodules; k++) {
		mod_start[k] = at;
		emu_phys_write(c, at, o->modules[k].data, o->modules[k].len);
		at = page_up(at + o->modules[k].len);
	}
	struct area a = { c, at };
	uint8_t info[116] = { 0 };
	uint64_t info_addr = put(&a, info, sizeof info);

	uint32_t flags = MBI_MEMORY | MBI_CMDLINE | MBI_MMAP | MBI_LOADER;
	put32(info + 4, 639);                                          /* mem_lower, KiB */
	put32(info + 8, (uint32_t)((c->bus->ram_size - 0x100000) >> 10)); /* mem_upper */

	char cmd[4096];
	snprintf(cmd, sizeof cmd, "%s%s%s", o->image_name, o->append ? " " : "",
		 o->append ? o->append : "");
	put32(info + 16, (uint32_t)put_str(&a, cmd));

	if (o->nmodules) {
		flags |= MBI_MODS;
		for (int k = 0; k < o->nmodules; k++) {
			put32(mods + 16 * k, (uint32_t)mod_start[k]);
			put32(mods + 16 * k + 4, (uint32_t)(mod_start[k] + o->modules[k].len));
			put32(mods + 16 * k + 8, (uint32_t)put_str(&a, o->modules[k].name));
			put32(mods + 16 * k + 12, 0);
		}
		a.at = (a.at + 3) & ~3ull;
		put32(info + 20, (uint32_t)o->nmodules);
		put32(info + 24, (uint32_t)put(&a, mods, 16u * (unsigned)o->nmodules));
	}
	uint8_t mmap[24 * 8];
	size_t mlen = build_mmap(c, mmap);
	a.at = (a.at + 3) & ~3ull;
	put32(info + 44, (uint32_t)mlen);
	put32(info + 48, (uint32_t)put(&a, mmap, mlen));
	put32(info + 64, (uint32_t)put_str(&a, "nestlab"));
	put32(info, flags);
	emu_phys_write(c, info_addr, info, sizeof info);
	if (a.at > c->bus->ram_size || (a.at >> 32))
		return fail(LOAD_MODULE_NO_FIT, at, a.at - at);
	*info_at = info_addr;
	return (struct load_result){ .err = LOAD_OK };
}

/* The machine state of Multiboot spec 3.2: protected mode, paging off,
 * flat 32-bit CS and data segments, IF clear, A20 on. */
static void multiboot_state(struct cpu *c, uint64_t entry, uint32_t eax, uint32_t ebx)
{
	emu_reset_flat(c, SZ32);
	c->exc_stop = false;
	c->rip = entry;
	c->gpr[R_AX] = eax;
	c->gpr[R_BX] = ebx;
	/* The spec leaves ESP undefined; a usable stack below the classic
	 * boot-sector address keeps kernels that push before setting their
	 * own working, as they do under QEMU. */
	c->gpr[R_SP] = 0x7c00;
}

/* Plain ELF64: 64-bit mode on identity-mapped page tables (1 GiB pages for
 * the first 4 GiB) and a GDT, built in the last three pages of RAM. */
static void long_mode_state(struct cpu *c, uint64_t entry)
{
	uint64_t top = c->bus->ram_size - 3 * PAGE_SIZE;
	uint64_t pml4 = top, pdpt = top + PAGE_SIZE, gdt = top + 2 * PAGE_SIZE;
	uint8_t page[PAGE_SIZE] = { 0 };
	put64(page, pdpt | 3);
	emu_phys_write(c, pml4, page, PAGE_SIZE);
	memset(page, 0, PAGE_SIZE);
	for (int k = 0; k < 4; k++)
		put64(page + 8 * k, ((uint64_t)k << 30) | 0x83); /* P, RW, PS */
	emu_phys_write(c, pdpt, page, PAGE_SIZE);
	memset(page, 0, PAGE_SIZE);
	put64(page + 8, 0x00af9b000000ffffull);  /* 0x08: 64-bit code */
	put64(page + 16, 0x00cf93000000ffffull); /* 0x10: data */
	emu_phys_write(c, gdt, page, 24);

	emu_reset_flat(c, SZ64);
	c->exc_stop = false;
	c->gdtr = (struct dtr){ gdt, 23 };
	c->cr4 = CR4_PAE;
	c->cr3 = pml4;
	c->cr0 |= CR0_PG;
	emu_update_mode(c);
	tlb_update_ctx(c);
	emu_flush_tlb(c);
	c->rip = entry;
}

struct load_result load_image(struct cpu *c, const uint8_t *img, size_t len,
			      const struct load_opts *o)
{
	/* A Multiboot header: 4-byte aligned in the first 8 KiB. */
	size_t hoff = SIZE_MAX;
	for (size_t off = 0; off + 12 <= len && off < MB_SEARCH; off += 4) {
		if (rd32(img + off) == MB_HEADER_MAGIC &&
		    (uint32_t)(rd32(img + off) + rd32(img + off + 4) + rd32(img + off + 8)) == 0) {
			hoff = off;
			break;
		}
	}
	uint64_t entry = 0, end = 0;
	bool is64 = false;
	struct load_result r;
	if (hoff == SIZE_MAX) {
		if (len < 4 || memcmp(img, "\x7f" "ELF", 4) != 0)
			return fail(LOAD_NOT_BOOTABLE, 0, 0);
		r = load_elf(c, img, len, &entry, &end, &is64);
		if (r.err)
			return r;
		if (entry >= c->bus->ram_size)
			return fail(LOAD_NO_FIT, entry, 1);
		if (is64) {
			long_mode_state(c, entry);
		} else {
			multiboot_state(c, entry, 0, 0);
		}
		r.kind = is64 ? "elf64" : "elf32";
		r.entry = entry;
		return r;
	}

	uint32_t flags = rd32(img + hoff + 4);
	if ((flags & 0xffff) & ~MB_KNOWN_REQS)
		return fail(LOAD_UNSUPPORTED, flags & 0xffff, 0);
	if (flags & MB_AOUT_KLUDGE)
		r = load_aout(c, img, len, hoff, &entry, &end);
	else
		r = load_elf(c, img, len, &entry, &end, &is64);
	if (r.err)
		return r;
	uint64_t info;
	r = boot_info(c, end, o, &info);
	if (r.err)
		return r;
	if (entry >= c->bus->ram_size)
		return fail(LOAD_NO_FIT, entry, 1);
	multiboot_state(c, entry, MB_INFO_MAGIC, (uint32_t)info);
	r.kind = "multiboot";
	r.entry = entry;
	return r;
}

/* Look through one SHT_NOTE section's notes (ELF spec, "Note Section"):
 * namesz, descsz, type, then the name and the description, each padded to
 * 4 bytes. */
static bool notes_need_vmx(const uint8_t *p, uint64_t n)
{
	uint64_t at = 0;
	while (n - at >= 12) {
		uint32_t namesz = rd32(p + at), descsz = rd32(p + at + 4), type = rd32(p + at + 8);
		uint64_t name = at + 12, desc = name + ((namesz + 3ull) & ~3ull);
		uint64_t next = desc + ((descsz + 3ull) & ~3ull);
		if (next > n)
			return false;
		if (type == NESTLAB_NOTE_NEEDS && namesz == 8 && !memcmp(p + name, "nestlab", 8) &&
		    descsz == 4 && !memcmp(p + desc, "vmx", 4))
			return true;
		at = next;
	}
	return false;
}

bool loader_needs_vmx(const uint8_t *img, size_t len)
{
	if (len < 52 || memcmp(img, "\x7f" "ELF", 4) != 0 || (img[4] != 1 && img[4] != 2))
		return false;
	bool e64 = img[4] == 2;
	if (e64 && len < 64)
		return false;
	uint64_t shoff = e64 ? rd64(img + 40) : rd32(img + 32);
	uint16_t shentsize = rd16(img + (e64 ? 58 : 46)), shnum = rd16(img + (e64 ? 60 : 48));
	if (shentsize < (e64 ? 64 : 40) || shoff > len || (uint64_t)shnum * shentsize > len - shoff)
		return false;
	for (unsigned k = 0; k < shnum; k++) {
		const uint8_t *sh = img + shoff + (uint64_t)k * shentsize;
		if (rd32(sh + 4) != 7) /* SHT_NOTE */
			continue;
		uint64_t off = e64 ? rd64(sh + 24) : rd32(sh + 16);
		uint64_t size = e64 ? rd64(sh + 32) : rd32(sh + 20);
		if (off <= len && size <= len - off && notes_need_vmx(img + off, size))
			return true;
	}
	return false;
}
