/* A guest's name and arguments from its module's command line
 * (module.c), and the exit table both hypervisors print at the end
 * (summary.c). Apart from vm.h: these need no VMX. */
#ifndef GUESTS_HVLIB_MODULE_H
#define GUESTS_HVLIB_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/multiboot.h"

#define VM_NAME_SIZE 24

/* Module k's guest name, at most size - 1 characters. */
void vm_module_name(const struct multiboot_module *mods, unsigned k, char *name, size_t size);

/* The guest's own command line: what follows the file name. */
const char *vm_module_args(const char *cmdline);

/* Modules there are, and at most max of them; if not, say so (who: the
 * hypervisor's name) and return false. */
bool vm_modules_ok(const char *who, const struct multiboot_info *mbi, unsigned max);

/* Where need bytes of RAM for guests can go: *base, the first address
 * above the image and its modules aligned to VM_LARGE_PAGE. False if
 * they do not fit in the memory the loader reported. */
#define VM_LARGE_PAGE (2ull << 20)
bool vm_free_ram(const struct multiboot_info *mbi, uint64_t need, uint64_t *base);

/* summary.c: a table of VM exits by reason, a column per guest
 * (exits[k] is guest k's array of EXIT_REASONS counts). */
void vm_print_exit_table(const uint64_t *const exits[], const char *const names[], unsigned n);

/* s in a column of width characters, cut if longer, after a space. */
void print_column(const char *s, unsigned width, int left);

#endif
