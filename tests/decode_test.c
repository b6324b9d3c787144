/* The decoder on raw bytes: every field and the length (SDM vol. 2, ch. 2). */
#include <criterion/criterion.h>

#include "emu/decode.h"
#include "emu/insn.h"
#include "emu/ops.h"

static struct insn dec(int code_sz, const char *bytes, int n, int want_len)
{
	struct insn i;
	int len = emu_decode((const uint8_t *)bytes, n, code_sz, &i);
	cr_assert_eq(len, want_len, "length %d, want %d", len, want_len);
	return i;
}

Test(decode, modrm_sib_disp32_64bit)
{
	/* 48 8b 84 8b 78 56 34 12: mov rax, [rbx + rcx*4 + 0x12345678] */
	struct insn i = dec(SZ64, "\x48\x8b\x84\x8b\x78\x56\x34\x12", 8, 8);
	cr_assert_eq(i.fn, op_mov_GvEv_msz[SZ64], "the memory form, specialized by size");
	cr_assert_eq(i.osz, SZ64);
	cr_assert_eq(i.asz, SZ64);
	cr_assert_eq(i.mod, 2);
	cr_assert_eq(i.reg, R_AX);
	cr_assert_eq(i.base, R_BX);
	cr_assert_eq(i.index, R_CX);
	cr_assert_eq(i.scale, 2);
	cr_assert_eq(i.disp, 0x12345678);
	cr_assert_eq(i.seg, SEG_DS);
	cr_assert_eq(i.rex, 0x48);
}

Test(decode, rip_relative_and_rex_extensions)
{
	/* 4c 8b 3d f0 ff ff ff: mov r15, [rip - 16] */
	struct insn i = dec(SZ64, "\x4c\x8b\x3d\xf0\xff\xff\xff", 7, 7);
	cr_assert_eq(i.reg, R_R15);
	cr_assert_eq(i.base, EA_RIP);
	cr_assert_eq(i.index, EA_NONE);
	cr_assert_eq(i.disp, -16);
	/* 67 prefix: the same form is EIP-relative with a 32-bit address size */
	i = dec(SZ64, "\x67\x8b\x05\x00\x01\x00\x00", 7, 7);
	cr_assert_eq(i.asz, SZ32);
	cr_assert_eq(i.base, EA_RIP);
	/* 43 8b 04 2c: mov eax, [r12 + r13]: R12 base goes through SIB, uses DS */
	i = dec(SZ64, "\x43\x8b\x04\x2c", 4, 4);
	cr_assert_eq(i.base, R_R12);
	cr_assert_eq(i.index, R_R13);
	cr_assert_eq(i.seg, SEG_DS);
	/* 8b 44 24 08: mov eax, [rsp + 8]: stack segment */
	i = dec(SZ64, "\x8b\x44\x24\x08", 4, 4);
	cr_assert_eq(i.base, R_SP);
	cr_assert_eq(i.seg, SEG_SS);
	cr_assert_eq(i.disp, 8);
}

Test(decode, sixteen_bit_addressing)
{
	/* 8b 42 fe: mov ax, [bp + si - 2] in 16-bit code: SS by default */
	struct insn i = dec(SZ16, "\x8b\x42\xfe", 3, 3);
	cr_assert_eq(i.osz, SZ16);
	cr_assert_eq(i.asz, SZ16);
	cr_assert_eq(i.base, R_BP);
	cr_assert_eq(i.index, R_SI);
	cr_assert_eq(i.disp, -2);
	cr_assert_eq(i.seg, SEG_SS);
	/* 8b 06 34 12: mov ax, [0x1234] (mod 0, rm 6 is disp16 alone) */
	i = dec(SZ16, "\x8b\x06\x34\x12", 4, 4);
	cr_assert_eq(i.base, EA_NONE);
	cr_assert_eq(i.disp, 0x1234);
	cr_assert_eq(i.seg, SEG_DS);
	/* 66 67 in 16-bit code: 32-bit operand and address sizes */
	i = dec(SZ16, "\x66\x67\x8b\x04\x24", 5, 5);
	cr_assert_eq(i.osz, SZ32);
	cr_assert_eq(i.asz, SZ32);
	cr_assert_eq(i.base, R_SP);
}

Test(decode, byte_registers_with_and_without_rex)
{
	/* 88 e0: mov al, ah */
	struct insn i = dec(SZ64, "\x88\xe0", 2, 2);
	cr_assert_eq(i.reg, REG_AH);
	cr_assert_eq(i.rm, R_AX);
	/* 40 88 e0: mov al, spl (REX turns 4 into SPL) */
	i = dec(SZ64, "\x40\x88\xe0", 3, 3);
	cr_assert_eq(i.reg, R_SP);
	/* 41 b7 05: mov r15b, 5 */
	i = dec(SZ64, "\x41\xb7\x05", 3, 3);
	cr_assert_eq(i.reg, R_R15);
	cr_assert_eq(i.imm, 5);
}

Test(decode, immediates)
{
	/* 48 b8 imm64: mov rax, 0x1122334455667788 */
	struct insn i = dec(SZ64, "\x48\xb8\x88\x77\x66\x55\x44\x33\x22\x11", 10, 10);
	cr_assert_eq(i.imm, 0x1122334455667788ull);
	/* 48 83 c0 ff: add rax, -1 (imm8 sign-extended) */
	i = dec(SZ64, "\x48\x83\xc0\xff", 4, 4);
	cr_assert_eq(i.fn, op_add_EvIz_rsz[SZ64], "the register form, specialized by size");
	cr_assert_eq(i.imm, ~0ull);
	/* 66 05 34 12: add ax, 0x1234 */
	i = dec(SZ32, "\x66\x05\x34\x12", 4, 4);
	cr_assert_eq(i.osz, SZ16);
	cr_assert_eq(i.imm, 0x1234);
	/* c8 10 00 02: enter 16, 2 */
	i = dec(SZ32, "\xc8\x10\x00\x02", 4, 4);
	cr_assert_eq(i.imm, 16);
	cr_assert_eq(i.imm2, 2);
	/* a1 moffs64 in 64-bit mode */
	i = dec(SZ64, "\xa1\x00\x10\x00\x00\x00\x00\x00\x00", 9, 9);
	cr_assert_eq(i.disp, 0x1000);
}

Test(decode, operand_size_in_64bit_mode)
{
	/* 50: push rax is 64-bit; 66 50 is push ax */
	cr_assert_eq(dec(SZ64, "\x50", 1, 1).osz, SZ64);
	cr_assert_eq(dec(SZ64, "\x66\x50", 2, 2).osz, SZ16);
	/* e8 rel32: call is 64-bit even with 66h (Intel) */
	struct insn i = dec(SZ64, "\x66\xe8\x00\x00\x00\x00", 6, 6);
	cr_assert_eq(i.osz, SZ64);
	/* REX.W wins over 66h */
	cr_assert_eq(dec(SZ64, "\x66\x48\x01\xc0", 4, 4).osz, SZ64);
	/* a REX followed by another prefix is ignored */
	i = dec(SZ64, "\x48\x66\x01\xc0", 4, 4);
	cr_assert_eq(i.osz, SZ16);
	cr_assert_eq(i.rex, 0);
}

Test(decode, groups_and_mandatory_prefixes)
{
	cr_assert_eq(dec(SZ64, "\xf7\xd8", 2, 2).fn, op_neg);
	cr_assert_eq(dec(SZ64, "\xf7\xc0\x01\x00\x00\x00", 6, 6).fn, op_test_EvIz);
	cr_assert_eq(dec(SZ64, "\x0f\xbc\xc1", 3, 3).fn, op_bsf);
	cr_assert_eq(dec(SZ64, "\xf3\x0f\xbc\xc1", 4, 4).fn, op_tzcnt);
	cr_assert_eq(dec(SZ64, "\xf3\x0f\xbd\xc1", 4, 4).fn, op_lzcnt);
	cr_assert_eq(dec(SZ64, "\xf3\x0f\xb8\xc1", 4, 4).fn, op_popcnt);
	cr_assert_eq(dec(SZ64, "\x0f\x1f\x44\x00\x00", 5, 5).fn, op_nop);
	struct insn i = dec(SZ64, "\xf3\x48\xab", 3, 3);
	cr_assert_eq(i.fn, op_stos);
	cr_assert_eq(i.rep, REP_F3);
	cr_assert_eq(i.osz, SZ64);
}

Test(decode, invalid_forms_are_ud)
{
	struct insn i;
	/* 0F B8 without F3 (JMPE) */
	cr_assert_eq(emu_decode((const uint8_t *)"\x0f\xb8\xc1", 3, SZ64, &i), 0);
	/* PUSHA and the BCD instructions in 64-bit mode */
	cr_assert_eq(emu_decode((const uint8_t *)"\x60", 1, SZ64, &i), 0);
	cr_assert_eq(emu_decode((const uint8_t *)"\x27", 1, SZ64, &i), 0);
	cr_assert_eq(emu_decode((const uint8_t *)"\x27", 1, SZ32, &i), 1);
	/* LEA with a register operand */
	cr_assert_eq(emu_decode((const uint8_t *)"\x8d\xc0", 2, SZ64, &i), 0);
	/* LOCK on a register destination, and on MOV */
	cr_assert_eq(emu_decode((const uint8_t *)"\xf0\x01\xc0", 3, SZ64, &i), 0);
	cr_assert_eq(emu_decode((const uint8_t *)"\xf0\x89\x00", 3, SZ64, &i), 0);
	cr_assert_eq(emu_decode((const uint8_t *)"\xf0\x01\x00", 3, SZ64, &i), 3);
	/* CMP is not lockable, in any form */
	cr_assert_eq(emu_decode((const uint8_t *)"\xf0\x39\x03", 3, SZ64, &i), 0);
	cr_assert_eq(emu_decode((const uint8_t *)"\xf0\x80\x38\x01", 4, SZ64, &i), 0);
	/* MOV with a segment register that does not exist, or to CS; 0F 00 /6 */
	cr_assert_eq(emu_decode((const uint8_t *)"\x8c\xf0", 2, SZ64, &i), 0);
	cr_assert_eq(emu_decode((const uint8_t *)"\x8e\xc8", 2, SZ32, &i), 0);
	cr_assert_eq(emu_decode((const uint8_t *)"\x8e\xd8", 2, SZ32, &i), 2);
	cr_assert_eq(emu_decode((const uint8_t *)"\x0f\x00\xf0", 3, SZ32, &i), 0);
	/* group 5 /7 */
	cr_assert_eq(emu_decode((const uint8_t *)"\xff\xff", 2, SZ64, &i), 0);
}

Test(decode, too_short_and_too_long)
{
	struct insn i;
	cr_assert_eq(emu_decode((const uint8_t *)"\x48\x8b\x84", 3, SZ64, &i), -1);
	/* 14 prefixes then a 2-byte instruction: 16 bytes, over the limit */
	cr_assert_eq(emu_decode((const uint8_t *)"\x66\x66\x66\x66\x66\x66\x66\x66"
						 "\x66\x66\x66\x66\x66\x66\x01\xc0", 16, SZ32, &i), -1);
	/* 13 prefixes: 15 bytes exactly is fine */
	cr_assert_eq(emu_decode((const uint8_t *)"\x66\x66\x66\x66\x66\x66\x66\x66"
						 "\x66\x66\x66\x66\x66\x01\xc0", 15, SZ32, &i), 15);
}
