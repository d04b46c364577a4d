#ifndef SEGSCOPE_CTERM_H
#define SEGSCOPE_CTERM_H
// ncurses macros and variables Swift cannot see, as plain functions.
#include <stddef.h>

typedef struct _win_st WINDOW;

int cterm_lines(void);
int cterm_cols(void);
void cterm_getmaxyx(WINDOW *win, int *rows, int *cols);
unsigned int cterm_a_bold(void);
unsigned int cterm_a_dim(void);
unsigned int cterm_a_underline(void);
unsigned int cterm_a_reverse(void);
unsigned int cterm_a_italic(void);
unsigned int cterm_color_pair(int pair);
int cterm_colors(void);
int cterm_color_pairs(void);
int cterm_key_resize(void);
int cterm_key_mouse(void);
/// The ncurses version string of the loaded library, e.g. "ncurses 6.4.20221231".
const char *cterm_curses_version(void);
/// Reads terminfo for `term` (NULL: $TERM) without starting curses. Returns 0 on success.
/// `colors` gets the `colors` capability (-1 when absent), `rgb` 1 when the `RGB` flag or the
/// direct-colour convention (`colors` ≥ 2^24) is present.
int cterm_terminfo_probe(const char *term, int *colors, int *rgb);
/// libsixel version the headers describe.
const char *cterm_sixel_version(void);
#endif
