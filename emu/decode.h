#ifndef EMU_DECODE_H
#define EMU_DECODE_H

#include "emu/cpu.h"
#include "emu/insn.h"

/* Decode one instruction from bytes[0..n) in code size code_sz (SZ16/SZ32/SZ64).
 * Returns the length (1..15) and fills *out, or returns 0 if the bytes are
 * not an instruction nestlab implements (it would raise #UD), or -1 if n is
 * too short / longer than 15 bytes (it would raise #GP or a fetch fault).
 * *ends_block is set for instructions after which a decoded block stops. */
int emu_decode_ex(const uint8_t *bytes, int n, int code_sz, struct insn *out,
		  bool *ends_block);
int emu_decode(const uint8_t *bytes, int n, int code_sz, struct insn *out);

#endif
