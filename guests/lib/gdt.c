/* The runtime's GDT and TSS. */
#include <stddef.h>

#include "lib/gdt.h"
#include "lib/string.h"

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
struct tss tss;

/* The ring-0 stack for entries from ring 3, and two IST stacks. */
static uint8_t ring0_stack[16384] __attribute__((aligned(16)));
static uint8_t df_stack[8192] __attribute__((aligned(16)));
static uint8_t nmi_stack[8192] __attribute__((aligned(16)));

uint64_t seg_desc(uint32_t base, uint32_t limit, unsigned access_flags)
{
	uint64_t d = 0;
	d |= limit & 0xffff;                          /* limit 15:0 */
	d |= (uint64_t)(base & 0xffffff) << 16;       /* base 23:0 */
	d |= (uint64_t)(access_flags & 0xff) << 40;   /* type, S, DPL, P */
	d |= (uint64_t)((limit >> 16) & 0xf) << 48;   /* limit 19:16 */
	d |= (uint64_t)((access_flags >> 12) & 0xf) << 52; /* AVL, L, D/B, G */
	d |= (uint64_t)(base >> 24) << 56;            /* base 31:24 */
	return d;
}

void gdt_set(int i, uint64_t desc)
{
	gdt[i] = desc;
}

uint64_t gdt_get(int i)
{
	return gdt[i];
}

void tss_io_allow(uint16_t port, bool allow)
{
	if (allow)
		tss.iomap[port / 8] &= (uint8_t)~(1u << (port % 8));
	else
		tss.iomap[port / 8] |= (uint8_t)(1u << (port % 8));
}

void gdt_init(void)
{
	/* Flat segments: base 0, limit 4 GiB. In 64-bit mode base and limit
	 * of CS, DS, ES and SS are ignored (SDM vol. 3, 3.2.4); they matter
	 * for the 32-bit code segments. */
	const uint32_t flat = 0xfffff;
	gdt[0] = 0;
	gdt[KERNEL_CS >> 3] = seg_desc(0, flat, SEG_TYPE_CODE_XR | SEG_S | SEG_DPL(0) |
				       SEG_P | SEG_L | SEG_G);
	gdt[KERNEL_DS >> 3] = seg_desc(0, flat, SEG_TYPE_DATA_RW | SEG_S | SEG_DPL(0) |
				       SEG_P | SEG_DB | SEG_G);
	gdt[USER_CS32 >> 3] = seg_desc(0, flat, SEG_TYPE_CODE_XR | SEG_S | SEG_DPL(3) |
				       SEG_P | SEG_DB | SEG_G);
	gdt[USER_DS >> 3] = seg_desc(0, flat, SEG_TYPE_DATA_RW | SEG_S | SEG_DPL(3) |
				     SEG_P | SEG_DB | SEG_G);
	gdt[USER_CS >> 3] = seg_desc(0, flat, SEG_TYPE_CODE_XR | SEG_S | SEG_DPL(3) |
				     SEG_P | SEG_L | SEG_G);
	gdt[KERNEL_CS32 >> 3] = seg_desc(0, flat, SEG_TYPE_CODE_XR | SEG_S | SEG_DPL(0) |
					 SEG_P | SEG_DB | SEG_G);

	/* The TSS. Its limit covers the I/O bitmap and the 0xFF after it;
	 * every port starts denied to ring 3. */
	memset(&tss, 0, sizeof tss);
	tss.rsp[0] = (uintptr_t)(ring0_stack + sizeof ring0_stack);
	tss.ist[IST_DOUBLE_FAULT] = (uintptr_t)(df_stack + sizeof df_stack);
	tss.ist[IST_NMI] = (uintptr_t)(nmi_stack + sizeof nmi_stack);
	tss.iomap_base = offsetof(struct tss, iomap);
	memset(tss.iomap, 0xff, sizeof tss.iomap);
	tss.iomap_end = 0xff;

	/* A 64-bit TSS descriptor is 16 bytes: the usual 8 with type 9
	 * (available 64-bit TSS), then base 63:32 (SDM vol. 3, 7.2.3). */
	uintptr_t base = (uintptr_t)&tss;
	gdt[TSS_SEL >> 3] = seg_desc((uint32_t)base, sizeof tss - 1, 0x9 | SEG_P);
	gdt[(TSS_SEL >> 3) + 1] = base >> 32;

	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = { sizeof gdt - 1, (uintptr_t)gdt };

	/* Reload CS with a far return (there is no far jump to an immediate
	 * in 64-bit mode), then the data segments, then the task register.
	 * LDTR gets the null selector: out of reset it still describes a
	 * 64 KiB table at linear 0 (SDM vol. 3, table 9-1), which no loader
	 * is obliged to change. */
	__asm__ volatile(
		"lgdt %0\n\t"
		"pushq %1\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movw %w2, %%ds\n\t"
		"movw %w2, %%es\n\t"
		"movw %w2, %%ss\n\t"
		"movw %w3, %%fs\n\t"
		"movw %w3, %%gs\n\t"
		"lldt %w3\n\t"
		"ltr %w4"
		: : "m"(gdtr), "i"(KERNEL_CS), "r"(KERNEL_DS), "r"(0), "r"(TSS_SEL)
		: "rax", "memory");
}
