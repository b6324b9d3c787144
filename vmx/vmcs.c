/* The VMCS field table and encoding lookup. */
#include "vmx/vmcs.h"

const struct vmcs_field_info vmcs_fields[VMCS_NFIELDS] = {
#define FIELD(name, enc, group, sdm) [VMCS_##name] = { #name, enc, group, sdm },
#include "vmx/vmcs_fields.def"
#undef FIELD
};

/* Encodings are sparse 15-bit numbers. VMREAD and VMWRITE are on the
 * path of every VM exit a hypervisor handles, so the lookup is a table
 * indexed by width, type and index (bits 14:13, 11:10, 5:1; no field has
 * an index above 31), built once from the field table: entry + 1, 0 for
 * none. */
static int16_t by_encoding[4][4][32];

__attribute__((constructor)) static void build_index(void)
{
	for (int k = 0; k < VMCS_NFIELDS; k++) {
		uint32_t e = vmcs_fields[k].encoding;
		by_encoding[vmcs_enc_width(e)][vmcs_enc_type(e)][(e >> 1) & 31] = (int16_t)(k + 1);
	}
}

int vmcs_field_lookup(uint32_t encoding, bool *high)
{
	*high = false;
	if (encoding >> 15 || (encoding & (1u << 12)) || ((encoding >> 1) & 0x1ff) > 31)
		return -1;
	if (encoding & 1) {
		if (vmcs_enc_width(encoding) != VMCS_W64)
			return -1;
		*high = true;
		encoding &= ~1u;
	}
	return by_encoding[vmcs_enc_width(encoding)][vmcs_enc_type(encoding)][(encoding >> 1) & 31] - 1;
}
