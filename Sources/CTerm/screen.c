// The screen side of the terminal driver: curses start/stop, cell runs, colour pairs, input,
// signals and sixel encoding. Everything here is called from TUI's CursesDriver only.
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include "cterm.h"
#include <locale.h>
#include <ncursesw/curses.h>
#include <signal.h>
#include <sixel/sixel.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

static int g_active = 0;
static int g_have_termios = 0;
static struct termios g_saved_termios;
static volatile sig_atomic_t g_signal = 0;

static void cterm_atexit(void) { cterm_stop(); }
static void setup_screen(void);

int cterm_start(void) {
    static int atexit_registered = 0;
    if (g_active) return 0;
    setlocale(LC_ALL, "");
    if (tcgetattr(STDIN_FILENO, &g_saved_termios) == 0) g_have_termios = 1;
    if (newterm(NULL, stdout, stdin) == NULL) return -1;
    g_active = 1;
    if (!atexit_registered) {
        atexit(cterm_atexit);
        atexit_registered = 1;
    }
    setup_screen();
    mouseinterval(0);
    mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    return 0;
}

static void setup_screen(void) {
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    leaveok(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    if (has_colors()) {
        start_color();
        use_default_colors();
    }
}

int cterm_start_file(const char *term, const char *path, int rows, int cols) {
    if (g_active) return -1;
    setlocale(LC_ALL, "");
    FILE *out = fopen(path, "w");
    FILE *in = fopen("/dev/null", "r");
    if (!out || !in) {
        if (out) fclose(out);
        if (in) fclose(in);
        return -1;
    }
    if (newterm(term, out, in) == NULL) return -1;
    g_active = 1;
    setup_screen();
    resizeterm(rows, cols);
    return 0;
}

static void release_stderr(void);

void cterm_stop(void) {
    if (!g_active) return;
    g_active = 0;
    mousemask(0, NULL);
    curs_set(1);
    endwin();
    fflush(stdout);
    release_stderr();
}

int cterm_active(void) { return g_active; }

void cterm_size(int *rows, int *cols) {
    int r, c;
    getmaxyx(stdscr, r, c);
    *rows = r;
    *cols = c;
}

static attr_t to_attr(uint8_t a) {
    attr_t out = A_NORMAL;
    if (a & CTERM_ATTR_BOLD) out |= A_BOLD;
    if (a & CTERM_ATTR_DIM) out |= A_DIM;
    if (a & CTERM_ATTR_UNDERLINE) out |= A_UNDERLINE;
    if (a & CTERM_ATTR_REVERSE) out |= A_REVERSE;
    if (a & CTERM_ATTR_ITALIC) out |= A_ITALIC;
    return out;
}

void cterm_put_run(int y, int x, const uint32_t *chars, const uint8_t *attrs, const int *pairs, int n) {
    enum { CHUNK = 256 };
    cchar_t cells[CHUNK];
    int done = 0;
    while (done < n) {
        int m = n - done < CHUNK ? n - done : CHUNK;
        for (int i = 0; i < m; i++) {
            wchar_t wc[2] = {(wchar_t)chars[done + i], 0};
            int pair = pairs[done + i];
            setcchar(&cells[i], wc, to_attr(attrs[done + i]), 0, &pair);
        }
        mvwadd_wchnstr(stdscr, y, x + done, cells, m);
        done += m;
    }
}

int cterm_init_pair(int pair, int fg, int bg) { return init_extended_pair(pair, fg, bg) == OK ? 0 : -1; }

void cterm_reset_pairs(void) { reset_color_pairs(); }

void cterm_flush(void) {
    wnoutrefresh(stdscr);
    doupdate();
}

void cterm_redraw_rows(int top, int n) { wredrawln(stdscr, top, n); }

void cterm_clear_all(void) { clearok(stdscr, TRUE); }

int cterm_read(int timeout_ms, uint32_t *code, int *mx, int *my, int *mkind) {
    wint_t wch = 0;
    wtimeout(stdscr, timeout_ms);
    int rc = wget_wch(stdscr, &wch);
    if (rc == ERR) return 0;
    if (rc == KEY_CODE_YES) {
        if (wch == KEY_RESIZE) return 4;
        if (wch == KEY_MOUSE) {
            MEVENT ev;
            if (getmouse(&ev) != OK) return 0;
            *mx = ev.x;
            *my = ev.y;
            if (ev.bstate & BUTTON1_PRESSED) *mkind = 1;
            else if (ev.bstate & BUTTON4_PRESSED) *mkind = 2;
            else if (ev.bstate & BUTTON5_PRESSED) *mkind = 3;
            else *mkind = 4;
            return 3;
        }
        *code = (uint32_t)wch;
        return 2;
    }
    *code = (uint32_t)wch;
    return 1;
}

// ---- stderr while the screen is taken ----
//
// What is written to stderr while curses owns the screen (warnings, and a Swift runtime's
// "Fatal error: …" just before it traps) would land on the alternate screen and vanish with it.
// It goes to an unlinked temporary file instead and is copied to the real stderr once the
// terminal is restored: at a normal stop, or in the crash handler (read / write / lseek / dup2
// are async-signal-safe).

static int g_real_stderr = -1;
static int g_captured_stderr = -1;

void cterm_capture_stderr(void) {
    if (g_captured_stderr >= 0) return;
    char path[] = "/tmp/segscope-stderr-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return;
    unlink(path);
    int real = dup(STDERR_FILENO);
    if (real < 0 || dup2(fd, STDERR_FILENO) < 0) {
        if (real >= 0) close(real);
        close(fd);
        return;
    }
    g_real_stderr = real;
    g_captured_stderr = fd;
}

/// Puts the real stderr back and copies what was captured to it. Async-signal-safe.
static void release_stderr(void) {
    if (g_captured_stderr < 0) return;
    int fd = g_captured_stderr, real = g_real_stderr;
    g_captured_stderr = -1;
    g_real_stderr = -1;
    dup2(real, STDERR_FILENO);
    close(real);
    char buffer[4096];
    if (lseek(fd, 0, SEEK_SET) == 0) {
        ssize_t n;
        while ((n = read(fd, buffer, sizeof buffer)) > 0) {
            ssize_t ignored = write(STDERR_FILENO, buffer, (size_t)n);
            (void)ignored;
        }
    }
    close(fd);
}

// ---- signals ----

/// Leaves the alternate screen, shows the cursor, resets attributes and mouse reporting,
/// restores the tty modes saved at start and the real stderr: write(2), tcsetattr, dup2 only.
static void emergency_restore(void) {
    static const char reset[] = "\033[?1000l\033[?1002l\033[?1006l\033[0m\033[?25h\033[?1049l\r\n";
    ssize_t ignored = write(STDOUT_FILENO, reset, sizeof reset - 1);
    (void)ignored;
    if (g_have_termios) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
    release_stderr();
}

static void on_signal(int sig) {
    if (g_signal != 0) {
        // Second signal: the main loop did not get to restore the terminal; do it here with
        // async-signal-safe calls only.
        emergency_restore();
        _exit(128 + sig);
    }
    g_signal = sig;
}

// A crash on any thread (a Swift trap is SIGILL or SIGTRAP; SIGSEGV, SIGBUS, SIGFPE, SIGABRT):
// restore the terminal once, run whoever had the signal before (the Swift runtime's crash
// reporter), then the default action: the process dies of the same signal.
static const int g_crash_signals[] = {SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT};
enum { CRASH_SIGNALS = sizeof g_crash_signals / sizeof g_crash_signals[0] };
static struct sigaction g_previous_crash[CRASH_SIGNALS];
static volatile sig_atomic_t g_crashed = 0;

static int g_null_fd = -1;

static void on_crash(int sig, siginfo_t *info, void *context) {
    if (!g_crashed) {
        g_crashed = 1;
        if (g_active) {
            // The front's other threads may still draw a frame: from here on stdout goes to
            // /dev/null, and the restore sequences to the terminal through a saved descriptor.
            int terminal = dup(STDOUT_FILENO);
            if (g_null_fd >= 0 && terminal >= 0) {
                dup2(g_null_fd, STDOUT_FILENO);
                static const char reset[] = "\033[?1000l\033[?1002l\033[?1006l\033[0m\033[?25h\033[?1049l\r\n";
                ssize_t ignored = write(terminal, reset, sizeof reset - 1);
                (void)ignored;
                if (g_have_termios) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
                release_stderr();
            } else {
                emergency_restore();
            }
        }
    }
    // The previous handler first (the Swift runtime's backtrace, printed on the restored
    // screen). It may return — it does for a SIGSEGV sent with kill — so the default action
    // follows: pending until this handler returns, then the process dies of `sig`.
    for (int i = 0; i < CRASH_SIGNALS; i++) {
        if (g_crash_signals[i] != sig) continue;
        struct sigaction previous = g_previous_crash[i];
        if (previous.sa_flags & SA_SIGINFO) {
            if (previous.sa_sigaction) previous.sa_sigaction(sig, info, context);
        } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
            previous.sa_handler(sig);
        }
    }
    struct sigaction fallback;
    memset(&fallback, 0, sizeof fallback);
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    sigaction(sig, &fallback, NULL);
    raise(sig);
}

void cterm_install_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    struct sigaction crash;
    memset(&crash, 0, sizeof crash);
    crash.sa_sigaction = on_crash;
    sigemptyset(&crash.sa_mask);
    crash.sa_flags = SA_ONSTACK | SA_SIGINFO;
    if (g_null_fd < 0) g_null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    for (int i = 0; i < CRASH_SIGNALS; i++) sigaction(g_crash_signals[i], &crash, &g_previous_crash[i]);
}

int cterm_pending_signal(void) { return g_signal; }

// ---- sixel ----

struct sixel_buffer {
    unsigned char *data;
    size_t len, cap;
    int failed;
};

static int sixel_collect(char *data, int size, void *priv) {
    struct sixel_buffer *b = priv;
    if (b->failed) return -1;
    if (b->len + (size_t)size > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < b->len + (size_t)size) cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return -1;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, (size_t)size);
    b->len += (size_t)size;
    return 0;
}

int cterm_sixel_encode(const uint8_t *rgb, int width, int height, unsigned char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (width <= 0 || height <= 0) return -1;
    struct sixel_buffer buf = {0};
    sixel_output_t *output = NULL;
    sixel_dither_t *dither = NULL;
    int rc = -1;
    if (SIXEL_FAILED(sixel_output_new(&output, sixel_collect, &buf, NULL))) goto done;
    if (SIXEL_FAILED(sixel_dither_new(&dither, 256, NULL))) goto done;
    if (SIXEL_FAILED(sixel_dither_initialize(dither, (unsigned char *)rgb, width, height,
                                             SIXEL_PIXELFORMAT_RGB888, SIXEL_LARGE_AUTO,
                                             SIXEL_REP_AUTO, SIXEL_QUALITY_AUTO)))
        goto done;
    if (SIXEL_FAILED(sixel_encode((unsigned char *)rgb, width, height, 3, dither, output))) goto done;
    if (buf.failed) goto done;
    rc = 0;
done:
    if (dither) sixel_dither_unref(dither);
    if (output) sixel_output_unref(output);
    if (rc == 0) {
        *out = buf.data;
        *len = buf.len;
    } else {
        free(buf.data);
    }
    return rc;
}

void cterm_write_raw(const char *bytes, size_t len) {
    fflush(stdout);
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(STDOUT_FILENO, bytes + done, len - done);
        if (n <= 0) break;
        done += (size_t)n;
    }
}
