/* The message table: every user-facing string in English and Brazilian
 * Portuguese (emu/messages.def). */
#ifndef EMU_MSG_H
#define EMU_MSG_H

enum msg_id {
#define MSG(id, en, pt) MSG_##id,
#include "emu/messages.def"
#undef MSG
	MSG_COUNT
};

enum lang { LANG_EN, LANG_PT_BR };

/* The language from the environment: NESTLAB_LANG, then LC_ALL,
 * LC_MESSAGES, LANG; "pt..." selects Brazilian Portuguese. */
enum lang msg_lang_from_env(void);

/* Parse "en" / "pt-BR" (also pt_BR, pt); returns -1 if unknown. */
int msg_lang_parse(const char *s);

const char *msg(enum lang l, enum msg_id id);

#endif
