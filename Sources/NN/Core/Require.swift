/// A precondition that holds in every build. NN compiles with `-Ounchecked` in release, which
/// removes `precondition` (and lets the optimiser assume the condition), so a wrong shape would
/// run on into memory it does not own; `require` stops with the message instead.
@inlinable @inline(__always)
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                    file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
