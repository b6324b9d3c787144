/* A PNG writer for the screenshots, written from the PNG specification
 * (W3C, 2nd edition): signature, IHDR, one IDAT, IEND. The image data is
 * one zlib stream (zlib's compress2), each scanline starting with filter
 * type 0; the chunks' CRC-32 is zlib's too (the same polynomial, PNG
 * annex D). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gui/gui.h"

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool chunk(FILE *f, const char *type, const uint8_t *data, size_t n)
{
	uint8_t len[4], crc[4];
	be32(len, (uint32_t)n);
	uLong c = crc32(0, (const Bytef *)type, 4);
	c = crc32(c, data ? data : (const Bytef *)"", (uInt)n);
	be32(crc, (uint32_t)c);
	return fwrite(len, 1, 4, f) == 4 && fwrite(type, 1, 4, f) == 4 &&
	       (!n || fwrite(data, 1, n, f) == n) && fwrite(crc, 1, 4, f) == 4;
}

bool gui_png_write(const char *path, const uint8_t *rgb, int w, int h)
{
	size_t stride = (size_t)w * 3, n = (stride + 1) * (size_t)h;
	uint8_t *raw = malloc(n);
	if (!raw)
		return false;
	for (int y = 0; y < h; y++) {
		raw[y * (stride + 1)] = 0;
		memcpy(raw + y * (stride + 1) + 1, rgb + y * stride, stride);
	}
	uLongf zn = compressBound(n);
	uint8_t *z = malloc(zn);
	if (z && compress2(z, &zn, raw, n, 6) != Z_OK) {
		free(z);
		z = NULL;
	}
	free(raw);
	FILE *f = z ? fopen(path, "wb") : NULL;
	bool ok = f != NULL;
	if (ok) {
		static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
		uint8_t ihdr[13];
		be32(ihdr, (uint32_t)w);
		be32(ihdr + 4, (uint32_t)h);
		ihdr[8] = 8;  /* bit depth */
		ihdr[9] = 2;  /* colour type: RGB */
		ihdr[10] = ihdr[11] = ihdr[12] = 0; /* deflate, adaptive filters, no interlace */
		ok = fwrite(sig, 1, 8, f) == 8 && chunk(f, "IHDR", ihdr, 13) &&
		     chunk(f, "IDAT", z, zn) && chunk(f, "IEND", NULL, 0);
		ok = fclose(f) == 0 && ok;
	}
	free(z);
	return ok;
}
