# Freestanding guests, built with the host gcc (DESIGN.md, "The guests").
GUEST_CFLAGS := -m64 -O2 -ffreestanding -nostdlib -mno-red-zone -mgeneral-regs-only \
                -fno-pic -fno-pie -fno-stack-protector -fcf-protection=none \
                -fno-asynchronous-unwind-tables -Wall -Wextra -Werror -Iguests
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments

$(BUILD)/guests/%.o: guests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guests/%.o: guests/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

# The guest runtime (guests/lib) and the test guests (guests/tests), one
# Multiboot image per tests/NAME.c. See guests/lib/entry.S for why the
# images are converted to ELF32.
GUEST_TEST_CFLAGS := $(GUEST_CFLAGS) -fno-tree-loop-distribute-patterns -MMD -MP
GUEST_LIB_SRCS := $(wildcard guests/lib/*.c guests/lib/*.S)
GUEST_LIB_OBJS := $(patsubst guests/%,$(BUILD)/guests/%.o,$(basename $(GUEST_LIB_SRCS)))
GUEST_TESTS := $(sort $(basename $(notdir $(wildcard guests/tests/*.c))))
GUEST_TEST_ELFS := $(GUEST_TESTS:%=$(BUILD)/guests/tests/%.elf)
# Objects made by pattern rules would count as intermediate and be deleted.
.SECONDARY: $(GUEST_LIB_OBJS) $(GUEST_TESTS:%=$(BUILD)/guests/tests/%.o)

$(BUILD)/guests/lib/%.o: guests/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_TEST_CFLAGS) -c $< -o $@
$(BUILD)/guests/lib/%.o: guests/lib/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_TEST_CFLAGS) -c $< -o $@
$(BUILD)/guests/tests/%.o: guests/tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_TEST_CFLAGS) -c $< -o $@

# Link as x86-64, then convert to ELF32, which QEMU's Multiboot loader takes.
$(BUILD)/guests/tests/%.elf: $(BUILD)/guests/tests/%.o $(GUEST_LIB_OBJS) guests/lib/multiboot.ld
	$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -Wl,-z,max-page-size=0x1000 \
	    -T guests/lib/multiboot.ld -o $@.64 $< $(GUEST_LIB_OBJS)
	objcopy -O elf32-i386 $@.64 $@

.PHONY: guest-tests qemu-guest-tests
guest-tests: $(GUEST_TEST_ELFS)
all: guest-tests

# Each test guest under QEMU's TCG, the reference machine. The serial
# output goes to NAME.qemu.out (what nestlab's output will be compared
# with); exit status 33 is PASS (guests/lib/test.h). A test that needs
# more arguments (-append, -initrd) lists them in its source on a line
#     // qemu-args: ...
# in shell syntax, paths relative to the top of the tree. One test:
#     make qemu-guest-tests GUEST_TESTS=paging
#
# The CPU: IvyBridge-v1 has the signature nestlab's CPUID reports (family
# 6, model 0x3A, stepping 9, GenuineIntel). TCG lacks its x2APIC and
# TSC-deadline timer, so they are turned off rather than warned about;
# 1 GiB pages are added so that the paging test exercises them.
QEMU ?= qemu-system-x86_64
QEMU_TIMEOUT ?= 20
QEMU_CPU := IvyBridge-v1,-x2apic,-tsc-deadline,+pdpe1gb
QEMU_GUEST_FLAGS := -accel tcg -M pc -cpu $(QEMU_CPU) -m 128M -smp 1 -nodefaults \
                    -display none -no-reboot -serial stdio \
                    -device isa-debug-exit,iobase=0xf4,iosize=0x04

qemu-guest-tests: $(GUEST_TEST_ELFS)
	@command -v $(QEMU) >/dev/null || { echo "qemu-guest-tests: $(QEMU) not found"; exit 1; }
	@failed=0; \
	for t in $(GUEST_TESTS); do \
	    dir=$(BUILD)/guests/tests; \
	    eval "set -- $$(sed -n 's|^// qemu-args: ||p' guests/tests/$$t.c)"; \
	    timeout $(QEMU_TIMEOUT) $(QEMU) $(QEMU_GUEST_FLAGS) -kernel $$dir/$$t.elf "$$@" \
	        </dev/null >$$dir/$$t.qemu.out 2>$$dir/$$t.qemu.err; \
	    status=$$?; \
	    if [ $$status = 33 ]; then \
	        echo "$$t: PASS"; \
	    else \
	        failed=$$((failed + 1)); \
	        case $$status in \
	        35) why="FAIL";; \
	        124) why="timeout after $(QEMU_TIMEOUT) s";; \
	        0) why="no result (triple fault or halt?)";; \
	        *) why="exit status $$status";; \
	        esac; \
	        echo "$$t: $$why"; \
	        tail -n 5 $$dir/$$t.qemu.out | sed 's/^/    /'; \
	        tail -n 5 $$dir/$$t.qemu.err | sed 's/^/    qemu: /'; \
	    fi; \
	    [ -s $$dir/$$t.qemu.err ] || rm -f $$dir/$$t.qemu.err; \
	done; \
	if [ $$failed != 0 ]; then echo "qemu-guest-tests: $$failed failed"; exit 1; fi

# Benchmark guests (make bench): guests/bench/NAME.c with the same runtime.
$(BUILD)/guests/bench/%.o: guests/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_TEST_CFLAGS) -c $< -o $@
$(BUILD)/guests/bench/%.elf: $(BUILD)/guests/bench/%.o $(GUEST_LIB_OBJS) guests/lib/multiboot.ld
	$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -Wl,-z,max-page-size=0x1000 \
	    -T guests/lib/multiboot.ld -o $@.64 $< $(GUEST_LIB_OBJS)
	objcopy -O elf32-i386 $@.64 $@
BENCH_GUESTS := $(BUILD)/guests/bench/cpubound.elf
all: $(BENCH_GUESTS)

# The test guests on nestlab, and on QEMU TCG where it is installed, with
# their outputs compared (part of make test).
run-guest-tests: $(BUILD)/nestlab $(GUEST_TEST_ELFS)
	sh tests/guests.sh $(BUILD) $(BUILD)/nestlab "$(QEMU) $(QEMU_GUEST_FLAGS)"

# The demo (make demo): a Multiboot kernel on the runtime, booted headless.
$(BUILD)/guests/demo/%.o: guests/demo/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_TEST_CFLAGS) -c $< -o $@
$(BUILD)/guests/demo.elf: $(BUILD)/guests/demo/demo.o $(GUEST_LIB_OBJS) guests/lib/multiboot.ld
	$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -Wl,-z,max-page-size=0x1000 \
	    -T guests/lib/multiboot.ld -o $@.64 $< $(GUEST_LIB_OBJS)
	objcopy -O elf32-i386 $@.64 $@
all: $(BUILD)/guests/demo.elf

run-demo: $(BUILD)/nestlab $(BUILD)/guests/demo.elf
	@echo "$$ nestlab run build/guests/demo.elf --stats"
	@$(BUILD)/nestlab run $(BUILD)/guests/demo.elf --stats; \
	    s=$$?; [ $$s = 33 ] || { echo "demo: unexpected exit status $$s"; exit 1; }

# Legacy test guests: a test whose source has the line
#     // runtime: legacy
# is 32-bit code on the legacy runtime (guests/lib/legacy), which stays in
# protected mode without paging instead of switching to long mode. Part
# of lib/ is shared, compiled a second time as 32-bit code into lib32/.
# These explicit rules take precedence over the pattern rules above.
GUEST_LEGACY_TESTS := $(basename $(notdir $(shell grep -l '^// runtime: legacy$$' guests/tests/*.c)))
GUEST32_CFLAGS := $(patsubst -m64,-m32,$(GUEST_CFLAGS))
GUEST32_TEST_CFLAGS := $(patsubst -m64,-m32,$(GUEST_TEST_CFLAGS))
GUEST32_LIB_SRCS := $(wildcard guests/lib/legacy/*.c guests/lib/legacy/*.S) \
                    $(addprefix guests/lib/,printf.c serial.c string.c quirks.c pic.c)
GUEST32_LIB_OBJS := $(patsubst guests/lib/%,$(BUILD)/guests/lib32/%.o,$(basename $(GUEST32_LIB_SRCS)))
.SECONDARY: $(GUEST32_LIB_OBJS)

$(BUILD)/guests/lib32/%.o: guests/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST32_TEST_CFLAGS) -c $< -o $@
$(BUILD)/guests/lib32/%.o: guests/lib/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST32_TEST_CFLAGS) -c $< -o $@
$(GUEST_LEGACY_TESTS:%=$(BUILD)/guests/tests/%.o): $(BUILD)/guests/tests/%.o: guests/tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST32_TEST_CFLAGS) -c $< -o $@
$(GUEST_LEGACY_TESTS:%=$(BUILD)/guests/tests/%.elf): $(BUILD)/guests/tests/%.elf: \
		$(BUILD)/guests/tests/%.o $(GUEST32_LIB_OBJS) guests/lib/legacy/legacy.ld
	$(CC) $(GUEST32_CFLAGS) $(GUEST_LDFLAGS) -Wl,-z,max-page-size=0x1000 \
	    -T guests/lib/legacy/legacy.ld -o $@ $< $(GUEST32_LIB_OBJS)
