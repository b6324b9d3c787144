/* The VMCS field table against the encoding rules of SDM vol. 3C 24.11.2:
 * a typo in vmx/vmcs_fields.def shows up here. */
#include <criterion/criterion.h>
#include <string.h>

#include "vmx/vmcs.h"

Test(vmcs, encodings_agree_with_groups_and_names)
{
	for (int k = 0; k < VMCS_NFIELDS; k++) {
		const struct vmcs_field_info *f = &vmcs_fields[k];
		cr_assert_eq(vmcs_enc_type(f->encoding), f->group, "%s: type bits", f->name);
		cr_assert_eq(f->encoding & 1, 0, "%s: listed by its full encoding", f->name);
		cr_assert_eq(f->encoding >> 15, 0, "%s", f->name);
		if (f->group == GUEST)
			cr_assert(!strncmp(f->name, "GUEST_", 6) || !strcmp(f->name, "VMCS_LINK_POINTER") ||
				  !strcmp(f->name, "VMX_PREEMPTION_TIMER_VALUE"), "%s", f->name);
		if (f->group == HOST)
			cr_assert(!strncmp(f->name, "HOST_", 5), "%s", f->name);
		for (int j = 0; j < k; j++) {
			cr_assert_neq(vmcs_fields[j].encoding, f->encoding, "%s and %s",
				      vmcs_fields[j].name, f->name);
			cr_assert_str_neq(vmcs_fields[j].name, f->name);
		}
	}
}

Test(vmcs, widths_from_the_encoding)
{
	cr_assert_eq(vmcs_field_bits(VMCS_GUEST_CS_SELECTOR), 16);
	cr_assert_eq(vmcs_field_bits(VMCS_EPT_POINTER), 64);
	cr_assert_eq(vmcs_field_bits(VMCS_VM_EXIT_REASON), 32);
	cr_assert_eq(vmcs_field_bits(VMCS_GUEST_RIP), 64);
	cr_assert_eq(vmcs_fields[VMCS_GUEST_RIP].encoding, 0x681e);
	cr_assert_eq(vmcs_fields[VMCS_VM_EXIT_REASON].group, RO);
}

Test(vmcs, lookup)
{
	bool high;
	cr_assert_eq(vmcs_field_lookup(0x681e, &high), VMCS_GUEST_RIP);
	cr_assert_not(high);
	cr_assert_eq(vmcs_field_lookup(0x201b, &high), VMCS_EPT_POINTER, "the high half");
	cr_assert(high);
	cr_assert_eq(vmcs_field_lookup(0x681f, &high), -1, "no high half of a natural-width field");
	cr_assert_eq(vmcs_field_lookup(0x1000, &high), -1, "bit 12 is reserved");
	cr_assert_eq(vmcs_field_lookup(0x10000, &high), -1, "bits 31:15 are reserved");
	cr_assert_eq(vmcs_field_lookup(0x4830, &high), -1, "an unknown guest field");
	/* every field fits in a 4 KiB region after the header */
	cr_assert_leq(vmcs_field_offset(VMCS_NFIELDS - 1) + 8, 4096);
}
