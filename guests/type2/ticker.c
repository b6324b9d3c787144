/* ticker: an ordinary process of type2's host, in ring 3, with nothing to
 * do with VMs. It sleeps, prints a line, five times: its lines among the
 * guests' show the host's other work going on while VMs run. */
#include "lib/printf.h"
#include "type2/type2.h"

#define TICKS 5
#define PERIOD_MS 2

void ticker_main(uint64_t arg)
{
	(void)arg;
	char line[48];
	for (unsigned k = 1; k <= TICKS; k++) {
		sys_sleep(PERIOD_MS);
		int n = snprintf(line, sizeof line, "tick %u/%u", k, TICKS);
		sys_write(line, (uint64_t)n);
	}
}
