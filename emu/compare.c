/* nestlab compare's output (emu/compare.h): the diff of the serial
 * outputs, the table and its JSON twin. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emu/compare.h"

/* --- the serial diff --- */

struct lines {
	char *buf;
	const char **v;
	int n;
};

static bool info_line(const char *s)
{
	return s[0] == '#' && s[1] == ' ';
}

/* Split into lines, leaving out the "# " ones. */
static bool split(const char *s, struct lines *l)
{
	size_t len = strlen(s);
	l->buf = malloc(len + 1);
	l->v = malloc((len + 1) * sizeof *l->v);
	l->n = 0;
	if (!l->buf || !l->v)
		return false;
	memcpy(l->buf, s, len + 1);
	for (char *p = l->buf; *p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		if (!info_line(p))
			l->v[l->n++] = p;
		p = nl ? nl + 1 : p + strlen(p);
	}
	return true;
}

static void lines_free(struct lines *l)
{
	free(l->buf);
	free(l->v);
}

void compare_count_lines(const char *s, unsigned *lines, unsigned *info)
{
	*lines = *info = 0;
	for (const char *p = s; *p;) {
		const char *nl = strchr(p, '\n');
		(*lines)++;
		*info += info_line(p);
		p = nl ? nl + 1 : p + strlen(p);
	}
}

/* A growing string. */
struct text {
	char *s;
	size_t len, cap;
};

static void add(struct text *t, char mark, const char *line)
{
	size_t need = t->len + strlen(line) + 4;
	if (need > t->cap) {
		size_t cap = need * 2;
		char *s = realloc(t->s, cap);
		if (!s)
			return;
		t->s = s;
		t->cap = cap;
	}
	if (mark)
		t->len += (size_t)sprintf(t->s + t->len, "  %c %s\n", mark, line);
	else
		t->len += (size_t)sprintf(t->s + t->len, "  %s\n", line);
}

/* The middle part that differs, a[0..n) against b[0..m): the longest
 * common subsequence by dynamic programming when it is small enough, else
 * all of a then all of b. */
#define LCS_MAX 2000

static void diff_middle(struct text *t, const char **a, int n, const char **b, int m)
{
	if (n > LCS_MAX || m > LCS_MAX) {
		for (int k = 0; k < n; k++)
			add(t, '-', a[k]);
		for (int k = 0; k < m; k++)
			add(t, '+', b[k]);
		return;
	}
	uint16_t *L = calloc((size_t)(n + 1) * (size_t)(m + 1), sizeof *L);
	if (!L)
		return;
#define AT(i, j) L[(size_t)(i) * (size_t)(m + 1) + (size_t)(j)]
	for (int i = n - 1; i >= 0; i--)
		for (int j = m - 1; j >= 0; j--)
			AT(i, j) = !strcmp(a[i], b[j]) ? AT(i + 1, j + 1) + 1
				   : AT(i + 1, j) > AT(i, j + 1) ? AT(i + 1, j) : AT(i, j + 1);
	int i = 0, j = 0;
	while (i < n || j < m) {
		if (i < n && j < m && !strcmp(a[i], b[j])) {
			add(t, ' ', a[i++]);
			j++;
		} else if (j == m || (i < n && AT(i + 1, j) >= AT(i, j + 1))) {
			add(t, '-', a[i++]);
		} else {
			add(t, '+', b[j++]);
		}
	}
#undef AT
	free(L);
}

char *compare_diff(const char *a, const char *b)
{
	struct lines la, lb;
	struct text t = { 0 };
	if (!split(a, &la) | !split(b, &lb))
		goto out;
	int pre = 0, post = 0;
	while (pre < la.n && pre < lb.n && !strcmp(la.v[pre], lb.v[pre]))
		pre++;
	if (pre == la.n && pre == lb.n)
		goto out;
	while (post < la.n - pre && post < lb.n - pre &&
	       !strcmp(la.v[la.n - 1 - post], lb.v[lb.n - 1 - post]))
		post++;
	char head[64];
	snprintf(head, sizeof head, "@@ line %d @@", (pre > 2 ? pre - 2 : 0) + 1);
	t.s = NULL;
	add(&t, 0, head);
	for (int k = pre > 2 ? pre - 2 : 0; k < pre; k++)
		add(&t, ' ', la.v[k]);
	diff_middle(&t, la.v + pre, la.n - pre - post, lb.v + pre, lb.n - pre - post);
	for (int k = la.n - post; k < la.n && k < la.n - post + 2; k++)
		add(&t, ' ', la.v[k]);
out:
	lines_free(&la);
	lines_free(&lb);
	return t.s;
}

bool compare_same(const struct comparison *c)
{
	const struct compare_side *a = &c->side[0], *b = &c->side[1];
	if (!a->r.ran || !b->r.ran || a->r.status != b->r.status)
		return false;
	char *d = compare_diff(a->serial, b->serial);
	free(d);
	return d == NULL;
}

/* --- the table --- */

#define COLS 3
#define ROWS 80

struct table {
	char cell[ROWS][COLS][96];
	int n;
};

static void row(struct table *t, const char *label, const char *a, const char *b)
{
	if (t->n == ROWS)
		return;
	snprintf(t->cell[t->n][0], sizeof t->cell[0][0], "%s", label);
	snprintf(t->cell[t->n][1], sizeof t->cell[0][0], "%s", a);
	snprintf(t->cell[t->n][2], sizeof t->cell[0][0], "%s", b);
	t->n++;
}

/* Columns on a terminal: UTF-8 continuation bytes take no room. */
static int width(const char *s)
{
	int w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* 1234567 as "1,234,567". */
static void num(char *out, size_t n, uint64_t v)
{
	char d[32];
	int len = snprintf(d, sizeof d, "%llu", (unsigned long long)v), o = 0;
	for (int k = 0; k < len && (size_t)o + 2 < n; k++) {
		if (k && (len - k) % 3 == 0)
			out[o++] = ',';
		out[o++] = d[k];
	}
	out[o] = 0;
}

static void duration(char *out, size_t n, double s)
{
	if (s >= 1)
		snprintf(out, n, "%.3f s", s);
	else if (s >= 1e-3)
		snprintf(out, n, "%.3f ms", s * 1e3);
	else
		snprintf(out, n, "%.3f us", s * 1e6);
}

static uint64_t count_of(const struct stat_count *s, int n, const char *name)
{
	for (int k = 0; k < n; k++)
		if (!strcmp(s[k].name, name))
			return s[k].n;
	return 0;
}

/* The exits a side saw, and the time each cost at most (all of the wall
 * time divided among them: an upper bound, the guest's own work included). */
static uint64_t all_exits(const struct backend_stats *s)
{
	return s->has_kernel && s->kernel_exits ? s->kernel_exits : s->user_total;
}

static void exit_rows(struct table *t, const struct comparison *c, enum lang lang)
{
	const struct backend_stats *i = &c->side[0].r.stats, *k = &c->side[1].r.stats;
	const char *na = msg(lang, MSG_CMP_NA);
	char a[48], b[48];
	num(a, sizeof a, i->user_total);
	num(b, sizeof b, k->user_total);
	row(t, msg(lang, MSG_CMP_USER_EXITS), a, b);
	/* Rows that mean the same on both sides first. */
	static const char *const pair[][3] = {
		{ "  port I/O", "port I/O", "KVM_EXIT_IO" },
		{ "  MMIO", "MMIO", "KVM_EXIT_MMIO" },
	};
	for (size_t p = 0; p < 2; p++) {
		num(a, sizeof a, count_of(i->user, i->nuser, pair[p][1]));
		num(b, sizeof b, count_of(k->user, k->nuser, pair[p][2]));
		row(t, pair[p][0], a, b);
	}
	for (int e = 0; e < k->nuser; e++) {
		if (!strcmp(k->user[e].name, "KVM_EXIT_IO") || !strcmp(k->user[e].name, "KVM_EXIT_MMIO"))
			continue;
		char label[64];
		snprintf(label, sizeof label, "  %s", k->user[e].name);
		num(b, sizeof b, k->user[e].n);
		row(t, label, na, b);
	}
	if (k->has_kernel) {
		num(b, sizeof b, k->kernel_exits);
		row(t, msg(lang, MSG_CMP_KERNEL_EXITS), na, b);
		for (int e = 0; e < k->nkernel; e++) {
			if (!strcmp(k->kernel[e].name, "exits"))
				continue;
			char label[64];
			snprintf(label, sizeof label, "  %s", k->kernel[e].name);
			num(b, sizeof b, k->kernel[e].n);
			row(t, label, na, b);
		}
	}
	if (c->side[0].r.vmx_exits) {
		num(a, sizeof a, c->side[0].r.vmx_exits);
		row(t, msg(lang, MSG_CMP_VMX_EXITS), a, na);
	}
	uint64_t ni = all_exits(i), nk = all_exits(k);
	snprintf(a, sizeof a, "%s", na);
	snprintf(b, sizeof b, "%s", na);
	if (ni)
		duration(a, sizeof a, i->seconds / (double)ni);
	if (nk)
		duration(b, sizeof b, k->seconds / (double)nk);
	row(t, msg(lang, MSG_CMP_PER_EXIT), a, b);
}

static void print_table(FILE *f, const struct table *t)
{
	int w[COLS] = { 0 };
	for (int r = 0; r < t->n; r++)
		for (int k = 0; k < COLS; k++)
			if (width(t->cell[r][k]) > w[k])
				w[k] = width(t->cell[r][k]);
	for (int r = 0; r < t->n; r++) {
		fputs("  ", f);
		for (int k = 0; k < COLS; k++) {
			const char *s = t->cell[r][k];
			fputs(s, f);
			if (k + 1 < COLS)
				fprintf(f, "%*s", w[k] - width(s) + 3, "");
		}
		fputc('\n', f);
		if (r == 0) {
			fputs("  ", f);
			for (int k = 0; k < w[0] + w[1] + w[2] + 6; k++)
				fputs("-", f);
			fputc('\n', f);
		}
	}
}

void compare_print(FILE *f, const struct comparison *c, enum lang lang)
{
	const struct compare_side *i = &c->side[0], *k = &c->side[1];
	struct table t = { .n = 0 };
	char a[48], b[48];
	fprintf(f, msg(lang, MSG_CMP_TITLE), c->image, c->append ? " " : "",
		c->append ? c->append : "");
	row(&t, "", i->name, k->name);
	row(&t, msg(lang, MSG_CMP_END), i->r.end, k->r.end);
	duration(a, sizeof a, i->r.stats.seconds);
	duration(b, sizeof b, k->r.stats.seconds);
	row(&t, msg(lang, MSG_CMP_WALL), a, b);
	num(a, sizeof a, i->r.stats.insns);
	row(&t, msg(lang, MSG_CMP_INSNS), a, msg(lang, MSG_CMP_NA));
	exit_rows(&t, c, lang);
	print_table(f, &t);
	fputs(msg(lang, MSG_CMP_FOOTNOTE), f);
	if (!k->r.stats.has_kernel && k->r.stats.kernel_why[0])
		fprintf(f, "  (%s)\n", k->r.stats.kernel_why);

	unsigned n, info;
	compare_count_lines(i->serial, &n, &info);
	char *d = compare_diff(i->serial, k->serial);
	if (!d) {
		fprintf(f, msg(lang, MSG_CMP_SERIAL_SAME), n - info, info);
	} else {
		fprintf(f, "%s", msg(lang, MSG_CMP_SERIAL_DIFF));
		fputs(d, f);
		free(d);
	}
	fputs(msg(lang, compare_same(c) ? MSG_CMP_VERDICT_SAME : MSG_CMP_VERDICT_DIFF), f);
}

/* --- JSON --- */

static cJSON *counts(const struct stat_count *s, int n)
{
	cJSON *o = cJSON_CreateObject();
	for (int k = 0; k < n; k++)
		cJSON_AddNumberToObject(o, s[k].name, (double)s[k].n);
	return o;
}

static cJSON *side_json(const struct compare_side *s)
{
	const struct backend_stats *st = &s->r.stats;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "backend", s->name);
	cJSON_AddBoolToObject(o, "ran", s->r.ran);
	cJSON_AddNumberToObject(o, "status", s->r.status);
	cJSON_AddStringToObject(o, "end", s->r.end);
	cJSON_AddNumberToObject(o, "wall_seconds", st->seconds);
	if (st->has_insns)
		cJSON_AddNumberToObject(o, "instructions", (double)st->insns);
	else
		cJSON_AddNullToObject(o, "instructions");
	cJSON_AddNumberToObject(o, "user_exits", (double)st->user_total);
	cJSON_AddItemToObject(o, "user_exits_by_reason", counts(st->user, st->nuser));
	if (st->has_kernel) {
		cJSON_AddNumberToObject(o, "kernel_exits", (double)st->kernel_exits);
		cJSON_AddItemToObject(o, "kernel_stats", counts(st->kernel, st->nkernel));
	} else {
		cJSON_AddNullToObject(o, "kernel_exits");
		cJSON_AddStringToObject(o, "kernel_stats_unavailable", st->kernel_why);
	}
	if (s->r.vmx_exits)
		cJSON_AddNumberToObject(o, "vmx_exits", (double)s->r.vmx_exits);
	uint64_t n = all_exits(st);
	if (n)
		cJSON_AddNumberToObject(o, "seconds_per_exit", st->seconds / (double)n);
	else
		cJSON_AddNullToObject(o, "seconds_per_exit");
	cJSON_AddStringToObject(o, "serial", s->serial);
	return o;
}

char *compare_json(const struct comparison *const *c, int n, const char *note)
{
	cJSON *root = cJSON_CreateObject();
	if (note)
		cJSON_AddStringToObject(root, "note", note);
	cJSON *list = cJSON_AddArrayToObject(root, "comparisons");
	for (int k = 0; k < n; k++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "image", c[k]->image);
		if (c[k]->append)
			cJSON_AddStringToObject(o, "append", c[k]->append);
		char *d = compare_diff(c[k]->side[0].serial, c[k]->side[1].serial);
		cJSON_AddBoolToObject(o, "serial_identical", d == NULL);
		if (d)
			cJSON_AddStringToObject(o, "serial_diff", d);
		else
			cJSON_AddNullToObject(o, "serial_diff");
		free(d);
		cJSON_AddBoolToObject(o, "same", compare_same(c[k]));
		cJSON_AddItemToObject(o, "interpreter", side_json(&c[k]->side[0]));
		cJSON_AddItemToObject(o, "kvm", side_json(&c[k]->side[1]));
		cJSON_AddItemToArray(list, o);
	}
	char *s = cJSON_Print(root);
	cJSON_Delete(root);
	return s;
}
