/* printf to the serial console. Conversions: %d %i %u %x %X %o %c %s %p
 * %%, with the length modifiers l and ll (and z), a field width, the '0'
 * flag (zero padding) and the '-' flag (left-justify). */
#ifndef GUESTS_LIB_PRINTF_H
#define GUESTS_LIB_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
/* Format into buf (always NUL-terminated when size > 0); returns the
 * length the full output would have had. */
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

#endif
