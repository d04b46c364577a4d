#ifndef SEGSCOPE_CNCURSES_SHIM_H
#define SEGSCOPE_CNCURSES_SHIM_H
// SwiftPM drops -D flags from pkg-config, so wide-character ncurses is requested here.
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <ncursesw/curses.h>
#include <term.h>
#endif
