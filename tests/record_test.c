/* base64 for the records of runs (emu/record.c): the test vectors of RFC
 * 4648, section 10, both ways, and what decoding must refuse. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "emu/record.h"

static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
static const char *const coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
				     "Zm9vYmFy" };

Test(record, base64_rfc4648_vectors)
{
	for (unsigned k = 0; k < sizeof plain / sizeof plain[0]; k++) {
		char *s = base64_encode((const uint8_t *)plain[k], strlen(plain[k]));
		cr_assert_str_eq(s, coded[k]);
		size_t n;
		uint8_t *p = base64_decode(coded[k], &n);
		cr_assert_not_null(p);
		cr_assert_eq(n, strlen(plain[k]));
		cr_assert_arr_eq(p, plain[k], n);
		free(s);
		free(p);
	}
}

Test(record, base64_all_bytes_round_trip)
{
	uint8_t all[256];
	for (unsigned k = 0; k < 256; k++)
		all[k] = (uint8_t)k;
	for (size_t len = 250; len <= 256; len++) {
		char *s = base64_encode(all, len);
		size_t n;
		uint8_t *p = base64_decode(s, &n);
		cr_assert_not_null(p);
		cr_assert_eq(n, len);
		cr_assert_arr_eq(p, all, len);
		free(s);
		free(p);
	}
}

Test(record, base64_refuses_what_is_not_base64)
{
	static const char *const bad[] = { "Zg=", "Zg", "Z===", "Zm9v!mFy", "Zg==Zm8=", "=Zg=",
					   "Zm8=\n" };
	size_t n;
	for (unsigned k = 0; k < sizeof bad / sizeof bad[0]; k++)
		cr_assert_null(base64_decode(bad[k], &n), "%s", bad[k]);
}
