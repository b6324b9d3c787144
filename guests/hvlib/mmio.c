/* Emulating an access to an MMIO page. An EPT violation says which
 * guest-physical address was touched and whether it was a read or a
 * write (table 27-7), but not the value, the register, or how long the
 * instruction was: the hypervisor has to fetch the instruction from the
 * guest's memory and decode it. This is why real hypervisors contain an
 * x86 instruction emulator; ours decodes only the 32-bit MOVs that
 * device drivers use for registers, in 32- and 64-bit code:
 *
 *   8B /r     mov r32, [mem]     (a read; zero-extends in 64-bit mode)
 *   89 /r     mov [mem], r32     (a write)
 *   C7 /0 id  mov dword [mem], imm32
 *   A1 / A3   mov eax, [moffs] / mov [moffs], eax  (an absolute address:
 *             8 bytes in 64-bit mode, 4 in 32-bit code)
 *
 * with an optional REX prefix, and in 64-bit mode an optional address-size
 * prefix (67h: 32-bit addressing, which decodes the same way). Anything
 * else stops the guest, saying so.
 *
 * Decoding and completing are two steps, because under type2 the device
 * may be in user space: the kernel decodes, the VMM does the access, and
 * the next kvm_run completes it. */
#include "hvlib/vm.h"
#include "lib/apic.h"
#include "lib/x86.h"

/* The length of a ModRM operand (SDM vol. 2, 2.1.5, tables 2-2 and 2-3,
 * 32/64-bit addressing): the ModRM byte, a SIB byte when r/m is 100, and
 * a displacement of 0, 1 or 4 bytes. */
static unsigned modrm_len(const uint8_t *p)
{
	unsigned mod = p[0] >> 6, rm = p[0] & 7, len = 1;
	if (mod != 3 && rm == 4) {
		len++;
		if (mod == 0 && (p[1] & 7) == 5)
			len += 4;              /* SIB with no base: disp32 */
	}
	if (mod == 0 && rm == 5)
		len += 4;                      /* disp32 (RIP-relative in 64-bit mode) */
	else if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return len;
}

/* m->value holds the immediate of C7 on return; the caller replaces it by
 * the register for 89. */
static bool decode(const uint8_t *p, bool long_mode, struct mmio_insn *m, bool *imm)
{
	unsigned at = 0, rex = 0;
	bool addr32 = false;
	if (long_mode && p[at] == 0x67) {
		addr32 = true;
		at++;
	}
	if (long_mode && (p[at] & 0xf0) == 0x40)
		rex = p[at++];
	if (rex & 8)
		return false;                  /* REX.W: a 64-bit access */
	uint8_t op = p[at++];
	if (op == 0xa1 || op == 0xa3) {
		m->reg = 0;
		m->load = op == 0xa1;
		*imm = false;
		m->len = at + (long_mode && !addr32 ? 8 : 4);
		return true;
	}
	if ((op != 0x8b && op != 0x89 && op != 0xc7) || (p[at] >> 6) == 3)
		return false;
	m->reg = ((p[at] >> 3) & 7) | (rex & 4 ? 8 : 0);
	m->load = op == 0x8b;
	*imm = op == 0xc7;
	if (*imm && ((p[at] >> 3) & 7) != 0)
		return false;
	at += modrm_len(p + at);
	if (*imm) {
		m->value = (uint32_t)p[at] | (uint32_t)p[at + 1] << 8 |
			   (uint32_t)p[at + 2] << 16 | (uint32_t)p[at + 3] << 24;
		at += 4;
	}
	m->len = at;
	return true;
}

/* Fetch and decode the instruction at the guest's RIP that touched gpa.
 * VM_RESUME with *m filled, or VM_STOP (vm->why says why). */
enum vm_next vm_mmio_decode(struct vm *vm, uint64_t gpa, struct mmio_insn *m)
{
	uint64_t rip = vmcs_read(GUEST_RIP);
	uint64_t lin = vmcs_read(GUEST_CS_BASE) + rip, code_gpa;
	uint64_t ar = vmcs_read(GUEST_CS_AR_BYTES);
	bool long_mode = (vmcs_read(GUEST_IA32_EFER) & EFER_LMA) && (ar & (1u << 13));
	bool big = long_mode || (ar & (1u << 14));   /* CS.D: 32-bit code */
	bool imm = false;
	uint8_t insn[16] = { 0 };
	/* The instruction may cross into the next page: fetch it in two parts. */
	unsigned first = 4096 - (lin & 4095);
	if (first > 15)
		first = 15;
	if (!big || !vm_linear_to_phys(vm, lin, &code_gpa) ||
	    !vm_read(vm, code_gpa, insn, first) ||
	    (first < 15 && (!vm_linear_to_phys(vm, lin + first, &code_gpa) ||
			    !vm_read(vm, code_gpa, insn + first, 15 - first))) ||
	    !decode(insn, long_mode, m, &imm))
		return vm_fail(vm, "MMIO access to 0x%lx by an instruction type%u cannot decode at "
			       "RIP 0x%lx (bytes %02x %02x %02x %02x; it emulates 32-bit MOVs only)",
			       gpa, vm->kind, rip, insn[0], insn[1], insn[2], insn[3]);
	if (!m->load && !imm)
		m->value = (uint32_t)vm_gpr(vm, m->reg);
	return VM_RESUME;
}

/* The access is done: a load's register gets the value (zero-extended,
 * as a 32-bit MOV does), and the guest goes on after the instruction. */
void vm_mmio_complete(struct vm *vm, const struct mmio_insn *m, uint32_t loaded)
{
	if (m->load)
		vm_set_gpr(vm, m->reg, loaded);
	vmcs_write(GUEST_RIP, vmcs_read(GUEST_RIP) + m->len);
}

bool vm_mmio_is_lapic(uint64_t gpa)
{
	return gpa >= APIC_BASE_DEFAULT && gpa < APIC_BASE_DEFAULT + 4096;
}

/* An access to the guest's local APIC page: decoded, done by vlapic.c,
 * completed. */
enum vm_next vm_mmio_lapic(struct vm *vm, uint64_t gpa)
{
	struct mmio_insn m;
	if (vm_mmio_decode(vm, gpa, &m) != VM_RESUME)
		return VM_STOP;
	unsigned off = (unsigned)(gpa - APIC_BASE_DEFAULT);
	uint32_t v = 0;
	if (m.load)
		v = vlapic_read(vm, off);
	else
		vlapic_write(vm, off, m.value);
	vm_mmio_complete(vm, &m, v);
	return VM_RESUME;
}
