#include "cterm.h"
#include <ncursesw/curses.h>
#include <term.h>
#include <sixel/sixel.h>
#include <unistd.h>

int cterm_lines(void) { return LINES; }
int cterm_cols(void) { return COLS; }
void cterm_getmaxyx(WINDOW *win, int *rows, int *cols) {
    int r, c;
    getmaxyx(win, r, c);
    *rows = r;
    *cols = c;
}
unsigned int cterm_a_bold(void) { return A_BOLD; }
unsigned int cterm_a_dim(void) { return A_DIM; }
unsigned int cterm_a_underline(void) { return A_UNDERLINE; }
unsigned int cterm_a_reverse(void) { return A_REVERSE; }
unsigned int cterm_a_italic(void) { return A_ITALIC; }
unsigned int cterm_color_pair(int pair) { return (unsigned int)COLOR_PAIR(pair); }
int cterm_colors(void) { return COLORS; }
int cterm_color_pairs(void) { return COLOR_PAIRS; }
int cterm_key_resize(void) { return KEY_RESIZE; }
int cterm_key_mouse(void) { return KEY_MOUSE; }
const char *cterm_curses_version(void) { return curses_version(); }

int cterm_terminfo_probe(const char *term, int *colors, int *rgb) {
    int err = 0;
    TERMINAL *saved = cur_term;
    if (setupterm(term, -1, &err) != OK) {
        *colors = -1;
        *rgb = 0;
        return -1;
    }
    int n = tigetnum("colors");
    int flag = tigetflag("RGB");
    *colors = n;
    *rgb = (flag > 0 || n >= (1 << 24)) ? 1 : 0;
    TERMINAL *mine = cur_term;
    if (saved) set_curterm(saved);
    del_curterm(mine);
    return 0;
}

const char *cterm_sixel_version(void) { return LIBSIXEL_VERSION; }
