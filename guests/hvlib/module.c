/* What a guest module's Multiboot command line says: the guest's name
 * (its file name without directories and extension; a second guest from
 * the same file is NAME-1) and the guest's own command line (what follows
 * the file name). Pure string work: type2's VMMs use it in ring 3. */
#include "hvlib/module.h"
#include "lib/boot.h"
#include "lib/printf.h"
#include "lib/string.h"

static const char *cmdline_of(const struct multiboot_module *mod)
{
	return mod->cmdline ? mb_ptr(mod->cmdline) : "";
}

static void base_name(const char *cmdline, unsigned k, char *name, size_t size)
{
	const char *start = cmdline, *p;
	for (p = cmdline; *p && *p != ' '; p++)
		if (*p == '/')
			start = p + 1;
	size_t n = 0;
	while (start + n < p && start[n] != '.' && n < size - 1)
		n++;
	memcpy(name, start, n);
	name[n] = 0;
	if (!n)
		snprintf(name, size, "guest%u", k);
}

void vm_module_name(const struct multiboot_module *mods, unsigned k, char *name, size_t size)
{
	char other[VM_NAME_SIZE];
	base_name(cmdline_of(&mods[k]), k, name, size);
	for (unsigned j = 0; j < k; j++) {
		base_name(cmdline_of(&mods[j]), j, other, sizeof other);
		if (!strcmp(other, name)) {
			memcpy(other, name, sizeof other);
			other[sizeof other - 1] = 0;
			snprintf(name, size, "%s-%u", other, k);
			return;
		}
	}
}

const char *vm_module_args(const char *cmdline)
{
	while (*cmdline && *cmdline != ' ')
		cmdline++;
	while (*cmdline == ' ')
		cmdline++;
	return cmdline;
}

bool vm_modules_ok(const char *who, const struct multiboot_info *mbi, unsigned max)
{
	if (!(mbi->flags & MULTIBOOT_INFO_MODS) || mbi->mods_count == 0) {
		printf("%s: no guests: give each as a Multiboot module "
		       "(nestlab run %s.elf --module build/guests/l2/hello64.elf)\n", who, who);
		return false;
	}
	if (mbi->mods_count > max) {
		printf("%s: %u guest modules; %s runs at most %u\n", who, mbi->mods_count, who, max);
		return false;
	}
	return true;
}

/* Above the image and its modules, 2 MiB-aligned (the EPT can map it
 * with large pages), in the memory the loader reported. */
bool vm_free_ram(const struct multiboot_info *mbi, uint64_t need, uint64_t *base)
{
	uint64_t top = (uintptr_t)_image_end;
	const struct multiboot_module *mods = mb_ptr(mbi->mods_addr);
	for (unsigned k = 0; (mbi->flags & MULTIBOOT_INFO_MODS) && k < mbi->mods_count; k++)
		if (mods[k].mod_end > top)
			top = mods[k].mod_end;
	*base = (top + VM_LARGE_PAGE - 1) & ~(VM_LARGE_PAGE - 1);
	uint64_t ram_end = 0x100000 + (uint64_t)mbi->mem_upper * 1024;
	return (mbi->flags & MULTIBOOT_INFO_MEMORY) && *base + need <= ram_end;
}
