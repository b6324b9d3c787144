/* The GDT and the 64-bit TSS (SDM vol. 3, 3.4.5 and 7.7).
 *
 * The selector layout is fixed by SYSCALL/SYSRET (SDM vol. 2, SYSCALL and
 * SYSRET): SYSCALL loads CS from STAR[47:32] and SS from that + 8; SYSRET
 * to 64-bit mode loads CS from STAR[63:48] + 16 and SS from STAR[63:48] + 8.
 * With STAR[47:32] = 0x08 and STAR[63:48] = 0x18, that is the order below. */
#ifndef GUESTS_LIB_GDT_H
#define GUESTS_LIB_GDT_H

#include <stdbool.h>
#include <stdint.h>

#define KERNEL_CS   0x08    /* 64-bit code, DPL 0 */
#define KERNEL_DS   0x10    /* data, DPL 0 */
#define USER_CS32   0x18    /* 32-bit (compatibility-mode) code, DPL 3 */
#define USER_DS     0x20    /* data, DPL 3 */
#define USER_CS     0x28    /* 64-bit code, DPL 3 */
#define TSS_SEL     0x30    /* the 64-bit TSS; a 16-byte descriptor */
#define KERNEL_CS32 0x40    /* 32-bit (compatibility-mode) code, DPL 0 */
#define GDT_FIRST_FREE 9    /* entries 9 .. GDT_ENTRIES-1 are for tests */
#define GDT_ENTRIES 32

/* Selector of GDT entry i with requested privilege level rpl. */
#define GDT_SEL(i, rpl) ((uint16_t)((i) << 3 | (rpl)))

/* Descriptor fields (SDM vol. 3, 3.4.5, figure 3-8). The type nibble for
 * code and data segments (S = 1) is table 3-1. */
#define SEG_TYPE_DATA_RO   0x0   /* read-only */
#define SEG_TYPE_DATA_RW   0x2   /* read/write */
#define SEG_TYPE_DATA_RO_DOWN 0x4 /* read-only, expand-down */
#define SEG_TYPE_DATA_RW_DOWN 0x6 /* read/write, expand-down */
#define SEG_TYPE_CODE_X    0x8   /* execute-only */
#define SEG_TYPE_CODE_XR   0xa   /* execute/read */
#define SEG_TYPE_CODE_XRC  0xe   /* execute/read, conforming */
#define SEG_TYPE_ACCESSED  0x1

#define SEG_S     (1u << 4)      /* code or data, not a system segment */
#define SEG_DPL(n) ((unsigned)(n) << 5)
#define SEG_P     (1u << 7)      /* present */
#define SEG_L     (1u << 13)     /* (flags) 64-bit code */
#define SEG_DB    (1u << 14)     /* (flags) 32-bit default size / big */
#define SEG_G     (1u << 15)     /* (flags) limit in 4 KiB units */

/* Build an 8-byte code/data descriptor. access_flags holds the type, S,
 * DPL and P in bits 0-7 and L, D/B and G in bits 13-15, in the layout of
 * the descriptor's bits 40-55, as LAR reports them (shifted by 8). */
uint64_t seg_desc(uint32_t base, uint32_t limit, unsigned access_flags);

/* Write GDT entry i. Entries of the fixed layout above may be rewritten
 * too, at the test's risk. */
void gdt_set(int i, uint64_t desc);
uint64_t gdt_get(int i);

/* The 64-bit TSS followed by its I/O permission bitmap (SDM vol. 3, 7.7
 * and vol. 1, 18.5.2). A set bit denies the port to code running with
 * CPL > IOPL; the byte after the bitmap must be 0xFF. */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];         /* stack for an entry to ring 0, 1, 2 */
	uint64_t ist[8];         /* IST n is ist[n]; ist[0] is reserved */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;     /* offset of iomap from the TSS base */
	uint8_t iomap[65536 / 8];
	uint8_t iomap_end;       /* 0xFF */
} __attribute__((packed, aligned(16)));
_Static_assert(__builtin_offsetof(struct tss, ist[1]) == 36, "TSS layout");
_Static_assert(__builtin_offsetof(struct tss, iomap) == 104, "TSS layout");

extern struct tss tss;

/* The ring-0 stack an interrupt or exception from ring 3 switches to
 * (tss.rsp[0]), and the IST stacks; set up by gdt_init(). */
#define IST_DOUBLE_FAULT 1      /* the IST slot the #DF gate uses */
#define IST_NMI          2

/* Allow or deny ring 3 a port through the I/O permission bitmap. */
void tss_io_allow(uint16_t port, bool allow);

/* Load the GDT and TSS and reload every segment register. */
void gdt_init(void);

#endif
