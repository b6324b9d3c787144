# nestlab: one entry point. The per-directory rules live in */*.mk.
#
#   make          build build/nestlab and the test binaries
#   make test     install what is missing, build, run the unit and differential tests
#   make demo     install what is missing, build, run the demo
#   make bench    the benchmarks (figures and ratios, never pass/fail)
#   make soak     the long differential run against Unicorn
#   make asan     the tests under AddressSanitizer and UBSan
#   make deps     install the Debian packages nestlab needs (apt-get)

BUILD    ?= build
CC       ?= gcc
OPT      ?= -O2
SAN      ?=
CFLAGS   := -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -fno-strict-aliasing \
            -I. $(SAN) $(EXTRA_CFLAGS)
LDFLAGS  := $(SAN)
PKGS     := unicorn capstone libcjson criterion sdl2 SDL2_ttf fontconfig zlib
pkgcflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pkglibs   = $(shell pkg-config --libs $(1) 2>/dev/null)

# The Debian packages a fresh machine needs; `make deps` installs them.
DEB_PACKAGES := build-essential pkg-config libsdl2-dev libsdl2-ttf-dev \
                libcapstone-dev libunicorn-dev libcjson-dev libcriterion-dev \
                qemu-system-x86 fonts-dejavu-core fontconfig gdb \
                libfontconfig-dev zlib1g-dev xvfb xauth

.PHONY: all test demo bench soak asan deps check-deps check clean
all:

include emu/emu.mk
include vmx/vmx.mk
include gui/gui.mk
include guests/guests.mk
include tests/tests.mk

# test and demo first make sure the packages are there, then build in a
# second make, so that pkg-config sees what was just installed.
test: check-deps
	@$(MAKE) --no-print-directory check
demo: check-deps
	@$(MAKE) --no-print-directory run-demo
bench: check-deps
	@$(MAKE) --no-print-directory run-bench
soak: check-deps
	@$(MAKE) --no-print-directory run-soak
asan: check-deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" check

check-deps:
	@if ! command -v cc >/dev/null || ! command -v pkg-config >/dev/null || \
	    ! pkg-config --exists $(PKGS); then \
	    echo "nestlab: some build dependencies are missing; running 'make deps'"; \
	    $(MAKE) --no-print-directory deps; fi

deps:
	@if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	$$sudo apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DEB_PACKAGES)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS_$(patsubst %/,%,$(dir $<))) -MMD -MP -c $< -o $@

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
