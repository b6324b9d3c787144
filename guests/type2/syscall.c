/* The system calls: INT 0x80 from ring 3 (abi.h). Each call runs on the
 * kernel stack with interrupts off; a call that blocks (sleep, a VM in
 * HLT) or gives the CPU away switches processes before returning, and so
 * does any call made when the timer has ended the time slice. */
#include "lib/boot.h"
#include "lib/printf.h"
#include "lib/x86.h"
#include "type2/type2.h"

#define MIB2 (2ull << 20)
#define WRITE_MAX 1024

/* RAM for SYS_MEMORY: above the image and its modules, up to the end of
 * what the loader reported; handed out once per process, never freed. */
static uint64_t mem_next, mem_end;

static void memory_init(const struct multiboot_info *mbi)
{
	uint64_t top = (uintptr_t)_image_end;
	const struct multiboot_module *mods = mb_ptr(mbi->mods_addr);
	for (unsigned k = 0; k < mbi->mods_count; k++)
		if (mods[k].mod_end > top)
			top = mods[k].mod_end;
	mem_next = (top + MIB2 - 1) & ~(MIB2 - 1);
	mem_end = mbi->flags & MULTIBOOT_INFO_MEMORY ? 0x100000 + (uint64_t)mbi->mem_upper * 1024 : 0;
}

static uint64_t sys_memory_(uint64_t size)
{
	size = (size + MIB2 - 1) & ~(MIB2 - 1);
	if (cur->mem_size || !size || mem_next + size > mem_end)
		return 0;
	cur->mem_base = mem_next;
	cur->mem_size = size;
	mem_next += size;
	return cur->mem_base;
}

/* Each line of buf, with the process's name in front. */
static int64_t sys_write_(const char *buf, uint64_t len)
{
	char line[WRITE_MAX + 1];
	unsigned n = 0;
	if (len > WRITE_MAX)
		len = WRITE_MAX;
	for (uint64_t k = 0; k < len; k++) {
		if (buf[k] != '\n')
			line[n++] = buf[k];
		if (buf[k] == '\n' || k + 1 == len) {
			line[n] = 0;
			printf("[%s] %s\n", cur->name, line);
			n = 0;
		}
	}
	return (int64_t)len;
}

static int64_t sys_module_(uint64_t k, struct module_info *m)
{
	if (k >= boot_mbi->mods_count || !m)
		return -1;
	const struct multiboot_module *mod = &((const struct multiboot_module *)mb_ptr(boot_mbi->mods_addr))[k];
	m->bytes = mb_ptr(mod->mod_start);
	m->len = mod->mod_end - mod->mod_start;
	m->cmdline = mod->cmdline ? mb_ptr(mod->cmdline) : "";
	return 0;
}

static void on_syscall(struct trap_frame *f)
{
	if ((f->cs & 3) != 3)
		return;                    /* only ring 3 makes system calls */
	uint64_t a = f->rdi, b = f->rsi, c = f->rdx;
	switch (f->rax) {
	case SYS_WRITE:
		f->rax = (uint64_t)sys_write_((const char *)a, b);
		break;
	case SYS_EXIT:
		proc_exit(f, (int)a, (const char *)b);
		return;
	case SYS_YIELD:
		f->rax = 0;
		proc_switch(f);
		return;
	case SYS_SLEEP:
		f->rax = 0;
		proc_sleep_until(f, rdtsc() + a * TSC_PER_MS);
		return;
	case SYS_MODULE:
		f->rax = (uint64_t)sys_module_(a, (struct module_info *)b);
		break;
	case SYS_MEMORY:
		f->rax = sys_memory_(a);
		break;
	case SYS_KVM_CREATE_VM:
		f->rax = (uint64_t)kvm_ioctl_create_vm();
		break;
	case SYS_KVM_SET_MEMORY:
		f->rax = (uint64_t)kvm_ioctl_set_memory((int64_t)a, b, c);
		break;
	case SYS_KVM_SET_BOOT:
		f->rax = (uint64_t)kvm_ioctl_set_boot((int64_t)a, (uint32_t)b, (uint32_t)c);
		break;
	case SYS_KVM_RUN:
		kvm_ioctl_run(f, (int64_t)a, (struct kvm_run *)b);   /* may block */
		break;
	default:
		f->rax = (uint64_t)-1;
	}
	if (need_resched)
		proc_switch(f);
}

/* A gate ring 3 may use (DPL 3), an interrupt gate so that the kernel
 * runs with IF = 0 (SDM vol. 3, 6.12.1.1 and 6.14.1). */
void syscall_init(void)
{
	memory_init(boot_mbi);
	trap_set_handler(SYSCALL_VECTOR, on_syscall);
	idt_set_gate(SYSCALL_VECTOR, GATE_INTERRUPT, 3, 0, true);
}
