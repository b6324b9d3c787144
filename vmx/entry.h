/* The ordered VM-entry checks (vmx/entry.c). */
#ifndef VMX_ENTRY_H
#define VMX_ENTRY_H

#include "emu/cpu.h"

enum check_kind {
	CHECK_CONTROL,   /* failure: VMfailValid, error 7 */
	CHECK_HOST,      /* failure: VMfailValid, error 8 */
	CHECK_GUEST,     /* failure: VM exit, reason 33, qualification qual */
};

struct entry_check {
	bool (*ok)(struct cpu *c);
	enum check_kind kind;
	const char *name;    /* what is checked, in the SDM's words */
	const char *sdm;     /* the section */
	const char *why;     /* the sentence a student can act on */
	const char *why_pt;  /* the same in Brazilian Portuguese */
	uint8_t qual;        /* for CHECK_GUEST: the exit qualification (26.7) */
};

/* The first check the current VMCS fails, in the SDM's order, or NULL. */
const struct entry_check *vmx_check_entry(struct cpu *c);

/* All rows, for the docs and the debugger; returns their number. */
unsigned vmx_entry_checks(const struct entry_check **out);

#endif
