/* The code pane's disassembler, for the controls too (gui/pane_code.c). */
#ifndef GUI_CODE_H
#define GUI_CODE_H

#include <stdbool.h>
#include <stdint.h>

struct gui;

/* Whether the instruction at rip is a CALL; *next: the one after it. */
bool gui_call_at(struct gui *g, uint64_t rip, uint64_t *next);

#endif
