/* The machine as gdb sees it: the x86-64 target description, registers,
 * memory by linear address, and the monitor commands. The register order
 * is the target description's (GDB manual, "i386 Features": the core and
 * SSE features are required, in gdb's amd64 numbering), then two optional
 * features. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/gdbtarget.h"
#include "emu/mem.h"
#include "emu/paging.h"
#include "emu/snap.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"

const char gdb_target_xml[] =
	"<?xml version=\"1.0\"?>\n"
	"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
	"<target version=\"1.0\">\n"
	"<architecture>i386:x86-64</architecture>\n"
	"<feature name=\"org.gnu.gdb.i386.core\">\n"
	"<reg name=\"rax\" bitsize=\"64\" type=\"int64\" regnum=\"0\"/>\n"
	"<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
	"<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
	"<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>\n"
	"<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n"
	"<reg name=\"eflags\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"</feature>\n"
	"<feature name=\"org.gnu.gdb.i386.sse\">\n"
#define XMM(n) "<reg name=\"xmm" #n "\" bitsize=\"128\" type=\"uint128\" group=\"vector\"/>\n"
	XMM(0) XMM(1) XMM(2) XMM(3) XMM(4) XMM(5) XMM(6) XMM(7)
	XMM(8) XMM(9) XMM(10) XMM(11) XMM(12) XMM(13) XMM(14) XMM(15)
#undef XMM
	"<reg name=\"mxcsr\" bitsize=\"32\" type=\"int\" group=\"vector\"/>\n"
	"</feature>\n"
	"<feature name=\"org.gnu.gdb.i386.segments\">\n"
	"<reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/>\n"
	"<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>\n"
	"</feature>\n"
	"<feature name=\"org.nestlab.x86.control\">\n"
	"<reg name=\"cr0\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
	"<reg name=\"cr2\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
	"<reg name=\"cr3\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
	"<reg name=\"cr4\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
	"<reg name=\"cr8\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
	"<reg name=\"efer\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
	"</feature>\n"
	"</target>\n";

/* Register numbers, in the description's order. */
enum {
	G_RIP = 16, G_EFLAGS, G_CS, G_SS, G_DS, G_ES, G_FS, G_GS,
	G_ST0 = 24, G_FCTRL = 32, G_XMM0 = 40, G_MXCSR = 56,
	G_FS_BASE = 57, G_GS_BASE, G_CR0, G_CR2, G_CR3, G_CR4, G_CR8, G_EFER,
};

/* gdb's order of the general registers, as ModRM numbers. */
static const uint8_t gpr_order[16] = {
	R_AX, R_BX, R_CX, R_DX, R_SI, R_DI, R_BP, R_SP,
	R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15,
};

static const uint8_t seg_order[6] = { SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS };

unsigned gdb_reg_size(unsigned n)
{
	if (n < 16 || n == G_RIP || (n >= G_FS_BASE && n < GDB_NREGS))
		return 8;
	if (n >= G_ST0 && n < G_FCTRL)
		return 10;
	if (n >= G_XMM0 && n < G_MXCSR)
		return 16;
	return n < GDB_NREGS ? 4 : 0;
}

static uint64_t reg_value(struct cpu *c, unsigned n)
{
	if (n < 16)
		return c->gpr[gpr_order[n]];
	switch (n) {
	case G_RIP:     return c->rip;
	case G_EFLAGS:  return emu_get_rflags(c);
	case G_FS_BASE: return c->seg[SEG_FS].base;
	case G_GS_BASE: return c->seg[SEG_GS].base;
	case G_CR0:     return c->cr0;
	case G_CR2:     return c->cr2;
	case G_CR3:     return c->cr3;
	case G_CR4:     return c->cr4;
	case G_CR8:     return c->intc ? c->intc->get_cr8(c) : c->cr8;
	case G_EFER:    return c->efer;
	case G_FCTRL:   return 0x37f; /* the x87 is inert: its reset state */
	case G_MXCSR:   return 0x1f80;
	default:
		if (n >= G_CS && n <= G_GS)
			return c->seg[seg_order[n - G_CS]].sel;
		return 0;
	}
}

void gdb_reg_get(struct cpu *c, unsigned n, uint8_t *out)
{
	unsigned size = gdb_reg_size(n);
	memset(out, 0, size);
	uint64_t v = reg_value(c, n);
	memcpy(out, &v, size < 8 ? size : 8);
}

/* General registers, RIP and RFLAGS may be written; segment and control
 * registers only through the guest's own instructions (their hidden parts
 * and the mode follow them). */
bool gdb_reg_set(struct cpu *c, unsigned n, const uint8_t *in)
{
	uint64_t v = 0;
	memcpy(&v, in, 8);
	if (n < 16)
		c->gpr[gpr_order[n]] = v;
	else if (n == G_RIP)
		c->rip = v;
	else if (n == G_EFLAGS)
		emu_set_rflags(c, (uint32_t)v);
	else
		return reg_value(c, n) == (gdb_reg_size(n) < 8 ? v & ((1ull << 8 * gdb_reg_size(n)) - 1) : v);
	return true;
}

/* Linear to physical in the current context: the guest's paging, then EPT
 * in a VMX guest; no A/D bits set, nothing cached. */
static bool peek_translate(struct cpu *c, uint64_t lin, uint64_t *pa)
{
	*pa = lin;
	if (paging_on(c)) {
		struct walk w;
		if (!paging_walk(c, lin, WALK_READ, 0, &w))
			return false;
		*pa = w.pa;
	}
	if (c->vmx.ept_active && !vmx_ept_peek(c, *pa, pa))
		return false;
	return *pa < c->bus->ram_size;
}

bool gdb_mem_read(struct cpu *c, uint64_t lin, uint8_t *buf, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		uint64_t pa;
		if (!peek_translate(c, lin + k, &pa))
			return false;
		buf[k] = c->bus->ram[pa];
	}
	return true;
}

bool gdb_mem_write(struct cpu *c, uint64_t lin, const uint8_t *buf, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		uint64_t pa;
		if (!peek_translate(c, lin + k, &pa))
			return false;
	}
	for (size_t k = 0; k < len; k++) {
		uint64_t pa;
		peek_translate(c, lin + k, &pa);
		emu_phys_write(c, pa, buf + k, 1);
	}
	emu_flush_tlb(c); /* the write may have changed a page table */
	return true;
}

static void monitor_level(struct cpu *c, char *out, size_t n)
{
	if (!c->vmx.on)
		snprintf(out, n, "level: outside VMX operation (the software the machine booted)\n");
	else if (!c->vmx.nonroot)
		snprintf(out, n, "level: VMX root operation (a hypervisor); current VMCS %#llx\n",
			 (unsigned long long)c->vmx.vmcs_ptr);
	else
		snprintf(out, n, "level: VMX non-root operation (a guest, under the VMCS at %#llx)%s\n",
			 (unsigned long long)c->vmx.vmcs_ptr,
			 c->vmx.ept_active ? "; memory goes through its EPT" : "");
}

static void monitor_vmcs(struct cpu *c, char *out, size_t n)
{
	size_t at = 0;
	if (!c->vmx.on || c->vmx.vmcs_ptr == VMCS_INVALID_PTR) {
		snprintf(out, n, "no current VMCS\n");
		return;
	}
	at += (size_t)snprintf(out, n, "VMCS at %#llx (non-zero fields):\n",
			       (unsigned long long)c->vmx.vmcs_ptr);
	for (unsigned f = 0; f < VMCS_NFIELDS && at < n; f++)
		if (c->vmx.field[f])
			at += (size_t)snprintf(out + at, n - at, "  %-40s %#llx\n", vmcs_fields[f].name,
					       (unsigned long long)c->vmx.field[f]);
}

static void monitor_walk(struct cpu *c, const char *arg, char *out, size_t n)
{
	char *end;
	uint64_t lin = strtoull(arg, &end, 0);
	if (!*arg || *end) {
		snprintf(out, n, "usage: monitor walk ADDR\n");
		return;
	}
	if (!paging_on(c)) {
		snprintf(out, n, "paging is off: linear %#llx is physical\n", (unsigned long long)lin);
		return;
	}
	struct walk w;
	bool ok = paging_walk(c, lin, WALK_READ, 0, &w);
	size_t at = (size_t)snprintf(out, n, "walk of %#llx from CR3 %#llx:\n",
				     (unsigned long long)lin, (unsigned long long)c->cr3);
	for (int k = 0; k < w.nsteps && at < n; k++)
		at += (size_t)snprintf(out + at, n - at, "  level %u: entry at %#llx = %#llx\n",
				       w.step[k].level, (unsigned long long)w.step[k].entry_pa,
				       (unsigned long long)w.step[k].value);
	if (at >= n)
		return;
	if (!ok)
		snprintf(out + at, n - at, "  not mapped (page-fault error code %#x)\n", w.error);
	else
		snprintf(out + at, n - at, "  -> %s %#llx (%llu KiB page)%s\n",
			 c->vmx.ept_active ? "guest-physical" : "physical",
			 (unsigned long long)w.pa, (unsigned long long)(w.page_size >> 10),
			 c->vmx.ept_active ? ", then through EPT" : "");
}

void gdb_monitor(struct cpu *c, const char *cmd, const char *extra, char *out, size_t n)
{
	if (!strcmp(cmd, "level"))
		monitor_level(c, out, n);
	else if (!strcmp(cmd, "vmcs"))
		monitor_vmcs(c, out, n);
	else if (!strcmp(cmd, "walk"))
		monitor_walk(c, extra, out, n);
	else
		snprintf(out, n, "nestlab monitor commands: level, vmcs, walk ADDR, snapshots\n");
}
