/* cpuid: what a guest can see of the hypervisor under it.
 *
 * CPUID always causes a VM exit under VT-x (SDM vol. 3, 25.1.2), so a
 * hypervisor can answer it as it likes. By convention it sets CPUID.1:ECX
 * bit 31, "hypervisor present", and describes itself in leaves from
 * 0x40000000 (lib/hv.h says what nestlab's hypervisors put there). Only
 * then does this guest try hypercalls: bare, VMCALL is #UD, and under
 * another hypervisor (KVM, say) it means something else.
 *
 * Bare machines differ here: nestlab offers VMX and no hypervisor bit,
 * QEMU's TCG the reverse, KVM its own signature and the host's vendor.
 * Those lines start with "# " so that outputs compared between machines
 * leave them out. */
#include <stdbool.h>

#include "l2/l2.h"
#include "lib/hv.h"
#include "lib/string.h"

const char test_name[] = "cpuid";

#define CPUID_1_ECX_VMX (1u << 5)
#define HV_CALL_UNKNOWN 99    /* no hypervisor of ours has this call */

/* 12 bytes of text spread over three registers, as in the vendor string
 * and the hypervisor signature, with a NUL after them. KVM's signature is
 * "KVMKVMKVM" and three NULs: those print as dots. */
static void regs_to_string(char out[13], uint32_t a, uint32_t b, uint32_t c)
{
	memcpy(out + 0, &a, 4);
	memcpy(out + 4, &b, 4);
	memcpy(out + 8, &c, 4);
	for (int i = 0; i < 12; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			out[i] = '.';
	out[12] = 0;
}

/* Is one of nestlab's hypervisors under us? Says what CPUID shows on
 * the way, and leaves its signature in sig. */
static bool nestlab_hypervisor(char sig[13])
{
	uint32_t ecx = cpuid(1, 0).ecx;
	printf("# cpuid: CPUID.1:ECX.VMX (bit 5) = %d\n", !!(ecx & CPUID_1_ECX_VMX));
	printf("# cpuid: CPUID.1:ECX bit 31 (hypervisor present) = %d\n",
	       !!(ecx & CPUID_1_ECX_HYPERVISOR));
	if (!(ecx & CPUID_1_ECX_HYPERVISOR))
		return false;
	/* Only now is leaf 0x40000000 meaningful: without a hypervisor a
	 * CPU answers a leaf it does not have with its highest basic leaf. */
	struct cpuid_regs r = cpuid(HV_CPUID_BASE, 0);
	regs_to_string(sig, r.ebx, r.ecx, r.edx);
	printf("# cpuid: leaf 0x40000000: signature \"%s\", leaves up to 0x%x\n", sig, r.eax);
	return !strcmp(sig, HV_SIGNATURE_TYPE1) || !strcmp(sig, HV_SIGNATURE_TYPE2);
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	/* Leaf 0: the vendor in EBX, EDX, ECX (in that order). */
	struct cpuid_regs r = cpuid(0, 0);
	char vendor[13];
	regs_to_string(vendor, r.ebx, r.edx, r.ecx);
	printf("# cpuid: vendor \"%s\"\n", vendor);
	/* Leaf 1, EAX: family, model and stepping, packed. */
	printf("# cpuid: CPUID.1:EAX (family, model, stepping) = 0x%x\n", cpuid(1, 0).eax);

	char sig[13];
	if (!nestlab_hypervisor(sig)) {
		printf("cpuid: no nestlab hypervisor under this guest: no hypercalls tried\n");
		l2_done();
	}

	printf("cpuid: a nestlab hypervisor runs this guest: \"%s\"\n", sig);
	struct cpuid_regs info = cpuid(HV_CPUID_INFO, 0);
	printf("cpuid: leaf 0x40000001: guest %u of %u, hypervisor type %u, level %u\n",
	       info.eax, info.ebx, info.ecx, info.edx);

	/* Hypercalls: VMCALL exits to the hypervisor, which reads EAX and
	 * puts its answer back in EAX (lib/hv.h). */
	printf("cpuid: hypercall GUEST_ID -> %u\n", hv_call(HV_CALL_GUEST_ID, 0, 0, 0));
	printf("cpuid: hypercall EXITS -> %u VM exits so far\n", hv_call(HV_CALL_EXITS, 0, 0, 0));
	uint32_t ret = hv_call(HV_CALL_UNKNOWN, 0, 0, 0);
	printf("cpuid: hypercall %d (there is none) -> 0x%x%s\n", HV_CALL_UNKNOWN, ret,
	       ret == HV_ENOSYS ? ", HV_ENOSYS" : ", not HV_ENOSYS!");
	l2_done();
}
