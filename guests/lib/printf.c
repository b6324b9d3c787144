/* A small printf: one formatting engine writing through a sink, used both
 * for the serial console and for strings. */
#include <stdbool.h>
#include <stdint.h>

#include "lib/printf.h"
#include "lib/serial.h"
#include "lib/string.h"

struct sink {
	char *buf;      /* NULL: write to the serial port */
	size_t size;
	size_t len;     /* characters produced so far */
};

static void emit(struct sink *s, char c)
{
	if (!s->buf)
		serial_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void emit_padded(struct sink *s, const char *str, size_t n, int width,
			bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;
	if (!left) {
		/* Zero padding goes after a sign or a 0x prefix. */
		if (pad == '0' && n && (str[0] == '-')) {
			emit(s, *str++);
			n--;
		} else if (pad == '0' && n >= 2 && str[0] == '0' && str[1] == 'x') {
			emit(s, *str++);
			emit(s, *str++);
			n -= 2;
		}
		while (fill--)
			emit(s, pad);
	}
	while (n--)
		emit(s, *str++);
	if (left) {
		while (fill--)
			emit(s, ' ');
	}
}

/* Digits of v in base, most significant first, into the end of buf. */
static char *utoa(char *end, uint64_t v, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;
	do {
		*--p = digits[v % base];
		v /= base;
	} while (v);
	return p;
}

static int format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			emit(s, *fmt);
			continue;
		}
		fmt++;
		bool left = false;
		char pad = ' ';
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		int width = 0;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		int longs = 0;
		while (*fmt == 'l' || *fmt == 'z') {
			longs++;
			fmt++;
		}

		char buf[24];
		char *end = buf + sizeof buf;
		char *p;
		uint64_t u;
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
			u = v < 0 ? -(uint64_t)v : (uint64_t)v;
			p = utoa(end, u, 10, false);
			if (v < 0)
				*--p = '-';
			emit_padded(s, p, (size_t)(end - p), width, left, pad);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			u = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			p = utoa(end, u, *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16, *fmt == 'X');
			emit_padded(s, p, (size_t)(end - p), width, left, pad);
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			p = utoa(end, u, 16, false);
			*--p = 'x';
			*--p = '0';
			emit_padded(s, p, (size_t)(end - p), width, left, pad);
			break;
		case 'c':
			buf[0] = (char)va_arg(ap, int);
			emit_padded(s, buf, 1, width, left, ' ');
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			emit_padded(s, str, strlen(str), width, left, ' ');
			break;
		}
		case '%':
			emit(s, '%');
			break;
		case '\0':
			return (int)s->len;
		default:            /* unknown: print it as it was written */
			emit(s, '%');
			emit(s, *fmt);
			break;
		}
	}
	return (int)s->len;
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0 };
	return format(&s, fmt, ap);
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { buf, size, 0 };
	int n = format(&s, fmt, ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
