/* What the host's KVM offers and counts: nested VMX (and, when it is not
 * there, why and what to do), and the vCPU's binary statistics
 * (Documentation/virt/kvm/api.rst, KVM_GET_STATS_FD: a header, then
 * descriptors, then the data, read with pread). */
#include <cpuid.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "emu/kvm.h"

#define say(buf, len, lang, id, ...) snprintf(buf, len, msg(lang, MSG_##id), ##__VA_ARGS__)

/* The kvm_intel module's "nested" parameter: 'Y' or '1' on, 'N' or '0'
 * off, 0 when there is no such file (kvm_intel not loaded). */
static char nested_param(void)
{
	FILE *f = fopen("/sys/module/kvm_intel/parameters/nested", "r");
	if (!f)
		return 0;
	int ch = fgetc(f);
	fclose(f);
	return ch == EOF ? 0 : (char)ch;
}

static bool host_is_amd(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(0, &a, &b, &c, &d))
		return false;
	return b == 0x68747541u && d == 0x69746e65u && c == 0x444d4163u; /* "AuthenticAMD" */
}

int kvm_vmx_hint(int sys, enum lang lang, char *hint, size_t len)
{
	struct kvm_cpuid2 *t = kvm_supported_cpuid(sys);
	bool vmx = false;
	for (unsigned k = 0; t && k < t->nent; k++)
		if (t->entries[k].function == 1)
			vmx = (t->entries[k].ecx >> 5) & 1; /* CPUID.1:ECX.VMX */
	free(t);
	if (vmx)
		return 1;
	char nested = nested_param();
	if (host_is_amd())
		say(hint, len, lang, KVM_HINT_AMD);
	else if (nested == 'N' || nested == '0')
		say(hint, len, lang, KVM_HINT_NESTED_OFF);
	else if (!nested)
		say(hint, len, lang, KVM_HINT_NO_KVM_INTEL);
	else
		say(hint, len, lang, KVM_HINT_NO_VMX);
	return 0;
}

int kvm_offers_vmx(const char *device, enum lang lang, char *hint, size_t len)
{
	int sys = kvm_open(device, lang, hint, len);
	if (sys < 0)
		return -1;
	int r = kvm_vmx_hint(sys, lang, hint, len);
	close(sys);
	return r;
}

/* The counters that tell about exits: cumulative, plain numbers, one
 * value, and a name that says exits (exits, io_exits, halt_exits, ...)
 * or a few more a student would ask about. */
static bool wanted(const struct kvm_stats_desc *d, const char *name)
{
	static const char *const more[] = { "insn_emulation", "hypercalls", "halt_wakeup",
					    "nmi_injections", "irq_injections" };
	if ((d->flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_CUMULATIVE ||
	    (d->flags & KVM_STATS_UNIT_MASK) != KVM_STATS_UNIT_NONE || d->size != 1)
		return false;
	if (strstr(name, "exits"))
		return true;
	for (size_t k = 0; k < sizeof more / sizeof more[0]; k++)
		if (!strcmp(name, more[k]))
			return true;
	return false;
}

static void read_descs(int fd, const struct kvm_stats_header *h, struct kvm_stat_set *out)
{
	size_t dsize = sizeof(struct kvm_stats_desc) + h->name_size;
	struct kvm_stats_desc *d = malloc(dsize + 1);
	if (!d)
		return;
	for (uint32_t k = 0; k < h->num_desc && out->n < KVM_STAT_MAX; k++) {
		if (pread(fd, d, dsize, h->desc_offset + (off_t)k * (off_t)dsize) != (ssize_t)dsize)
			break;
		char *name = (char *)d + sizeof *d;
		name[h->name_size - 1] = 0;
		uint64_t v;
		if (!wanted(d, name) ||
		    pread(fd, &v, sizeof v, h->data_offset + d->offset) != (ssize_t)sizeof v)
			continue;
		struct stat_count *s = &out->s[out->n++];
		snprintf(s->name, sizeof s->name, "%s", name);
		s->n = v;
	}
	free(d);
}

void kvm_stats_read(int vcpu, struct kvm_stat_set *out)
{
	memset(out, 0, sizeof *out);
	int fd = ioctl(vcpu, KVM_GET_STATS_FD, 0);
	if (fd < 0) {
		snprintf(out->why, sizeof out->why, "KVM_GET_STATS_FD: %s", strerror(errno));
		return;
	}
	struct kvm_stats_header h;
	if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || h.name_size == 0 ||
	    h.name_size > 4096) {
		snprintf(out->why, sizeof out->why, "KVM_GET_STATS_FD: unreadable header");
		close(fd);
		return;
	}
	read_descs(fd, &h, out);
	close(fd);
	out->ok = true;
}

void kvm_stats_since(int vcpu, const struct kvm_stat_set *before, struct backend_stats *stats,
		     enum lang lang)
{
	struct kvm_stat_set now;
	kvm_stats_read(vcpu, &now);
	stats->nkernel = 0;
	stats->kernel_exits = 0;
	stats->has_kernel = now.ok && before->ok;
	if (!stats->has_kernel) {
		say(stats->kernel_why, sizeof stats->kernel_why, lang, KVM_NO_STATS,
		    now.ok ? before->why : now.why);
		return;
	}
	for (int k = 0; k < now.n && stats->nkernel < STAT_MAX; k++) {
		uint64_t was = 0;
		for (int j = 0; j < before->n; j++)
			if (!strcmp(before->s[j].name, now.s[k].name))
				was = before->s[j].n;
		uint64_t grew = now.s[k].n - was;
		if (!strcmp(now.s[k].name, "exits"))
			stats->kernel_exits = grew;
		if (!grew)
			continue;
		stats->kernel[stats->nkernel] = now.s[k];
		stats->kernel[stats->nkernel++].n = grew;
	}
}
