/* JSON Lines trace of the event stream (docs/trace-format.md). 64-bit
 * values are written as "0x..." strings, since JSON numbers lose
 * precision above 2^53. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "emu/bus.h"
#include "emu/event.h"
#include "emu/trace.h"
#include "vmx/ept.h"
#include "vmx/vmcs.h"

#define TRACE_FORMAT 1

struct trace {
	FILE *f;
	struct cpu *c;
};

static void hex(cJSON *o, const char *key, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)v);
	cJSON_AddStringToObject(o, key, buf);
}

static void write_obj(struct trace *t, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	if (s) {
		fputs(s, t->f);
		fputc('\n', t->f);
		free(s);
	}
	cJSON_Delete(o);
}

static const char *const access_names[] = { "read", "write", "fetch" };

static void steps_field(cJSON *o, const struct walk_step *step, int n)
{
	cJSON *steps = cJSON_AddArrayToObject(o, "steps");
	for (int k = 0; k < n; k++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddNumberToObject(s, "level", step[k].level);
		hex(s, "entry", step[k].entry_pa);
		hex(s, "value", step[k].value);
		cJSON_AddItemToArray(steps, s);
	}
}

static void walk_fields(cJSON *o, const struct walk *w, unsigned kind, bool user)
{
	hex(o, "lin", w->lin);
	cJSON_AddStringToObject(o, "access", access_names[kind % 3]);
	cJSON_AddBoolToObject(o, "user", user);
	steps_field(o, w->step, w->nsteps);
	cJSON_AddBoolToObject(o, "fault", w->fault);
	if (w->fault) {
		hex(o, "error", w->error);
	} else {
		hex(o, "pa", w->pa);
		cJSON_AddNumberToObject(o, "page_size", (double)w->page_size);
	}
}

static void on_event(void *opaque, const struct event *e)
{
	static const char *const type_names[] = {
		[EVT_EXCEPTION] = "exception", [EVT_INTERRUPT] = "interrupt", [EVT_IO] = "io",
		[EVT_MODE] = "mode", [EVT_WALK] = "walk", [EVT_SERIAL] = "serial",
		[EVT_END] = "end", [EVT_VMENTRY] = "vmentry", [EVT_VMEXIT] = "vmexit",
		[EVT_VMX_INSN] = "vmx_insn", [EVT_EPT_WALK] = "ept_walk",
	};
	struct trace *t = opaque;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "t", type_names[e->type]);
	cJSON_AddNumberToObject(o, "icount", (double)e->icount);
	cJSON_AddNumberToObject(o, "vtime", (double)e->vtime);
	hex(o, "rip", e->rip);
	switch (e->type) {
	case EVT_EXCEPTION:
		cJSON_AddNumberToObject(o, "vector", e->u.exc.vector);
		cJSON_AddBoolToObject(o, "software", e->u.exc.software);
		if (e->u.exc.has_error)
			hex(o, "error", e->u.exc.error);
		if (e->u.exc.vector == 14)
			hex(o, "cr2", e->u.exc.cr2);
		break;
	case EVT_INTERRUPT:
		cJSON_AddNumberToObject(o, "vector", e->u.irq.vector);
		cJSON_AddBoolToObject(o, "nmi", e->u.irq.nmi);
		break;
	case EVT_IO:
		hex(o, "port", e->u.io.port);
		cJSON_AddNumberToObject(o, "size", e->u.io.bytes);
		cJSON_AddStringToObject(o, "dir", e->u.io.in ? "in" : "out");
		hex(o, "value", e->u.io.value);
		break;
	case EVT_MODE:
		cJSON_AddStringToObject(o, "mode", e->u.mode.mode);
		cJSON_AddNumberToObject(o, "cpl", e->u.mode.cpl);
		cJSON_AddBoolToObject(o, "paging", e->u.mode.paging);
		break;
	case EVT_WALK:
		walk_fields(o, e->u.walk.w, e->u.walk.kind, e->u.walk.user);
		break;
	case EVT_SERIAL:
		cJSON_AddNumberToObject(o, "byte", e->u.serial.byte);
		break;
	case EVT_VMENTRY:
		cJSON_AddStringToObject(o, "insn", e->u.vmentry.launch ? "vmlaunch" : "vmresume");
		cJSON_AddBoolToObject(o, "ok", e->u.vmentry.ok);
		hex(o, "guest_rip", e->u.vmentry.guest_rip);
		if (e->u.vmentry.vm_error)
			cJSON_AddNumberToObject(o, "vm_error", e->u.vmentry.vm_error);
		if (e->u.vmentry.check) {
			cJSON_AddStringToObject(o, "check", e->u.vmentry.check);
			cJSON_AddStringToObject(o, "sdm", e->u.vmentry.sdm);
			cJSON_AddStringToObject(o, "why", e->u.vmentry.why);
		}
		break;
	case EVT_VMEXIT:
		cJSON_AddNumberToObject(o, "reason", e->u.vmexit.reason & 0xffff);
		cJSON_AddStringToObject(o, "name", e->u.vmexit.name);
		cJSON_AddBoolToObject(o, "entry_failure", e->u.vmexit.reason >> 31);
		hex(o, "qual", e->u.vmexit.qual);
		hex(o, "guest_rip", e->u.vmexit.guest_rip);
		if (e->u.vmexit.intr_info >> 31)
			hex(o, "intr_info", e->u.vmexit.intr_info);
		if (e->u.vmexit.changed) {
			cJSON *ch = cJSON_AddObjectToObject(o, "changed");
			for (unsigned k = 0; ch && k < e->u.vmexit.nchanged; k++) {
				unsigned f = e->u.vmexit.changed[k];
				hex(ch, vmcs_fields[f].name, t->c->vmx.field[f]);
			}
		}
		break;
	case EVT_VMX_INSN: {
		static const char *const results[] = { "VMsucceed", "VMfailInvalid", "VMfailValid" };
		cJSON_AddStringToObject(o, "insn", e->u.vmxinsn.insn);
		cJSON_AddStringToObject(o, "result", results[e->u.vmxinsn.result % 3]);
		if (e->u.vmxinsn.result == 2) {
			cJSON_AddNumberToObject(o, "vm_error", e->u.vmxinsn.error);
			const char *text = vmx_error_text(e->u.vmxinsn.error);
			if (text)
				cJSON_AddStringToObject(o, "text", text);
		}
		if (e->u.vmxinsn.has_addr)
			hex(o, "addr", e->u.vmxinsn.addr);
		if (e->u.vmxinsn.field >= 0 && e->u.vmxinsn.result == 0) {
			cJSON_AddStringToObject(o, "field", vmcs_fields[e->u.vmxinsn.field].name);
			hex(o, "value", e->u.vmxinsn.value);
		}
		break;
	}
	case EVT_EPT_WALK: {
		const struct ept_walk *w = e->u.ept.w;
		hex(o, "gpa", w->gpa);
		cJSON_AddStringToObject(o, "access", access_names[e->u.ept.kind % 3]);
		steps_field(o, w->step, w->nsteps);
		cJSON_AddStringToObject(o, "result", w->misconfig ? "misconfig" :
					w->page_size ? "translated" : "not present");
		if (w->page_size) {
			hex(o, "hpa", w->hpa);
			cJSON_AddNumberToObject(o, "rights", w->rights);
		}
		break;
	}
	case EVT_END:
		cJSON_AddStringToObject(o, "reason", e->u.end.reason);
		cJSON_AddNumberToObject(o, "status", e->u.end.status);
		break;
	}
	write_obj(t, o);
}

struct trace *trace_open(struct cpu *c, const char *path, const char *image, bool walks)
{
	struct trace *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->f = fopen(path, "w");
	if (!t->f || !evt_observe(c, on_event, t)) {
		if (t->f)
			fclose(t->f);
		free(t);
		return NULL;
	}
	t->c = c;
	c->trace_walks = walks;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "t", "start");
	cJSON_AddNumberToObject(o, "format", TRACE_FORMAT);
	cJSON_AddStringToObject(o, "image", image);
	cJSON_AddStringToObject(o, "mode", evt_mode_name(c));
	hex(o, "rip", c->rip);
	hex(o, "ram", c->bus->ram_size);
	write_obj(t, o);
	return t;
}

void trace_close(struct trace *t, const char *reason, unsigned status)
{
	if (!t)
		return;
	struct event e = { .type = EVT_END };
	e.u.end.reason = reason;
	e.u.end.status = status;
	evt_emit(t->c, &e);
	fclose(t->f);
	free(t);
}
