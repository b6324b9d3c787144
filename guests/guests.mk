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

# The demo: the instruction core on a small program (make demo).
DEMO_OBJS := $(BUILD)/guests/demo/start.o $(BUILD)/guests/demo/demo.o
$(BUILD)/guests/demo.elf: $(DEMO_OBJS) guests/flat64.ld
	$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -T guests/flat64.ld -o $@ $(DEMO_OBJS)
$(BUILD)/guests/demo.bin: $(BUILD)/guests/demo.elf
	objcopy -O binary $< $@

all: $(BUILD)/guests/demo.bin

run-demo: $(BUILD)/nestlab $(BUILD)/guests/demo.bin
	$(BUILD)/nestlab run --bits 64 --load 0x100000 --stats $(BUILD)/guests/demo.bin
