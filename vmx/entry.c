/* VM-entry checks (SDM vol. 3C, chapter 26), written as the manual's
 * ordered list: each check is a row with a name, its section and the one
 * sentence a student needs. A failed control check makes VMLAUNCH or
 * VMRESUME fail with VM-instruction error 7, a failed host-state check with
 * error 8 (26.2); a failed guest-state check (26.3, vmx/entry_guest.c) is
 * a VM exit with reason 33. vmx_check_entry() runs the rows in order and
 * returns the first that fails. */
#include "emu/mem.h"
#include "emu/paging.h"
#include "emu/sysreg.h"
#include "vmx/controls.h"
#include "vmx/entry.h"
#include "vmx/entry_guest.h"


/* Fields as the checks read them. */
#define F(name) (c->vmx.field[VMCS_##name])

/* A control satisfies its capability MSR: every allowed-0 bit (a 1 in
 * bits 31:0) set, no bit set that allowed-1 (bits 63:32) forbids. */
static bool ctl_ok(struct cpu *c, uint32_t msr, uint64_t value)
{
	uint64_t cap;
	if (!vmx_msr_read(c, msr, &cap))
		return false;
	uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);
	return (value & must1) == must1 && !(value & ~(uint64_t)may1);
}

static bool pin_ok(struct cpu *c)   { return ctl_ok(c, 0x48d, F(PIN_BASED_VM_EXEC_CONTROL)); }
static bool proc_ok(struct cpu *c)  { return ctl_ok(c, 0x48e, F(CPU_BASED_VM_EXEC_CONTROL)); }
/* The exit controls fit IA32_VMX_TRUE_EXIT_CTLS, and "save
 * VMX-preemption timer value" comes only with the timer (26.2.1.2). */
static bool exit_ok(struct cpu *c)
{
	if ((F(VM_EXIT_CONTROLS) & EXIT_SAVE_PREEMPT_TIMER) &&
	    !(F(PIN_BASED_VM_EXEC_CONTROL) & PIN_PREEMPTION_TIMER))
		return false;
	return ctl_ok(c, 0x48f, F(VM_EXIT_CONTROLS));
}
static bool entry_ok(struct cpu *c) { return ctl_ok(c, 0x490, F(VM_ENTRY_CONTROLS)); }

/* The secondary controls count only when "activate secondary controls"
 * is 1; then they must satisfy IA32_VMX_PROCBASED_CTLS2 (26.2.1.1). */
static bool proc2_ok(struct cpu *c)
{
	return !(F(CPU_BASED_VM_EXEC_CONTROL) & PROC_SECONDARY_CONTROLS) ||
	       ctl_ok(c, 0x48b, F(SECONDARY_VM_EXEC_CONTROL));
}

/* A 4 KiB-aligned page within the physical-address width. */
static bool page_addr_ok(uint64_t a)
{
	return !(a & 0xfff) && !(a & ~PHYS_MASK);
}

static bool io_bitmaps_ok(struct cpu *c)
{
	return !(F(CPU_BASED_VM_EXEC_CONTROL) & PROC_USE_IO_BITMAPS) ||
	       (page_addr_ok(F(IO_BITMAP_A)) && page_addr_ok(F(IO_BITMAP_B)));
}

static bool msr_bitmap_ok(struct cpu *c)
{
	return !(F(CPU_BASED_VM_EXEC_CONTROL) & PROC_USE_MSR_BITMAPS) ||
	       page_addr_ok(F(MSR_BITMAP));
}

/* "virtual NMIs" needs "NMI exiting"; "NMI-window exiting" needs
 * "virtual NMIs" (26.2.1.1). */
static bool nmi_controls_ok(struct cpu *c)
{
	uint64_t pin = F(PIN_BASED_VM_EXEC_CONTROL);
	if ((pin & PIN_VIRTUAL_NMIS) && !(pin & PIN_NMI_EXITING))
		return false;
	return !(F(CPU_BASED_VM_EXEC_CONTROL) & PROC_NMI_WINDOW_EXITING) || (pin & PIN_VIRTUAL_NMIS);
}

/* EPT, VPID and unrestricted guest (26.2.1.1): a valid EPTP with EPT, a
 * non-zero VPID with VPID, and EPT under an unrestricted guest. */
static bool proc2_rules_ok(struct cpu *c)
{
	if (!(F(CPU_BASED_VM_EXEC_CONTROL) & PROC_SECONDARY_CONTROLS))
		return true;
	uint64_t p2 = F(SECONDARY_VM_EXEC_CONTROL);
	if ((p2 & PROC2_ENABLE_EPT) && !vmx_eptp_ok(F(EPT_POINTER)))
		return false;
	if ((p2 & PROC2_ENABLE_VPID) && !F(VIRTUAL_PROCESSOR_ID))
		return false;
	if ((p2 & PROC2_VMCS_SHADOWING) &&
	    (!page_addr_ok(F(VMREAD_BITMAP)) || !page_addr_ok(F(VMWRITE_BITMAP))))
		return false;
	return !(p2 & PROC2_UNRESTRICTED_GUEST) || (p2 & PROC2_ENABLE_EPT);
}

/* "use TPR shadow" (26.2.1.1): a 4 KiB-aligned virtual-APIC page within
 * the physical width, TPR_THRESHOLD[31:4] clear and [3:0] not above
 * VTPR[7:4]. */
static bool tpr_shadow_ok(struct cpu *c)
{
	if (!(F(CPU_BASED_VM_EXEC_CONTROL) & PROC_USE_TPR_SHADOW))
		return true;
	uint64_t page = F(VIRTUAL_APIC_PAGE_ADDR);
	uint8_t vtpr = 0;
	if (!page_addr_ok(page) || (F(TPR_THRESHOLD) >> 4))
		return false;
	emu_phys_read(c, page + 0x80, &vtpr, 1);
	return (F(TPR_THRESHOLD) & 0xf) <= (uint64_t)(vtpr >> 4);
}

static bool cr3_count_ok(struct cpu *c)
{
	uint64_t misc = 0;
	vmx_msr_read(c, 0x485, &misc);
	return F(CR3_TARGET_COUNT) <= ((misc >> 16) & 0x1ff);
}

/* MSR areas: 16-byte aligned, the whole area within the physical-address
 * width (24.7.2, 24.8.2). */
static bool msr_area_ok(uint64_t addr, uint64_t count)
{
	return !(addr & 15) && !((addr + count * 16 - 1) & ~PHYS_MASK) && !(addr & ~PHYS_MASK);
}

static bool exit_store_ok(struct cpu *c)
{
	return !F(VM_EXIT_MSR_STORE_COUNT) ||
	       msr_area_ok(F(VM_EXIT_MSR_STORE_ADDR), F(VM_EXIT_MSR_STORE_COUNT));
}

static bool exit_load_ok(struct cpu *c)
{
	return !F(VM_EXIT_MSR_LOAD_COUNT) ||
	       msr_area_ok(F(VM_EXIT_MSR_LOAD_ADDR), F(VM_EXIT_MSR_LOAD_COUNT));
}

static bool entry_load_ok(struct cpu *c)
{
	return !F(VM_ENTRY_MSR_LOAD_COUNT) ||
	       msr_area_ok(F(VM_ENTRY_MSR_LOAD_ADDR), F(VM_ENTRY_MSR_LOAD_COUNT));
}

/* The VM-entry interruption-information field (26.2.1.3). */
static bool injection_ok(struct cpu *c)
{
	uint64_t info = F(VM_ENTRY_INTR_INFO_FIELD);
	if (!(info >> 31))
		return true;
	unsigned vector = info & 0xff, type = (info >> 8) & 7;
	bool has_err = (info >> 11) & 1;
	if (type == 1 || type > 7 || (info & 0x7ffff000u))
		return false;              /* reserved type or bits */
	if (type == 2 && vector != 2)
		return false;              /* NMI */
	if (type == 3 && vector > 31)
		return false;              /* hardware exception */
	if (type == 7 && vector != 0)
		return false;              /* other event (MTF) */
	/* "deliver error code" must be 1 exactly for a hardware exception
	 * that pushes one, with the guest in protected mode (bit 56 of
	 * IA32_VMX_BASIC, which would relax this, is 0). Without "unrestricted
	 * guest" the guest is in protected mode whatever GUEST_CR0.PE says
	 * (a PE of 0 fails later, as guest state, 26.3.1.1). */
	bool err_vec = vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 ||
		       vector == 21;
	bool prot = !(F(CPU_BASED_VM_EXEC_CONTROL) & PROC_SECONDARY_CONTROLS) ||
		    !(F(SECONDARY_VM_EXEC_CONTROL) & PROC2_UNRESTRICTED_GUEST) ||
		    (F(GUEST_CR0) & CR0_PE);
	bool wants_err = type == 3 && err_vec && prot;
	if (has_err != wants_err)
		return false;
	if (has_err && (F(VM_ENTRY_EXCEPTION_ERROR_CODE) >> 16))
		return false;
	if ((type == 4 || type == 5 || type == 6) &&
	    (F(VM_ENTRY_INSTRUCTION_LEN) == 0 || F(VM_ENTRY_INSTRUCTION_LEN) > 15))
		return false;              /* software events need a length */
	return true;
}

/* --- host state (26.2.2 - 26.2.4) --- */

static bool host_cr0_ok(struct cpu *c)
{
	uint64_t v = F(HOST_CR0);
	return (v & VMX_CR0_FIXED0) == VMX_CR0_FIXED0 && !(v & ~VMX_CR0_FIXED1);
}

static bool host_cr4_ok(struct cpu *c)
{
	uint64_t v = F(HOST_CR4);
	return (v & VMX_CR4_FIXED0) == VMX_CR4_FIXED0 &&
	       !(v & ~(uint64_t)(CR4_SUPPORTED | CR4_VMXE));
}

static bool host_cr3_ok(struct cpu *c)
{
	return !(F(HOST_CR3) & ~PHYS_MASK);
}

static bool host_sysenter_ok(struct cpu *c)
{
	return canonical(F(HOST_IA32_SYSENTER_ESP)) && canonical(F(HOST_IA32_SYSENTER_EIP));
}

static bool host_pat_ok(struct cpu *c)
{
	if (!(F(VM_EXIT_CONTROLS) & EXIT_LOAD_PAT))
		return true;
	uint64_t pat = F(HOST_IA32_PAT);
	for (int k = 0; k < 8; k++) {
		unsigned t = (pat >> (8 * k)) & 0xff;
		if (!(t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || t == 7))
			return false;
	}
	return true;
}

static bool host_efer_ok(struct cpu *c)
{
	if (!(F(VM_EXIT_CONTROLS) & EXIT_LOAD_EFER))
		return true;
	uint64_t e = F(HOST_IA32_EFER);
	bool as = F(VM_EXIT_CONTROLS) & EXIT_HOST_ADDR_SPACE;
	if (e & ~(uint64_t)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
		return false;
	return !!(e & EFER_LMA) == as && !!(e & EFER_LME) == as;
}

/* Selectors: RPL and TI zero; CS and TR not null; SS not null unless the
 * host is 64-bit (26.2.3). */
static bool host_selectors_ok(struct cpu *c)
{
	static const enum vmcs_field sels[] = {
		VMCS_HOST_ES_SELECTOR, VMCS_HOST_CS_SELECTOR, VMCS_HOST_SS_SELECTOR,
		VMCS_HOST_DS_SELECTOR, VMCS_HOST_FS_SELECTOR, VMCS_HOST_GS_SELECTOR,
		VMCS_HOST_TR_SELECTOR,
	};
	for (unsigned k = 0; k < sizeof sels / sizeof sels[0]; k++)
		if (c->vmx.field[sels[k]] & 7)
			return false;
	if (!F(HOST_CS_SELECTOR) || !F(HOST_TR_SELECTOR))
		return false;
	return F(HOST_SS_SELECTOR) || (F(VM_EXIT_CONTROLS) & EXIT_HOST_ADDR_SPACE);
}

static bool host_bases_ok(struct cpu *c)
{
	return canonical(F(HOST_FS_BASE)) && canonical(F(HOST_GS_BASE)) &&
	       canonical(F(HOST_GDTR_BASE)) && canonical(F(HOST_IDTR_BASE)) &&
	       canonical(F(HOST_TR_BASE));
}

/* The host's address-space size must match the processor's mode; a 64-bit
 * host needs CR4.PAE and a canonical RIP, a 32-bit one a clear
 * PCIDE, no IA-32e-mode guest, and RIP below 4 GiB (26.2.4). */
static bool host_addr_space_ok(struct cpu *c)
{
	bool as = F(VM_EXIT_CONTROLS) & EXIT_HOST_ADDR_SPACE;
	if (!!(c->efer & EFER_LMA) != as)
		return false;
	if (as)
		return (F(HOST_CR4) & CR4_PAE) && canonical(F(HOST_RIP));
	return !(F(VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE) && !(F(HOST_CR4) & CR4_PCIDE) &&
	       !(F(HOST_RIP) >> 32);
}

#define ROW(fn, kind, name, sdm, why, why_pt) { fn, kind, name, sdm, why, why_pt, 0 }
#define GROW(fn, name, sdm, why, why_pt, qual) { fn, CHECK_GUEST, name, sdm, why, why_pt, qual }

static const struct entry_check checks[] = {
	ROW(pin_ok, CHECK_CONTROL, "pin-based controls", "26.2.1.1",
	    "A pin-based control is set that IA32_VMX_TRUE_PINBASED_CTLS does not allow, or a must-be-1 bit is clear.",
	    "Um controle baseado em pino está ligado e IA32_VMX_TRUE_PINBASED_CTLS não o permite, ou um bit que deve ser 1 está em 0."),
	ROW(proc_ok, CHECK_CONTROL, "primary processor-based controls", "26.2.1.1",
	    "A processor-based control is set that IA32_VMX_TRUE_PROCBASED_CTLS does not allow, or a must-be-1 bit is clear.",
	    "Um controle baseado no processador está ligado e IA32_VMX_TRUE_PROCBASED_CTLS não o permite, ou um bit que deve ser 1 está em 0."),
	ROW(proc2_ok, CHECK_CONTROL, "secondary processor-based controls", "26.2.1.1",
	    "With 'activate secondary controls', SECONDARY_VM_EXEC_CONTROL sets a bit IA32_VMX_PROCBASED_CTLS2 does not allow.",
	    "Com 'activate secondary controls', SECONDARY_VM_EXEC_CONTROL liga um bit que IA32_VMX_PROCBASED_CTLS2 não permite."),
	ROW(io_bitmaps_ok, CHECK_CONTROL, "I/O-bitmap addresses", "26.2.1.1",
	    "With 'use I/O bitmaps', IO_BITMAP_A and IO_BITMAP_B must be 4 KiB-aligned addresses within the physical-address width.",
	    "Com 'use I/O bitmaps', IO_BITMAP_A e IO_BITMAP_B devem ser endereços alinhados a 4 KiB dentro da largura de endereço físico."),
	ROW(msr_bitmap_ok, CHECK_CONTROL, "MSR-bitmap address", "26.2.1.1",
	    "With 'use MSR bitmaps', MSR_BITMAP must be a 4 KiB-aligned address within the physical-address width.",
	    "Com 'use MSR bitmaps', MSR_BITMAP deve ser um endereço alinhado a 4 KiB dentro da largura de endereço físico."),
	ROW(nmi_controls_ok, CHECK_CONTROL, "NMI controls", "26.2.1.1",
	    "'virtual NMIs' needs 'NMI exiting', and 'NMI-window exiting' needs 'virtual NMIs'.",
	    "'virtual NMIs' exige 'NMI exiting', e 'NMI-window exiting' exige 'virtual NMIs'."),
	ROW(tpr_shadow_ok, CHECK_CONTROL, "TPR shadow", "26.2.1.1",
	    "With 'use TPR shadow', VIRTUAL_APIC_PAGE_ADDR must be 4 KiB-aligned within the physical width, TPR_THRESHOLD[31:4] clear and TPR_THRESHOLD[3:0] not above bits 7:4 of the VTPR (byte 0x80 of that page).",
	    "Com 'use TPR shadow', VIRTUAL_APIC_PAGE_ADDR deve ser alinhado a 4 KiB dentro da largura física, TPR_THRESHOLD[31:4] zerado e TPR_THRESHOLD[3:0] não maior que os bits 7:4 do VTPR (byte 0x80 dessa página)."),
	ROW(proc2_rules_ok, CHECK_CONTROL, "EPTP, VPID, shadowing, unrestricted guest", "26.2.1.1",
	    "With 'enable EPT', EPT_POINTER needs memory type UC (0) or WB (6), a 4-level walk (bits 5:3 = 3), bits 11:7 clear and an address within the physical width; 'enable VPID' needs a non-zero VIRTUAL_PROCESSOR_ID; 'VMCS shadowing' needs 4 KiB-aligned VMREAD_BITMAP and VMWRITE_BITMAP; 'unrestricted guest' needs 'enable EPT'.",
	    "Com 'enable EPT', EPT_POINTER precisa do tipo de memória UC (0) ou WB (6), de um percurso de 4 níveis (bits 5:3 = 3), dos bits 11:7 zerados e de um endereço dentro da largura física; 'enable VPID' precisa de um VIRTUAL_PROCESSOR_ID diferente de zero; 'VMCS shadowing' precisa de VMREAD_BITMAP e VMWRITE_BITMAP alinhados a 4 KiB; 'unrestricted guest' exige 'enable EPT'."),
	ROW(cr3_count_ok, CHECK_CONTROL, "CR3-target count", "26.2.1.1",
	    "CR3_TARGET_COUNT is larger than the number IA32_VMX_MISC[24:16] supports.",
	    "CR3_TARGET_COUNT é maior que o número que IA32_VMX_MISC[24:16] suporta."),
	ROW(exit_ok, CHECK_CONTROL, "VM-exit controls", "26.2.1.2",
	    "A VM-exit control is set that IA32_VMX_TRUE_EXIT_CTLS does not allow, a must-be-1 bit is clear, or 'save VMX-preemption timer value' is set without the timer.",
	    "Um controle de saída de VM está ligado e IA32_VMX_TRUE_EXIT_CTLS não o permite, um bit que deve ser 1 está em 0, ou 'save VMX-preemption timer value' está ligado sem o temporizador."),
	ROW(exit_store_ok, CHECK_CONTROL, "VM-exit MSR-store area", "26.2.1.2",
	    "VM_EXIT_MSR_STORE_ADDR must be 16-byte aligned and the area within the physical-address width.",
	    "VM_EXIT_MSR_STORE_ADDR deve ser alinhado a 16 bytes e a área deve caber na largura de endereço físico."),
	ROW(exit_load_ok, CHECK_CONTROL, "VM-exit MSR-load area", "26.2.1.2",
	    "VM_EXIT_MSR_LOAD_ADDR must be 16-byte aligned and the area within the physical-address width.",
	    "VM_EXIT_MSR_LOAD_ADDR deve ser alinhado a 16 bytes e a área deve caber na largura de endereço físico."),
	ROW(entry_ok, CHECK_CONTROL, "VM-entry controls", "26.2.1.3",
	    "A VM-entry control is set that IA32_VMX_TRUE_ENTRY_CTLS does not allow, or a must-be-1 bit is clear.",
	    "Um controle de entrada de VM está ligado e IA32_VMX_TRUE_ENTRY_CTLS não o permite, ou um bit que deve ser 1 está em 0."),
	ROW(entry_load_ok, CHECK_CONTROL, "VM-entry MSR-load area", "26.2.1.3",
	    "VM_ENTRY_MSR_LOAD_ADDR must be 16-byte aligned and the area within the physical-address width.",
	    "VM_ENTRY_MSR_LOAD_ADDR deve ser alinhado a 16 bytes e a área deve caber na largura de endereço físico."),
	ROW(injection_ok, CHECK_CONTROL, "event injection", "26.2.1.3",
	    "VM_ENTRY_INTR_INFO_FIELD is inconsistent: check its type, vector, the instruction length, and 'deliver error code' (set exactly for #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP when GUEST_CR0.PE = 1 or 'unrestricted guest' is 0).",
	    "VM_ENTRY_INTR_INFO_FIELD é inconsistente: confira o tipo, o vetor, o tamanho da instrução e 'deliver error code' (ligado exatamente para #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP quando GUEST_CR0.PE = 1 ou 'unrestricted guest' é 0)."),
	ROW(host_cr0_ok, CHECK_HOST, "HOST_CR0", "26.2.2",
	    "HOST_CR0 must have PE, NE and PG set (IA32_VMX_CR0_FIXED0) and no bit FIXED1 forbids.",
	    "HOST_CR0 deve ter PE, NE e PG ligados (IA32_VMX_CR0_FIXED0) e nenhum bit que FIXED1 proíba."),
	ROW(host_cr4_ok, CHECK_HOST, "HOST_CR4", "26.2.2",
	    "HOST_CR4 must have VMXE set (IA32_VMX_CR4_FIXED0) and no bit FIXED1 forbids.",
	    "HOST_CR4 deve ter VMXE ligado (IA32_VMX_CR4_FIXED0) e nenhum bit que FIXED1 proíba."),
	ROW(host_cr3_ok, CHECK_HOST, "HOST_CR3", "26.2.2",
	    "HOST_CR3 has bits set beyond the physical-address width.",
	    "HOST_CR3 tem bits ligados além da largura de endereço físico."),
	ROW(host_sysenter_ok, CHECK_HOST, "HOST_IA32_SYSENTER_ESP/EIP", "26.2.2",
	    "HOST_IA32_SYSENTER_ESP and HOST_IA32_SYSENTER_EIP must be canonical.",
	    "HOST_IA32_SYSENTER_ESP e HOST_IA32_SYSENTER_EIP devem ser canônicos."),
	ROW(host_pat_ok, CHECK_HOST, "HOST_IA32_PAT", "26.2.2",
	    "With 'load IA32_PAT', every byte of HOST_IA32_PAT must be a valid memory type.",
	    "Com 'load IA32_PAT', cada byte de HOST_IA32_PAT deve ser um tipo de memória válido."),
	ROW(host_efer_ok, CHECK_HOST, "HOST_IA32_EFER", "26.2.2",
	    "With 'load IA32_EFER', reserved bits must be clear and LMA and LME must equal 'host address-space size'.",
	    "Com 'load IA32_EFER', os bits reservados devem estar zerados e LMA e LME devem ser iguais a 'host address-space size'."),
	ROW(host_selectors_ok, CHECK_HOST, "host selectors", "26.2.3",
	    "Host selectors need RPL = 0 and TI = 0; CS and TR cannot be null, nor SS for a 32-bit host.",
	    "Os seletores do host precisam de RPL = 0 e TI = 0; CS e TR não podem ser nulos, nem SS num host de 32 bits."),
	ROW(host_bases_ok, CHECK_HOST, "host base addresses", "26.2.3",
	    "HOST_FS_BASE, HOST_GS_BASE, HOST_GDTR_BASE, HOST_IDTR_BASE and HOST_TR_BASE must be canonical.",
	    "HOST_FS_BASE, HOST_GS_BASE, HOST_GDTR_BASE, HOST_IDTR_BASE e HOST_TR_BASE devem ser canônicos."),
	ROW(host_addr_space_ok, CHECK_HOST, "host address-space size", "26.2.4",
	    "'host address-space size' must match IA32_EFER.LMA; a 64-bit host needs CR4.PAE and a canonical HOST_RIP.",
	    "'host address-space size' deve coincidir com IA32_EFER.LMA; um host de 64 bits precisa de CR4.PAE e de um HOST_RIP canônico."),
	GROW(guest_cr0_ok, "GUEST_CR0", "26.3.1.1",
	     "GUEST_CR0 must have PE, NE and PG set (only an unrestricted guest may clear PE and PG) and PG only with PE.",
	     "GUEST_CR0 deve ter PE, NE e PG ligados (só um 'unrestricted guest' pode zerar PE e PG) e PG só com PE.", 0),
	GROW(guest_cr4_ok, "GUEST_CR4", "26.3.1.1",
	     "GUEST_CR4 must have VMXE set and no bit IA32_VMX_CR4_FIXED1 forbids.",
	     "GUEST_CR4 deve ter VMXE ligado e nenhum bit que IA32_VMX_CR4_FIXED1 proíba.", 0),
	GROW(guest_debug_ok, "GUEST_IA32_DEBUGCTL and GUEST_DR7", "26.3.1.1",
	     "With 'load debug controls', GUEST_IA32_DEBUGCTL must be 0 (this CPU has no DEBUGCTL features) and GUEST_DR7[63:32] 0.",
	     "Com 'load debug controls', GUEST_IA32_DEBUGCTL deve ser 0 (esta CPU não tem recursos de DEBUGCTL) e GUEST_DR7[63:32] deve ser 0.", 0),
	GROW(guest_ia32e_ok, "IA-32e mode guest", "26.3.1.1",
	     "An 'IA-32e mode guest' needs CR0.PG and CR4.PAE in the guest; any other guest needs CR4.PCIDE clear.",
	     "Um 'IA-32e mode guest' precisa de CR0.PG e CR4.PAE no convidado; qualquer outro convidado precisa de CR4.PCIDE zerado.", 0),
	GROW(guest_cr3_ok, "GUEST_CR3", "26.3.1.1",
	     "GUEST_CR3 has bits set beyond the physical-address width.",
	     "GUEST_CR3 tem bits ligados além da largura de endereço físico.", 0),
	GROW(guest_sysenter_ok, "GUEST_SYSENTER_ESP/EIP", "26.3.1.1",
	     "GUEST_SYSENTER_ESP and GUEST_SYSENTER_EIP must be canonical.",
	     "GUEST_SYSENTER_ESP e GUEST_SYSENTER_EIP devem ser canônicos.", 0),
	GROW(guest_pat_ok, "GUEST_IA32_PAT", "26.3.1.1",
	     "With 'load IA32_PAT', every byte of GUEST_IA32_PAT must be a valid memory type.",
	     "Com 'load IA32_PAT', cada byte de GUEST_IA32_PAT deve ser um tipo de memória válido.", 0),
	GROW(guest_efer_ok, "GUEST_IA32_EFER", "26.3.1.1",
	     "With 'load IA32_EFER', reserved bits must be clear, LMA must equal 'IA-32e mode guest', and LME too when CR0.PG is set.",
	     "Com 'load IA32_EFER', os bits reservados devem estar zerados, LMA deve ser igual a 'IA-32e mode guest', e LME também quando CR0.PG está ligado.", 0),
	GROW(guest_selectors_ok, "guest selectors", "26.3.1.2",
	     "GUEST_TR_SELECTOR (and a usable LDTR selector) must have TI = 0, and SS.RPL must equal CS.RPL.",
	     "GUEST_TR_SELECTOR (e um seletor de LDTR utilizável) deve ter TI = 0, e SS.RPL deve ser igual a CS.RPL.", 0),
	GROW(guest_bases_ok, "guest segment bases", "26.3.1.2",
	     "TR, FS, GS (and a usable LDTR) bases must be canonical; CS (and usable SS, DS, ES) bases must fit in 32 bits.",
	     "As bases de TR, FS, GS (e de um LDTR utilizável) devem ser canônicas; as de CS (e de SS, DS, ES utilizáveis) devem caber em 32 bits.", 0),
	GROW(guest_cs_ok, "guest CS access rights", "26.3.1.2",
	     "CS must be a present, accessed code segment whose DPL fits SS.DPL, with reserved bits clear, G matching the limit, and D/B clear if L is set in IA-32e mode.",
	     "CS deve ser um segmento de código presente e acessado cujo DPL combine com SS.DPL, com bits reservados zerados, G coerente com o limite, e D/B zerado se L estiver ligado no modo IA-32e.", 0),
	GROW(guest_ss_ok, "guest SS access rights", "26.3.1.2",
	     "A usable SS must be a present, writable, accessed data segment with DPL = RPL (0 in real mode), reserved bits clear and G matching the limit.",
	     "Um SS utilizável deve ser um segmento de dados presente, gravável e acessado com DPL = RPL (0 no modo real), bits reservados zerados e G coerente com o limite.", 0),
	GROW(guest_data_segments_ok, "guest DS/ES/FS/GS access rights", "26.3.1.2",
	     "Usable DS, ES, FS, GS must be present, accessed, readable segments with DPL >= RPL, reserved bits clear and G matching the limit.",
	     "DS, ES, FS, GS utilizáveis devem ser segmentos presentes, acessados e legíveis com DPL >= RPL, bits reservados zerados e G coerente com o limite.", 0),
	GROW(guest_tr_ok, "guest TR access rights", "26.3.1.2",
	     "TR must be a usable, present, busy TSS (32/64-bit; 16-bit only outside IA-32e mode) with reserved bits clear and G matching the limit.",
	     "TR deve ser um TSS utilizável, presente e ocupado (busy) (32/64 bits; 16 bits só fora do modo IA-32e) com bits reservados zerados e G coerente com o limite.", 0),
	GROW(guest_ldtr_ok, "guest LDTR access rights", "26.3.1.2",
	     "A usable LDTR must be a present LDT descriptor with reserved bits clear and G matching the limit.",
	     "Um LDTR utilizável deve ser um descritor de LDT presente com bits reservados zerados e G coerente com o limite.", 0),
	GROW(guest_dtr_ok, "guest GDTR and IDTR", "26.3.1.3",
	     "GDTR and IDTR bases must be canonical and their limits fit in 16 bits.",
	     "As bases de GDTR e IDTR devem ser canônicas e seus limites devem caber em 16 bits.", 0),
	GROW(guest_rip_ok, "GUEST_RIP", "26.3.1.4",
	     "GUEST_RIP must be canonical for 64-bit code and below 4 GiB otherwise.",
	     "GUEST_RIP deve ser canônico para código de 64 bits e abaixo de 4 GiB nos outros casos.", 0),
	GROW(guest_rflags_ok, "GUEST_RFLAGS", "26.3.1.4",
	     "GUEST_RFLAGS needs bit 1 set, reserved bits and VM clear (virtual-8086 guests are not modelled), and IF set when an external interrupt is injected.",
	     "GUEST_RFLAGS precisa do bit 1 ligado, dos bits reservados e de VM zerados (convidados virtual-8086 não são modelados), e de IF ligado quando uma interrupção externa é injetada.", 0),
	GROW(guest_activity_ok, "guest activity state", "26.3.1.5",
	     "GUEST_ACTIVITY_STATE must be active (0), HLT (1) or wait-for-SIPI (3), the states IA32_VMX_MISC offers; HLT needs SS.DPL 0, no STI/MOV SS blocking, and can take only an external interrupt, NMI, #DB, #MC or MTF; wait-for-SIPI takes no injected event.",
	     "GUEST_ACTIVITY_STATE deve ser ativo (0), HLT (1) ou wait-for-SIPI (3), os estados que IA32_VMX_MISC oferece; HLT precisa de SS.DPL 0, de nenhum bloqueio por STI/MOV SS, e só aceita interrupção externa, NMI, #DB, #MC ou MTF; wait-for-SIPI não aceita evento injetado.", 0),
	GROW(guest_interruptibility_ok, "guest interruptibility state", "26.3.1.5",
	     "GUEST_INTERRUPTIBILITY_INFO: reserved bits clear, not both STI and MOV SS blocking, no STI blocking with IF clear, no shadow when injecting an interrupt or NMI.",
	     "GUEST_INTERRUPTIBILITY_INFO: bits reservados zerados, não ambos os bloqueios por STI e MOV SS, nenhum bloqueio por STI com IF zerado, nenhuma sombra ao injetar uma interrupção ou NMI.", 0),
	GROW(guest_pending_debug_ok, "guest pending debug exceptions", "26.3.1.5",
	     "GUEST_PENDING_DBG_EXCEPTIONS: reserved bits clear, and in an STI/MOV SS shadow BS must equal RFLAGS.TF.",
	     "GUEST_PENDING_DBG_EXCEPTIONS: bits reservados zerados, e numa sombra de STI/MOV SS o bit BS deve ser igual a RFLAGS.TF.", 0),
	GROW(guest_link_ok, "VMCS link pointer", "26.3.1.6",
	     "VMCS_LINK_POINTER must be all ones, or a 4 KiB-aligned VMCS in RAM with the right revision identifier.",
	     "VMCS_LINK_POINTER deve ser todo uns, ou uma VMCS alinhada a 4 KiB na RAM com o identificador de revisão correto.", 4),
	GROW(guest_pdptes_ok, "guest PDPTEs", "26.3.1.7",
	     "A PAE guest's four PDPTEs (read through GUEST_CR3) must have no reserved bits set.",
	     "Os quatro PDPTEs de um convidado PAE (lidos através de GUEST_CR3) não podem ter bits reservados ligados.", 2),
};

const struct entry_check *vmx_check_entry(struct cpu *c)
{
	for (unsigned k = 0; k < sizeof checks / sizeof checks[0]; k++)
		if (!checks[k].ok(c))
			return &checks[k];
	return NULL;
}

unsigned vmx_entry_checks(const struct entry_check **out)
{
	*out = checks;
	return sizeof checks / sizeof checks[0];
}
