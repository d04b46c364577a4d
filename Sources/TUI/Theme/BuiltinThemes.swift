import Foundation

/// The themes compiled into the binary: the files of `themes/`, embedded at build time
/// (`Package.swift`: `Theme/themes` links to that directory, a `.embedInCode` resource).
enum BuiltinThemes {
    /// Each theme's text by name, without the file's final newline.
    static let text: [String: String] = files.mapValues { bytes in
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    /// SwiftPM names each embedded file after its name with `.` and `-` made `_` and a leading
    /// digit replaced (`16color.theme` → `_6color_theme`); a test checks every file is listed.
    private static let files: [String: [UInt8]] = [
        "default": PackageResources.default_theme,
        "light": PackageResources.light_theme,
        "high-contrast": PackageResources.high_contrast_theme,
        "16color": PackageResources._6color_theme,
    ]
}
