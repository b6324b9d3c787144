/* Leaving protected mode for real-address mode from the legacy runtime
 * (SDM vol. 3A, 9.9.2), for guests whose real-mode code is a blob of
 * 16-bit assembly copied below 1 MiB and run with CS = DS = SS = its base
 * / 16. Inside the blob, labels are offsets from its start: OFF(label).
 * The blob begins in 16-bit protected mode (a far jump to a 16-bit code
 * segment whose base is the copy) with RM_LEAVE_PM(), which is steps 4
 * to 7: data segments with real-mode limits, the real-mode IDTR (from the
 * 6-byte operand at label ivtr), CR0.PE = 0, and a far jump that loads a
 * real-mode CS; then, in real mode, DS = ES = SS = seg and SP = stack. */
#ifndef GUESTS_LIB_LEGACY_REALMODE_H
#define GUESTS_LIB_LEGACY_REALMODE_H

#define XSTR(x) STR(x)
#define STR(x) #x
#define OFF(label) #label "-rm_blob"

#define RM_ENTER(ds16, seg, stack, ivtr)                \
	"movw $" XSTR(ds16) ", %ax\n\t"                 \
	"movw %ax, %ds\n\t"                             \
	"movw %ax, %es\n\t"                             \
	"movw %ax, %fs\n\t"                             \
	"movw %ax, %gs\n\t"                             \
	"movw %ax, %ss\n\t"                             \
	"lidt " OFF(ivtr) "\n\t"                        \
	"movl %cr0, %eax\n\t"                           \
	"andl $~1, %eax\n\t"                            \
	"movl %eax, %cr0\n\t"                           \
	"ljmp $" XSTR(seg) ", $" OFF(rm_real) "\n"      \
	"rm_real:\n\t"                                  \
	"movw $" XSTR(seg) ", %ax\n\t"                  \
	"movw %ax, %ds\n\t"                             \
	"movw %ax, %es\n\t"                             \
	"movw %ax, %ss\n\t"                             \
	"movw $" XSTR(stack) ", %sp\n\t"

#endif
