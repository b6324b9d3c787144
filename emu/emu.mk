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

$(BUILD)/nestlab: $(BUILD)/emu/main.o $(EMU_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkglibs,libcjson)

all: $(BUILD)/nestlab
