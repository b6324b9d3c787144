/* A guest of type1: made from its Multiboot module in RAM type1 sets
 * aside for it, and stopped with a reason. Its VMCS and EPT are built by
 * hvlib (vmcs.c), as type2's are. */
#include <stdarg.h>
#include <stddef.h>

#include "lib/hv.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "type1/type1.h"

/* A line of the guest's devices: printed with its name in front. */
static void print_line(struct hv_devices *d, const char *line)
{
	const struct guest *g = (const void *)((char *)d - offsetof(struct guest, dev));
	printf("[%s] %s\n", g->name, line);
}

/* Guest k of count, from module mods[k], its RAM at ram. Returns NULL or
 * why it cannot run. */
const char *guest_create(struct guest *g, unsigned id, uint8_t *ram,
			 const struct multiboot_module *mods, unsigned count, unsigned level)
{
	const struct multiboot_module *mod = &mods[id];
	const char *cmdline = mod->cmdline ? mb_ptr(mod->cmdline) : "";
	memset(g, 0, sizeof *g);
	g->vm.id = id;
	g->vm.kind = HV_KIND_TYPE1;
	g->vm.count = count;
	g->vm.level = level;
	vm_module_name(mods, id, g->name, sizeof g->name);
	g->dev.print = print_line;
	/* The RAM is not cleared: as on a real machine, a guest finds what
	 * was there (on a fresh nestlab machine, zeros). */
	g->vm.mem = (struct guest_ram){ ram, VM_RAM_SIZE };
	uint32_t entry;
	const char *why = mb_load(mb_ptr(mod->mod_start), mod->mod_end - mod->mod_start,
				  &g->vm.mem, &entry);
	if (why)
		return why;
	uint32_t info = mb_write_info(&g->vm.mem, VM_INFO, vm_module_args(cmdline));
	why = vm_setup(&g->vm, entry, info);
	if (why)
		return why;
	g->state = GUEST_RUNNABLE;
	return 0;
}

void guest_stop(struct guest *g, enum guest_state s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g->vm.why, sizeof g->vm.why, fmt, ap);
	va_end(ap);
	g->state = s;
	dev_serial_flush(&g->dev);
}
