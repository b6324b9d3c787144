/* The one libgcc routine 32-bit code needs here: 64-bit division, which
 * printf's number formatting uses (GCC emits a call to __udivmoddi4 for
 * uint64_t / and % on i386). The build host has no 32-bit libgcc, so the
 * legacy runtime brings its own: plain shift-and-subtract, one quotient
 * bit per step. */
#include <stdint.h>

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem);

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem)
{
	uint64_t q = 0, r = 0;
	for (int i = 63; i >= 0; i--) {
		uint64_t carry = r >> 63;   /* the shift below would lose it */
		r = r << 1 | (n >> i & 1);
		if (carry || r >= d) {
			r -= d;
			q |= 1ull << i;
		}
	}
	if (rem)
		*rem = r;
	return q;
}
