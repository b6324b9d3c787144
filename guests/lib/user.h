/* Running a function in ring 3.
 *
 * user_call(fn, arg) enters ring 3 with IRETQ (SDM vol. 3, 6.14.3 and the
 * IRET pseudo-code), on the runtime's user stack, with CS = USER_CS and
 * SS = USER_DS. fn(arg) runs there; when it returns, a trampoline raises
 * INT VEC_USER_EXIT (a gate with DPL 3), which comes back to ring 0 on
 * the TSS's RSP0 stack, and user_call returns fn's value on its own
 * stack, as if fn had been called directly.
 *
 * fn must be in user-accessible memory; every page of the image is. It
 * runs with RFLAGS = rflags (IF, IOPL...): user_call() uses IF = 0 and
 * IOPL = 0. */
#ifndef GUESTS_LIB_USER_H
#define GUESTS_LIB_USER_H

#include <stdint.h>

typedef uint64_t (*user_fn_t)(uint64_t arg);

uint64_t user_call(user_fn_t fn, uint64_t arg);
uint64_t user_call_flags(user_fn_t fn, uint64_t arg, uint64_t rflags);

/* Installed by the runtime before kmain(). */
void user_init(void);

#endif
