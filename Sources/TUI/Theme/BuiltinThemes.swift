// Generated from themes/*.theme (a test checks they are identical). Edit the files, then copy
// their text here.

/// The text of the themes compiled into the binary.
enum BuiltinThemes {
    static let text: [String: String] = [
        "default": #"""
# Segscope theme: default (dark). Flat `role = "#rrggbb"` lines; a missing key falls back to
# this theme. Colours may also be ANSI names (black, red, ..., bright_white) or "default".

# Background of every pane.
main_bg = "#15171c"
# Normal text.
main_fg = "#d5d9e0"
# Text of lesser importance: sizes, hints, empty-state messages.
dim_fg = "#7d8594"
# Background of the top bar.
header_bg = "#262b36"
# Text of the top bar.
header_fg = "#e8ebf0"
# Pane borders.
border_fg = "#3a414e"
# The border of the pane that has the keyboard focus.
focus_fg = "#6ea8fe"
# Pane titles.
title_fg = "#9ec5ff"
# Background of the selected row.
selected_bg = "#2d4a7a"
# Text of the selected row.
selected_fg = "#ffffff"
# Highlights: the current split, the view mode, numbers that matter.
accent_fg = "#f0b35a"
# Key names in the footer and the help overlay.
key_fg = "#8fd18b"
# Background of the footer line.
footer_bg = "#262b36"
# Descriptions in the footer.
footer_fg = "#aeb5c2"
# Filled part of a bar.
bar_fg = "#5fa8d3"
# Empty track of a bar.
bar_bg = "#232730"
# Error messages (an unreadable sample, a failed load).
error_fg = "#ff6b6b"
# Warnings and progress notes.
warning_fg = "#e5c07b"
# Background of the help overlay and the filter prompt.
overlay_bg = "#1f2430"
# Text of the help overlay and the filter prompt.
overlay_fg = "#e8ebf0"
# Colour of void (255) mask pixels: VOC's boundary band.
void_fg = "#e0e0c0"
"""#,
        "light": #"""
# Segscope theme: light. Keys as in default.theme; missing keys fall back to the default.

# Background of every pane.
main_bg = "#f6f6f3"
# Normal text.
main_fg = "#24292f"
# Text of lesser importance: sizes, hints, empty-state messages.
dim_fg = "#6e7781"
# Background of the top bar.
header_bg = "#dfe3e8"
# Text of the top bar.
header_fg = "#1f2328"
# Pane borders.
border_fg = "#c3c9d1"
# The border of the pane that has the keyboard focus.
focus_fg = "#0969da"
# Pane titles.
title_fg = "#0550ae"
# Background of the selected row.
selected_bg = "#b6d4fe"
# Text of the selected row.
selected_fg = "#0b1f3a"
# Highlights: the current split, the view mode, numbers that matter.
accent_fg = "#9a6700"
# Key names in the footer and the help overlay.
key_fg = "#1a7f37"
# Background of the footer line.
footer_bg = "#dfe3e8"
# Descriptions in the footer.
footer_fg = "#424a53"
# Filled part of a bar.
bar_fg = "#2f81f7"
# Empty track of a bar.
bar_bg = "#e4e7eb"
# Error messages (an unreadable sample, a failed load).
error_fg = "#cf222e"
# Warnings and progress notes.
warning_fg = "#9a6700"
# Background of the help overlay and the filter prompt.
overlay_bg = "#ffffff"
# Text of the help overlay and the filter prompt.
overlay_fg = "#1f2328"
# Colour of void (255) mask pixels: VOC's boundary band.
void_fg = "#e0e0c0"
"""#,
        "high-contrast": #"""
# Segscope theme: high contrast (black, white and saturated accents). Keys as in default.theme.

# Background of every pane.
main_bg = "#000000"
# Normal text.
main_fg = "#ffffff"
# Text of lesser importance: sizes, hints, empty-state messages.
dim_fg = "#c0c0c0"
# Background of the top bar.
header_bg = "#ffffff"
# Text of the top bar.
header_fg = "#000000"
# Pane borders.
border_fg = "#ffffff"
# The border of the pane that has the keyboard focus.
focus_fg = "#ffff00"
# Pane titles.
title_fg = "#00ffff"
# Background of the selected row.
selected_bg = "#ffff00"
# Text of the selected row.
selected_fg = "#000000"
# Highlights: the current split, the view mode, numbers that matter.
accent_fg = "#ffff00"
# Key names in the footer and the help overlay.
key_fg = "#00ff00"
# Background of the footer line.
footer_bg = "#ffffff"
# Descriptions in the footer.
footer_fg = "#000000"
# Filled part of a bar.
bar_fg = "#00ffff"
# Empty track of a bar.
bar_bg = "#303030"
# Error messages (an unreadable sample, a failed load).
error_fg = "#ff4040"
# Warnings and progress notes.
warning_fg = "#ffff00"
# Background of the help overlay and the filter prompt.
overlay_bg = "#000000"
# Text of the help overlay and the filter prompt.
overlay_fg = "#ffffff"
# Colour of void (255) mask pixels: VOC's boundary band.
void_fg = "#ffffff"
"""#,
        "16color": #"""
# Segscope theme: 16-colour fallback, used automatically on terminals with 8 or 16 colours
# (unless --theme names another). Values are ANSI colour names or "default" (the terminal's own).

# Background of every pane.
main_bg = "default"
# Normal text.
main_fg = "default"
# Text of lesser importance: sizes, hints, empty-state messages.
dim_fg = "bright_black"
# Background of the top bar.
header_bg = "blue"
# Text of the top bar.
header_fg = "bright_white"
# Pane borders.
border_fg = "bright_black"
# The border of the pane that has the keyboard focus.
focus_fg = "bright_blue"
# Pane titles.
title_fg = "bright_cyan"
# Background of the selected row.
selected_bg = "blue"
# Text of the selected row.
selected_fg = "bright_white"
# Highlights: the current split, the view mode, numbers that matter.
accent_fg = "yellow"
# Key names in the footer and the help overlay.
key_fg = "green"
# Background of the footer line.
footer_bg = "blue"
# Descriptions in the footer.
footer_fg = "white"
# Filled part of a bar.
bar_fg = "cyan"
# Empty track of a bar.
bar_bg = "black"
# Error messages (an unreadable sample, a failed load).
error_fg = "bright_red"
# Warnings and progress notes.
warning_fg = "yellow"
# Background of the help overlay and the filter prompt.
overlay_bg = "black"
# Text of the help overlay and the filter prompt.
overlay_fg = "bright_white"
# Colour of void (255) mask pixels: VOC's boundary band.
void_fg = "white"
"""#,
    ]
}
