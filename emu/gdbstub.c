/* The GDB remote serial protocol (GDB manual, appendix E "Remote
 * Protocol"): packets are $data#cs with a two-digit hex checksum, each
 * acknowledged with + (or - to resend) until QStartNoAckMode; a 0x03 byte
 * interrupts a running target. Listens on 127.0.0.1 only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "emu/bus.h"
#include "emu/gdbstub.h"
#include "emu/gdbtarget.h"

#define PACKET_MAX 4096     /* what qSupported announces */
#define RUN_CHUNK 1000000   /* instructions between looks for a 0x03 */

struct gdbstub {
	int listen_fd, fd;
	bool noack;
	struct reverse *r;
	struct cpu *c;
	uint64_t max_insns;
	char in[PACKET_MAX + 8];
	enum emu_stop stop;      /* how the machine last stopped */
	bool ended;              /* the guest ended: only W/X replies */
	bool detached, killed;
};

struct gdbstub *gdb_listen(unsigned port, unsigned *bound)
{
	struct gdbstub *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->fd = -1;
	g->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only: no remote debugging */
	int one = 1;
	socklen_t alen = sizeof a;
	if (g->listen_fd < 0 ||
	    setsockopt(g->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(g->listen_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(g->listen_fd, 1) < 0 ||
	    getsockname(g->listen_fd, (struct sockaddr *)&a, &alen) < 0) {
		int e = errno;
		gdb_close(g);
		errno = e;
		return NULL;
	}
	*bound = ntohs(a.sin_port);
	return g;
}

void gdb_close(struct gdbstub *g)
{
	if (!g)
		return;
	if (g->fd >= 0)
		close(g->fd);
	if (g->listen_fd >= 0)
		close(g->listen_fd);
	free(g);
}

/* --- packets --- */

static const char hexd[] = "0123456789abcdef";

static int unhex(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool send_all(struct gdbstub *g, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(g->fd, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static int read_byte(struct gdbstub *g)
{
	unsigned char ch;
	ssize_t k = recv(g->fd, &ch, 1, 0);
	return k == 1 ? ch : -1;
}

/* Send one packet, and (before no-ack mode) wait for its +. */
static bool put_packet(struct gdbstub *g, const char *data)
{
	size_t n = strlen(data);
	char *p = malloc(n + 5);
	if (!p)
		return false;
	unsigned sum = 0;
	for (size_t k = 0; k < n; k++)
		sum += (unsigned char)data[k];
	p[0] = '$';
	memcpy(p + 1, data, n);
	p[n + 1] = '#';
	p[n + 2] = hexd[(sum >> 4) & 15];
	p[n + 3] = hexd[sum & 15];
	bool ok = true;
	for (int tries = 0; ok && tries < 5; tries++) {
		ok = send_all(g, p, n + 4);
		if (!ok || g->noack)
			break;
		int ack = read_byte(g);
		if (ack == '+')
			break;
		ok = ack == '-';
	}
	free(p);
	return ok;
}

/* Receive one packet into g->in (NUL-terminated). 0x03 outside a packet
 * comes back as "\003". False when the connection ends. */
static bool get_packet(struct gdbstub *g)
{
	for (;;) {
		int ch = read_byte(g);
		if (ch < 0)
			return false;
		if (ch == 3) {
			strcpy(g->in, "\003");
			return true;
		}
		if (ch != '$')
			continue; /* acks, noise */
		size_t n = 0;
		unsigned sum = 0;
		bool over = false;
		while ((ch = read_byte(g)) >= 0 && ch != '#') {
			if (n < PACKET_MAX)
				g->in[n++] = (char)ch;
			else
				over = true;
			sum += (unsigned)ch;
		}
		int h1 = read_byte(g), h2 = read_byte(g);
		if (ch < 0 || h1 < 0 || h2 < 0)
			return false;
		g->in[n] = 0;
		bool good = !over && unhex(h1) >= 0 && unhex(h2) >= 0 &&
			    (unsigned)(unhex(h1) << 4 | unhex(h2)) == (sum & 0xff);
		if (!g->noack && !send_all(g, good ? "+" : "-", 1))
			return false;
		if (good)
			return true;
		if (over) {
			strcpy(g->in, "!"); /* too long: answered with an error */
			return true;
		}
	}
}

/* --- parsing helpers --- */

static bool parse_hex(const char **s, uint64_t *v)
{
	int d, n = 0;
	*v = 0;
	while ((d = unhex(**s)) >= 0 && n < 16) {
		*v = *v << 4 | (uint64_t)d;
		(*s)++;
		n++;
	}
	return n > 0 && unhex(**s) < 0;
}

static void to_hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		out[2 * k] = hexd[b[k] >> 4];
		out[2 * k + 1] = hexd[b[k] & 15];
	}
	out[2 * n] = 0;
}

static bool from_hex(const char *s, uint8_t *b, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		int h = unhex(s[2 * k]), l = h < 0 ? -1 : unhex(s[2 * k + 1]);
		if (h < 0 || l < 0)
			return false;
		b[k] = (uint8_t)(h << 4 | l);
	}
	return true;
}

/* --- running --- */

/* A 0x03 from gdb waiting on the connection (consumed). */
static bool interrupted(struct gdbstub *g)
{
	struct pollfd p = { .fd = g->fd, .events = POLLIN };
	if (poll(&p, 1, 0) <= 0)
		return false;
	unsigned char ch;
	if (recv(g->fd, &ch, 1, MSG_PEEK) == 1 && ch == 3) {
		read_byte(g);
		return true;
	}
	return false;
}

/* The stop reply for how the machine stopped (E.3 "Stop Reply Packets"). */
static void stop_reply(struct gdbstub *g, char *out, size_t n, bool intr)
{
	struct cpu *c = g->c;
	g->ended = true;
	switch (g->stop) {
	case EMU_STOP_EXIT:      snprintf(out, n, "W%02x", c->exit_code & 0xff); return;
	case EMU_STOP_HLT:       snprintf(out, n, "W00"); return;
	case EMU_STOP_EXCEPTION:
	case EMU_STOP_TRIPLE:    snprintf(out, n, "X0b"); return; /* SIGSEGV */
	case EMU_STOP_INIT:      snprintf(out, n, "X09"); return;
	default: break;
	}
	if (g->stop == EMU_STOP_BUDGET && (c->icount >= g->max_insns || c->vtime_out)) {
		snprintf(out, n, "X18"); /* SIGXCPU: the run's budget is spent */
		return;
	}
	g->ended = false;
	if (intr) {
		snprintf(out, n, "T02");
	} else if (g->stop == EMU_STOP_DEBUG && c->dbg.hit_bp) {
		snprintf(out, n, "T05swbreak:;");
	} else if (g->stop == EMU_STOP_DEBUG && c->dbg.hit_wp >= 0) {
		static const char *const kind[] = { "", "watch", "rwatch", "awatch" };
		snprintf(out, n, "T05%s:%llx;", kind[c->dbg.wp[c->dbg.hit_wp].kind & 3],
			 (unsigned long long)c->dbg.hit_addr);
	} else {
		snprintf(out, n, "T05");
	}
}

static void do_continue(struct gdbstub *g, char *out, size_t n)
{
	struct cpu *c = g->c;
	bool intr = false;
	g->stop = EMU_STOP_BUDGET;
	while (c->icount < g->max_insns && !c->vtime_out) {
		uint64_t left = g->max_insns - c->icount;
		g->stop = rev_run(g->r, left < RUN_CHUNK ? left : RUN_CHUNK);
		if (g->stop != EMU_STOP_BUDGET)
			break;
		if (interrupted(g)) {
			intr = true;
			break;
		}
	}
	stop_reply(g, out, n, intr);
}

static void do_step(struct gdbstub *g, char *out, size_t n)
{
	struct cpu *c = g->c;
	g->stop = EMU_STOP_BUDGET;
	if (c->icount < g->max_insns)
		g->stop = rev_run(g->r, 1);
	stop_reply(g, out, n, false);
}

static void do_reverse(struct gdbstub *g, bool step, char *out, size_t n)
{
	struct cpu *c = g->c;
	uint64_t at;
	bool ok = step ? rev_step_back(g->r)
		       : c->dbg.nbp && rev_back_to(g->r, REV_BREAKPOINT, &at);
	if (ok) {
		snprintf(out, n, step ? "T05" : "T05swbreak:;");
		return;
	}
	/* The start of the recorded history (E.3: "replaylog"). */
	rev_goto(g->r, g->r->start);
	snprintf(out, n, "T05replaylog:begin;");
}

/* --- commands --- */

static void read_regs(struct gdbstub *g, char *out)
{
	uint8_t v[16];
	size_t at = 0;
	for (unsigned r = 0; r < GDB_NREGS; r++) {
		gdb_reg_get(g->c, r, v);
		to_hex(out + at, v, gdb_reg_size(r));
		at += 2 * gdb_reg_size(r);
	}
}

/* Set register r; true if its value changed (a register nestlab keeps
 * as it is, or the same value, is no change). */
static bool set_reg(struct gdbstub *g, unsigned r, const uint8_t *v, bool *ok)
{
	uint8_t before[16] = { 0 }, after[16] = { 0 };
	gdb_reg_get(g->c, r, before);
	*ok = gdb_reg_set(g->c, r, v);
	gdb_reg_get(g->c, r, after);
	return memcmp(before, after, gdb_reg_size(r)) != 0;
}

static void write_regs(struct gdbstub *g, const char *hex, char *out)
{
	uint8_t v[16];
	size_t len = strlen(hex), at = 0;
	bool changed = false, ok;
	strcpy(out, "OK");
	for (unsigned r = 0; r < GDB_NREGS && at + 2 * gdb_reg_size(r) <= len; r++) {
		memset(v, 0, sizeof v);
		if (!from_hex(hex + at, v, gdb_reg_size(r))) {
			strcpy(out, "E01");
			break;
		}
		changed |= set_reg(g, r, v, &ok); /* registers nestlab keeps stay as they are */
		at += 2 * gdb_reg_size(r);
	}
	if (changed)
		rev_rebase(g->r);
}

static void one_reg(struct gdbstub *g, const char *s, bool write, char *out)
{
	uint64_t r;
	uint8_t v[16] = { 0 };
	if (!parse_hex(&s, &r) || !gdb_reg_size((unsigned)r) || r >= GDB_NREGS) {
		strcpy(out, "E01");
		return;
	}
	unsigned size = gdb_reg_size((unsigned)r);
	if (!write) {
		gdb_reg_get(g->c, (unsigned)r, v);
		to_hex(out, v, size);
		return;
	}
	if (*s != '=' || strlen(s + 1) != 2 * size || !from_hex(s + 1, v, size)) {
		strcpy(out, "E01");
		return;
	}
	bool ok;
	if (set_reg(g, (unsigned)r, v, &ok))
		rev_rebase(g->r);
	strcpy(out, ok ? "OK" : "E02");
}

/* m ADDR,LEN and M ADDR,LEN:XX... */
static void memory(struct gdbstub *g, const char *s, bool write, char *out)
{
	uint64_t addr, len;
	if (!parse_hex(&s, &addr) || *s++ != ',' || !parse_hex(&s, &len) ||
	    len > (PACKET_MAX - 8) / 2 || (write ? *s != ':' : *s != 0)) {
		strcpy(out, "E01");
		return;
	}
	uint8_t buf[PACKET_MAX / 2];
	if (!write) {
		if (!gdb_mem_read(g->c, addr, buf, len))
			strcpy(out, "E14"); /* not mapped, or not RAM */
		else
			to_hex(out, buf, len);
		return;
	}
	uint8_t old[PACKET_MAX / 2];
	if (strlen(s + 1) != 2 * len || !from_hex(s + 1, buf, len)) {
		strcpy(out, "E01");
		return;
	}
	bool same = gdb_mem_read(g->c, addr, old, len) && !memcmp(old, buf, len);
	if (!gdb_mem_write(g->c, addr, buf, len)) {
		strcpy(out, "E14");
		return;
	}
	if (!same)
		rev_rebase(g->r);
	strcpy(out, "OK");
}

/* Z/z TYPE,ADDR,KIND: breakpoints (0 software, 1 hardware, both the same
 * here) and watchpoints (2 write, 3 read, 4 access). */
static void point(struct gdbstub *g, const char *s, bool insert, char *out)
{
	struct dbg_points *d = &g->c->dbg;
	uint64_t type, addr, kind;
	if (!parse_hex(&s, &type) || *s++ != ',' || !parse_hex(&s, &addr) || *s++ != ',' ||
	    !parse_hex(&s, &kind) || type > 4 || (type >= 2 && (kind == 0 || kind > 4096))) {
		strcpy(out, type > 4 ? "" : "E01");
		return;
	}
	strcpy(out, "OK");
	if (type <= 1) {
		for (int k = 0; k < d->nbp; k++)
			if (d->bp[k] == addr) {
				if (!insert)
					d->bp[k] = d->bp[--d->nbp];
				return;
			}
		if (insert && d->nbp < DBG_MAX_POINTS)
			d->bp[d->nbp++] = addr;
		else if (insert)
			strcpy(out, "E02");
		return;
	}
	uint8_t wk = type == 2 ? WP_WRITE : type == 3 ? WP_READ : WP_ACCESS;
	for (int k = 0; k < d->nwp; k++)
		if (d->wp[k].addr == addr && d->wp[k].len == kind && d->wp[k].kind == wk) {
			if (!insert)
				d->wp[k] = d->wp[--d->nwp];
			return;
		}
	if (insert && d->nwp < DBG_MAX_POINTS) {
		d->wp[d->nwp].addr = addr;
		d->wp[d->nwp].len = kind;
		d->wp[d->nwp++].kind = wk;
	} else if (insert) {
		strcpy(out, "E02");
	}
}

/* qXfer:features:read:ANNEX:OFF,LEN */
static void xfer_features(const char *s, char *out)
{
	uint64_t off, len;
	size_t total = strlen(gdb_target_xml);
	if (strncmp(s, "target.xml:", 11)) {
		strcpy(out, "E00");
		return;
	}
	s += 11;
	if (!parse_hex(&s, &off) || *s++ != ',' || !parse_hex(&s, &len)) {
		strcpy(out, "E01");
		return;
	}
	if (len > PACKET_MAX - 8)
		len = PACKET_MAX - 8;
	if (off >= total) {
		strcpy(out, "l");
		return;
	}
	size_t n = total - off < len ? total - off : len;
	out[0] = off + n < total ? 'm' : 'l';
	memcpy(out + 1, gdb_target_xml + off, n);
	out[n + 1] = 0;
}

/* qRcmd,HEX: a monitor command; its output goes back in O packets. */
static void monitor(struct gdbstub *g, const char *hex, char *out)
{
	char cmd[256], text[8192];
	size_t n = strlen(hex) / 2;
	if (n >= sizeof cmd || strlen(hex) % 2 || !from_hex(hex, (uint8_t *)cmd, n)) {
		strcpy(out, "E01");
		return;
	}
	cmd[n] = 0;
	char *arg = strchr(cmd, ' ');
	if (arg)
		*arg++ = 0;
	if (!strcmp(cmd, "snapshots")) {
		const struct snapstore *st = g->r->st;
		snprintf(text, sizeof text,
			 "%d snapshots held (%llu taken, %llu merged), every %llu instructions, "
			 "%.1f MiB (at most %.1f MiB), %llu instructions replayed\n",
			 st->n, (unsigned long long)st->taken, (unsigned long long)st->merged,
			 (unsigned long long)g->r->interval, (double)st->bytes / (1 << 20),
			 (double)st->peak / (1 << 20), (unsigned long long)g->r->replayed);
	} else {
		gdb_monitor(g->c, cmd, arg ? arg : "", text, sizeof text);
	}
	char pkt[2 * 1000 + 2];
	for (size_t at = 0, len = strlen(text); at < len; at += 1000) {
		size_t k = len - at < 1000 ? len - at : 1000;
		pkt[0] = 'O';
		to_hex(pkt + 1, (const uint8_t *)text + at, k);
		put_packet(g, pkt);
	}
	strcpy(out, "OK");
}

static void query(struct gdbstub *g, const char *p, char *out)
{
	if (!strncmp(p, "qSupported", 10))
		snprintf(out, PACKET_MAX, "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;"
			 "swbreak+;hwbreak+;ReverseStep+;ReverseContinue+", PACKET_MAX);
	else if (!strncmp(p, "qXfer:features:read:", 20))
		xfer_features(p + 20, out);
	else if (!strncmp(p, "qRcmd,", 6))
		monitor(g, p + 6, out);
	else if (!strcmp(p, "qAttached"))
		strcpy(out, "1");
	else if (!strcmp(p, "qC"))
		strcpy(out, "QC1");
	else if (!strcmp(p, "qfThreadInfo"))
		strcpy(out, "m1");
	else if (!strcmp(p, "qsThreadInfo"))
		strcpy(out, "l");
	else if (!strncmp(p, "qSymbol", 7))
		strcpy(out, "OK");
	else
		out[0] = 0; /* not supported: the empty reply */
}

static void vpacket(struct gdbstub *g, const char *p, char *out)
{
	if (!strcmp(p, "vCont?"))
		strcpy(out, "vCont;c;C;s;S");
	else if (!strncmp(p, "vCont;s", 7) || !strncmp(p, "vCont;S", 7))
		do_step(g, out, PACKET_MAX);
	else if (!strncmp(p, "vCont;c", 7) || !strncmp(p, "vCont;C", 7))
		do_continue(g, out, PACKET_MAX);
	else if (!strncmp(p, "vKill", 5)) {
		g->killed = true;
		strcpy(out, "OK");
	} else
		out[0] = 0;
}

static void handle(struct gdbstub *g, char *out)
{
	const char *p = g->in;
	out[0] = 0;
	switch (p[0]) {
	case '!': strcpy(out, "E01"); break;
	case '\003': g->stop = EMU_STOP_BUDGET; stop_reply(g, out, PACKET_MAX, true); break;
	case '?': g->stop = EMU_STOP_BUDGET; stop_reply(g, out, PACKET_MAX, false); break;
	case 'g': read_regs(g, out); break;
	case 'G': write_regs(g, p + 1, out); break;
	case 'p': one_reg(g, p + 1, false, out); break;
	case 'P': one_reg(g, p + 1, true, out); break;
	case 'm': memory(g, p + 1, false, out); break;
	case 'M': memory(g, p + 1, true, out); break;
	case 'Z': point(g, p + 1, true, out); break;
	case 'z': point(g, p + 1, false, out); break;
	case 'c': do_continue(g, out, PACKET_MAX); break;
	case 's': do_step(g, out, PACKET_MAX); break;
	case 'b':
		if (p[1] == 's' || p[1] == 'c')
			do_reverse(g, p[1] == 's', out, PACKET_MAX);
		break;
	case 'H': case 'T': strcpy(out, "OK"); break;
	case 'q': query(g, p, out); break;
	case 'Q':
		if (!strcmp(p, "QStartNoAckMode"))
			strcpy(out, "OK");
		break;
	case 'v': vpacket(g, p, out); break;
	case 'D': g->detached = true; strcpy(out, "OK"); break;
	case 'k': g->killed = true; return;
	default: break;
	}
	if (p[0] == 'k')
		return;
	put_packet(g, out);
	if (!strcmp(p, "QStartNoAckMode"))
		g->noack = true; /* from the next packet on (E.11) */
}

enum emu_stop gdb_serve(struct gdbstub *g, struct reverse *r, uint64_t max_insns, bool *detached)
{
	char *out = malloc(2 * PACKET_MAX + 8);
	g->r = r;
	g->c = r->c;
	g->max_insns = max_insns;
	g->stop = EMU_STOP_BUDGET;
	*detached = false;
	if (!out)
		return g->stop;
	g->fd = accept(g->listen_fd, NULL, NULL);
	if (g->fd >= 0) {
		int one = 1;
		setsockopt(g->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	while (g->fd >= 0 && !g->ended && !g->detached && !g->killed && get_packet(g))
		handle(g, out);
	free(out);
	g->c->dbg.nbp = g->c->dbg.nwp = 0;
	*detached = g->detached;
	if (g->detached || g->ended)
		return g->stop;
	return EMU_STOP_DEBUG;   /* killed, or gdb went away: the run ends here */
}
