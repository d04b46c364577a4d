import Foundation

/// A file that could not be read, decoded or written. The description names the file, the
/// operation and the decoder's own message, e.g.
/// `JPEGImages/x.jpg: cannot decode JPEG: Premature end of JPEG file`.
public struct ImageIOError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var operation: String
    public var message: String

    public init(path: String, operation: String, message: String) {
        self.path = path
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(path): cannot \(operation): \(message)" }
}

extension ImageIOError: LocalizedError {
    public var errorDescription: String? { description }
}
