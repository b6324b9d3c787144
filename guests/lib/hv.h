/* The interface between nestlab's teaching hypervisors (guests/type1,
 * guests/type2) and their guests (guests/l2). Each L2 guest is an ordinary
 * Multiboot kernel: it also boots bare, on nestlab, QEMU or KVM, and finds
 * out from CPUID whether a hypervisor runs it.
 *
 * What a guest sees of the machine under a teaching hypervisor:
 *
 *   - CPUID as the hardware says, except that CPUID.1:ECX.VMX (bit 5) is
 *     clear and CPUID.1:ECX bit 31 ("hypervisor present") is set, and
 *     leaves 0x40000000-0x40000001 below exist.
 *   - COM1 (ports 0x3F8-0x3FF): a virtual 16550 with a transmitter that is
 *     always ready (LSR reads 0x60); each line the guest writes is printed
 *     by the hypervisor with the guest's name in front.
 *   - isa-debug-exit (port 0xF4): writing v ends the guest with status v,
 *     as it ends the whole machine when the guest runs bare.
 *   - The MMIO device below, at HV_MMIO_BASE. Bare, nothing answers there.
 *   - Other ports read as all ones and ignore writes; memory outside the
 *     guest's RAM and the device is not mapped, and touching it stops the
 *     guest (the hypervisor says where).
 *   - Hypercalls: VMCALL with the number in EAX, arguments in EBX, ECX and
 *     EDX, the result in EAX. Bare, VMCALL is #UD, and under another
 *     hypervisor it means something else (KVM's hypercalls): check the
 *     signature in CPUID leaf 0x40000000 first, not only bit 31.
 */
#ifndef GUESTS_LIB_HV_H
#define GUESTS_LIB_HV_H

#include <stdint.h>

/* CPUID.1:ECX bit 31: reserved for hypervisors to say they are there. */
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

/* CPUID leaf 0x40000000: EAX the highest hypervisor leaf, EBX ECX EDX a
 * 12-byte signature: "NestlabType1", "NestlabType2", or "NestlabNestd"
 * for guests/nested, which runs a hypervisor (type1) as its guest. */
#define HV_CPUID_BASE       0x40000000u
#define HV_SIGNATURE_TYPE1  "NestlabType1"
#define HV_SIGNATURE_TYPE2  "NestlabType2"
#define HV_SIGNATURE_NESTED "NestlabNestd"

/* CPUID leaf 0x40000001: EAX this guest's number (0, 1, ...), EBX how many
 * guests the hypervisor runs, ECX the hypervisor's kind (HV_KIND_*), EDX
 * the nesting level the guest runs at (2 for an L2 guest, 3 for an L3). */
#define HV_CPUID_INFO       0x40000001u
#define HV_KIND_TYPE1       1u
#define HV_KIND_TYPE2       2u
#define HV_KIND_NESTED      3u    /* its guest sees VMX: CPUID.1:ECX.VMX = 1 */

/* Hypercall numbers (EAX). An unknown number returns HV_ENOSYS. */
enum hv_call {
	HV_CALL_PUTS = 1,     /* EBX: guest-physical address, ECX: length (at
	                         most 256): print it; returns the length */
	HV_CALL_GUEST_ID = 2, /* returns the guest's number */
	HV_CALL_YIELD = 3,    /* give the CPU to the next guest; returns 0 */
	HV_CALL_EXITS = 4,    /* returns how many VM exits this guest has
	                         caused so far, this one included */
};
#define HV_ENOSYS 0xffffffffu

/* The MMIO device: one 4 KiB page of 32-bit registers. A guest finds it
 * by reading HV_MMIO_ID; bare, that read does not give HV_MMIO_MAGIC.
 * Registers are accessed with 32-bit MOVs only. */
#define HV_MMIO_BASE     0xfeb00000u
#define HV_MMIO_ID       0x00  /* RO: HV_MMIO_MAGIC */
#define HV_MMIO_MAGIC    0x4e4c4456u  /* "VDLN": nestlab virtual device */
#define HV_MMIO_SCRATCH  0x04  /* RW: keeps what was written */
#define HV_MMIO_COUNTER  0x08  /* RO: how many times it has been read */
#define HV_MMIO_DOORBELL 0x0c  /* WO: the hypervisor prints the value */

/* Issue a hypercall. */
static inline uint32_t hv_call(uint32_t nr, uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t ret;
	__asm__ volatile("vmcall" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

#endif
