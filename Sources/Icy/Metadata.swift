/// The text of a metadata block: `StreamTitle='Artist - Song';StreamUrl='http://…';`.
///
/// Each field is `Key='value';`. Stations put almost anything inside the quotes — apostrophes
/// (`StreamTitle='Don't Stop';`) and semicolons included — so a value ends only at a `';` that is followed by
/// the end of the text or by the next `Key=`. Keys other than `StreamTitle` and `StreamUrl` are kept as they
/// came (Casty's tree links add `CastySeq='N';`). Bytes that are not UTF-8 are read as Windows-1252, as
/// mpg123 does.
public struct Metadata: Sendable, Equatable {
    /// One `Key='value'` pair.
    public struct Field: Sendable, Equatable {
        /// The key, such as `StreamTitle`.
        public var key: String
        /// The value, without its quotes.
        public var value: String

        /// Makes a field.
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// The fields in the order they came.
    public var fields: [Field]

    /// Makes metadata from fields in order.
    public init(_ fields: [Field] = []) {
        self.fields = fields
    }

    /// Makes the usual metadata: a title, and a URL when there is one.
    public init(streamTitle: String, streamURL: String? = nil) {
        self.fields = [Field(key: "StreamTitle", value: streamTitle)]
        if let streamURL { fields.append(Field(key: "StreamUrl", value: streamURL)) }
    }

    /// Reads metadata text; never fails (unreadable parts are skipped, a missing closing quote ends the value
    /// at the end of the text).
    public init(parsing bytes: some Collection<UInt8>) {
        self.fields = MetadataScanner(IcyText.decode(bytes)).fields()
    }

    /// The value of the first field with this key, ignoring case; setting replaces it or adds the field.
    public subscript(key: String) -> String? {
        get { fields.first { sameName($0.key, key) }?.value }
        set {
            if let index = fields.firstIndex(where: { sameName($0.key, key) }) {
                if let newValue { fields[index].value = newValue } else { fields.remove(at: index) }
            } else if let newValue {
                fields.append(Field(key: key, value: newValue))
            }
        }
    }

    /// The title of what is playing now: `StreamTitle`.
    public var streamTitle: String? {
        get { self["StreamTitle"] }
        set { self["StreamTitle"] = newValue }
    }

    /// A web page for what is playing: `StreamUrl`.
    public var streamURL: String? {
        get { self["StreamUrl"] }
        set { self["StreamUrl"] = newValue }
    }

    /// The text as UTF-8 bytes, `Key='value';` for each field, ready for ``padding(_:)``.
    ///
    /// ICY has no escapes: a reader takes a value to end at a `';` followed by another `Key=`. A value that holds
    /// one — a title `Show';CastyPath='…` that would forge a field of its own — is written with that `'` as `’`
    /// (U+2019), so that it stays one value; any other `'` and `;` is written as it is.
    public var bytes: [UInt8] {
        Array(fields.map { "\($0.key)='\(MetadataScanner.unforgeable($0.value))';" }.joined().utf8)
    }
}

/// Splits metadata text into fields, looking ahead to find where a quoted value really ends.
private struct MetadataScanner {
    let text: [Unicode.Scalar]

    init(_ text: String) {
        self.text = Array(text.unicodeScalars)
    }

    func fields() -> [Metadata.Field] {
        var fields: [Metadata.Field] = []
        var index = 0
        while index < text.count {
            if text[index] == ";" || text[index].properties.isWhitespace || text[index] == "\0" {
                index += 1
                continue
            }
            guard let equals = text[index...].firstIndex(where: { $0 == "=" || $0 == ";" }), text[equals] == "=" else {
                // No `=` before the next `;`: not a field. Skip to that `;` (or the end).
                index = text[index...].firstIndex(of: ";") ?? text.count
                continue
            }
            let key = String(String.UnicodeScalarView(text[index..<equals])).trimmingBlanks
            let valueStart = equals + 1
            let value: String
            if valueStart < text.count, text[valueStart] == "'" {
                let end = quotedEnd(from: valueStart + 1)
                value = String(String.UnicodeScalarView(text[(valueStart + 1)..<end]))
                index = end + 1
            } else {
                let end = text[valueStart...].firstIndex(of: ";") ?? text.count
                value = String(String.UnicodeScalarView(text[valueStart..<end])).trimmingBlanks
                index = end
            }
            if !key.isEmpty { fields.append(Metadata.Field(key: key, value: value)) }
        }
        return fields
    }

    /// Where the quoted value starting at `start` ends: the `'` of a `';` followed by the end or another
    /// `Key=`, or a last `'` that closes the text; failing both, the end of the text.
    private func quotedEnd(from start: Int) -> Int {
        var index = start
        while let quote = text[index...].firstIndex(of: "'") {
            var after = quote + 1
            if after < text.count, text[after] == ";" { after += 1 }
            while after < text.count, text[after].properties.isWhitespace || text[after] == "\0" { after += 1 }
            if after == text.count || (text[quote + 1] == ";" && startsField(at: after)) { return quote }
            index = quote + 1
        }
        return text.count
    }

    /// `value` with the `'` of every `';` written as `’`: written between quotes, it reads back as one value —
    /// by Casty, which ends a value only at a `';` before another `Key=` or the end, and by the many players that
    /// end it at the first `';` (a title `Show';CastyPath='…` cannot forge a field, and `Hello';` loses nothing).
    static func unforgeable(_ value: String) -> String {
        guard value.unicodeScalars.contains("'") else { return value }
        let scalars = Array(value.unicodeScalars)
        var written = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            written.append(scalar == "'" && index + 1 < scalars.count && scalars[index + 1] == ";" ? "\u{2019}" : scalar)
        }
        return String(written)
    }

    /// Whether a `Key=` begins at `index`.
    private func startsField(at index: Int) -> Bool {
        var cursor = index
        while cursor < text.count, isKeyScalar(text[cursor]) { cursor += 1 }
        return cursor > index && cursor < text.count && text[cursor] == "="
    }

    private func isKeyScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-")
    }
}

extension String {
    /// The string without spaces or tabs at either end.
    var trimmingBlanks: String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let end = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return String(scalars[start...end])
    }
}

extension Metadata: CustomStringConvertible {
    /// The fields as they go on the wire, `StreamTitle='Hi';StreamUrl='http://…';`, or `(no fields)`.
    /// Control characters a station put in a value are escaped, so the text is safe to log.
    public var description: String {
        fields.isEmpty ? "(no fields)" : escaped(String(decoding: bytes, as: UTF8.self), limit: 4096, asciiOnly: false)
    }
}
