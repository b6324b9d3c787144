// runtime: legacy
/* Privilege in 32-bit protected mode (SDM vol. 3, chapters 5 and 6), on
 * the legacy runtime: interrupt and trap gates entered from ring 3 with
 * the stack switch through the TSS, a 16-bit interrupt gate, a call gate
 * with parameters and the far return to the outer ring, SYSENTER and
 * SYSEXIT, far jumps to conforming code segments, and INT3, INTO, INT1
 * and INT n with the gate DPL check. */
#include "lib/legacy/rt32.h"
#include "lib/printf.h"
#include "lib/quirks.h"

const char test_name[] = "legacy_privilege";

/* Test descriptors in the GDT (from GDT_FIRST_FREE), as plain numbers
 * because the assembly below uses them too. */
#define CONF0_CS   0x30     /* conforming code, DPL 0 */
#define CONF3_CS   0x38     /* conforming code, DPL 3 */
#define GATE3_SEL  0x40     /* call gate, DPL 3, 2 parameters -> KERNEL_CS */
#define GATE0_SEL  0x48     /* the same with DPL 0 */
#define BLOB_CS    0x50     /* 32-bit code based at gate16_blob */

#define VEC_INTR3  0x80     /* 32-bit interrupt gate, DPL 3 */
#define VEC_TRAP3  0x81     /* 32-bit trap gate, DPL 3 */
#define VEC_GATE16 0x82     /* 16-bit interrupt gate, DPL 0 */
#define VEC_KERNEL 0x83     /* 32-bit interrupt gate, DPL 0 */

#define XSTR(x) STR(x)
#define STR(x) #x

/* ---- interrupt and trap gates, ring 3 to ring 0 ---- */

static volatile uint32_t g_frame, g_eip, g_cs, g_eflags, g_esp, g_ss, g_if;

static void gate_handler(struct trap_frame *f)
{
	g_frame = (uintptr_t)&f->eip;
	g_eip = f->eip;
	g_cs = f->cs;
	g_eflags = f->eflags;
	g_esp = (f->cs & 3) ? f->esp : 0;
	g_ss = (f->cs & 3) ? f->ss : 0;
	g_if = read_eflags() & RFLAGS_IF;
	f->eax *= 3;   /* the "system call" */
}

static volatile uint32_t u_esp, u_after;

static uint32_t user_int(uint32_t trap)
{
	uint32_t r = 14;
	if (trap)
		__asm__ volatile("movl %%esp, %1\n\t"
				 "movl $1f, %2\n\t"
				 "int %3\n"
				 "1:"
				 : "+a"(r), "=m"(u_esp), "=m"(u_after) : "i"(VEC_TRAP3) : "memory");
	else
		__asm__ volatile("movl %%esp, %1\n\t"
				 "movl $1f, %2\n\t"
				 "int %3\n"
				 "1:"
				 : "+a"(r), "=m"(u_esp), "=m"(u_after) : "i"(VEC_INTR3) : "memory");
	return r;
}

static void test_gates(void)
{
	trap_set_handler(VEC_INTR3, gate_handler);
	trap_set_handler(VEC_TRAP3, gate_handler);
	idt_set_gate(VEC_INTR3, GATE_INTERRUPT, 3);
	idt_set_gate(VEC_TRAP3, GATE_TRAP, 3);

	/* From ring 3 (with IF = 1; every PIC line is masked): the CPU takes
	 * SS0:ESP0 from the TSS and pushes the old SS, ESP, EFLAGS, CS and
	 * EIP there, so EIP lands 20 bytes below ESP0 (SDM vol. 3, 6.12.1,
	 * figure 6-4). An interrupt gate clears IF, a trap gate does not
	 * (6.12.1, "Flag Usage By Exception- or Interrupt-Handler
	 * Procedure"). */
	for (uint32_t trap = 0; trap <= 1; trap++) {
		const char *kind = trap ? "trap" : "interrupt";
		uint32_t r = user_call_flags(user_int, trap, RFLAGS_FIXED | RFLAGS_IF);
		TEST_ASSERT_EQ(r, 42);
		TEST_ASSERT_EQ(g_frame, tss.esp0 - 20);
		TEST_ASSERT_EQ(g_cs, USER_CS | 3);
		TEST_ASSERT_EQ(g_ss, USER_DS | 3);
		TEST_ASSERT_EQ(g_esp, u_esp);
		TEST_ASSERT_EQ(g_eip, u_after);
		TEST_ASSERT(g_eflags & RFLAGS_IF);
		TEST_ASSERT_EQ(g_if, trap ? RFLAGS_IF : 0);
		printf("32-bit %s gate from ring 3: SS:ESP, EFLAGS, CS:EIP on the ESP0 stack, "
		       "IF %s\n", kind, trap ? "kept" : "cleared");
	}

	/* From ring 0: no stack switch, no SS:ESP: EIP is 12 bytes below. */
	uint32_t esp, after, r = 5;
	__asm__ volatile("movl %%esp, %1\n\t"
			 "int %3\n"
			 "1:\n\t"
			 "movl $1b, %2"
			 : "+a"(r), "=&r"(esp), "=r"(after) : "i"(VEC_INTR3) : "memory");
	TEST_ASSERT_EQ(r, 15);
	TEST_ASSERT_EQ(g_frame, esp - 12);
	TEST_ASSERT_EQ(g_cs, KERNEL_CS);
	TEST_ASSERT_EQ(g_eip, after);
	printf("32-bit interrupt gate from ring 0: EFLAGS, CS:EIP on the same stack\n");
}

/* ---- a 16-bit interrupt gate ---- */

/* A 16-bit gate pushes FLAGS, CS and IP as 16-bit values, and IRET with
 * a 16-bit operand size returns through them (SDM vol. 2, INT n and IRET;
 * vol. 3, 6.11). A 16-bit IP only holds offsets below 64 KiB, so the
 * interrupted code and the handler run in a segment based at the blob
 * (BLOB_CS, 32-bit, limit 64 KiB). Called with a far CALL: EBX = ESP
 * before INT; in the handler ECX = ESP, ESI, EDI, EDX = the pushed IP, CS
 * and FLAGS. */
extern const char gate16_blob[], gate16_after[], gate16_handler[];
__asm__(".pushsection .text\n"
	".code32\n"
	"gate16_blob:\n\t"
	"movl %esp, %ebx\n\t"
	"int $" XSTR(VEC_GATE16) "\n"
	"gate16_after:\n\t"
	"lret\n"
	"gate16_handler:\n\t"
	"movl %esp, %ecx\n\t"
	"movzwl 0(%esp), %esi\n\t"
	"movzwl 2(%esp), %edi\n\t"
	"movzwl 4(%esp), %edx\n\t"
	"iretw\n"
	".popsection");

static void test_gate16(void)
{
	gdt_set(BLOB_CS >> 3, seg_desc((uintptr_t)gate16_blob, 0xffff,
				       SEG_TYPE_CODE_XR | SEG_S | SEG_DPL(0) | SEG_P | SEG_DB));
	idt_set_raw(VEC_GATE16, gate_desc(BLOB_CS, (uint32_t)(gate16_handler - gate16_blob),
					  GATE_INTERRUPT16, 0, 0));
	uint32_t before, in, ip, cs, flags;
	uint32_t eflags = read_eflags();
	__asm__ volatile("lcall %5, $0"
			 : "=b"(before), "=c"(in), "=S"(ip), "=D"(cs), "=d"(flags)
			 : "i"(BLOB_CS) : "eax", "memory");
	TEST_ASSERT_EQ(before - in, 6);
	TEST_ASSERT_EQ(ip, (uint32_t)(gate16_after - gate16_blob));
	TEST_ASSERT_EQ(cs, BLOB_CS);
	TEST_ASSERT_EQ(flags, eflags & 0xffff);
	printf("16-bit interrupt gate: IP, CS, FLAGS pushed as 6 bytes, IRETW back\n");
}

/* ---- a call gate with parameters ---- */

/* Ring 3 (a user_fn_t; arg = the gate's selector): push two parameters,
 * CALL FAR through the gate, and note what the far return left: ESP
 * relative to before the pushes, and ES. The gate's target (ring 0)
 * copies its stack frame, loads ES with a DPL 0 segment, and returns
 * the sum of the parameters with RET 8. */
extern char user_callgate[], callgate_entry[];
volatile uint32_t cg_entry_esp, cg_frame[6], cg_cs, cg_ss, cg_caller_esp;
volatile uint32_t cg_esp_delta, cg_es_after;
__asm__(".pushsection .data\n"
	"cg_ptr: .long 0\n\t"
	".word 0\n"
	".popsection\n"
	".pushsection .text\n"
	".code32\n"
	"user_callgate:\n\t"
	"pushl %ebx\n\t"
	"pushl %esi\n\t"
	"pushl %edi\n\t"
	"movl 16(%esp), %eax\n\t"
	"movw %ax, cg_ptr + 4\n\t"
	"movl $0xdead, %eax\n\t"
	"movl %esp, %esi\n\t"
	"pushl $0x1111\n\t"
	"pushl $0x2222\n\t"
	"movl %esp, cg_caller_esp\n\t"
	CATCH_ASM("lcall *cg_ptr")
	"movl %esp, %edx\n\t"
	"subl %esi, %edx\n\t"
	"movl %edx, cg_esp_delta\n\t"
	"movw %es, %dx\n\t"
	"movzwl %dx, %edx\n\t"
	"movl %edx, cg_es_after\n\t"
	"movw %ds, %dx\n\t"
	"movw %dx, %es\n\t"
	"movl %esi, %esp\n\t"
	"popl %edi\n\t"
	"popl %esi\n\t"
	"popl %ebx\n\t"
	"ret\n"
	"callgate_entry:\n\t"
	"movl %esp, cg_entry_esp\n\t"
	"movl 0(%esp), %eax\n\t"
	"movl %eax, cg_frame + 0\n\t"
	"movl 4(%esp), %eax\n\t"
	"movl %eax, cg_frame + 4\n\t"
	"movl 8(%esp), %eax\n\t"
	"movl %eax, cg_frame + 8\n\t"
	"movl 12(%esp), %eax\n\t"
	"movl %eax, cg_frame + 12\n\t"
	"movl 16(%esp), %eax\n\t"
	"movl %eax, cg_frame + 16\n\t"
	"movl 20(%esp), %eax\n\t"
	"movl %eax, cg_frame + 20\n\t"
	"movw %cs, %ax\n\t"
	"movzwl %ax, %eax\n\t"
	"movl %eax, cg_cs\n\t"
	"movw %ss, %ax\n\t"
	"movzwl %ax, %eax\n\t"
	"movl %eax, cg_ss\n\t"
	"movl $" XSTR(KERNEL_DS) ", %eax\n\t"
	"movw %ax, %es\n\t"
	"movl 8(%esp), %eax\n\t"
	"addl 12(%esp), %eax\n\t"
	"lret $8\n"
	".popsection");

static void test_call_gate(void)
{
	gdt_set(GATE3_SEL >> 3, gate_desc(KERNEL_CS, (uintptr_t)callgate_entry, GATE_CALL, 3, 2));
	gdt_set(GATE0_SEL >> 3, gate_desc(KERNEL_CS, (uintptr_t)callgate_entry, GATE_CALL, 0, 2));

	/* CALL through a call gate to a more privileged nonconforming
	 * segment: SS:ESP from the TSS, the caller's SS and ESP pushed
	 * there, the gate's parameter count of doublewords copied from the
	 * caller's stack, then CS and EIP (SDM vol. 3, 5.8.5, figure 5-13). */
	fault_clear();
	uint32_t r = user_call((user_fn_t)user_callgate, GATE3_SEL | 3);
	TEST_ASSERT_EQ(last_fault.vector, -1);
	TEST_ASSERT_EQ(r, 0x3333);
	TEST_ASSERT_EQ(cg_cs, KERNEL_CS);
	TEST_ASSERT_EQ(cg_ss, KERNEL_DS);
	TEST_ASSERT_EQ(cg_entry_esp, tss.esp0 - 24);
	TEST_ASSERT_EQ(cg_frame[1], USER_CS | 3);
	TEST_ASSERT_EQ(cg_frame[2], 0x2222);          /* the last pushed is on top */
	TEST_ASSERT_EQ(cg_frame[3], 0x1111);
	TEST_ASSERT_EQ(cg_frame[4], cg_caller_esp);
	TEST_ASSERT_EQ(cg_frame[5], USER_DS | 3);
	printf("call gate from ring 3: ring-0 stack from the TSS, SS:ESP, 2 parameters, "
	       "CS:EIP\n");
	/* RET 8 to the outer ring releases 8 bytes of parameters on both
	 * stacks, and nulls ES, whose DPL 0 is below the new CPL (SDM vol. 2,
	 * RET, "RETURN-TO-OUTER-PRIVILEGE-LEVEL"; vol. 3, 5.8.6). */
	TEST_ASSERT_EQ(cg_esp_delta, 0);
	TEST_ASSERT_EQ(cg_es_after, 0);
	printf("far return with an immediate to ring 3: parameters released, ES nulled\n");

	/* A gate with DPL 0 is out of ring 3's reach: #GP(gate selector)
	 * (SDM vol. 2, CALL, "CALL-GATE"). */
	fault_clear();
	user_call((user_fn_t)user_callgate, GATE0_SEL | 3);
	TEST_ASSERT_EQ(last_fault.vector, VEC_GP);
	TEST_ASSERT_EQ(last_fault.error_code, GATE0_SEL);
	printf("call gate with DPL 0 from ring 3: #GP(gate)\n");
}

/* ---- far jumps to conforming code ---- */

/* A user_fn_t as well as a ring-0 routine: far JMP to conf_target in the
 * segment selected by arg, which reads CS and jumps back to the caller's
 * code segment. Returns CS as seen there, 0 if the jump faulted. */
extern char far_jump_conforming[];
__asm__(".pushsection .data\n"
	"conf_ptr: .long conf_target\n\t"
	".word 0\n"
	"conf_back_ptr: .long conf_back\n\t"
	".word 0\n"
	".popsection\n"
	".pushsection .text\n"
	".code32\n"
	"far_jump_conforming:\n\t"
	"movl 4(%esp), %eax\n\t"
	"movw %ax, conf_ptr + 4\n\t"
	"movw %cs, %ax\n\t"
	"movw %ax, conf_back_ptr + 4\n\t"
	"xorl %eax, %eax\n\t"
	CATCH_ASM("ljmp *conf_ptr")
	"conf_back:\n\t"
	"ret\n"
	"conf_target:\n\t"
	"movw %cs, %ax\n\t"
	"movzwl %ax, %eax\n\t"
	"ljmp *conf_back_ptr\n"
	".popsection");

static uint32_t far_jump(uint32_t sel)
{
	uint32_t (*fn)(uint32_t) = (uint32_t (*)(uint32_t))far_jump_conforming;
	fault_clear();
	return fn(sel);
}

static void test_conforming(void)
{
	const unsigned conf = SEG_TYPE_CODE_XRC | SEG_S | SEG_P | SEG_DB | SEG_G;
	gdt_set(CONF0_CS >> 3, seg_desc(0, 0xfffff, conf | SEG_DPL(0)));
	gdt_set(CONF3_CS >> 3, seg_desc(0, 0xfffff, conf | SEG_DPL(3)));

	/* A conforming segment may be entered from a ring numerically equal
	 * or higher than its DPL; the CPL does not change, and CS.RPL is set
	 * to it. The selector's RPL is not checked (SDM vol. 3, 5.8.1.2;
	 * vol. 2, JMP). */
	uint32_t r = user_call((user_fn_t)far_jump_conforming, CONF0_CS | 3);
	TEST_ASSERT_EQ(r, CONF0_CS | 3);
	r = user_call((user_fn_t)far_jump_conforming, CONF0_CS);
	TEST_ASSERT_EQ(r, CONF0_CS | 3);
	TEST_ASSERT_EQ(far_jump(CONF0_CS), CONF0_CS);
	printf("far jmp to a conforming DPL 0 segment: from ring 3 CPL stays 3, "
	       "from ring 0 it stays 0\n");

	/* Its DPL must not be above CPL: #GP(selector). */
	TEST_ASSERT_EQ(far_jump(CONF3_CS), 0);
	TEST_ASSERT_EQ(last_fault.vector, VEC_GP);
	TEST_ASSERT_EQ(last_fault.error_code, CONF3_CS);
	/* A nonconforming segment needs DPL = CPL: ring 3 cannot jump to
	 * KERNEL_CS, nor jump through a call gate to it (JMP never changes
	 * privilege): #GP(code segment selector) both times. */
	fault_clear();
	TEST_ASSERT_EQ(user_call((user_fn_t)far_jump_conforming, KERNEL_CS), 0);
	TEST_ASSERT_EQ(last_fault.vector, VEC_GP);
	TEST_ASSERT_EQ(last_fault.error_code, KERNEL_CS);
	fault_clear();
	TEST_ASSERT_EQ(user_call((user_fn_t)far_jump_conforming, GATE3_SEL | 3), 0);
	TEST_ASSERT_EQ(last_fault.vector, VEC_GP);
	TEST_ASSERT_EQ(last_fault.error_code, KERNEL_CS);
	printf("far jmp to a conforming DPL 3 segment from ring 0, to nonconforming "
	       "ring 0 code from ring 3: #GP(selector)\n");
}

/* ---- SYSENTER and SYSEXIT ---- */

#define MSR_SYSENTER_CS  0x174u
#define MSR_SYSENTER_ESP 0x175u
#define MSR_SYSENTER_EIP 0x176u

extern char user_sysenter[], sysenter_entry[];
volatile uint32_t se_user_esp, se_esp, se_eflags, se_ret_esp;
volatile uint16_t se_cs, se_ss, se_ret_cs, se_ret_ss;
static uint8_t sysenter_stack[4096] __attribute__((aligned(16)));

/* Ring 3: SYSENTER with ECX = ESP and EDX = the return address, as
 * SYSEXIT takes them; the entry doubles EAX. */
__asm__(".pushsection .text\n"
	".code32\n"
	"user_sysenter:\n\t"
	"pushl %ebx\n\t"
	"movl 8(%esp), %eax\n\t"
	"movl %esp, %ecx\n\t"
	"movl %esp, se_user_esp\n\t"
	"movl $1f, %edx\n\t"
	"sysenter\n"
	"1:\n\t"
	"movw %cs, se_ret_cs\n\t"
	"movw %ss, se_ret_ss\n\t"
	"movl %esp, se_ret_esp\n\t"
	"popl %ebx\n\t"
	"ret\n"
	"sysenter_entry:\n\t"
	"movl %esp, se_esp\n\t"
	"movw %cs, se_cs\n\t"
	"movw %ss, se_ss\n\t"
	"pushfl\n\t"
	"popl se_eflags\n\t"
	"addl %eax, %eax\n\t"
	"sysexit\n"
	".popsection");

static uint32_t user_sysexit(uint32_t arg)
{
	(void)arg;
	fault_clear();
	__asm__ volatile(CATCH_ASM("sysexit") : : : "memory");
	return (uint32_t)last_fault.vector << 16 | last_fault.error_code;
}

static uint32_t user_sysenter_fault(uint32_t arg)
{
	(void)arg;
	fault_clear();
	__asm__ volatile(CATCH_ASM("sysenter") : : : "ecx", "edx", "memory");
	return (uint32_t)last_fault.vector << 16 | last_fault.error_code;
}

static void test_sysenter(void)
{
	if (!(cpuid(1, 0).edx & (1u << 11)))
		TEST_FAIL("CPUID.1:EDX.SEP is clear: no SYSENTER/SYSEXIT");
	wrmsr(MSR_SYSENTER_CS, KERNEL_CS);
	wrmsr(MSR_SYSENTER_ESP, (uintptr_t)(sysenter_stack + sizeof sysenter_stack));
	wrmsr(MSR_SYSENTER_EIP, (uintptr_t)sysenter_entry);

	/* SYSENTER: CS from IA32_SYSENTER_CS, SS = CS + 8, ESP and EIP from
	 * their MSRs, IF, VM and RF cleared. SYSEXIT: CS = SYSENTER_CS + 16,
	 * SS = SYSENTER_CS + 24, both RPL 3; EIP = EDX, ESP = ECX (SDM vol. 2,
	 * SYSENTER and SYSEXIT; vol. 3, 5.8.7). */
	uint32_t r = user_call_flags((user_fn_t)user_sysenter, 21, RFLAGS_FIXED | RFLAGS_IF);
	TEST_ASSERT_EQ(r, 42);
	TEST_ASSERT_EQ(se_cs, KERNEL_CS);
	TEST_ASSERT_EQ(se_ss, KERNEL_DS);
	TEST_ASSERT_EQ(se_esp, (uintptr_t)(sysenter_stack + sizeof sysenter_stack));
	TEST_ASSERT_EQ(se_eflags & (RFLAGS_IF | RFLAGS_VM | RFLAGS_RF), 0);
	printf("sysenter: CS 0x%x SS 0x%x ESP from the MSR, IF cleared\n", se_cs, se_ss);
	TEST_ASSERT_EQ(se_ret_cs, USER_CS | 3);
	TEST_ASSERT_EQ(se_ret_ss, USER_DS | 3);
	TEST_ASSERT_EQ(se_ret_esp, se_user_esp);
	printf("sysexit: CS 0x%x SS 0x%x, ESP = ECX, EIP = EDX\n", se_ret_cs, se_ret_ss);

	/* SYSEXIT needs CPL 0; SYSENTER needs a non-null IA32_SYSENTER_CS:
	 * #GP(0) otherwise. */
	TEST_ASSERT_EQ(user_call(user_sysexit, 0), VEC_GP << 16);
	wrmsr(MSR_SYSENTER_CS, 0);
	TEST_ASSERT_EQ(user_call(user_sysenter_fault, 0), VEC_GP << 16);
	printf("sysexit in ring 3, sysenter with a null SYSENTER_CS: #GP(0)\n");
}

/* ---- INT3, INTO, INT1, INT n ---- */

static volatile uint32_t x_vector, x_eip, x_cs, x_count;

static void record_handler(struct trap_frame *f)
{
	x_vector = f->vector;
	x_eip = f->eip;
	x_cs = f->cs;
	x_count++;
}

/* QEMU 7.2's TCG compiles INT1 (F1h) out and raises #UD for it (the
 * opcode sits under "#ifdef WANT_ICEBP" in its translator; later QEMU
 * versions make it the #DB trap the SDM describes). There it is not run. */
static bool int1_works(void)
{
	return !on_qemu_tcg();
}

enum { SW_INT3, SW_INTO, SW_INTO_NO_OF, SW_INT1, SW_INTN };

/* Run one of them with OF set (except SW_INTO_NO_OF) and return the
 * address after it; the CATCH_ASM entries record a #GP instead. */
static uint32_t software_interrupt(uint32_t which)
{
	uint32_t after = 0, x = 0x7fffffff;
	fault_clear();
	switch (which) {
	case SW_INT3:
		__asm__ volatile("addl $1, %1\n\t" CATCH_ASM("int3") "movl $2b, %0"
				 : "=r"(after), "+r"(x) : : "memory");
		break;
	case SW_INTO:
		__asm__ volatile("addl $1, %1\n\t" CATCH_ASM("into") "movl $2b, %0"
				 : "=r"(after), "+r"(x) : : "memory");
		break;
	case SW_INTO_NO_OF:
		__asm__ volatile("addl $0, %1\n\t" CATCH_ASM("into") "movl $2b, %0"
				 : "=r"(after), "+r"(x) : : "memory");
		break;
	case SW_INT1:
		__asm__ volatile(".byte 0xf1\n"
				 "1:\n\t"
				 "movl $1b, %0" : "=r"(after) : : "memory");
		break;
	case SW_INTN:
		__asm__ volatile(CATCH_ASM("int %1") "movl $2b, %0"
				 : "=r"(after) : "i"(VEC_KERNEL) : "memory");
		break;
	}
	return after;
}

static uint32_t user_software_interrupt(uint32_t which)
{
	return software_interrupt(which);
}

static void test_software_interrupts(void)
{
	trap_set_handler(VEC_BP, record_handler);
	trap_set_handler(VEC_OF, record_handler);
	trap_set_handler(VEC_DB, record_handler);
	trap_set_handler(VEC_KERNEL, record_handler);

	/* In ring 0: each is a trap, so the saved EIP is the next
	 * instruction (SDM vol. 3, 6.5, table 6-1). INTO traps only with
	 * OF = 1 (vol. 2, INTn/INTO/INT3/INT1). */
	static const struct {
		int which, vector;
		const char *name;
	} ring0[] = {
		{ SW_INT3, VEC_BP, "int3" }, { SW_INTO, VEC_OF, "into with OF=1" },
		{ SW_INT1, VEC_DB, "int1" }, { SW_INTN, VEC_KERNEL, "int n" },
	};
	for (unsigned k = 0; k < sizeof ring0 / sizeof ring0[0]; k++) {
		if (ring0[k].which != SW_INT1 || int1_works()) {
			x_count = 0;
			uint32_t after = software_interrupt((uint32_t)ring0[k].which);
			TEST_ASSERT_EQ(x_count, 1);
			TEST_ASSERT_EQ(x_vector, ring0[k].vector);
			TEST_ASSERT_EQ(x_eip, after);
		}
		printf("%s in ring 0: vector %d, EIP after it\n", ring0[k].name, ring0[k].vector);
	}
	x_count = 0;
	software_interrupt(SW_INTO_NO_OF);
	TEST_ASSERT_EQ(x_count, 0);
	TEST_ASSERT_EQ(last_fault.vector, -1);
	printf("into with OF=0: nothing\n");

	/* In ring 3 with DPL 0 gates: INT n, INT3 and INTO are checked
	 * against the gate's DPL: #GP((vector << 3) | IDT). INT1 is not
	 * (SDM vol. 3, 6.12.1, "Protection of Exception- and Interrupt-
	 * Handler Procedures"): it reaches the #DB handler. */
	static const struct {
		int which, vector;
		const char *name;
	} ring3[] = {
		{ SW_INT3, VEC_BP, "int3" }, { SW_INTO, VEC_OF, "into" },
		{ SW_INTN, VEC_KERNEL, "int n" },
	};
	for (unsigned k = 0; k < sizeof ring3 / sizeof ring3[0]; k++) {
		x_count = 0;
		user_call(user_software_interrupt, (uint32_t)ring3[k].which);
		TEST_ASSERT_EQ(x_count, 0);
		TEST_ASSERT_EQ(last_fault.vector, VEC_GP);
		TEST_ASSERT_EQ(last_fault.error_code, (uint32_t)ring3[k].vector << 3 | ERR_IDT);
		printf("%s in ring 3, gate DPL 0: #GP(0x%x)\n", ring3[k].name,
		       last_fault.error_code);
	}
	uint32_t after;
	if (int1_works()) {
		x_count = 0;
		after = user_call(user_software_interrupt, SW_INT1);
		TEST_ASSERT_EQ(x_count, 1);
		TEST_ASSERT_EQ(x_vector, VEC_DB);
		TEST_ASSERT_EQ(x_cs, USER_CS | 3);
		TEST_ASSERT_EQ(x_eip, after);
	}
	printf("int1 in ring 3, gate DPL 0: #DB, no DPL check\n");

	/* With DPL 3 the same INT3 reaches its handler from ring 3. */
	idt_set_gate(VEC_BP, GATE_INTERRUPT, 3);
	x_count = 0;
	after = user_call(user_software_interrupt, SW_INT3);
	TEST_ASSERT_EQ(x_count, 1);
	TEST_ASSERT_EQ(x_cs, USER_CS | 3);
	TEST_ASSERT_EQ(x_eip, after);
	idt_set_gate(VEC_BP, GATE_INTERRUPT, 0);
	printf("int3 in ring 3, gate DPL 3: #BP, EIP after it\n");
}

void kmain(struct multiboot_info *mbi)
{
	(void)mbi;
	TEST_ASSERT_EQ(read_cr0_32() & (CR0_PE | CR0_PG), CR0_PE);
	test_gates();
	test_gate16();
	test_call_gate();
	test_conforming();
	test_sysenter();
	test_software_interrupts();
	TEST_PASS();
}
