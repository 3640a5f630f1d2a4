/// One header line: `name: value`.
public struct HeaderField: Sendable, Equatable {
    /// The name as it was written (`icy-metaint`, `Content-Type`, …); compare names with ``Headers``' subscript,
    /// which ignores case.
    public var name: String
    /// The value, with the spaces around it removed.
    public var value: String

    /// Makes a header line.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The header lines of a request or a reply, in the order they came.
///
/// Names are case-insensitive (`Icy-MetaData` and `icy-metadata` are the same header), as HTTP says.
/// The ICY headers a station sends describe it to every listener:
///
/// | header          | meaning                                             |
/// |-----------------|-----------------------------------------------------|
/// | `icy-name`      | the station's name                                  |
/// | `icy-genre`     | its genre                                           |
/// | `icy-br`        | bitrate in kbit/s                                   |
/// | `icy-metaint`   | audio bytes between two metadata blocks             |
/// | `content-type`  | the audio format, e.g. `audio/mpeg`                 |
/// | `icy-metadata`  | in a request: `1` asks the server for metadata      |
public struct Headers: Sendable, Equatable {
    /// The header lines in order.
    public var fields: [HeaderField]

    /// Makes headers from lines in order.
    public init(_ fields: [HeaderField] = []) {
        self.fields = fields
    }

    /// The value of the first header with this name, ignoring case; setting replaces every header of that
    /// name (or removes them all, given `nil`).
    public subscript(name: String) -> String? {
        get { fields.first { sameName($0.name, name) }?.value }
        set {
            var kept: [HeaderField] = []
            var placed = false
            for field in fields {
                guard sameName(field.name, name) else { kept.append(field); continue }
                if !placed, let newValue { kept.append(HeaderField(name: field.name, value: newValue)) }
                placed = true
            }
            if !placed, let newValue { kept.append(HeaderField(name: name, value: newValue)) }
            fields = kept
        }
    }

    /// The values of every header line with this name, ignoring case, in order: a header a proxy adds as a line
    /// of its own (`X-Forwarded-For`) rather than appending to the one before — which ``subscript(name:)``, the
    /// first line's value, would miss.
    public func values(_ name: String) -> [String] {
        fields.filter { sameName($0.name, name) }.map(\.value)
    }

    /// Adds a header line at the end, keeping any others of the same name.
    public mutating func add(name: String, value: String) {
        fields.append(HeaderField(name: name, value: value))
    }

    /// The number of header lines.
    public var count: Int { fields.count }

    /// The `icy-metaint` value: how many audio bytes come between two metadata blocks, or `nil` when the
    /// stream carries no metadata. Fails when it is not a whole number in ``IcyLimits/metaintRange``, or when
    /// two `icy-metaint` headers disagree (the same number twice is fine): the audio can follow only one.
    public func metaint() throws(IcyError) -> Int? {
        var found: (text: String, value: Int)?
        for field in fields where sameName(field.name, "icy-metaint") {
            guard let value = Int(field.value), IcyLimits.metaintRange.contains(value) else {
                throw .invalidMetaint(field.value)
            }
            if let found, found.value != value {
                throw .conflictingHeader(name: "icy-metaint", first: found.text, second: field.value)
            }
            found = found ?? (field.value, value)
        }
        return found?.value
    }
}

extension Headers: CustomStringConvertible {
    /// The header lines as they stand on the wire, one `Name: value` per line (without the `\r\n`), or
    /// `(no headers)`. Control characters a peer put in a value are escaped, so the text is safe to log.
    public var description: String {
        guard !fields.isEmpty else { return "(no headers)" }
        return fields.map { "\(escaped($0.name, limit: 200)): \(escaped($0.value, limit: 200, asciiOnly: false))" }
            .joined(separator: "\n")
    }
}

extension Headers: ExpressibleByDictionaryLiteral {
    /// Writes headers as a literal: `["icy-name": "Casty", "icy-br": "128"]`, kept in the written order.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements.map { HeaderField(name: $0.0, value: $0.1) })
    }
}

extension Headers: Sequence {
    /// Iterates over the header lines in order.
    public func makeIterator() -> IndexingIterator<[HeaderField]> {
        fields.makeIterator()
    }
}

/// Compares two header names the way HTTP does: ASCII letters in any case.
func sameName(_ a: String, _ b: String) -> Bool {
    let a = a.utf8, b = b.utf8
    guard a.count == b.count else { return false }
    return zip(a, b).allSatisfy { asciiLower($0) == asciiLower($1) }
}

@inline(__always)
func asciiLower(_ byte: UInt8) -> UInt8 {
    (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
}
