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

// ---- Screen driver helpers (screen.c) ----
#include <stdint.h>

/// Starts curses on the controlling terminal: locale from the environment, raw keys, no echo,
/// keypad, hidden cursor, colours with terminal defaults (-1), mouse clicks and wheel, 25 ms
/// ESC delay. Returns 0 on success, -1 when the terminal cannot be initialised.
int cterm_start(void);
/// Starts curses writing to the file `path` as terminal type `term`, `rows` × `cols`, input
/// from /dev/null: for benchmarks of the whole output path without a terminal. 0 on success.
int cterm_start_file(const char *term, const char *path, int rows, int cols);
/// Ends curses (idempotent) and restores the terminal.
void cterm_stop(void);
/// Whether curses is running.
int cterm_active(void);
/// Size of the screen in cells.
void cterm_size(int *rows, int *cols);
/// Writes a run of `n` cells starting at (y, x): code points, attribute bits (CTERM_ATTR_*),
/// colour pair numbers. One call per changed run of a row.
void cterm_put_run(int y, int x, const uint32_t *chars, const uint8_t *attrs, const int *pairs, int n);
/// Defines colour pair `pair` (1 ... COLOR_PAIRS-1); colours are terminfo colour numbers or -1.
int cterm_init_pair(int pair, int fg, int bg);
/// Forgets every colour pair (ncurses >= 6.1).
void cterm_reset_pairs(void);
/// Flushes the frame to the terminal (one write).
void cterm_flush(void);
/// Marks rows [top, top+n) as garbled so the next flush rewrites them entirely.
void cterm_redraw_rows(int top, int n);
/// Forces the next flush to repaint the whole screen.
void cterm_clear_all(void);
/// Reads one input: returns 0 on timeout, 1 for a character (`*code`), 2 for a function key
/// (`*code` = KEY_*), 3 for a mouse event (`*mx`, `*my`, `*mkind`: 1 left press, 2 wheel up,
/// 3 wheel down, 4 other), 4 for a resize. `timeout_ms` < 0 blocks.
int cterm_read(int timeout_ms, uint32_t *code, int *mx, int *my, int *mkind);

enum {
    CTERM_ATTR_BOLD = 1, CTERM_ATTR_DIM = 2, CTERM_ATTR_UNDERLINE = 4, CTERM_ATTR_REVERSE = 8,
    CTERM_ATTR_ITALIC = 16
};

/// Installs SIGINT / SIGTERM / SIGHUP / SIGQUIT handlers that record the signal; a second
/// signal restores the terminal with async-signal-safe calls and exits (128 + signal). A crash
/// signal on any thread (SIGILL / SIGTRAP of a Swift trap, SIGSEGV, SIGBUS, SIGFPE, SIGABRT)
/// restores the terminal, then goes to the previous handler (the process dies of it).
void cterm_install_signal_handlers(void);
/// Sends stderr to an unlinked temporary file while the screen is taken; `cterm_stop` and the
/// crash handler copy it to the real stderr once the terminal is restored.
void cterm_capture_stderr(void);
/// The first signal received since installation, or 0.
int cterm_pending_signal(void);

/// Encodes `width` x `height` RGB888 pixels as a sixel sequence (DCS ... ST) with an adaptive
/// palette of up to 256 colours. On success returns 0 and `*out` (free with `free`) / `*len`.
int cterm_sixel_encode(const uint8_t *rgb, int width, int height, unsigned char **out, size_t *len);
/// Writes bytes straight to the terminal (after curses has flushed): used for sixel images.
void cterm_write_raw(const char *bytes, size_t len);
#endif
