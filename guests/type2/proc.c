/* Processes and the scheduler. A process is a function of the image run
 * in ring 3 (the runtime maps every page user-accessible) on a stack of
 * its own. There is one kernel stack (the TSS's RSP0): a trap from ring 3
 * (a system call, the timer) lands there with the process's registers in
 * a struct trap_frame, and leaves by IRETQ with whatever that frame holds
 * then. Switching processes is therefore only this: save the frame into
 * the old process, copy the new one's saved frame over it, return.
 * The kernel itself is never preempted (its gates clear IF), so switches
 * happen only at user/kernel boundaries. */
#include "lib/apic.h"
#include "lib/gdt.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/x86.h"
#include "type2/type2.h"

#define TICK_VECTOR 0xe0
#define TICK_COUNT 1000000u        /* the APIC timer: 1 ms at a 1 GHz bus clock */

struct proc procs[MAX_PROCS];
struct proc *cur;
bool need_resched;
uint64_t host_ticks, host_idle;

/* Where a process's function returns to, in ring 3. */
static void proc_returned(void)
{
	sys_exit(0, 0);
}

struct proc *proc_spawn(const char *name, void (*fn)(uint64_t), uint64_t arg)
{
	struct proc *p = procs;
	while (p < procs + MAX_PROCS && p->state != PROC_FREE)
		p++;
	if (p == procs + MAX_PROCS)
		return 0;
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	p->vm = -1;
	/* As after a CALL: the return address on top, RSP + 8 16-byte aligned. */
	uint64_t *top = (uint64_t *)(p->stack + sizeof p->stack);
	top[-1] = (uintptr_t)proc_returned;
	p->tf.rip = (uintptr_t)fn;
	p->tf.rdi = arg;
	p->tf.cs = USER_CS | 3;
	p->tf.ss = USER_DS | 3;
	p->tf.rsp = (uintptr_t)&top[-1];
	p->tf.rflags = RFLAGS_FIXED | RFLAGS_IF;   /* the timer can preempt it */
	p->state = PROC_RUNNABLE;
	p->off_since = rdtsc();
	return p;
}

/* Load a saved frame and IRETQ into it: the frame's layout is what
 * isr.S's common path pops (struct trap_frame), so this is that path's
 * tail with RSP pointing at the frame. */
_Noreturn void enter_user(const struct trap_frame *f);
__asm__(".text\n"
	"enter_user:\n"
	"	movq %rdi, %rsp\n"
	"	popq %r15\n	popq %r14\n	popq %r13\n	popq %r12\n"
	"	popq %r11\n	popq %r10\n	popq %r9\n	popq %r8\n"
	"	popq %rbp\n	popq %rdi\n	popq %rsi\n	popq %rdx\n"
	"	popq %rcx\n	popq %rbx\n	popq %rax\n"
	"	addq $16, %rsp\n"           /* vector and error code */
	"	iretq\n");

/* Nothing can run until deadline: HLT, with the APIC timer set to wake
 * the kernel then (one-shot), and the 1 ms tick started again after. */
static void idle_until(uint64_t deadline)
{
	uint64_t start = rdtsc();
	if (deadline > start) {
		uint64_t wait = deadline - start;
		apic_timer_start(TICK_VECTOR, wait > 0xffffffffu ? 0xffffffffu : (uint32_t)wait, false);
		sti_hlt();
		cli();
		apic_timer_start(TICK_VECTOR, TICK_COUNT, true);
	}
	host_idle += rdtsc() - start;
}

/* The next process to run, round robin after prev; sleepers whose time
 * has come are woken first. With nothing runnable the kernel idles until
 * the earliest sleeper's time; with nothing left at all, it is the end. */
static struct proc *pick_next(struct proc *prev)
{
	for (;;) {
		uint64_t now = rdtsc(), earliest = 0;
		for (struct proc *p = procs; p < procs + MAX_PROCS; p++)
			if (p->state == PROC_SLEEPING && p->wake_at <= now)
				p->state = PROC_RUNNABLE;
		for (unsigned k = 1; k <= MAX_PROCS; k++) {
			struct proc *p = &procs[(prev - procs + k) % MAX_PROCS];
			if (p->state == PROC_RUNNABLE)
				return p;
		}
		for (struct proc *p = procs; p < procs + MAX_PROCS; p++)
			if (p->state == PROC_SLEEPING && (!earliest || p->wake_at < earliest))
				earliest = p->wake_at;
		if (!earliest)
			kernel_finish();
		idle_until(earliest);
	}
}

/* f is the frame of the trap that brought cur into the kernel: keep it in
 * cur, and make it the next process's. */
void proc_switch(struct trap_frame *f)
{
	struct proc *prev = cur;
	if (prev->state != PROC_EXITED)
		prev->tf = *f;
	prev->off_since = rdtsc();
	need_resched = false;
	struct proc *next = pick_next(prev);
	next->off_cpu += rdtsc() - next->off_since;
	cur = next;
	*f = next->tf;
}

void proc_sleep_until(struct trap_frame *f, uint64_t tsc)
{
	cur->state = PROC_SLEEPING;
	cur->wake_at = tsc;
	proc_switch(f);
}

void proc_exit(struct trap_frame *f, int code, const char *why)
{
	cur->state = PROC_EXITED;
	cur->code = code;
	if (why)
		snprintf(cur->why, sizeof cur->why, "%s", why);
	proc_switch(f);
}

/* The first process: from kmain, never to return. */
_Noreturn void proc_start(void)
{
	cur = pick_next(&procs[MAX_PROCS - 1]);
	cur->off_cpu += rdtsc() - cur->off_since;
	enter_user(&cur->tf);
}

/* The 1 ms tick. From ring 3 it ends the process's time slice; in the
 * kernel (idle) it only wakes the CPU. While a guest runs, it is a VM
 * exit instead (kvm.c). */
static void on_tick(struct trap_frame *f)
{
	host_ticks++;
	apic_eoi();
	if ((f->cs & 3) == 3)
		proc_switch(f);
}

void timer_init(void)
{
	apic_enable();
	trap_set_handler(TICK_VECTOR, on_tick);
	apic_timer_start(TICK_VECTOR, TICK_COUNT, true);
}
