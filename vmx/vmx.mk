# The VT-x model: every vmx/*.c goes into build/libemu.a with the machine
# (emu/ asks vmx/ its questions through vmx/vmx.h).
VMX_SRCS := $(wildcard vmx/*.c)
EMU_OBJS += $(VMX_SRCS:%.c=$(BUILD)/%.o)
