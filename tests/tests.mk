# Tests: Criterion unit tests (tests/*_test.c), the differential run against
# Unicorn (tests/diff/), decoder lengths against Capstone, the benchmark.
UNIT_SRCS := $(wildcard tests/*_test.c)
UNIT_BIN  := $(BUILD)/tests/unit
DIFF_SRCS := $(wildcard tests/diff/*.c)
DIFF_BIN  := $(BUILD)/tests/unicorn-diff
LEN_BIN   := $(BUILD)/tests/lencheck
BENCH_BIN := $(BUILD)/tests/bench

EXTRA_CFLAGS_tests      = $(call pkgcflags,criterion unicorn capstone) -DNESTLAB_BUILD=\"$(BUILD)\"
EXTRA_CFLAGS_tests/diff = $(call pkgcflags,unicorn)

$(UNIT_BIN): $(UNIT_SRCS:%.c=$(BUILD)/%.o) $(EMU_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkglibs,criterion libcjson)
$(DIFF_BIN): $(DIFF_SRCS:%.c=$(BUILD)/%.o) $(EMU_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkglibs,unicorn) -lm
$(LEN_BIN): $(BUILD)/tests/lencheck.o $(EMU_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkglibs,capstone)
$(BENCH_BIN): $(BUILD)/tests/bench.o $(EMU_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkglibs,unicorn libcjson)

TEST_BINS := $(UNIT_BIN) $(DIFF_BIN) $(LEN_BIN) $(BENCH_BIN)
all: $(TEST_BINS)

# CI-sized runs; `make soak` is the long one.
DIFF_CASES ?= 3000
check: all
	$(UNIT_BIN) --jobs 2
	sh tests/cli.sh $(BUILD)/nestlab
	@$(MAKE) --no-print-directory run-guest-tests
	@$(MAKE) --no-print-directory run-l2-guests
	sh tests/hv.sh $(BUILD) $(BUILD)/nestlab
	sh tests/nested.sh $(BUILD) $(BUILD)/nestlab
	@$(MAKE) --no-print-directory run-kvm-tests
	sh tests/snap.sh $(BUILD) $(BUILD)/nestlab
	sh tests/gdb.sh $(BUILD) $(BUILD)/nestlab
	sh tests/record.sh $(BUILD) $(BUILD)/nestlab
	sh tests/gui.sh $(BUILD) $(BUILD)/nestlab
	$(DIFF_BIN) --cases $(DIFF_CASES)
	$(LEN_BIN) --count 200000

run-soak: all
	$(DIFF_BIN) --cases 200000 --seed $$(date +%s)

run-bench: all
	$(BENCH_BIN) --guest $(BUILD)/guests/bench/cpubound.elf \
	    --vmexit-guest $(BUILD)/guests/bench/vmexit.elf
	@# the debugger window: a step and its redraw (target: under 16 ms), under Xvfb
	@if command -v xvfb-run >/dev/null; then \
	    printf 'run-to-entry\ntime-steps 200\n' >$(BUILD)/bench-gui.txt; \
	    xvfb-run -a -s '-screen 0 1600x1000x24' $(BUILD)/nestlab gui \
	        $(BUILD)/guests/type1/type1.elf --module $(BUILD)/guests/l2/hello64.elf \
	        --script $(BUILD)/bench-gui.txt; \
	else echo "gui: not measured (no xvfb-run)"; fi

# The KVM backend (tests/kvm.sh): bad input everywhere; where /dev/kvm is
# usable, every guest on both backends with the outputs compared, QEMU on
# the same KVM as the referee for what this host's KVM cannot run.
run-kvm-tests: $(BUILD)/nestlab $(GUEST_TEST_ELFS) $(L2_ELFS) $(BUILD)/guests/type1/type1.elf
	sh tests/kvm.sh $(BUILD) $(BUILD)/nestlab "$(QEMU) $(QEMU_KVM_FLAGS)"
