/* The PC's devices that every test guest may meet: the 8254 PIT and the
 * 8259A PIC (IRQ 0 reaching the CPU as a remapped vector through the
 * local APIC's LINT0 in ExtINT mode), QEMU's fw_cfg interface, and the
 * 16550 UART's registers (loopback included). */
#include "lib/apic.h"
#include "lib/boot.h"
#include "lib/idt.h"
#include "lib/pic.h"
#include "lib/printf.h"
#include "lib/serial.h"
#include "lib/string.h"
#include "lib/test.h"
#include "lib/x86.h"

const char test_name[] = "devices";

#define SPIN_LIMIT 20000000

/* ---- PIT and PIC ---- */

#define PIT_CH0  0x40
#define PIT_CMD  0x43
#define PIT_HZ   1193182          /* the PIT's input clock */
#define PIT_DIVISOR 1193          /* about 1 kHz */

static volatile int pit_ticks;
static volatile uint16_t isr_in_handler;

static void irq0_handler(struct trap_frame *f)
{
	(void)f;
	pit_ticks++;
	isr_in_handler = pic_read_isr();   /* before the EOI */
	pic_eoi(0);
}

/* IRQ 7 with nothing in the ISR is the 8259's spurious interrupt: no EOI. */
static void irq7_handler(struct trap_frame *f)
{
	(void)f;
	if (pic_read_isr() & (1u << 7))
		pic_eoi(7);
}

static uint16_t pit_read_count(void)
{
	outb(PIT_CMD, 0x00);                  /* latch channel 0 */
	uint8_t lo = inb(PIT_CH0);
	uint8_t hi = inb(PIT_CH0);
	return (uint16_t)(hi << 8 | lo);
}

static void test_pit_pic(void)
{
	/* The 8259s reach the CPU through LINT0 in ExtINT mode. */
	apic_enable();
	trap_set_handler(PIC_VECTOR_BASE + 0, irq0_handler);
	trap_set_handler(PIC_VECTOR_BASE + 7, irq7_handler);
	TEST_ASSERT_EQ(pic_get_mask(), 0xffff);

	/* Channel 0, lobyte/hibyte, mode 2 (rate generator), binary. */
	outb(PIT_CMD, 0x34);
	outb(PIT_CH0, PIT_DIVISOR & 0xff);
	outb(PIT_CH0, PIT_DIVISOR >> 8);

	/* The counter runs down from the divisor, and reloads. */
	uint16_t first = pit_read_count(), c = first;
	TEST_ASSERT(first <= PIT_DIVISOR);
	for (long i = 0; c == first; i++) {
		if (i == SPIN_LIMIT)
			TEST_FAIL("the PIT counter does not move");
		c = pit_read_count();
	}
	TEST_ASSERT(c <= PIT_DIVISOR);
	printf("PIT channel 0 counts\n");

	/* Masked, the IRQ still shows in the IRR. */
	for (long i = 0; !(pic_read_irr() & 1); i++) {
		if (i == SPIN_LIMIT)
			TEST_FAIL("IRQ 0 never reached the PIC's IRR");
	}
	TEST_ASSERT_EQ(pit_ticks, 0);
	printf("masked IRQ 0 pending in the IRR\n");

	/* Unmasked, it arrives as vector 0x20; in the handler the ISR has
	 * bit 0 until the EOI. */
	pic_unmask(0);
	TEST_ASSERT_EQ(pic_get_mask(), 0xfffe);
	sti();
	for (long i = 0; pit_ticks < 5; i++) {
		if (i == SPIN_LIMIT) {
			cli();
			TEST_FAIL("IRQ 0: %d ticks, expected 5", pit_ticks);
		}
		pause();
	}
	cli();
	pic_mask(0);
	TEST_ASSERT(isr_in_handler & 1);
	TEST_ASSERT_EQ(pic_read_isr(), 0);
	printf("IRQ 0 at vector 0x%x, 5 ticks, EOI clears the ISR\n", PIC_VECTOR_BASE);

	/* Masked again: no more ticks. */
	int seen = pit_ticks;
	sti();
	for (int i = 0; i < 200000; i++)
		pause();
	cli();
	TEST_ASSERT_EQ(pit_ticks, seen);
	outb(PIT_CMD, 0x30);                  /* mode 0, no count: idle */
}

/* ---- fw_cfg ---- */

#define FW_CFG_SEL  0x510   /* 16-bit selector */
#define FW_CFG_DATA 0x511   /* 8-bit data, read in sequence */
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_ID        0x0001
#define FW_CFG_RAM_SIZE  0x0003
#define FW_CFG_NB_CPUS   0x0005

static void fw_cfg_read(uint16_t key, void *buf, unsigned len)
{
	outw(FW_CFG_SEL, key);
	for (unsigned i = 0; i < len; i++)
		((uint8_t *)buf)[i] = inb(FW_CFG_DATA);
}

static void test_fw_cfg(struct multiboot_info *mbi)
{
	char sig[5] = { 0 };
	fw_cfg_read(FW_CFG_SIGNATURE, sig, 4);
	TEST_ASSERT(!strcmp(sig, "QEMU"));
	uint32_t id;
	fw_cfg_read(FW_CFG_ID, &id, 4);
	TEST_ASSERT(id & 1);                  /* the port interface */
	uint16_t cpus;
	fw_cfg_read(FW_CFG_NB_CPUS, &cpus, 2);
	TEST_ASSERT_EQ(cpus, 1);
	uint64_t ram;
	fw_cfg_read(FW_CFG_RAM_SIZE, &ram, 8);
	printf("fw_cfg: signature %s, %u CPU, RAM %lu MiB\n", sig, cpus, ram >> 20);
	/* The RAM size agrees with what the loader said: mem_upper counts
	 * the KiB from 1 MiB to the first hole. Firmware may keep a little
	 * at the top for itself (SeaBIOS reserves 128 KiB), so allow 1 MiB. */
	TEST_ASSERT(mbi->flags & MULTIBOOT_INFO_MEMORY);
	uint64_t upper_end = ((uint64_t)mbi->mem_upper + 1024) << 10;
	TEST_ASSERT(upper_end <= ram && upper_end + (1u << 20) > ram);
}

/* ---- 16550 ---- */

static uint8_t uart(int reg)
{
	return inb((uint16_t)(COM1 + reg));
}

static void uart_set(int reg, uint8_t v)
{
	outb((uint16_t)(COM1 + reg), v);
}

static void test_uart(void)
{
	/* Idle after the last line went out: THRE and TEMT. */
	for (long i = 0; (uart(UART_LSR) & (LSR_THRE | LSR_TEMT)) != (LSR_THRE | LSR_TEMT); i++) {
		if (i == SPIN_LIMIT)
			TEST_FAIL("LSR 0x%x: the transmitter never empties", uart(UART_LSR));
	}
	/* What serial_init() programmed reads back. */
	TEST_ASSERT_EQ(uart(UART_LCR), 0x03);
	TEST_ASSERT_EQ(uart(UART_MCR), 0x03);
	uart_set(UART_LCR, 0x83);             /* DLAB */
	TEST_ASSERT_EQ(uart(UART_DLL), 1);
	TEST_ASSERT_EQ(uart(UART_DLM), 0);
	uart_set(UART_LCR, 0x03);
	/* IER keeps its low four bits; IIR says no interrupt pending and,
	 * in bits 7:6, that the FIFOs are on. */
	TEST_ASSERT_EQ(uart(UART_IER), 0);
	TEST_ASSERT_EQ(uart(UART_IIR) & 0xcf, 0xc1);
	uart_set(UART_IER, 0x05);
	TEST_ASSERT_EQ(uart(UART_IER), 0x05);
	uart_set(UART_IER, 0x00);
	/* The scratch register. */
	uart_set(UART_SCR, 0x96);
	TEST_ASSERT_EQ(uart(UART_SCR), 0x96);
	printf("16550: LSR idle, LCR, MCR, divisor, IER, IIR, scratch\n");

	/* Loopback (MCR bit 4): what is sent comes back to the receiver
	 * instead of going out, and the modem inputs mirror the outputs:
	 * CTS = RTS, DSR = DTR (MSR bits 4, 5). No printing meanwhile. */
	for (int i = 0; i < 64 && (uart(UART_LSR) & LSR_DR); i++)
		(void)uart(UART_RBR);         /* drain anything received */
	uart_set(UART_MCR, 0x13);
	uart_set(UART_THR, 'Z');
	long spins = 0;
	while (!(uart(UART_LSR) & LSR_DR) && spins < SPIN_LIMIT)
		spins++;
	uint8_t got = uart(UART_RBR);
	uint8_t msr = uart(UART_MSR);
	uint8_t lsr_after = uart(UART_LSR);
	uart_set(UART_MCR, 0x03);
	TEST_ASSERT(spins < SPIN_LIMIT);
	TEST_ASSERT_EQ(got, 'Z');
	TEST_ASSERT_EQ(msr & 0xf0, 0x30);
	TEST_ASSERT_EQ(lsr_after & LSR_DR, 0);
	printf("16550 loopback: the byte comes back, MSR mirrors MCR\n");
}

void kmain(struct multiboot_info *mbi)
{
	test_pit_pic();
	test_fw_cfg(mbi);
	test_uart();
	TEST_PASS();
}
