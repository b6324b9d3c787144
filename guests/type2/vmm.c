/* The VMM: a ring-3 process per guest, what QEMU is to KVM. It takes its
 * guest's module from the kernel, loads it into RAM of its own as a
 * Multiboot loader would (lib/mbload.c: pure memory work, fine in ring 3),
 * makes that RAM the guest's with the kvm calls, and loops on kvm_run.
 * The exits the kernel gives it are the devices' (hvlib/devices.c: the
 * same model type1 runs in its own code), the hypercalls, and the ends.
 * The guest's serial lines go out through write(): the kernel puts this
 * process's name, the guest's, in front.
 *
 * Its exit code is the guest's isa-debug-exit status, or VMM_STOPPED /
 * VMM_NO_START with the reason. */
#include <stddef.h>

#include "hvlib/devices.h"
#include "lib/hv.h"
#include "lib/mbload.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "type2/type2.h"

struct vmm {
	struct hv_devices dev;     /* COM1, isa-debug-exit, the MMIO device */
	struct guest_ram mem;      /* the guest's RAM: this process's memory */
	int64_t vm;
	struct kvm_run run;
	char why[160];
};

static void print_line(struct hv_devices *d, const char *line)
{
	(void)d;
	sys_write(line, strlen(line));
}

static _Noreturn void give_up(struct vmm *m, int code, const char *what)
{
	char line[200];
	dev_serial_flush(&m->dev);
	snprintf(line, sizeof line, "vmm: %s", what);
	sys_write(line, strlen(line));
	sys_exit(code, what);
}

/* The hypercalls of lib/hv.h: HV_CALL_PUTS reads the string from the
 * guest's RAM, which is this process's own buffer. */
static void hypercall(struct vmm *m)
{
	struct kvm_run *r = &m->run;
	char buf[300];
	switch (r->hypercall.nr) {
	case HV_CALL_PUTS: {
		uint32_t len = r->hypercall.b > 256 ? 256 : r->hypercall.b;
		if ((uint64_t)r->hypercall.a + len > m->mem.size) {
			r->hypercall.ret = 0;
			break;
		}
		dev_serial_flush(&m->dev);
		memcpy(buf, "(hypercall) ", 12);
		memcpy(buf + 12, m->mem.ram + r->hypercall.a, len);
		sys_write(buf, 12 + len);
		r->hypercall.ret = len;
		break;
	}
	case HV_CALL_GUEST_ID:
		r->hypercall.ret = (uint32_t)m->vm;
		break;
	case HV_CALL_YIELD:
		r->hypercall.ret = 0;
		sys_yield();
		break;
	case HV_CALL_EXITS:
		r->hypercall.ret = (uint32_t)r->exits;
		break;
	}
}

/* A 32-bit access outside RAM and the APIC: the device, or nothing. */
static void mmio(struct vmm *m)
{
	struct kvm_run *r = &m->run;
	if (!dev_mmio_is_device(r->mmio.gpa)) {
		snprintf(m->why, sizeof m->why, "touched guest-physical 0x%lx (%s), outside its %llu MiB "
			 "of RAM: stopped", r->mmio.gpa, r->mmio.is_write ? "write" : "read",
			 (unsigned long long)(m->mem.size >> 20));
		give_up(m, VMM_STOPPED, m->why);
	}
	if (r->mmio.is_write)
		dev_mmio_write(&m->dev, r->mmio.gpa, r->mmio.data);
	else
		r->mmio.data = dev_mmio_read(&m->dev, r->mmio.gpa);
}

/* Create the VM: the module loaded into fresh RAM, the kvm calls. */
static void create(struct vmm *m, unsigned k)
{
	struct module_info mod;
	uint32_t entry;
	if (sys_module(k, &mod) < 0)
		give_up(m, VMM_NO_START, "no such module");
	m->mem.size = VM_RAM_SIZE;
	m->mem.ram = sys_memory(VM_RAM_SIZE);
	if (!m->mem.ram)
		give_up(m, VMM_NO_START, "not enough RAM for the guest: give the machine more "
			"(nestlab run --mem)");
	const char *why = mb_load(mod.bytes, mod.len, &m->mem, &entry);
	if (why) {
		snprintf(m->why, sizeof m->why, "module %u ('%s'): %s", k, mod.cmdline, why);
		give_up(m, VMM_NO_START, m->why);
	}
	uint32_t info = mb_write_info(&m->mem, VM_INFO, vm_module_args(mod.cmdline));
	m->vm = kvm_create_vm();
	if (m->vm < 0 || kvm_set_memory(m->vm, m->mem.ram, m->mem.size) < 0 ||
	    kvm_set_boot(m->vm, entry, info) < 0)
		give_up(m, VMM_NO_START, "the kvm calls failed");
}

void vmm_main(uint64_t module)
{
	struct vmm m;
	memset(&m, 0, sizeof m);
	m.dev.print = print_line;
	create(&m, (unsigned)module);
	struct kvm_run *r = &m.run;
	for (;;) {
		if (kvm_run(m.vm, r) < 0)
			give_up(&m, VMM_STOPPED, "kvm_run failed");
		switch (r->exit_reason) {
		case KVM_EXIT_IO:
			if (r->io.in)
				r->io.data = dev_port_in(&m.dev, r->io.port, r->io.size);
			else
				dev_port_out(&m.dev, r->io.port, r->io.size, r->io.data);
			if (m.dev.exited)
				sys_exit((int)m.dev.status, 0);
			break;
		case KVM_EXIT_MMIO:
			mmio(&m);
			break;
		case KVM_EXIT_HYPERCALL:
			hypercall(&m);
			break;
		case KVM_EXIT_INTR:
			break;                 /* others ran; go on */
		default:                       /* the guest has stopped */
			snprintf(m.why, sizeof m.why, "%s", r->why);
			give_up(&m, VMM_STOPPED, m.why);
		}
	}
}
