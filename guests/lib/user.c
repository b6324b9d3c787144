/* The C side of user_call() (user.h). */
#include "lib/idt.h"
#include "lib/user.h"
#include "lib/x86.h"

_Noreturn void user_return(uint64_t result);   /* user.S */

static void user_exit_handler(struct trap_frame *f)
{
	if ((f->cs & 3) != 3)
		return;   /* INT from ring 0: not ours; ignore it */
	user_return(f->rax);
}

void user_init(void)
{
	trap_set_handler(VEC_USER_EXIT, user_exit_handler);
	idt_set_gate(VEC_USER_EXIT, GATE_INTERRUPT, 3, 0, true);
}

uint64_t user_call(user_fn_t fn, uint64_t arg)
{
	return user_call_flags(fn, arg, RFLAGS_FIXED);
}
