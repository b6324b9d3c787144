# The machine: every emu/*.c but main.c goes into build/libemu.a.
.SECONDEXPANSION:
EMU_SRCS := $(filter-out emu/main.c,$(wildcard emu/*.c))
EMU_OBJS := $(EMU_SRCS:%.c=$(BUILD)/%.o)
EMU_LIB  := $(BUILD)/libemu.a

# vmx/vmx.mk adds its objects to EMU_OBJS; expand it when the rule runs.
$(EMU_LIB): $$(EMU_OBJS)
	@rm -f $@
	ar rcs $@ $^

EXTRA_CFLAGS_emu = $(call pkgcflags,libcjson)

# nestlab links the debugger window (gui/gui.mk); it needs a display only
# when `nestlab gui` opens one.
$(BUILD)/nestlab: $(BUILD)/emu/main.o $$(GUI_LIB) $(EMU_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkglibs,libcjson $(GUI_PKGS))

all: $(BUILD)/nestlab
