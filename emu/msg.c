#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu/msg.h"

static const char *const table[MSG_COUNT][2] = {
#define MSG(id, en, pt) [MSG_##id] = { en, pt },
#include "emu/messages.def"
#undef MSG
};

int msg_lang_parse(const char *s)
{
	if (!strcasecmp(s, "en") || !strncasecmp(s, "en_", 3) || !strncasecmp(s, "en-", 3) ||
	    !strcmp(s, "C") || !strcmp(s, "POSIX"))
		return LANG_EN;
	if (!strncasecmp(s, "pt", 2) && (s[2] == 0 || s[2] == '_' || s[2] == '-'))
		return LANG_PT_BR;
	return -1;
}

enum lang msg_lang_from_env(void)
{
	static const char *const vars[] = { "NESTLAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG" };
	for (size_t k = 0; k < sizeof vars / sizeof vars[0]; k++) {
		const char *v = getenv(vars[k]);
		if (v && *v) {
			int l = msg_lang_parse(v);
			return l < 0 ? LANG_EN : (enum lang)l;
		}
	}
	return LANG_EN;
}

const char *msg(enum lang l, enum msg_id id)
{
	return table[id][l == LANG_PT_BR];
}
