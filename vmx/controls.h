/* The bits of the VM-execution, VM-exit and VM-entry controls (SDM vol. 3C,
 * 24.6-24.8), named as the SDM names them. Which of them nestlab offers is
 * decided in one place, vmx/caps.c. */
#ifndef VMX_CONTROLS_H
#define VMX_CONTROLS_H

/* Pin-based VM-execution controls (table 24-5). */
#define PIN_EXT_INTR_EXITING     (1u << 0)
#define PIN_NMI_EXITING          (1u << 3)
#define PIN_VIRTUAL_NMIS         (1u << 5)
#define PIN_PREEMPTION_TIMER     (1u << 6)
#define PIN_POSTED_INTERRUPTS    (1u << 7)

/* Primary processor-based VM-execution controls (table 24-6). */
#define PROC_INTR_WINDOW_EXITING (1u << 2)
#define PROC_USE_TSC_OFFSETTING  (1u << 3)
#define PROC_HLT_EXITING         (1u << 7)
#define PROC_INVLPG_EXITING      (1u << 9)
#define PROC_MWAIT_EXITING       (1u << 10)
#define PROC_RDPMC_EXITING       (1u << 11)
#define PROC_RDTSC_EXITING       (1u << 12)
#define PROC_CR3_LOAD_EXITING    (1u << 15)
#define PROC_CR3_STORE_EXITING   (1u << 16)
#define PROC_TERTIARY_CONTROLS   (1u << 17)
#define PROC_CR8_LOAD_EXITING    (1u << 19)
#define PROC_CR8_STORE_EXITING   (1u << 20)
#define PROC_USE_TPR_SHADOW      (1u << 21)
#define PROC_NMI_WINDOW_EXITING  (1u << 22)
#define PROC_MOV_DR_EXITING      (1u << 23)
#define PROC_UNCOND_IO_EXITING   (1u << 24)
#define PROC_USE_IO_BITMAPS      (1u << 25)
#define PROC_MONITOR_TRAP_FLAG   (1u << 27)
#define PROC_USE_MSR_BITMAPS     (1u << 28)
#define PROC_MONITOR_EXITING     (1u << 29)
#define PROC_PAUSE_EXITING       (1u << 30)
#define PROC_SECONDARY_CONTROLS  (1u << 31)

/* Secondary processor-based VM-execution controls (table 24-7). */
#define PROC2_VIRTUALIZE_APIC    (1u << 0)
#define PROC2_ENABLE_EPT         (1u << 1)
#define PROC2_DESC_TABLE_EXITING (1u << 2)
#define PROC2_ENABLE_RDTSCP      (1u << 3)
#define PROC2_VIRTUALIZE_X2APIC  (1u << 4)
#define PROC2_ENABLE_VPID        (1u << 5)
#define PROC2_WBINVD_EXITING     (1u << 6)
#define PROC2_UNRESTRICTED_GUEST (1u << 7)
#define PROC2_PAUSE_LOOP_EXITING (1u << 10)
#define PROC2_RDRAND_EXITING     (1u << 11)
#define PROC2_ENABLE_INVPCID     (1u << 12)
#define PROC2_ENABLE_VMFUNC      (1u << 13)
#define PROC2_VMCS_SHADOWING     (1u << 14)

/* VM-exit controls (table 24-13). */
#define EXIT_SAVE_DEBUG_CONTROLS (1u << 2)
#define EXIT_HOST_ADDR_SPACE     (1u << 9)
#define EXIT_LOAD_PERF_GLOBAL    (1u << 12)
#define EXIT_ACK_INTR_ON_EXIT    (1u << 15)
#define EXIT_SAVE_PAT            (1u << 18)
#define EXIT_LOAD_PAT            (1u << 19)
#define EXIT_SAVE_EFER           (1u << 20)
#define EXIT_LOAD_EFER           (1u << 21)
#define EXIT_SAVE_PREEMPT_TIMER  (1u << 22)

/* VM-entry controls (table 24-15). */
#define ENTRY_LOAD_DEBUG_CONTROLS (1u << 2)
#define ENTRY_IA32E_MODE         (1u << 9)
#define ENTRY_SMM                (1u << 10)
#define ENTRY_DUAL_MONITOR       (1u << 11)
#define ENTRY_LOAD_PERF_GLOBAL   (1u << 13)
#define ENTRY_LOAD_PAT           (1u << 14)
#define ENTRY_LOAD_EFER          (1u << 15)

/* The VM-entry interruption-information field and the exit and
 * IDT-vectoring information fields share a layout (24.8.3, 24.9.2). */
#define INTR_INFO_VALID          (1u << 31)
#define INTR_INFO_ERROR_VALID    (1u << 11)
#define INTR_INFO_NMI_UNBLOCKED  (1u << 12)
enum intr_type {
	INTR_TYPE_EXTERNAL = 0, INTR_TYPE_NMI = 2, INTR_TYPE_HW_EXCEPTION = 3,
	INTR_TYPE_SW_INTERRUPT = 4, INTR_TYPE_PRIV_SW_EXCEPTION = 5,
	INTR_TYPE_SW_EXCEPTION = 6, INTR_TYPE_OTHER = 7,
};

/* Guest interruptibility state (24.4.2, table 24-3). */
#define INTERRUPTIBILITY_STI     (1u << 0)
#define INTERRUPTIBILITY_MOV_SS  (1u << 1)
#define INTERRUPTIBILITY_SMI     (1u << 2)
#define INTERRUPTIBILITY_NMI     (1u << 3)

/* Guest activity states (24.4.2). */
enum { ACTIVITY_ACTIVE = 0, ACTIVITY_HLT = 1, ACTIVITY_SHUTDOWN = 2, ACTIVITY_WAIT_SIPI = 3 };

#endif
