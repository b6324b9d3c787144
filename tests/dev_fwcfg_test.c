/* fw_cfg through its selector and data ports, as firmware reads it. */
#include <criterion/criterion.h>
#include <string.h>

#include "emu/bus.h"
#include "emu/devices.h"

#define RAM (8u << 20)

static struct cpu *c;

static void setup(void)
{
	c = emu_new(RAM);
	cr_assert_not_null(c);
}

static void teardown(void)
{
	fwcfg_free(c->fwcfg);
	emu_free(c);
}

TestSuite(dev_fwcfg, .init = setup, .fini = teardown);

static void select_key(uint16_t key)
{
	bus_out(c->bus, 0x510, 2, key);
}

static void read_bytes(uint16_t key, void *buf, size_t n)
{
	select_key(key);
	for (size_t k = 0; k < n; k++)
		((uint8_t *)buf)[k] = (uint8_t)bus_in(c->bus, 0x511, 1);
}

static uint64_t read_le(uint16_t key, size_t n)
{
	uint8_t b[8] = { 0 };
	read_bytes(key, b, n);
	uint64_t v = 0;
	for (size_t k = 0; k < n; k++)
		v |= (uint64_t)b[k] << (8 * k);
	return v;
}

Test(dev_fwcfg, signature_id_ram_cpus)
{
	cr_assert_not_null(fwcfg_new(c, NULL));
	char sig[5] = { 0 };
	read_bytes(0x0000, sig, 4);
	cr_assert_str_eq(sig, "QEMU");
	cr_assert_eq(read_le(0x0001, 4), 1, "traditional interface, no DMA");
	cr_assert_eq(read_le(0x0003, 8), RAM);
	cr_assert_eq(read_le(0x0005, 2), 1, "one CPU");
	cr_assert_eq(read_le(0x000f, 2), 1, "at most one CPU");
	cr_assert_eq(read_le(0x0019, 4), 0, "no files");
	cr_assert_eq(read_le(0x0014, 4), 0, "no command line item");
}

Test(dev_fwcfg, reselecting_rewinds_and_reads_past_the_end_are_zero)
{
	fwcfg_new(c, NULL);
	select_key(0x0000);
	cr_assert_eq(bus_in(c->bus, 0x511, 1), 'Q');
	cr_assert_eq(bus_in(c->bus, 0x511, 1), 'E');
	select_key(0x0000);
	cr_assert_eq(bus_in(c->bus, 0x511, 1), 'Q');
	cr_assert_eq(bus_in(c->bus, 0x511, 2), 'E' | 'M' << 8, "a wider read takes bytes in order");
	cr_assert_eq(bus_in(c->bus, 0x511, 1), 'U');
	cr_assert_eq(bus_in(c->bus, 0x511, 1), 0);
	select_key(0x1234);
	cr_assert_eq(bus_in(c->bus, 0x511, 1), 0, "unknown key");
}

Test(dev_fwcfg, kernel_command_line)
{
	const char *cmd = "console=ttyS0 quiet";
	fwcfg_new(c, cmd);
	size_t n = strlen(cmd) + 1;
	cr_assert_eq(read_le(0x0014, 4), n, "length with the NUL");
	char buf[64];
	memset(buf, 0x55, sizeof buf);
	read_bytes(0x0015, buf, n);
	cr_assert_str_eq(buf, cmd);
}

Test(dev_fwcfg, byte_selector_write)
{
	fwcfg_new(c, NULL);
	bus_out(c->bus, 0x510, 1, 0x05);
	cr_assert_eq(bus_in(c->bus, 0x511, 1), 1);
	bus_out(c->bus, 0x511, 1, 0x99); /* writes to data are ignored */
	cr_assert_eq(bus_in(c->bus, 0x511, 1), 0);
}
