import Foundation

/// Every screen's keys as text, for `segscope tui --help`: generated from the tables the screens
/// dispatch on (and the launcher's help list), so the command-line help cannot disagree with
/// what the keys do or with the `?` overlay.
extension App {
    /// The screens in the order a session meets them, each with its help entries.
    static let keyReferenceSections: [(title: String, entries: [(key: String, text: String)])] = [
        ("Browser", browserKeys.referenceEntries),
        ("Training launcher", launcherHelp.map { ($0.key, $0.text) }),
        ("Dashboard", cockpitKeys.referenceEntries),
        ("Compare", compareKeys.referenceEntries),
        ("Past runs", runsKeys.referenceEntries),
    ]

    /// One paragraph per screen: its title, then one line per binding ("keys  what it does"),
    /// the descriptions aligned.
    public static var keyReference: String {
        let width = keyReferenceSections.flatMap(\.entries).map { $0.key.count }.max() ?? 0
        return keyReferenceSections.map { section in
            let lines = section.entries.map { "  " + $0.key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.text }
            return ([section.title + ":"] + lines).joined(separator: "\n")
        }.joined(separator: "\n\n")
    }
}

extension KeyTable {
    /// (keys as shown, help text) of every binding, available or not.
    var referenceEntries: [(key: String, text: String)] { bindings.map { ($0.label, $0.help) } }
}
