/* Inside the KVM backend (emu/kvm.c, emu/kvm_host.c): opening /dev/kvm,
 * what the host's KVM offers, and its statistics. The rest of nestlab
 * uses emu/backend.h. */
#ifndef EMU_KVM_H
#define EMU_KVM_H

#include <stddef.h>
#include <stdint.h>

#include "emu/backend.h"

/* KVM_EXIT_* reasons nestlab has names for (linux/kvm.h: 0 .. 30). */
#define KVM_EXIT_NAMES 32
const char *kvm_exit_name(unsigned reason);

/* Open the KVM device and check its API version; -1 with a one-line
 * reason (what is missing, what to do) in why. */
int kvm_open(const char *device, enum lang lang, char *why, size_t len);

/* KVM_GET_SUPPORTED_CPUID on the system fd (the caller frees it). */
struct kvm_cpuid2 *kvm_supported_cpuid(int sys);

/* Whether this KVM offers VMX to its guests (CPUID.1:ECX.VMX in
 * KVM_GET_SUPPORTED_CPUID): 1, or 0 with the reason and what to do in
 * hint (an AMD host, kvm_intel's nested=0, a host processor that shows
 * no VMX). */
int kvm_vmx_hint(int sys, enum lang lang, char *hint, size_t len);

/* KVM's binary statistics of a vCPU (KVM_GET_STATS_FD, Linux 5.14): the
 * cumulative counters whose names say exits. */
#define KVM_STAT_MAX 64
struct kvm_stat_set {
	int n;
	bool ok;
	char why[160];               /* !ok: why they could not be read */
	struct stat_count s[KVM_STAT_MAX];
};
void kvm_stats_read(int vcpu, struct kvm_stat_set *out);

/* The counters' growth since `before`, into stats->kernel (or, when they
 * are not readable, the reason into stats->kernel_why). */
void kvm_stats_since(int vcpu, const struct kvm_stat_set *before, struct backend_stats *stats,
		     enum lang lang);

#endif
