/* The VMCS pane: the current VMCS (SDM vol. 3C, chapter 24), its controls
 * decoded bit by bit (tables 24-5 to 24-15), then every non-zero field in
 * the SDM's groups: VM-exit information, guest state, host state, the
 * other controls. Fields the last step or run changed (a VMWRITE, a VM
 * exit) are yellow. The bottom line describes the field under the mouse,
 * or the first changed one, with its SDM section. PgUp/PgDn scroll. */
#include "gui/gui.h"
#include "vmx/controls.h"
#include "vmx/vmx.h"

struct ctl_bit {
	enum vmcs_field f;
	uint32_t bit;
	const char *name;   /* the SDM's name, shortened */
};

static const struct ctl_bit ctl_bits[] = {
	{ VMCS_PIN_BASED_VM_EXEC_CONTROL, PIN_EXT_INTR_EXITING, "ext-intr-exiting" },
	{ VMCS_PIN_BASED_VM_EXEC_CONTROL, PIN_NMI_EXITING, "NMI-exiting" },
	{ VMCS_PIN_BASED_VM_EXEC_CONTROL, PIN_VIRTUAL_NMIS, "virtual-NMIs" },
	{ VMCS_PIN_BASED_VM_EXEC_CONTROL, PIN_PREEMPTION_TIMER, "preemption-timer" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_INTR_WINDOW_EXITING, "intr-window" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_USE_TSC_OFFSETTING, "TSC-offset" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_HLT_EXITING, "HLT" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_INVLPG_EXITING, "INVLPG" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_MWAIT_EXITING, "MWAIT" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_RDTSC_EXITING, "RDTSC" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_CR3_LOAD_EXITING, "CR3-load" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_CR3_STORE_EXITING, "CR3-store" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_CR8_LOAD_EXITING, "CR8-load" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_CR8_STORE_EXITING, "CR8-store" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_MOV_DR_EXITING, "MOV-DR" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_UNCOND_IO_EXITING, "uncond-I/O" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_USE_IO_BITMAPS, "I/O-bitmaps" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_MONITOR_TRAP_FLAG, "MTF" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_USE_MSR_BITMAPS, "MSR-bitmaps" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_PAUSE_EXITING, "PAUSE" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, PROC_SECONDARY_CONTROLS, "secondary" },
	{ VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_ENABLE_EPT, "EPT" },
	{ VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_DESC_TABLE_EXITING, "desc-table" },
	{ VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_ENABLE_RDTSCP, "RDTSCP" },
	{ VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_ENABLE_VPID, "VPID" },
	{ VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_WBINVD_EXITING, "WBINVD" },
	{ VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_UNRESTRICTED_GUEST, "unrestricted" },
	{ VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_ENABLE_INVPCID, "INVPCID" },
	{ VMCS_SECONDARY_VM_EXEC_CONTROL, PROC2_VMCS_SHADOWING, "VMCS-shadowing" },
	{ VMCS_VM_EXIT_CONTROLS, EXIT_HOST_ADDR_SPACE, "host-64-bit" },
	{ VMCS_VM_EXIT_CONTROLS, EXIT_ACK_INTR_ON_EXIT, "ack-intr" },
	{ VMCS_VM_EXIT_CONTROLS, EXIT_SAVE_EFER, "save-EFER" },
	{ VMCS_VM_EXIT_CONTROLS, EXIT_LOAD_EFER, "load-EFER" },
	{ VMCS_VM_EXIT_CONTROLS, EXIT_SAVE_PREEMPT_TIMER, "save-timer" },
	{ VMCS_VM_ENTRY_CONTROLS, ENTRY_IA32E_MODE, "IA-32e-guest" },
	{ VMCS_VM_ENTRY_CONTROLS, ENTRY_LOAD_EFER, "load-EFER" },
	{ VMCS_VM_ENTRY_CONTROLS, ENTRY_LOAD_PAT, "load-PAT" },
};

static const struct {
	enum vmcs_field f;
	const char *label;
	const char *sdm;
} ctl_fields[] = {
	{ VMCS_PIN_BASED_VM_EXEC_CONTROL, "pin", "24.6.1" },
	{ VMCS_CPU_BASED_VM_EXEC_CONTROL, "proc", "24.6.2" },
	{ VMCS_SECONDARY_VM_EXEC_CONTROL, "proc2", "24.6.2" },
	{ VMCS_VM_EXIT_CONTROLS, "exit", "24.7.1" },
	{ VMCS_VM_ENTRY_CONTROLS, "entry", "24.8.1" },
};

static bool changed(const struct gui *g, unsigned f)
{
	return g->have_before && g->c->vmx.field[f] != g->before_fields[f];
}

/* One control field: its value, then the names of its bits that are set. */
static void control_line(struct gui *g, struct gui_rect r, int row, unsigned k)
{
	enum vmcs_field f = ctl_fields[k].f;
	uint64_t v = g->c->vmx.field[f];
	int x = gui_text(g, r, 0, row, COL_DIM, "%-5s", ctl_fields[k].label) + 1;
	x += gui_text(g, r, x, row, changed(g, f) ? COL_CHANGED : COL_TEXT, "%08llx",
		      (unsigned long long)v) + 1;
	for (size_t b = 0; b < sizeof ctl_bits / sizeof ctl_bits[0]; b++)
		if (ctl_bits[b].f == f && (v & ctl_bits[b].bit))
			x += gui_text(g, r, x, row, COL_GOOD, "%s", ctl_bits[b].name) + 1;
}

static const enum msg_id group_titles[4] = {
	[RO] = MSG_GUI_VMCS_EXIT_INFO, [GUEST] = MSG_GUI_VMCS_GUEST,
	[HOST] = MSG_GUI_VMCS_HOST, [CTRL] = MSG_GUI_VMCS_CONTROLS,
};

static void field_line(struct gui *g, struct gui_rect r, int row, unsigned f, int *shown)
{
	uint64_t v = g->c->vmx.field[f];
	bool ch = changed(g, f);
	if (g->mouse_y == r.y + row && g->mouse_x >= r.x && g->mouse_x < r.x + r.w)
		*shown = (int)f;
	gui_text(g, r, 0, row, ch ? COL_CHANGED : COL_DIM, "%-34s", vmcs_fields[f].name);
	int x = 35 + gui_text(g, r, 35, row, ch ? COL_CHANGED : COL_TEXT, "0x%llx",
			      (unsigned long long)v);
	if (f == VMCS_VM_EXIT_REASON)  /* the SDM numbers basic exit reasons in decimal */
		gui_text(g, r, x + 1, row, COL_ACCENT, "(%u %s)", (unsigned)(v & 0xffff),
			 vmx_exit_reason_name(v & 0xffff));
	if (f == VMCS_VM_INSTRUCTION_ERROR && v && vmx_error_text((unsigned)v))
		gui_text(g, r, x + 1, row, COL_BAD, "%s", vmx_error_text((unsigned)v));
}

void pane_vmcs(struct gui *g, struct gui_rect outer)
{
	struct gui_rect r = gui_pane(g, outer, MSG_GUI_PANE_VMCS);
	struct cpu *c = g->c;
	if (!c->vmx.on || c->vmx.vmcs_ptr == VMCS_INVALID_PTR) {
		gui_text(g, r, 0, 0, COL_DIM, "%s", L(g, GUI_NO_VMCS));
		return;
	}
	gui_text(g, r, 12, -1, COL_DIM, L(g, GUI_VMCS_AT), (unsigned long long)c->vmx.vmcs_ptr,
		 c->vmx.launch == VMCS_LAUNCHED ? L(g, GUI_VMCS_LAUNCHED) : L(g, GUI_VMCS_CLEAR));
	int row = 0, shown = -1, first_changed = -1;
	for (unsigned k = 0; k < 5; k++)
		control_line(g, r, row++, k);
	struct gui_rect list = { r.x, r.y + row, r.w, r.h - row - 1 };
	int skip = g->vmcs_scroll, line = 0;
	static const uint8_t order[4] = { RO, GUEST, HOST, CTRL };
	for (int o = 0; o < 4; o++) {
		bool title = false;
		for (unsigned f = 0; f < VMCS_NFIELDS; f++) {
			if (vmcs_fields[f].group != order[o] || (!c->vmx.field[f] && !changed(g, f)))
				continue;
			if (changed(g, f) && first_changed < 0)
				first_changed = (int)f;
			if (!title) {
				title = true;
				if (line++ >= skip)
					gui_text(g, list, 0, line - 1 - skip, COL_TITLE, "%s",
						 msg(g->lang, group_titles[order[o]]));
			}
			if (line++ >= skip)
				field_line(g, list, line - 1 - skip, f, &shown);
		}
	}
	if (shown < 0)
		shown = first_changed;
	if (shown >= 0)
		gui_text(g, r, 0, r.h - 1, COL_ACCENT, L(g, GUI_VMCS_DESCRIBE),
			 vmcs_fields[shown].name, msg(g->lang, group_titles[vmcs_fields[shown].group]),
			 vmcs_fields[shown].sdm);
}
