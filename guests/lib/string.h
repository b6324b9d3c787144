/* The few C library string functions the guests need. GCC may also call
 * memcpy, memset, memmove and memcmp on its own, even with -ffreestanding
 * (struct copies, zeroing), so they must exist. */
#ifndef GUESTS_LIB_STRING_H
#define GUESTS_LIB_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strstr(const char *haystack, const char *needle);

#endif
