import Foundation
@testable import TUI
import XCTest

/// Colour golden screens: the characters of a screen, then per cell the id of its style, then
/// each id's SGR sequence exactly as `AnsiEncoder` writes it at that depth. So a golden records
/// the colours the terminal is told to show (RGB, palette index, ANSI colour or none), and a
/// wrong colour mapping changes the file.
enum ColorGolden {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    static func id(_ n: Int) -> String { String([alphabet[n / alphabet.count % alphabet.count], alphabet[n % alphabet.count]]) }

    static func render(_ grid: CellGrid, depth: ColorDepth, eightColors: Bool = false) -> String {
        var ids: [String: Int] = [:]
        var order: [String] = []
        var map: [String] = []
        for y in 0..<grid.height {
            var row = ""
            for x in 0..<grid.width {
                let sgr = AnsiEncoder.sgr(grid[x, y].style, depth: depth, eightColors: eightColors)
                let n: Int
                if let known = ids[sgr] {
                    n = known
                } else {
                    n = order.count
                    ids[sgr] = n
                    order.append(sgr)
                }
                row += id(n)
            }
            map.append(row)
        }
        let name = eightColors ? "8" : depth.rawValue
        return "# colour depth \(name), \(grid.width)x\(grid.height); then two characters per cell: its style id\n"
            + grid.text + "\n--- styles per cell\n" + map.joined(separator: "\n") + "\n--- style ids (SGR as written)\n"
            + order.enumerated().map { "\(id($0.offset)) \($0.element)" }.joined(separator: "\n")
    }
}
