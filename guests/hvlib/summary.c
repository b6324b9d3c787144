/* The table both hypervisors print at the end: each guest's VM exits by
 * reason, only the reasons some guest had. */
#include "hvlib/module.h"
#include "hvlib/vm.h"
#include "lib/printf.h"
#include "lib/string.h"

void print_column(const char *s, unsigned width, int left)
{
	unsigned n = (unsigned)strlen(s);
	if (n > width)
		n = width;
	printf(" ");
	for (unsigned k = n; !left && k < width; k++)
		printf(" ");
	for (unsigned k = 0; k < n; k++)
		printf("%c", s[k]);
	for (unsigned k = n; left && k < width; k++)
		printf(" ");
}

void vm_print_exit_table(const uint64_t *const exits[], const char *const names[], unsigned n)
{
	printf("\n ");
	print_column("VM exits by reason", 31, 1);
	for (unsigned k = 0; k < n; k++)
		print_column(names[k], 10, 0);
	printf("\n");
	for (unsigned r = 0; r < EXIT_REASONS; r++) {
		uint64_t any = 0;
		for (unsigned k = 0; k < n; k++)
			any |= exits[k][r];
		if (!any)
			continue;
		printf("  %2u", r);
		print_column(vmx_exit_reason_name(r), 28, 1);
		for (unsigned k = 0; k < n; k++)
			printf(" %10llu", (unsigned long long)exits[k][r]);
		printf("\n");
	}
}
