/* Ordinary integer work for the demo and the benchmark guests: loops,
 * loads, stores, shifts and branches of the kind a compiler makes. */
#ifndef GUESTS_LIB_WORK_H
#define GUESTS_LIB_WORK_H

#include <stddef.h>
#include <stdint.h>

/* The number of primes below n, by the sieve of Eratosthenes in
 * sieve[0..n). */
unsigned primes_below(uint8_t *sieve, unsigned n);

/* CRC-32 (IEEE 802.3), bit by bit. */
uint32_t crc32(const void *data, size_t n);

#endif
