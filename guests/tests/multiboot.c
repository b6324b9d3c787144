/* What the Multiboot loader hands over (Multiboot Specification 0.6.96,
 * 3.2 and 3.3): the magic in EAX, the machine state at entry, and the
 * information structure: memory sizes, the memory map, the command line
 * from -append and the module from -initrd.
 *
 * The runner starts this test with the arguments on the next line. */
// qemu-args: -append "answer=42 mode=multiboot" -initrd guests/tests/multiboot.mod
#include "lib/boot.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/test.h"
#include "lib/x86.h"

const char test_name[] = "multiboot";

#define EXPECTED_ARGS "answer=42 mode=multiboot"
/* guests/tests/multiboot.mod, byte for byte. */
static const char module_text[] =
	"nestlab multiboot test module\n"
	"The loader puts this file in memory and lists it in mods_addr.\n"
	"0123456789abcdef\n";

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* Does [start, end) lie in an available region of the memory map? */
static bool in_available_ram(struct multiboot_info *mbi, uint64_t start, uint64_t end)
{
	uint8_t *p = mb_ptr(mbi->mmap_addr), *limit = p + mbi->mmap_length;
	while (p < limit) {
		struct multiboot_mmap_entry *e = (void *)p;
		if (e->type == MULTIBOOT_MEMORY_AVAILABLE && e->addr <= start &&
		    end <= e->addr + e->len)
			return true;
		p += e->size + 4;
	}
	return false;
}

static void test_entry_state(struct multiboot_info *mbi)
{
	/* EAX = 0x2BADB002 says a Multiboot loader started us; EBX is the
	 * info structure. */
	TEST_ASSERT_EQ(boot_state.eax, MULTIBOOT_BOOTLOADER_MAGIC);
	TEST_ASSERT_EQ(boot_state.ebx, (uintptr_t)mbi);
	printf("EAX 0x%x at entry\n", boot_state.eax);
	/* Protected mode, paging off (CR0.PE = 1, PG = 0); no virtual-8086
	 * mode, interrupts off (EFLAGS.VM = 0, IF = 0). */
	TEST_ASSERT(boot_state.cr0 & CR0_PE);
	TEST_ASSERT(!(boot_state.cr0 & CR0_PG));
	TEST_ASSERT(!(boot_state.eflags & RFLAGS_VM));
	TEST_ASSERT(!(boot_state.eflags & RFLAGS_IF));
	printf("entry state: CR0.PE=1 PG=0, EFLAGS.VM=0 IF=0\n");

	/* A20 is enabled: an address with bit 20 set is not an alias of the
	 * one without it. */
	static volatile uint32_t probe;
	uintptr_t pa = (uintptr_t)&probe;
	TEST_ASSERT(pa >= (1u << 20));
	volatile uint32_t *alias = (volatile uint32_t *)(pa ^ (1u << 20));
	probe = 0x12345678;
	uint32_t before = *alias;
	probe = ~0x12345678u;
	TEST_ASSERT_EQ(*alias, before);
	printf("A20 enabled\n");
}

static void test_info(struct multiboot_info *mbi)
{
	uint32_t want = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS |
			MULTIBOOT_INFO_MEM_MAP;
	TEST_ASSERT_EQ(mbi->flags & want, want);
	/* The info structure lies outside the image. */
	uintptr_t info = (uintptr_t)mbi;
	TEST_ASSERT(info + sizeof *mbi <= (uintptr_t)_image_start || info >= (uintptr_t)_image_end);
	printf("flags: memory, cmdline, mods, mmap\n");

	/* mem_lower is at most 640 KiB; mem_upper, checked against fw_cfg by
	 * the devices test, must at least cover the image. */
	TEST_ASSERT(mbi->mem_lower > 0 && mbi->mem_lower <= 640);
	TEST_ASSERT((uint64_t)mbi->mem_upper * 1024 + (1u << 20) >= (uintptr_t)_image_end);
	printf("# mem_lower %u KiB, mem_upper %u KiB\n", mbi->mem_lower, mbi->mem_upper);

	/* The memory map: well-formed entries, the image in available RAM,
	 * and available RAM from 1 MiB at least as large as mem_upper. */
	uint8_t *p = mb_ptr(mbi->mmap_addr), *limit = p + mbi->mmap_length;
	int entries = 0;
	uint64_t from_1m = 0;
	TEST_ASSERT(mbi->mmap_length > 0);
	while (p < limit) {
		struct multiboot_mmap_entry *e = (void *)p;
		TEST_ASSERT(e->size >= 20);
		printf("# mmap 0x%09lx-0x%09lx type %u\n", e->addr, e->addr + e->len, e->type);
		if (e->type == MULTIBOOT_MEMORY_AVAILABLE && e->addr == (1u << 20))
			from_1m = e->len;
		p += e->size + 4;
		entries++;
	}
	TEST_ASSERT_EQ(p, limit);
	TEST_ASSERT(in_available_ram(mbi, (uintptr_t)_image_start, (uintptr_t)_image_end));
	TEST_ASSERT(from_1m >= (uint64_t)mbi->mem_upper * 1024);
	printf("memory map: the image is in available RAM\n");
}

static void test_cmdline(struct multiboot_info *mbi)
{
	/* QEMU, like GRUB, puts the kernel's file name first, then the
	 * -append text; the file name depends on the runner, the rest not. */
	const char *cmdline = mb_ptr(mbi->cmdline);
	TEST_ASSERT(cmdline);
	if (!ends_with(cmdline, EXPECTED_ARGS))
		TEST_FAIL("cmdline \"%s\" does not end with \"%s\"", cmdline, EXPECTED_ARGS);
	size_t n = strlen(cmdline), m = strlen(EXPECTED_ARGS);
	TEST_ASSERT(n == m || cmdline[n - m - 1] == ' ');
	printf("cmdline ends with \"%s\"\n", EXPECTED_ARGS);
}

static void test_module(struct multiboot_info *mbi)
{
	TEST_ASSERT_EQ(mbi->mods_count, 1);
	struct multiboot_module *mod = mb_ptr(mbi->mods_addr);
	uint32_t size = mod->mod_end - mod->mod_start;
	/* Header flag 0 asked for page-aligned modules. */
	TEST_ASSERT_EQ(mod->mod_start % 4096, 0);
	TEST_ASSERT_EQ(size, sizeof module_text - 1);
	TEST_ASSERT(!memcmp(mb_ptr(mod->mod_start), module_text, size));
	/* Not on top of the image, and in available RAM. */
	TEST_ASSERT(mod->mod_start >= (uintptr_t)_image_end ||
		    mod->mod_end <= (uintptr_t)_image_start);
	TEST_ASSERT(in_available_ram(mbi, mod->mod_start, mod->mod_end));
	/* Its string is the -initrd argument: at least the file name. */
	TEST_ASSERT(mod->cmdline && ends_with(mb_ptr(mod->cmdline), "multiboot.mod"));
	printf("module: %u bytes, page-aligned, contents match\n", size);
	if (mbi->flags & MULTIBOOT_INFO_LOADER_NAME)
		printf("# loader: %s\n", (const char *)mb_ptr(mbi->boot_loader_name));
}

void kmain(struct multiboot_info *mbi)
{
	test_entry_state(mbi);
	test_info(mbi);
	test_cmdline(mbi);
	test_module(mbi);
	TEST_PASS();
}
