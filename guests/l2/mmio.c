/* mmio: a guest that drives the hypervisor's MMIO device (lib/hv.h).
 *
 * A device register in memory space is read and written with ordinary
 * MOVs. Under a hypervisor with EPT, the device's page is left out of the
 * guest's EPT, so every access is an EPT violation (SDM vol. 3, 28.3.3.2):
 * the hypervisor finds the address in the exit information, decodes the
 * guest's instruction to learn the register and the value, does what the
 * device would, and moves the guest past the instruction. That is why
 * the accesses here are plain 32-bit MOVs through a volatile pointer:
 * that is what nestlab's hypervisors can decode.
 *
 * The runtime's page tables map the first 4 GiB, the device's page too,
 * and the last GiB uncacheable, as device memory must be. Bare, no
 * device answers at HV_MMIO_BASE, and the guest says so. */
#include "l2/l2.h"
#include "lib/hv.h"

const char test_name[] = "mmio";

static uint32_t mmio_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(HV_MMIO_BASE + reg);
}

static void mmio_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(HV_MMIO_BASE + reg) = v;
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	uint32_t id = mmio_read(HV_MMIO_ID);
	if (id != HV_MMIO_MAGIC) {
		/* What an empty address reads as is the machine's business
		 * (all ones on a PC bus; QEMU and nestlab differ). */
		printf("# mmio: ID register reads 0x%08x\n", id);
		printf("mmio: no device answers at 0x%x\n", HV_MMIO_BASE);
		l2_done();
	}
	printf("mmio: device at 0x%x, ID 0x%08x\n", HV_MMIO_BASE, id);

	mmio_write(HV_MMIO_SCRATCH, 0x12345678);
	printf("mmio: SCRATCH: wrote 0x12345678, read back 0x%08x\n", mmio_read(HV_MMIO_SCRATCH));

	/* Each read of COUNTER is one more: it counts its own reads. */
	for (int i = 0; i < 3; i++)
		printf("mmio: COUNTER reads %u\n", mmio_read(HV_MMIO_COUNTER));

	/* The hypervisor prints what is written to DOORBELL. */
	mmio_write(HV_MMIO_DOORBELL, 0xd00dfeed);
	printf("mmio: rang DOORBELL with 0xd00dfeed\n");
	l2_done();
}
