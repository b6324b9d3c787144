/* The IDT, the trap frame and the handlers (SDM vol. 3, chapter 6).
 *
 * Every vector has a stub (isr.S) that builds a struct trap_frame on the
 * stack and calls trap_dispatch(). Dispatch order for a vector:
 *   1. an exception (vector < 32) at an instruction listed in the
 *      exception table (catch.h) is recorded in last_fault and resumed at
 *      the fixup address;
 *   2. otherwise a handler installed with trap_set_handler() runs;
 *   3. otherwise the test fails with the vector, error code and RIP.
 * A handler may change the frame: RIP, RFLAGS, RSP... are restored from it
 * by IRETQ. */
#ifndef GUESTS_LIB_IDT_H
#define GUESTS_LIB_IDT_H

#include <stdbool.h>
#include <stdint.h>

/* Exception vectors (SDM vol. 3, table 6-1). */
#define VEC_DE 0    /* divide error */
#define VEC_DB 1
#define VEC_NMI 2
#define VEC_BP 3    /* INT3 */
#define VEC_OF 4
#define VEC_BR 5
#define VEC_UD 6    /* invalid opcode */
#define VEC_NM 7
#define VEC_DF 8    /* double fault; error code 0 */
#define VEC_TS 10   /* invalid TSS; error code */
#define VEC_NP 11   /* segment not present; error code */
#define VEC_SS 12   /* stack fault; error code */
#define VEC_GP 13   /* general protection; error code */
#define VEC_PF 14   /* page fault; error code, CR2 */
#define VEC_MF 16
#define VEC_AC 17
#define VEC_MC 18
#define VEC_XM 19
#define VEC_VE 20
#define VEC_CP 21

/* Vectors the runtime itself uses. */
#define VEC_USER_EXIT 0xf0  /* user_call()'s way back from ring 3 */
#define VEC_USER_FAIL 0xf1  /* TEST_FAIL from ring 3 (test.c) */
#define VEC_SPURIOUS  0xff  /* the local APIC's spurious vector */

/* #PF error code bits (SDM vol. 3, 4.7). */
#define PF_P    (1u << 0)   /* 0: not present; 1: protection violation */
#define PF_W    (1u << 1)   /* the access was a write */
#define PF_U    (1u << 2)   /* the access was made in ring 3 */
#define PF_RSVD (1u << 3)   /* a reserved bit was set in a paging entry */
#define PF_I    (1u << 4)   /* an instruction fetch */

/* Selector error codes (SDM vol. 3, 6.13): bits 15:3 index, TI, IDT, EXT. */
#define ERR_EXT (1u << 0)
#define ERR_IDT (1u << 1)
#define ERR_TI  (1u << 2)

/* The stack as the stub leaves it, lowest address first. The last five
 * fields are what the CPU pushed (SDM vol. 3, 6.14.2); for a
 * vector without an error code the stub pushes 0 in its place. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*trap_handler_t)(struct trap_frame *f);

void idt_init(void);

/* Install h for vector (NULL: back to the default, which fails the test). */
void trap_set_handler(int vector, trap_handler_t h);

/* Gate types (SDM vol. 3, 6.14.1): an interrupt gate clears RFLAGS.IF on
 * entry, a trap gate leaves it. */
#define GATE_INTERRUPT 0xe
#define GATE_TRAP      0xf

/* Rewrite the gate of vector: type, the DPL INT n needs, the IST slot
 * (0: none), and P. idt_init() makes every gate a present interrupt gate
 * with DPL 0 and no IST, except #DF on IST_DOUBLE_FAULT and NMI on IST_NMI. */
void idt_set_gate(int vector, int type, int dpl, int ist, bool present);

/* "#GP" and the like, for messages. */
const char *vector_name(int vector);

void trap_dispatch(struct trap_frame *f);

#endif
