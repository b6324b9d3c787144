/* The VMCS field table (vmx/vmcs_fields.def) and what the encoding of a
 * field says about it (SDM vol. 3C, 24.11.2 and appendix B): bit 0 the
 * access type (the high half of a 64-bit field), bits 9:1 the index, bits
 * 11:10 the type, bits 14:13 the width; bits 31:15 and 12 are reserved. */
#ifndef VMX_VMCS_H
#define VMX_VMCS_H

#include <stdbool.h>
#include <stdint.h>

enum vmcs_field {
#define FIELD(name, enc, group, sdm) VMCS_##name,
#include "vmx/vmcs_fields.def"
#undef FIELD
	VMCS_NFIELDS
};

/* The type bits 11:10 of an encoding, which are also the groups. */
enum vmcs_group { CTRL = 0, RO = 1, GUEST = 2, HOST = 3 };

/* The width bits 14:13. */
enum vmcs_width { VMCS_W16 = 0, VMCS_W64 = 1, VMCS_W32 = 2, VMCS_WNAT = 3 };

struct vmcs_field_info {
	const char *name;      /* the SDM's name, e.g. "GUEST_RIP" */
	uint16_t encoding;
	uint8_t group;         /* enum vmcs_group */
	const char *sdm;       /* the section that defines it */
};

extern const struct vmcs_field_info vmcs_fields[VMCS_NFIELDS];

static inline unsigned vmcs_enc_width(uint32_t enc)
{
	return (enc >> 13) & 3;
}

static inline unsigned vmcs_enc_type(uint32_t enc)
{
	return (enc >> 10) & 3;
}

/* The field an encoding names, or -1 if none (reserved bits set, an
 * unknown field, or the high-half access type on a field that is not
 * 64 bits). *high says the encoding names the high 32 bits of a 64-bit
 * field. */
int vmcs_field_lookup(uint32_t encoding, bool *high);

/* Where a field's value lives in a VMCS region: nestlab's own layout
 * (the SDM leaves it to the implementation, 24.2): the revision
 * identifier at 0, the abort indicator at 4, then 8 bytes per field in
 * table order. */
#define VMCS_DATA_OFFSET 8
static inline unsigned vmcs_field_offset(enum vmcs_field f)
{
	return VMCS_DATA_OFFSET + 8u * (unsigned)f;
}

/* The width in bits a field holds (natural width: 64). */
static inline unsigned vmcs_field_bits(enum vmcs_field f)
{
	static const uint8_t bits[4] = { 16, 64, 32, 64 };
	return bits[vmcs_enc_width(vmcs_fields[f].encoding)];
}

#endif
