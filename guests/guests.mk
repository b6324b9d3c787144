# Freestanding guests, built with the host gcc (DESIGN.md, "The guests").
GUEST_CFLAGS := -m64 -O2 -ffreestanding -nostdlib -mno-red-zone -mgeneral-regs-only \
                -fno-pic -fno-pie -fno-stack-protector -fcf-protection=none \
                -fno-asynchronous-unwind-tables -Wall -Wextra -Werror -Iguests
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments

# The guest runtime (guests/lib) and the test guests (guests/tests), one
# Multiboot image per tests/NAME.c. See guests/lib/entry.S for why the
# images are converted to ELF32.
GUEST_TEST_CFLAGS := $(GUEST_CFLAGS) -fno-tree-loop-distribute-patterns -MMD -MP
GUEST_LIB_SRCS := $(wildcard guests/lib/*.c guests/lib/*.S)
GUEST_LIB_OBJS := $(patsubst guests/%,$(BUILD)/guests/%.o,$(basename $(GUEST_LIB_SRCS)))
GUEST_TESTS := $(sort $(basename $(notdir $(wildcard guests/tests/*.c))))
GUEST_TEST_ELFS := $(GUEST_TESTS:%=$(BUILD)/guests/tests/%.elf)
# Objects made by pattern rules would count as intermediate and be deleted.
.SECONDARY: $(GUEST_LIB_OBJS) $(GUEST_TESTS:%=$(BUILD)/guests/tests/%.o) \
            $(BUILD)/guests/demo/demo.o $(BUILD)/guests/bench/cpubound.o \
            $(BUILD)/guests/bench/vmexit.o

# Every guest source compiles the same way; every guest (test, demo,
# benchmark) links with the runtime as x86-64, then becomes ELF32, which
# QEMU's Multiboot loader takes.
$(BUILD)/guests/%.o: guests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_TEST_CFLAGS) -c $< -o $@
$(BUILD)/guests/%.o: guests/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_TEST_CFLAGS) -c $< -o $@
$(BUILD)/guests/%.elf: $(BUILD)/guests/%.o $(GUEST_LIB_OBJS) guests/lib/multiboot.ld
	$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -Wl,-z,max-page-size=0x1000 \
	    -T guests/lib/multiboot.ld -o $@.64 $< $(GUEST_LIB_OBJS)
	objcopy -O elf32-i386 $@.64 $@

.PHONY: guest-tests run-guest-tests
guest-tests: $(GUEST_TEST_ELFS)
all: guest-tests

# The test guests run on nestlab and on QEMU's TCG, the reference machine
# (tests/guests.sh, part of make test): exit status 33 is PASS
# (guests/lib/test.h) and the serial outputs must match. A test that needs
# more arguments (-append, -initrd) lists them in its source on a line
#     // qemu-args: ...
# in shell syntax, paths relative to the top of the tree. One test:
#     sh tests/guests.sh build build/nestlab "$(QEMU) ..." paging
#
# The CPU: IvyBridge-v1 has the signature nestlab's CPUID reports (family
# 6, model 0x3A, stepping 9, GenuineIntel). TCG lacks its x2APIC and
# TSC-deadline timer, so they are turned off rather than warned about;
# 1 GiB pages are added so that the paging test exercises them.
QEMU ?= qemu-system-x86_64
QEMU_CPU := IvyBridge-v1,-x2apic,-tsc-deadline,+pdpe1gb
QEMU_GUEST_FLAGS := -accel tcg -M pc -cpu $(QEMU_CPU) -m 128M -smp 1 -nodefaults \
                    -display none -no-reboot -serial stdio \
                    -device isa-debug-exit,iobase=0xf4,iosize=0x04

# Benchmark guests (make bench): guests/bench/NAME.c with the same runtime.
BENCH_GUESTS := $(BUILD)/guests/bench/cpubound.elf $(BUILD)/guests/bench/vmexit.elf
all: $(BENCH_GUESTS)

# The test guests on nestlab, and on QEMU TCG where it is installed, with
# their outputs compared (part of make test).
run-guest-tests: $(BUILD)/nestlab $(GUEST_TEST_ELFS)
	sh tests/guests.sh $(BUILD) $(BUILD)/nestlab "$(QEMU) $(QEMU_GUEST_FLAGS)"

# Legacy guests: a test or L2 guest whose source has the line
#     // runtime: legacy
# is 32-bit code on the legacy runtime (guests/lib/legacy), which stays in
# protected mode without paging instead of switching to long mode. Part
# of lib/ is shared, compiled a second time as 32-bit code into lib32/.
# These explicit rules take precedence over the pattern rules above.
# GUEST_LEGACY holds their paths without .c: guests/tests/realmode ...
GUEST_LEGACY := $(basename $(shell grep -l '^// runtime: legacy$$' guests/tests/*.c guests/l2/*.c))
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
$(GUEST_LEGACY:guests/%=$(BUILD)/guests/%.o): $(BUILD)/guests/%.o: guests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST32_TEST_CFLAGS) -c $< -o $@
$(GUEST_LEGACY:guests/%=$(BUILD)/guests/%.elf): $(BUILD)/guests/%.elf: \
		$(BUILD)/guests/%.o $(GUEST32_LIB_OBJS) guests/lib/legacy/legacy.ld
	$(CC) $(GUEST32_CFLAGS) $(GUEST_LDFLAGS) -Wl,-z,max-page-size=0x1000 \
	    -T guests/lib/legacy/legacy.ld -o $@ $< $(GUEST32_LIB_OBJS)

# The teaching hypervisors: type1 (bare metal), type2 (a host kernel
# with a /dev/kvm-like module and user-space VMMs) and nested (an L1 that
# runs type1 as its guest) each link their own files, what they share
# (guests/hvlib) and the runtime.
HVLIB_OBJS := $(patsubst guests/%.c,$(BUILD)/guests/%.o,$(wildcard guests/hvlib/*.c))
TYPE1_OBJS := $(patsubst guests/%.c,$(BUILD)/guests/%.o,$(wildcard guests/type1/*.c)) $(HVLIB_OBJS)
TYPE2_OBJS := $(patsubst guests/%.c,$(BUILD)/guests/%.o,$(wildcard guests/type2/*.c)) $(HVLIB_OBJS)
NESTED_OBJS := $(patsubst guests/%.c,$(BUILD)/guests/%.o,$(wildcard guests/nested/*.c)) $(HVLIB_OBJS)
.SECONDARY: $(TYPE1_OBJS) $(TYPE2_OBJS) $(NESTED_OBJS)
HV_ELFS := $(BUILD)/guests/type1/type1.elf $(BUILD)/guests/type2/type2.elf \
           $(BUILD)/guests/nested/nested.elf
$(BUILD)/guests/type1/type1.elf: $(TYPE1_OBJS)
$(BUILD)/guests/type2/type2.elf: $(TYPE2_OBJS)
$(BUILD)/guests/nested/nested.elf: $(NESTED_OBJS)
$(HV_ELFS): $(BUILD)/guests/%.elf: $(GUEST_LIB_OBJS) guests/lib/multiboot.ld
	$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -Wl,-z,max-page-size=0x1000 \
	    -T guests/lib/multiboot.ld -o $@.64 $(filter %.o,$^)
	objcopy -O elf32-i386 $@.64 $@
all: $(HV_ELFS)

# The L2 guests (guests/l2): small programs that the teaching hypervisors
# run as Multiboot modules, and that boot bare as well. One image per
# l2/NAME.c, on the runtime, or on the legacy runtime with the line
# "// runtime: legacy" (as the tests). tests/l2.sh, part of make test,
# boots each bare on nestlab, on QEMU TCG and, where /dev/kvm is usable,
# on KVM, and compares the outputs. For one guest, run the command that
# make run-l2-guests prints with the guest's name added at the end.
L2_GUESTS := $(sort $(basename $(notdir $(wildcard guests/l2/*.c))))
L2_ELFS := $(L2_GUESTS:%=$(BUILD)/guests/l2/%.elf)
.SECONDARY: $(L2_GUESTS:%=$(BUILD)/guests/l2/%.o)
all: $(L2_ELFS)

# KVM runs the same CPU model as TCG, so that CPUID (features, family,
# model) is much the same on all three machines; "-cpu host" would show
# the host's processor, and aborts on some nested setups (MSR 0x10a).
# Under KVM, QEMU still reports the host's vendor string.
QEMU_KVM_FLAGS := $(subst -accel tcg,-accel kvm,$(QEMU_GUEST_FLAGS))

.PHONY: l2-guests run-l2-guests
l2-guests: $(L2_ELFS)
run-l2-guests: $(BUILD)/nestlab $(L2_ELFS)
	sh tests/l2.sh $(BUILD) $(BUILD)/nestlab "$(QEMU) $(QEMU_GUEST_FLAGS)" \
	    "$(QEMU) $(QEMU_KVM_FLAGS)"

# The demo (make demo): the L2 guests bare and under type1, side by side
# (guests/demo/run.sh). guests/demo/demo.c is a tour of the runtime as one
# kernel: ring 3, a page fault, a VT-x guest of its own.
all: $(BUILD)/guests/demo/demo.elf

run-demo: $(BUILD)/nestlab $(HV_ELFS) $(L2_ELFS)
	@sh guests/demo/run.sh $(BUILD) $(BUILD)/nestlab
