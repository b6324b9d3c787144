# The debugger window: every gui/*.c into build/libgui.a, linked into
# build/nestlab with SDL2, SDL2_ttf, fontconfig, Capstone and zlib.
GUI_SRCS := $(wildcard gui/*.c)
GUI_OBJS := $(GUI_SRCS:%.c=$(BUILD)/%.o)
GUI_LIB  := $(BUILD)/libgui.a
GUI_PKGS := sdl2 SDL2_ttf fontconfig capstone zlib

EXTRA_CFLAGS_gui = $(call pkgcflags,$(GUI_PKGS))

$(GUI_LIB): $(GUI_OBJS)
	@rm -f $@
	ar rcs $@ $^
