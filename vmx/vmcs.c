/* The VMCS field table and encoding lookup. */
#include "vmx/vmcs.h"

const struct vmcs_field_info vmcs_fields[VMCS_NFIELDS] = {
#define FIELD(name, enc, group, sdm) [VMCS_##name] = { #name, enc, group, sdm },
#include "vmx/vmcs_fields.def"
#undef FIELD
};

/* Encodings are sparse 15-bit numbers: a 32 K table from encoding (with
 * the access-type bit cleared) to field index + 1 would do, but a sorted
 * search over ~150 entries is short and needs no initialisation. The
 * table is in encoding order within each width/type block, so a linear
 * scan is used: VMREAD/VMWRITE are not on nestlab's hot path. */
int vmcs_field_lookup(uint32_t encoding, bool *high)
{
	*high = false;
	if (encoding >> 15 || (encoding & (1u << 12)))
		return -1;
	if (encoding & 1) {
		if (vmcs_enc_width(encoding) != VMCS_W64)
			return -1;
		*high = true;
		encoding &= ~1u;
	}
	for (int k = 0; k < VMCS_NFIELDS; k++)
		if (vmcs_fields[k].encoding == encoding)
			return k;
	return -1;
}
