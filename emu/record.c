/* --record FILE and nestlab replay FILE (emu/record.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu/record.h"

#define say(lang, id, ...) fprintf(stderr, msg(lang, MSG_##id), ##__VA_ARGS__)

#define RECORD_FORMAT "nestlab-record"
#define RECORD_VERSION 1

/* --- base64 (RFC 4648, section 4) --- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const uint8_t *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1), *o = s;
	if (!s)
		return NULL;
	for (size_t k = 0; k < n; k += 3) {
		uint32_t v = (uint32_t)p[k] << 16 | (k + 1 < n ? (uint32_t)p[k + 1] << 8 : 0) |
			     (k + 2 < n ? p[k + 2] : 0);
		*o++ = b64[v >> 18];
		*o++ = b64[v >> 12 & 63];
		*o++ = k + 1 < n ? b64[v >> 6 & 63] : '=';
		*o++ = k + 2 < n ? b64[v & 63] : '=';
	}
	*o = 0;
	return s;
}

static int b64_value(char ch)
{
	const char *at = ch ? strchr(b64, ch) : NULL;
	return at ? (int)(at - b64) : -1;
}

uint8_t *base64_decode(const char *s, size_t *n)
{
	size_t len = strlen(s);
	if (len % 4)
		return NULL;
	uint8_t *p = malloc(len / 4 * 3 + 1);
	if (!p)
		return NULL;
	size_t out = 0;
	for (size_t k = 0; k < len; k += 4) {
		int pad = (s[k + 2] == '=') + (s[k + 3] == '=');
		if ((pad && k + 4 != len) || (s[k + 2] == '=' && s[k + 3] != '='))
			goto bad;  /* padding only at the very end */
		uint32_t v = 0;
		for (int j = 0; j < 4 - pad; j++) {
			int d = b64_value(s[k + j]);
			if (d < 0)
				goto bad;
			v |= (uint32_t)d << (18 - 6 * j);
		}
		p[out++] = (uint8_t)(v >> 16);
		if (pad < 2)
			p[out++] = (uint8_t)(v >> 8);
		if (pad < 1)
			p[out++] = (uint8_t)v;
	}
	*n = out;
	return p;
bad:
	free(p);
	return NULL;
}

/* --- writing --- */

/* 64-bit numbers as decimal strings: JSON numbers are doubles. */
static void add_u64(cJSON *o, const char *name, uint64_t v)
{
	char s[24];
	snprintf(s, sizeof s, "%" PRIu64, v);
	cJSON_AddStringToObject(o, name, s);
}

static bool add_blob(cJSON *o, const char *name, const uint8_t *p, size_t n)
{
	char *s = base64_encode(p, n);
	if (!s)
		return false;
	cJSON *item = cJSON_AddStringToObject(o, name, s);
	free(s);
	return item != NULL;
}

static cJSON *options_json(const struct run_opts *o)
{
	cJSON *j = cJSON_CreateObject();
	if (o->append)
		cJSON_AddStringToObject(j, "append", o->append);
	add_u64(j, "mem_mib", o->mem_mib);
	add_u64(j, "bits", (uint64_t)o->bits);
	add_u64(j, "load", o->load);
	add_u64(j, "entry", o->entry);
	add_u64(j, "max_insns", o->max_insns);
	return j;
}

static cJSON *record_json(const struct run_opts *o, const struct record_inputs *in,
			  const struct run_outcome *out)
{
	cJSON *j = cJSON_CreateObject(), *img = cJSON_CreateObject(), *mods = cJSON_CreateArray();
	cJSON *res = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "format", RECORD_FORMAT);
	cJSON_AddNumberToObject(j, "version", RECORD_VERSION);
	cJSON_AddStringToObject(j, "nestlab", NESTLAB_VERSION);
	cJSON_AddItemToObject(j, "options", options_json(o));
	cJSON_AddStringToObject(img, "name", o->image);
	bool ok = add_blob(img, "data", in->image, in->image_len);
	cJSON_AddItemToObject(j, "image", img);
	for (int k = 0; !o->bits && k < o->nmodules; k++) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "cmdline", in->modules[k].name);
		ok = ok && add_blob(m, "data", in->modules[k].data, in->modules[k].len);
		cJSON_AddItemToArray(mods, m);
	}
	cJSON_AddItemToObject(j, "modules", mods);
	if (in->input)
		ok = ok && add_blob(j, "input", in->input, in->input_len);
	cJSON_AddNumberToObject(res, "status", out->status);
	add_u64(res, "instructions", out->stats.insns);
	cJSON_AddBoolToObject(res, "timed_out", out->timed_out);
	cJSON_AddStringToObject(res, "end", out->end);
	cJSON_AddItemToObject(j, "result", res);
	if (!ok) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

bool record_write(const char *path, const struct run_opts *o, const struct record_inputs *in,
		  const struct run_outcome *out)
{
	cJSON *j = record_json(o, in, out);
	char *text = j ? cJSON_Print(j) : NULL;
	cJSON_Delete(j);
	if (!text) {
		say(o->lang, CANNOT_WRITE, path, strerror(ENOMEM));
		return false;
	}
	FILE *f = fopen(path, "w");
	bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		say(o->lang, CANNOT_WRITE, path, strerror(errno));
	else
		say(o->lang, RECORD_WRITTEN, path);
	free(text);
	return ok;
}

/* --- reading --- */

static const char *get_string(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool get_u64(const cJSON *o, const char *name, uint64_t *out)
{
	const char *s = get_string(o, name);
	char *end;
	if (!s || !*s)
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !*end && !errno;
}

static char *own(struct replay *r, const char *s)
{
	if (!s || r->nowned == (int)(sizeof r->owned / sizeof r->owned[0]))
		return NULL;
	return r->owned[r->nowned++] = strdup(s);
}

/* Decode a base64 member into a file of the replay's directory. */
static bool blob_to_file(const cJSON *o, const char *member, const char *path)
{
	const char *s = get_string(o, member);
	size_t n;
	uint8_t *p = s ? base64_decode(s, &n) : NULL;
	if (!p)
		return false;
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(p, 1, n, f) == n;
	if (f && fclose(f) != 0)
		ok = false;
	free(p);
	return ok;
}

static bool load_options(const cJSON *j, struct replay *r)
{
	const cJSON *opt = cJSON_GetObjectItemCaseSensitive(j, "options");
	uint64_t bits;
	struct run_opts *o = &r->o;
	if (!cJSON_IsObject(opt) || !get_u64(opt, "mem_mib", &o->mem_mib) ||
	    !get_u64(opt, "bits", &bits) || !get_u64(opt, "load", &o->load) ||
	    !get_u64(opt, "entry", &o->entry) || !get_u64(opt, "max_insns", &o->max_insns))
		return false;
	if ((bits && bits != 16 && bits != 32 && bits != 64) || o->mem_mib < 2 ||
	    o->mem_mib > 65536)
		return false;
	o->bits = (int)bits;
	o->append = own(r, get_string(opt, "append"));
	return true;
}

static bool load_files(const cJSON *j, struct replay *r)
{
	const cJSON *img = cJSON_GetObjectItemCaseSensitive(j, "image");
	const cJSON *mods = cJSON_GetObjectItemCaseSensitive(j, "modules");
	struct run_opts *o = &r->o;
	snprintf(r->image_path, sizeof r->image_path, "%s/image", r->dir);
	o->image = r->image_path;
	o->image_as = own(r, get_string(img, "name"));
	if (!o->image_as || !blob_to_file(img, "data", r->image_path) || !cJSON_IsArray(mods) ||
	    cJSON_GetArraySize(mods) > MAX_MODULES)
		return false;
	const cJSON *m;
	cJSON_ArrayForEach(m, mods) {
		int k = o->nmodules;
		snprintf(r->module_paths[k], sizeof r->module_paths[k], "%s/module%d", r->dir, k);
		o->modules[k] = r->module_paths[k];
		o->modules_as[k] = own(r, get_string(m, "cmdline"));
		if (!o->modules_as[k] || !blob_to_file(m, "data", r->module_paths[k]))
			return false;
		o->nmodules++;
	}
	/* The input, or none at all: a replay never reads standard input. */
	snprintf(r->input_path, sizeof r->input_path, "%s/input", r->dir);
	o->input = r->input_path;
	if (get_string(j, "input"))
		return blob_to_file(j, "input", r->input_path);
	FILE *f = fopen(r->input_path, "wb");
	return f && fclose(f) == 0;
}

static bool load_result(const cJSON *j, struct replay *r)
{
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(res, "status");
	const char *end = get_string(res, "end");
	if (!cJSON_IsNumber(st) || !get_u64(res, "instructions", &r->insns) || !end)
		return false;
	r->status = st->valueint;
	snprintf(r->end, sizeof r->end, "%s", end);
	/* A run that --timeout ended stops, replayed, at the same instruction:
	 * host time is the one thing a replay cannot reproduce. */
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "timed_out")))
		r->o.max_insns = r->insns;
	return true;
}

static cJSON *parse_file(const char *path, enum lang lang)
{
	size_t len;
	uint8_t *text = session_read_file(path, &len, lang);
	if (!text)
		return NULL;
	cJSON *j = cJSON_ParseWithLength((const char *)text, len);
	free(text);
	const char *format = j ? get_string(j, "format") : NULL;
	if (!format || strcmp(format, RECORD_FORMAT)) {
		say(lang, RECORD_NOT, path);
		cJSON_Delete(j);
		return NULL;
	}
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
	if (!cJSON_IsNumber(v) || v->valueint != RECORD_VERSION) {
		say(lang, RECORD_VERSION, path, RECORD_VERSION);
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

bool replay_load(const char *path, struct replay *r, enum lang lang)
{
	memset(r, 0, sizeof *r);
	r->o = (struct run_opts){ .lang = lang, .gdb_port = -1, .snap_budget_mib = 256 };
	cJSON *j = parse_file(path, lang);
	if (!j)
		return false;
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp || strlen(tmp) > sizeof r->dir - 24)
		tmp = "/tmp";
	snprintf(r->dir, sizeof r->dir, "%s/nestlab-replay-XXXXXX", tmp);
	if (!mkdtemp(r->dir)) {
		say(lang, CANNOT_WRITE, r->dir, strerror(errno));
		r->dir[0] = 0;
		cJSON_Delete(j);
		return false;
	}
	bool ok = load_options(j, r) && load_files(j, r) && load_result(j, r);
	cJSON_Delete(j);
	if (!ok)
		say(lang, RECORD_DAMAGED, path);
	return ok;
}

void replay_free(struct replay *r)
{
	if (r->dir[0]) {
		unlink(r->image_path);
		for (int k = 0; k < MAX_MODULES; k++)
			if (r->module_paths[k][0])
				unlink(r->module_paths[k]);
		if (r->input_path[0])
			unlink(r->input_path);
		rmdir(r->dir);
	}
	for (int k = 0; k < r->nowned; k++)
		free(r->owned[k]);
	r->nowned = 0;
}
