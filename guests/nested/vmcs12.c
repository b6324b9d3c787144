/* VMCS12: the VMCSs type1 makes for its guests. Each is a 4 KiB region of
 * type1's memory whose address type1 gives to VMCLEAR and VMPTRLD. What
 * is in it, past the revision identifier and the abort indicator, is for
 * the processor to choose (SDM 24.2): here it is struct vmcs12 (nested.h),
 * the launch state and every field of vmx/vmcs_fields.def at 8 bytes
 * each, in that file's order.
 *
 * As a processor does, nested keeps the VMCSs it works on in a cache
 * (24.11.1): VMPTRLD reads the region into a free entry, VMREAD and
 * VMWRITE touch only the cached copy, and VMCLEAR writes it back to
 * type1's memory and frees the entry. So the region's contents are only
 * meaningful after VMCLEAR, exactly as the SDM warns software. */
#include <stddef.h>

#include "lib/printf.h"
#include "lib/string.h"
#include "nested/nested.h"

/* Encoding bits (24.11.2, appendix B): 0 access type (1: the high half of
 * a 64-bit field), 9:1 index, 11:10 type (1: read-only exit
 * information), 14:13 width (0: 16 bits, 1: 64, 2: 32, 3: natural). */
#define ENC_HIGH(e)  ((e) & 1)
#define ENC_INDEX(e) (((e) >> 1) & 0x1ff)
#define ENC_TYPE(e)  (((e) >> 10) & 3)
#define ENC_WIDTH(e) (((e) >> 13) & 3)
#define WIDTH_16 0
#define WIDTH_64 1
#define WIDTH_32 2
#define MAX_INDEX 64

static const uint16_t encodings[VMCS12_NFIELDS] = {
#define FIELD(name, encoding, group, sdm) encoding,
#include "../../vmx/vmcs_fields.def"
#undef FIELD
};

static const uint8_t groups[VMCS12_NFIELDS] = {
#define FIELD(name, encoding, group, sdm) V12_GROUP_##group,
#include "../../vmx/vmcs_fields.def"
#undef FIELD
};

/* From an encoding's width, type and index to its slot + 1 (0: no such
 * field), so that VMREAD and VMWRITE find a field in one step. */
static uint8_t slot_of[4][4][MAX_INDEX];

void vmcs12_init(void)
{
	for (int s = 0; s < VMCS12_NFIELDS; s++) {
		uint16_t e = encodings[s];
		if (ENC_INDEX(e) >= MAX_INDEX)
			nested_stop("VMCS field 0x%x has an index above %u", e, MAX_INDEX);
		slot_of[ENC_WIDTH(e)][ENC_TYPE(e)][ENC_INDEX(e)] = (uint8_t)(s + 1);
	}
	for (int k = 0; k < VMCS12_SLOTS; k++)
		nest.cache[k].gpa = ~0ull;
}

uint16_t vmcs12_encoding(int slot)
{
	return encodings[slot];
}

enum vmcs12_group vmcs12_group(int slot)
{
	return groups[slot];
}

/* The slot of a field encoding, or -1 if there is no such field: VMREAD
 * and VMWRITE then fail with error 12 (30.3). Bits 31:15 and 12 must be
 * 0, and only 64-bit fields have a high half. */
int vmcs12_slot(uint64_t e)
{
	if ((e >> 15) || (e & (1u << 12)) || (ENC_HIGH(e) && ENC_WIDTH(e) != WIDTH_64) ||
	    ENC_INDEX(e) >= MAX_INDEX)
		return -1;
	return slot_of[ENC_WIDTH(e)][ENC_TYPE(e)][ENC_INDEX(e)] - 1;
}

/* The VM-exit information fields are read-only (24.9): nested does not
 * offer "VMWRITE to any field" (IA32_VMX_MISC[29], caps.c). */
bool vmcs12_read_only(uint64_t e)
{
	return ENC_TYPE(e) == 1;
}

uint64_t vmcs12_get(uint64_t e, int slot)
{
	uint64_t v = nest.cur->v.field[slot];
	return ENC_HIGH(e) ? v >> 32 : v;
}

/* A value is cut to the field's width (24.11.4); a write to the high
 * half of a 64-bit field keeps the low half. */
void vmcs12_put(uint64_t e, int slot, uint64_t value)
{
	uint64_t *f = &nest.cur->v.field[slot];
	if (ENC_HIGH(e))
		*f = (*f & 0xffffffffu) | (value << 32);
	else if (ENC_WIDTH(e) == WIDTH_16)
		*f = value & 0xffff;
	else if (ENC_WIDTH(e) == WIDTH_32)
		*f = value & 0xffffffffu;
	else
		*f = value;
}

struct cached12 *vmcs12_find(uint64_t gpa)
{
	for (int k = 0; k < VMCS12_SLOTS; k++)
		if (nest.cache[k].gpa == gpa)
			return &nest.cache[k];
	return 0;
}

/* Write the cached copy back to type1's memory, and free the entry. */
static void write_back(struct cached12 *c)
{
	vm_write(&nest.vm, c->gpa, &c->v, sizeof c->v);
	c->gpa = ~0ull;
	/* Its VMCS02 starts clear again: the next entry is a VMLAUNCH. */
	if (c->l3.vmcs && c->l3.launched) {
		vmclear((uintptr_t)c->l3.vmcs);
		c->l3.launched = false;
	}
}

/* A free entry; when there is none, one that is not current is written
 * back to make room, as a processor may do at any time (24.11.1). */
static struct cached12 *free_entry(void)
{
	struct cached12 *c = vmcs12_find(~0ull);
	for (int k = 0; !c && k < VMCS12_SLOTS; k++)
		if (&nest.cache[k] != nest.cur) {
			c = &nest.cache[k];
			write_back(c);
		}
	return c;
}

/* VMPTRLD's work: the region at gpa (already checked: in type1's RAM,
 * with the right revision) in the cache. */
struct cached12 *vmcs12_load(uint64_t gpa)
{
	struct cached12 *c = vmcs12_find(gpa);
	if (c)
		return c;
	c = free_entry();
	vm_read(&nest.vm, gpa, &c->v, sizeof c->v);
	c->gpa = gpa;
	return c;
}

/* VMCLEAR's work (30.3): the launch state becomes clear and the data is
 * in memory. */
void vmcs12_clear(uint64_t gpa)
{
	struct cached12 *c = vmcs12_find(gpa);
	if (c) {
		c->v.launched = 0;
		write_back(c);
		return;
	}
	uint32_t clear = 0;
	vm_write(&nest.vm, gpa + offsetof(struct vmcs12, launched), &clear, sizeof clear);
}
