/* Known deviations of the reference machine.
 *
 * The test guests must pass on QEMU 7.2's TCG, which breaks a few rules of
 * the SDM (each use below names the rule and the QEMU behaviour). For
 * those rules a test checks the SDM's answer everywhere except under TCG,
 * so that nestlab (and later KVM) are still held to the manual. Only the
 * assertion may depend on this: what a test prints must not, except in
 * "# " lines, which are not compared. */
#ifndef GUESTS_LIB_QUIRKS_H
#define GUESTS_LIB_QUIRKS_H

#include <stdbool.h>

/* True under QEMU's TCG: CPUID.1:ECX[31] (a hypervisor is present) and the
 * hypervisor leaf 0x40000000 says "TCGTCGTCGTCG". */
bool on_qemu_tcg(void);

#endif
