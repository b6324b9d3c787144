/* Running 32-bit code in compatibility mode (SDM vol. 1, 3.2.1 and
 * vol. 3, 5.2.1): IA-32e mode stays on, but a code segment with L = 0 and
 * D = 1 makes the CPU decode and execute as a 32-bit processor, with
 * segment bases and limits in force (vol. 3, 3.2.4). */
#ifndef GUESTS_LIB_COMPAT_H
#define GUESTS_LIB_COMPAT_H

#include <stdint.h>

/* Registers passed in and out of the 32-bit code. */
struct compat_regs {
	uint32_t eax, ebx, ecx, edx, esi, edi;
};

/* Far-return to fn32 in KERNEL_CS32 (ring 0, 32-bit) with the registers
 * of *r, on the current stack (which must be below 4 GiB, as ESP is 32
 * bits there). fn32 must end with a 32-bit far return (LRET), which
 * brings it back to 64-bit mode; the registers it leaves are stored in
 * *r. DS, ES and SS are reloaded with KERNEL_DS afterwards, FS and GS
 * with the null selector. fn32 is code assembled with .code32. */
void compat_call(const void *fn32, struct compat_regs *r);

#endif
