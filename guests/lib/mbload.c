/* Loading a Multiboot kernel into guest memory. Every offset and size
 * from the image is checked before it is used: a malformed module is
 * reported, never followed outside the buffers. */
#include "lib/mbload.h"
#include "lib/multiboot.h"
#include "lib/string.h"

/* The fields of the Multiboot header (3.1.1-3.1.3). */
struct mb_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};
#define MB_AOUT_KLUDGE (1u << 16)
/* Bits 0 and 1 (page-aligned modules, memory information) are things
 * this loader does anyway; the video mode (bit 2) it cannot give. */
#define MB_FLAGS_HANDLED (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MB_AOUT_KLUDGE)

/* ELF32 (System V ABI): the parts a loader reads. */
struct elf32_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version, entry, phoff, shoff, flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf32_phdr {
	uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};
#define PT_LOAD 1
#define EM_386 3

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* The header: in the first 8 KiB, 4-byte aligned, with a checksum that
 * makes the three first fields sum to 0 (3.1.1). Returns its offset, or
 * -1. */
static long find_header(const uint8_t *image, size_t len)
{
	for (size_t off = 0; off + 12 <= len && off < 8192; off += 4)
		if (get32(image + off) == MULTIBOOT_HEADER_MAGIC &&
		    get32(image + off) + get32(image + off + 4) + get32(image + off + 8) == 0)
			return (long)off;
	return -1;
}

/* Does [addr, addr + size) lie inside the guest's RAM? */
static int fits(const struct guest_ram *g, uint64_t addr, uint64_t size)
{
	return addr <= g->size && size <= g->size - addr;
}

/* The a.out kludge (3.1.3): the file from the header's position, minus
 * (header_addr - load_addr), goes to load_addr. */
static const char *load_aout(const uint8_t *image, size_t len, long hoff,
			     const struct mb_header *h, struct guest_ram *g, uint32_t *entry,
			     uint64_t *top)
{
	if (hoff + sizeof *h > len)
		return "the Multiboot header is cut off";
	if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > (uint32_t)hoff)
		return "the Multiboot header's load address is inconsistent";
	uint64_t start = (uint64_t)hoff - (h->header_addr - h->load_addr);
	uint64_t size = h->load_end_addr ? (uint64_t)h->load_end_addr - h->load_addr
					 : len - start;
	if (h->load_end_addr && h->load_end_addr < h->load_addr)
		return "the Multiboot header's load end is below its load address";
	if (start + size > len)
		return "the image is shorter than its Multiboot header says";
	uint64_t end = h->bss_end_addr ? h->bss_end_addr : h->load_addr + size;
	if (end < h->load_addr + size || !fits(g, h->load_addr, end - h->load_addr))
		return "the kernel does not fit in the guest's RAM";
	memcpy(g->ram + h->load_addr, image + start, size);
	memset(g->ram + h->load_addr + size, 0, end - h->load_addr - size);
	*entry = h->entry_addr;
	*top = end;
	return 0;
}

static const char *load_elf(const uint8_t *image, size_t len, struct guest_ram *g,
			    uint32_t *entry, uint64_t *top)
{
	struct elf32_ehdr eh;
	if (len < sizeof eh)
		return "not an ELF file and no a.out kludge in the Multiboot header";
	memcpy(&eh, image, sizeof eh);
	if (memcmp(eh.ident, "\177ELF", 4) || eh.ident[4] != 1 || eh.machine != EM_386)
		return "not a 32-bit x86 ELF file and no a.out kludge in the Multiboot header";
	if (eh.phentsize != sizeof(struct elf32_phdr) ||
	    (uint64_t)eh.phoff + (uint64_t)eh.phnum * sizeof(struct elf32_phdr) > len)
		return "the ELF program headers are outside the file";
	for (unsigned k = 0; k < eh.phnum; k++) {
		struct elf32_phdr ph;
		memcpy(&ph, image + eh.phoff + k * sizeof ph, sizeof ph);
		if (ph.type != PT_LOAD)
			continue;
		if (ph.filesz > ph.memsz || (uint64_t)ph.offset + ph.filesz > len)
			return "an ELF segment is outside the file";
		if (!fits(g, ph.paddr, ph.memsz))
			return "an ELF segment does not fit in the guest's RAM";
		memcpy(g->ram + ph.paddr, image + ph.offset, ph.filesz);
		memset(g->ram + ph.paddr + ph.filesz, 0, ph.memsz - ph.filesz);
		if ((uint64_t)ph.paddr + ph.memsz > *top)
			*top = (uint64_t)ph.paddr + ph.memsz;
	}
	*entry = eh.entry;
	return 0;
}

const char *mb_load_top(const uint8_t *image, size_t len, struct guest_ram *g, uint32_t *entry,
			uint64_t *top)
{
	*top = 0;
	long hoff = find_header(image, len);
	if (hoff < 0)
		return "no Multiboot header in its first 8 KiB";
	struct mb_header h = { 0 };
	memcpy(&h, image + hoff, len - (size_t)hoff < sizeof h ? len - (size_t)hoff : sizeof h);
	if (h.flags & 0xffff & ~MB_FLAGS_HANDLED)
		return "it asks for Multiboot features this loader does not offer (a video mode)";
	const char *why = (h.flags & MB_AOUT_KLUDGE) ? load_aout(image, len, hoff, &h, g, entry, top)
						     : load_elf(image, len, g, entry, top);
	if (!why && *entry >= g->size)
		return "its entry point is outside the guest's RAM";
	return why;
}

const char *mb_load(const uint8_t *image, size_t len, struct guest_ram *g, uint32_t *entry)
{
	uint64_t top;
	return mb_load_top(image, len, g, entry, &top);
}

/* The memory map: conventional memory below 640 KiB, the rest above
 * 1 MiB; the hole in between is where a PC has its ROMs. */
uint32_t mb_write_info(struct guest_ram *g, uint32_t info, const char *cmdline)
{
	uint8_t *page = g->ram + info;
	memset(page, 0, 4096);
	struct multiboot_info *mbi = (struct multiboot_info *)page;
	struct multiboot_mmap_entry map[2] = {
		{ sizeof map[0] - 4, 0, 0x9fc00, MULTIBOOT_MEMORY_AVAILABLE },
		{ sizeof map[0] - 4, 0x100000, g->size - 0x100000, MULTIBOOT_MEMORY_AVAILABLE },
	};
	memcpy(page + 0x100, map, sizeof map);
	size_t n = strlen(cmdline);
	if (n > 4096 - 0x200 - 1)
		n = 4096 - 0x200 - 1;
	memcpy(page + 0x200, cmdline, n);
	mbi->flags = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MEM_MAP;
	mbi->mem_lower = 0x9fc00 / 1024;
	mbi->mem_upper = (uint32_t)((g->size - 0x100000) / 1024);
	mbi->mmap_addr = info + 0x100;
	mbi->mmap_length = sizeof map;
	mbi->cmdline = info + 0x200;
	return info;
}
