/* The loader on images built here byte by byte: Multiboot ELF32 and a.out
 * kludge, the information structure, and every kind of bad image. */
#include <criterion/criterion.h>
#include <string.h>

#include "emu/cpu.h"
#include "emu/loader.h"

#define RAM (8u << 20)

static void w32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void w16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static uint32_t r32(struct cpu *c, uint64_t pa)
{
	uint32_t v;
	cr_assert(emu_phys_read(c, pa, &v, 4));
	return v;
}

/* An ELF32 file with one PT_LOAD segment (paddr, filesz bytes from file
 * offset 0x100, memsz) and a Multiboot header at 0x100 unless mb is false. */
static size_t elf32(uint8_t *f, uint32_t paddr, uint32_t filesz, uint32_t memsz,
		    uint32_t entry, bool mb)
{
	memset(f, 0, 0x100 + filesz);
	memcpy(f, "\x7f" "ELF", 4);
	f[4] = 1; /* 32-bit */
	f[5] = 1; /* little-endian */
	f[6] = 1;
	w16(f + 16, 2);       /* ET_EXEC */
	w16(f + 18, 3);       /* EM_386 */
	w32(f + 24, entry);
	w32(f + 28, 52);      /* phoff */
	w16(f + 42, 32);      /* phentsize */
	w16(f + 44, 1);       /* phnum */
	uint8_t *ph = f + 52;
	w32(ph, 1);           /* PT_LOAD */
	w32(ph + 4, 0x100);
	w32(ph + 8, paddr);
	w32(ph + 12, paddr);
	w32(ph + 16, filesz);
	w32(ph + 20, memsz);
	if (mb) {
		w32(f + 0x100, 0x1badb002);
		w32(f + 0x104, 3);
		w32(f + 0x108, (uint32_t)-(0x1badb002 + 3));
	}
	f[0x10c] = 0xf4; /* hlt, at the entry used below */
	return 0x100 + filesz;
}

static struct cpu *machine(void)
{
	struct cpu *c = emu_new(RAM);
	cr_assert_not_null(c);
	return c;
}

Test(loader, multiboot_elf32_state_and_info)
{
	static uint8_t f[0x1000];
	size_t len = elf32(f, 0x100000, 0x100, 0x2000, 0x10000c, true);
	struct cpu *c = machine();
	static const uint8_t modbytes[] = "module contents";
	struct module m = { "initrd.img arg=1", modbytes, sizeof modbytes };
	struct load_opts o = { "kernel.elf", "console=ttyS0 quiet", &m, 1 };
	struct load_result r = load_image(c, f, len, &o);
	cr_assert_eq(r.err, LOAD_OK);
	cr_assert_str_eq(r.kind, "multiboot");
	/* Multiboot spec 3.2: the machine state */
	cr_assert_eq(c->rip, 0x10000c);
	cr_assert_eq(c->gpr[R_AX], 0x2badb002);
	cr_assert(c->cr0 & CR0_PE);
	cr_assert_not(c->cr0 & CR0_PG);
	cr_assert_eq(c->code_sz, SZ32);
	cr_assert_not(emu_get_rflags(c) & FL_IF);
	cr_assert_eq(c->seg[SEG_CS].limit, 0xffffffff);
	cr_assert_not(c->exc_stop, "a Multiboot guest gets real exception delivery");
	/* the information structure */
	uint64_t mbi = c->gpr[R_BX];
	uint32_t flags = r32(c, mbi);
	cr_assert(flags & (1u << 0), "memory");
	cr_assert(flags & (1u << 2), "cmdline");
	cr_assert(flags & (1u << 3), "mods");
	cr_assert(flags & (1u << 6), "mmap");
	cr_assert_eq(r32(c, mbi + 4), 639);
	cr_assert_eq(r32(c, mbi + 8), (RAM - 0x100000) / 1024);
	char cmd[64];
	cr_assert(emu_phys_read(c, r32(c, mbi + 16), cmd, sizeof cmd));
	cr_assert_str_eq(cmd, "kernel.elf console=ttyS0 quiet");
	cr_assert_eq(r32(c, mbi + 20), 1);
	uint64_t mod = r32(c, mbi + 24);
	uint32_t ms = r32(c, mod), me = r32(c, mod + 4);
	cr_assert_eq(ms & 0xfff, 0, "modules are page-aligned");
	cr_assert_geq(ms, 0x102000, "after the kernel's bss");
	cr_assert_eq(me - ms, sizeof modbytes);
	char got[sizeof modbytes];
	cr_assert(emu_phys_read(c, ms, got, sizeof got));
	cr_assert_str_eq(got, "module contents");
	cr_assert(emu_phys_read(c, r32(c, mod + 8), cmd, sizeof cmd));
	cr_assert_str_eq(cmd, "initrd.img arg=1");
	/* the bss is zero and the memory map covers RAM above 1 MiB */
	cr_assert_eq(r32(c, 0x101ffc), 0);
	uint32_t mlen = r32(c, mbi + 44), maddr = r32(c, mbi + 48);
	bool high = false;
	for (uint32_t off = 0; off < mlen; off += 24) {
		uint64_t base, length;
		emu_phys_read(c, maddr + off + 4, &base, 8);
		emu_phys_read(c, maddr + off + 12, &length, 8);
		if (base == 0x100000 && r32(c, maddr + off + 20) == 1)
			high = length == RAM - 0x100000;
	}
	cr_assert(high);
	emu_free(c);
}

Test(loader, aout_kludge)
{
	/* header at file offset 0 says: load the file at 0x200000, bss to
	 * 0x203000, enter at 0x200020 */
	static uint8_t f[0x40];
	memset(f, 0, sizeof f);
	w32(f, 0x1badb002);
	w32(f + 4, 0x10000);
	w32(f + 8, (uint32_t)-(0x1badb002 + 0x10000));
	w32(f + 12, 0x200000);  /* header_addr */
	w32(f + 16, 0x200000);  /* load_addr */
	w32(f + 20, 0);         /* load_end: the whole file */
	w32(f + 24, 0x203000);  /* bss_end */
	w32(f + 28, 0x200020);  /* entry */
	f[0x20] = 0xf4;
	struct cpu *c = machine();
	struct load_opts o = { "k", NULL, NULL, 0 };
	struct load_result r = load_image(c, f, sizeof f, &o);
	cr_assert_eq(r.err, LOAD_OK);
	cr_assert_eq(c->rip, 0x200020);
	uint8_t b;
	emu_phys_read(c, 0x200020, &b, 1);
	cr_assert_eq(b, 0xf4);
	emu_free(c);
}

Test(loader, bad_images)
{
	static uint8_t f[0x1000];
	struct load_opts o = { "k", NULL, NULL, 0 };
	struct cpu *c = machine();

	memset(f, 0x90, 64);
	cr_assert_eq(load_image(c, f, 64, &o).err, LOAD_NOT_BOOTABLE);

	size_t len = elf32(f, 0x100000, 0x100, 0x100, 0x100000, true);
	cr_assert_eq(load_image(c, f, len - 1, &o).err, LOAD_TRUNCATED);

	len = elf32(f, RAM - 0x80, 0x100, 0x100, RAM - 0x80, true);
	struct load_result r = load_image(c, f, len, &o);
	cr_assert_eq(r.err, LOAD_NO_FIT);
	cr_assert_eq(r.a, RAM - 0x80);

	len = elf32(f, 0x100000, 0x100, 0x80, 0x100000, true); /* filesz > memsz */
	cr_assert_eq(load_image(c, f, len, &o).err, LOAD_BAD_ELF);

	len = elf32(f, 0x100000, 0x100, 0x100, 0x100000, true);
	w32(f + 0x104, 3 | (1u << 5)); /* an unknown required feature */
	w32(f + 0x108, (uint32_t)-(0x1badb002 + (3 | (1u << 5))));
	cr_assert_eq(load_image(c, f, len, &o).err, LOAD_UNSUPPORTED);

	len = elf32(f, 0x100000, 0x100, 0x100, 0x100000, true);
	w32(f + 0x108, 0); /* bad checksum: not a header at all */
	cr_assert_eq(load_image(c, f, len, &o).err, LOAD_OK, "still a plain ELF32");
	cr_assert_eq(c->gpr[R_AX], 0, "but not Multiboot: no magic");
	emu_free(c);
}

Test(loader, overlapping_segments)
{
	static uint8_t f[0x1000];
	size_t len = elf32(f, 0x100000, 0x100, 0x100, 0x100000, true);
	/* a second PT_LOAD at 0x100080, overlapping the first */
	w16(f + 44, 2);
	uint8_t *ph = f + 52 + 32;
	memmove(f + 0x200, f + 0x100, 0x100); /* make room: move data */
	w32(f + 52 + 4, 0x200);
	w32(ph, 1);
	w32(ph + 4, 0x200);
	w32(ph + 8, 0x100080);
	w32(ph + 12, 0x100080);
	w32(ph + 16, 0x10);
	w32(ph + 20, 0x10);
	struct cpu *c = machine();
	struct load_opts o = { "k", NULL, NULL, 0 };
	/* the Multiboot header moved with the data to 0x200: still found */
	cr_assert_eq(load_image(c, f, len + 0x100, &o).err, LOAD_OVERLAP);
	emu_free(c);
}
