/* The legacy runtime: test guests that stay in 32-bit protected mode.
 *
 * The same protocol and much the same interface as the long-mode runtime
 * (lib/), for code compiled with -m32: entry32.S sets up a stack and calls
 * rt_start() (rt32.c), which loads a flat GDT with a 32-bit TSS and an IDT
 * of 32-bit interrupt gates, masks the PICs and calls kmain(). Paging is
 * off; each test builds the page tables it is about.
 *
 * Shared with lib/, compiled a second time as 32-bit code: printf, serial,
 * string, quirks, pic, and the test protocol's header. printf's %l and %z
 * read 64-bit arguments, so 32-bit code prints uint32_t with %x or %u and
 * uint64_t with %llx. */
#ifndef GUESTS_LIB_LEGACY_RT32_H
#define GUESTS_LIB_LEGACY_RT32_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/boot.h"
#include "lib/test.h"
#include "lib/x86.h"

/* test.h formats TEST_ASSERT_EQ's values with %lx, which is 32 bits here. */
#undef TEST_ASSERT_EQ
#define TEST_ASSERT_EQ(a, b)                                            \
	do {                                                            \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);        \
		if (a_ != b_)                                           \
			TEST_FAIL("%s == %s: 0x%llx != 0x%llx", #a, #b, \
				  a_, b_);                              \
	} while (0)

/* ---- the GDT ---- */

/* The order is the one SYSENTER and SYSEXIT impose with
 * IA32_SYSENTER_CS = KERNEL_CS: SS = CS + 8, and on the way back
 * CS = CS + 16 and SS = CS + 24, with RPL 3 (SDM vol. 2, SYSENTER and
 * SYSEXIT). All four are flat: base 0, limit 4 GiB, 32-bit. */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_CS   0x18
#define USER_DS   0x20
#define TSS_SEL   0x28      /* the 32-bit TSS */
#define GDT_FIRST_FREE 6    /* entries 6 .. GDT_ENTRIES-1 are for tests */
#define GDT_ENTRIES 32
#define GDT_SEL(i, rpl) ((uint16_t)((i) << 3 | (rpl)))

/* Descriptor fields as in lib/gdt.h (SDM vol. 3, 3.4.5 and table 3-1):
 * the type, S, DPL and P in bits 0-7, D/B and G in bits 14-15. */
#define SEG_TYPE_DATA_RO   0x0
#define SEG_TYPE_DATA_RW   0x2
#define SEG_TYPE_CODE_X    0x8
#define SEG_TYPE_CODE_XR   0xa
#define SEG_TYPE_CODE_XC   0xc   /* execute-only, conforming */
#define SEG_TYPE_CODE_XRC  0xe   /* execute/read, conforming */
#define SEG_S     (1u << 4)
#define SEG_DPL(n) ((unsigned)(n) << 5)
#define SEG_P     (1u << 7)
#define SEG_DB    (1u << 14)
#define SEG_G     (1u << 15)

uint64_t seg_desc(uint32_t base, uint32_t limit, unsigned access_flags);
void gdt_set(int i, uint64_t desc);
uint64_t gdt_get(int i);

/* The 32-bit TSS (SDM vol. 3, 7.2.1, figure 7-2). Only SS0:ESP0 is used:
 * the stack an interrupt or call gate switches to when it enters ring 0
 * from an outer ring (6.12.1, 5.8.5). The I/O bitmap offset points past
 * the limit, so ring 3 has no ports. */
struct tss32 {
	uint16_t link, reserved0;
	uint32_t esp0;
	uint16_t ss0, reserved1;
	uint32_t esp1;
	uint16_t ss1, reserved2;
	uint32_t esp2;
	uint16_t ss2, reserved3;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint16_t es, reserved4, cs, reserved5, ss, reserved6;
	uint16_t ds, reserved7, fs, reserved8, gs, reserved9;
	uint16_t ldt, reserved10, trap, iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss32) == 104, "TSS layout");
extern struct tss32 tss;

/* ---- the IDT and the trap frame ---- */

#define VEC_DE 0
#define VEC_DB 1
#define VEC_BP 3
#define VEC_OF 4
#define VEC_UD 6
#define VEC_DF 8
#define VEC_TS 10
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14
#define VEC_USER_EXIT 0xf0  /* user_call()'s way back from ring 3 */
#define VEC_USER_FAIL 0xf1  /* TEST_FAIL from ring 3 */

#define PF_P    (1u << 0)
#define PF_W    (1u << 1)
#define PF_U    (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I    (1u << 4)

#define ERR_EXT (1u << 0)
#define ERR_IDT (1u << 1)
#define ERR_TI  (1u << 2)

/* System descriptor types (SDM vol. 3, table 3-2). */
#define GATE_INTERRUPT16 0x6
#define GATE_TRAP16      0x7
#define GATE_CALL        0xc   /* 32-bit call gate */
#define GATE_INTERRUPT   0xe
#define GATE_TRAP        0xf

/* A gate descriptor (SDM vol. 3, figures 5-8 and 6-2): selector:offset,
 * type, DPL, P set; params is a call gate's parameter count. */
uint64_t gate_desc(uint16_t sel, uint32_t offset, unsigned type, unsigned dpl,
		   unsigned params);

/* Point vector at the runtime's stub for it (KERNEL_CS), with this type
 * and DPL; idt_set_raw() installs any descriptor. idt_init() makes every
 * vector a present 32-bit interrupt gate with DPL 0. */
void idt_set_gate(int vector, int type, int dpl);
void idt_set_raw(int vector, uint64_t desc);

/* The stack as isr32.S leaves it, lowest address first. The CPU pushed
 * EIP, CS and EFLAGS, and ESP and SS only when it switched stacks from an
 * outer ring (SDM vol. 3, 6.12.1, figure 6-4); esp and ss are valid only
 * then. The segment registers are the ones interrupted (their upper
 * halves undefined); the stub loads KERNEL_DS into DS and ES. */
struct trap_frame {
	uint32_t gs, fs, es, ds;
	uint32_t edi, esi, ebp, esp_pusha, ebx, edx, ecx, eax;
	uint32_t vector, error_code;
	uint32_t eip, cs, eflags;
	uint32_t esp, ss;
};

/* Dispatch as lib/idt.h says: an exception at a CATCH_ASM instruction is
 * recorded and skipped, else the handler runs, else the test fails. */
typedef void (*trap_handler_t)(struct trap_frame *f);
void trap_set_handler(int vector, trap_handler_t h);
const char *vector_name(int vector);
void trap_dispatch(struct trap_frame *f);   /* called by isr32.S */

/* ---- catching one exception (as lib/catch.h, with 32-bit addresses) ---- */

#define CATCH_ASM(insn)                                  \
	"1:\n\t" insn "\n"                               \
	"2:\n\t"                                         \
	".pushsection .extable, \"a\"\n\t"               \
	".balign 4\n\t"                                  \
	".long 1b, 2b\n\t"                               \
	".popsection\n\t"

struct extable_entry {
	uint32_t insn;      /* address of the instruction that may fault */
	uint32_t fixup;     /* where to resume */
};

struct fault_record {
	int vector;          /* -1: none */
	uint32_t error_code;
	uint32_t eip;
	uint32_t cr2;
	uint16_t cs;
};
extern volatile struct fault_record last_fault;

static inline void fault_clear(void)
{
	last_fault.vector = -1;
	__asm__ volatile("" : : : "memory");
}

int try_read8(const volatile void *p, uint8_t *value);
int try_write8(volatile void *p, uint8_t value);
int try_exec(const void *code);   /* call code, which must end in RET */

/* ---- ring 3 (as lib/user.h) ---- */

/* Run fn(arg) in ring 3 (USER_CS, USER_DS, the runtime's user stack),
 * entered with IRET; its result comes back through INT VEC_USER_EXIT. */
typedef uint32_t (*user_fn_t)(uint32_t arg);
uint32_t user_call(user_fn_t fn, uint32_t arg);
uint32_t user_call_flags(user_fn_t fn, uint32_t arg, uint32_t eflags);
extern char user_stack_top[];

/* ---- 32-bit registers (x86.h's read_crN() are for 64-bit code) ---- */

#define DEFINE_CR32(n)                                                     \
	static inline uint32_t read_cr##n##_32(void)                       \
	{                                                                  \
		uint32_t v;                                                \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));          \
		return v;                                                  \
	}                                                                  \
	static inline void write_cr##n##_32(uint32_t v)                    \
	{                                                                  \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); \
	}
DEFINE_CR32(0)
DEFINE_CR32(2)
DEFINE_CR32(3)
DEFINE_CR32(4)
#undef DEFINE_CR32

static inline uint32_t read_eflags(void)
{
	uint32_t v;
	__asm__ volatile("pushfl; popl %0" : "=r"(v));
	return v;
}

/* x86.h's CR0_*, CR4_* and RFLAGS_* masks fit in 32 bits and serve here;
 * these it lacks. */
#ifndef CR4_DE
#define CR4_DE    (1ul << 3)
#endif
#ifndef CR4_PSE
#define CR4_PSE   (1ul << 4)
#endif
#ifndef RFLAGS_OF
#define RFLAGS_OF (1ul << 11)
#endif

#endif
