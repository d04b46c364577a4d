import Foundation

/// The socket protocol of a live run (`engine.sock`): JSON lines, one object per line, whose
/// `"type"` names the message (docs/formats.md, "Engine socket"; D-202).
///
/// Server → viewer:
///
///     {"type":"hello","protocol":1,"run_id":"20261203-120000-xunet","run_directory":"…","pid":4242,"seq":118,"state":"running"}
///     {"type":"snapshot","id":1,"seq":118,"state":"running","config":{…},"events":[{…},…]}
///     {"type":"resumed","id":1,"since":100,"seq":118}        then events 101…118
///     {"type":"event","seq":119,"event":{"type":"step",…}}
///     {"type":"reply","id":2,"ok":true}   {"type":"reply","id":3,"ok":false,"error":"…"}
///     {"type":"error","error":"line 1: not JSON …"}
///
/// Viewer → server:
///
///     {"type":"subscribe","id":1,"since":100,"control":false}
///     {"type":"command","id":2,"command":{"type":"pause"}}
///     {"type":"ping","id":3}
public enum WireProtocol {
    /// Bumped when a message changes meaning; a viewer refuses a server of another version.
    public static let version = 1

    /// A reply to a viewer's request.
    public struct Reply: Sendable, Equatable {
        public var id: Int
        public var ok: Bool
        public var error: String?

        public init(id: Int, ok: Bool, error: String? = nil) {
            self.id = id
            self.ok = ok
            self.error = error
        }
    }

    /// What a server says first.
    public struct Hello: Sendable, Equatable {
        public var protocolVersion: Int
        public var runID: String
        public var runDirectory: String
        public var pid: Int
        public var seq: Int
        /// The engine's state when the viewer connected.
        public var state: EngineState?
    }

    // MARK: Encoding (keys sorted, slashes kept, as `MessageCoding`)

    struct Fields: Encodable {
        var type: String
        var id: Int?
        var ok: Bool?
        var error: String?
        var since: Int?
        var seq: Int?
        var control: Bool?
        var protocolVersion: Int?
        var runID: String?
        var runDirectory: String?
        var pid: Int?
        var state: String?

        enum CodingKeys: String, CodingKey {
            case type, id, ok, error, since, seq, control, protocolVersion = "protocol", runID = "run_id"
            case runDirectory = "run_directory", pid, state
        }

        init(_ type: String) { self.type = type }
    }

    static func encode(_ fields: Fields) -> String {
        (try? MessageCoding.jsonLine(fields)) ?? "{\"error\":\"unencodable\",\"type\":\"error\"}"
    }

    static func hello(runID: String, runDirectory: String, seq: Int, state: EngineState) -> String {
        var f = Fields("hello")
        f.state = state.rawValue
        f.protocolVersion = version
        f.runID = runID
        f.runDirectory = runDirectory
        f.pid = Int(ProcessInfo.processInfo.processIdentifier)
        f.seq = seq
        return encode(f)
    }

    static func reply(_ r: Reply) -> String {
        var f = Fields("reply")
        f.id = r.id
        f.ok = r.ok
        f.error = r.error
        return encode(f)
    }

    static func error(_ message: String, id: Int? = nil) -> String {
        var f = Fields("error")
        f.error = message
        f.id = id
        return encode(f)
    }

    /// `{"type":"event","seq":n,"event":<line>}` around an already encoded event.
    static func event(seq: Int, line: String) -> String { "{\"event\":\(line),\"seq\":\(seq),\"type\":\"event\"}" }

    static func snapshot(id: Int?, seq: Int, state: EngineState, config: String?, events: [String]) -> String {
        var head = "{"
        if let config { head += "\"config\":\(config)," }
        head += "\"events\":[" + events.joined(separator: ",") + "]"
        if let id { head += ",\"id\":\(id)" }
        return head + ",\"seq\":\(seq),\"state\":\"\(state.rawValue)\",\"type\":\"snapshot\"}"
    }

    static func resumed(id: Int?, since: Int, seq: Int) -> String {
        var f = Fields("resumed")
        f.id = id
        f.since = since
        f.seq = seq
        return encode(f)
    }

    public static func subscribe(id: Int, since: Int?, control: Bool) -> String {
        var f = Fields("subscribe")
        f.id = id
        f.since = since
        f.control = control
        return encode(f)
    }

    static func ping(id: Int) -> String {
        var f = Fields("ping")
        f.id = id
        return encode(f)
    }

    public static func command(id: Int, _ command: EngineCommand) throws -> String {
        "{\"command\":\(try MessageCoding.jsonLine(command)),\"id\":\(id),\"type\":\"command\"}"
    }

    // MARK: Decoding

    /// What a viewer sends; fields a message does not use are absent.
    struct ViewerMessage: Decodable {
        var type: String
        var id: Int?
        var since: Int?
        var control: Bool?
    }

    /// Only the id of a line, read leniently, so an error reply can name the request.
    struct IDOnly: Decodable {
        var id: Int?
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try? c.decode(Int.self, forKey: .id)
        }
        enum CodingKeys: String, CodingKey { case id }
    }

    struct CommandMessage: Decodable { var command: EngineCommand }

    /// A reply as a plain viewer reads it.
    public struct ReplyLine: Decodable, Sendable {
        public var type: String
        public var id: Int?
        public var ok: Bool?
        public var error: String?
    }

    /// What a server sends.
    struct ServerMessage: Decodable {
        var type: String
        var id: Int?
        var ok: Bool?
        var error: String?
        var since: Int?
        var seq: Int?
        var protocolVersion: Int?
        var runID: String?
        var runDirectory: String?
        var pid: Int?
        var state: EngineState?
        var event: EngineEvent?
        var events: [EngineEvent]?

        enum CodingKeys: String, CodingKey {
            case type, id, ok, error, since, seq, protocolVersion = "protocol", runID = "run_id"
            case runDirectory = "run_directory", pid, state, event, events
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ line: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(line.utf8))
    }

    /// Why a line did not decode, in one sentence.
    static func describe(_ error: Error) -> String {
        if let e = error as? DecodingError {
            switch e {
            case .dataCorrupted(let c):
                let underlying = (c.underlyingError as NSError?)?.localizedDescription
                return c.codingPath.isEmpty ? "not JSON\(underlying.map { " (\($0))" } ?? "")" : "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
            case .keyNotFound(let k, _): return "no \"\(k.stringValue)\""
            case .typeMismatch(_, let c), .valueNotFound(_, let c):
                let path = c.codingPath.map(\.stringValue).joined(separator: ".")
                return path.isEmpty ? "not a JSON object" : "\(path): \(c.debugDescription)"
            @unknown default: return "\(e)"
            }
        }
        return "\(error)"
    }

    /// The start of a line for a message (at most 60 characters).
    static func prefix(_ line: String) -> String {
        let cut = line.prefix(60)
        return cut.count < line.count ? "\(cut)…" : String(cut)
    }
}

/// A protocol error: a line that is not what the protocol expects.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
