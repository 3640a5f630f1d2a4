/// The head of a request or reply: its first line, already understood, and the header lines after it.
struct Head<First: Sendable>: Sendable {
    var first: First
    var headers: Headers
}

/// Where a head parse stands between two reads: the unfinished line and what was understood so far.
///
/// A head is a first line, header lines, and an empty line; lines end with `\r\n` or a bare `\n` (real
/// servers send both). The reader only ever scans bytes it has not seen before: an unfinished line is kept
/// in `pending`, and the next read is searched for its end from where that read starts.
///
/// A request's head may hold no other CR (``refusesBareCR``): RFC 9112 §2.2 has a bare CR — one not followed by
/// LF — taken as invalid, since a proxy in front that read it as a line end would see other header lines than
/// Casty. A reply's is read as it comes (upstream servers are not refused for it).
struct HeadReader<First: Sendable>: Sendable {
    /// Understands the first line, or says why it cannot be one.
    let parseFirst: @Sendable (ArraySlice<UInt8>) -> Result<First, IcyError>
    /// Whether a line holding a CR before its line end is malformed (a request's head).
    let refusesBareCR: Bool
    /// Whether empty lines before the first line are skipped (a request's head: RFC 9112 §2.2 has a server ignore
    /// them, which a client may send after a previous request's body). They are not kept, so any number costs
    /// nothing; a peer that sends nothing else meets its server's deadline.
    let skipsLeadingEmptyLines: Bool
    /// The bytes of the line that has not ended yet.
    var pending: [UInt8] = []
    /// The first line, once read.
    var first: First?
    /// The header lines read so far.
    var fields: [HeaderField] = []
    /// The bytes those header lines took, to enforce ``IcyLimits/maxHeaderBytes``.
    var headerBytes = 0

    init(
        parseFirst: @escaping @Sendable (ArraySlice<UInt8>) -> Result<First, IcyError>, refusesBareCR: Bool = false,
        skipsLeadingEmptyLines: Bool = false
    ) {
        self.parseFirst = parseFirst
        self.refusesBareCR = refusesBareCR
        self.skipsLeadingEmptyLines = skipsLeadingEmptyLines
    }

    /// Reads as many lines as the bytes hold: done at the empty line that ends the head.
    func read(_ input: ArraySlice<UInt8>) -> Parse<Head<First>> {
        var reader = self
        var bytes = input
        while let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) {
            var line: ArraySlice<UInt8>
            if reader.pending.isEmpty {
                line = bytes[..<newline]
            } else {
                reader.pending.append(contentsOf: bytes[..<newline])
                line = reader.pending[...]
            }
            bytes = bytes[(newline + 1)...]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.count > IcyLimits.maxLineBytes { return .failed(.lineTooLong(limit: IcyLimits.maxLineBytes)) }
            if let error = reader.take(line) { return .failed(error) }
            if let first = reader.first, reader.finished {
                return .done(Head(first: first, headers: Headers(reader.fields)), rest: bytes)
            }
            reader.pending.removeAll(keepingCapacity: true)
        }
        // No line ends in what is left: keep it, within the line limit (+1 for a `\r` awaiting its `\n`).
        guard reader.pending.count + bytes.count <= IcyLimits.maxLineBytes + 1 else {
            return .failed(.lineTooLong(limit: IcyLimits.maxLineBytes))
        }
        reader.pending.append(contentsOf: bytes)
        return .more(Continuation { [reader] next in reader.read(next) })
    }

    /// Set when the empty line that ends the head has been read.
    private var finished = false

    /// Takes one complete line (without its line ending).
    private mutating func take(_ line: ArraySlice<UInt8>) -> IcyError? {
        if refusesBareCR, line.contains(UInt8(ascii: "\r")) {
            return first == nil ? .malformedRequestLine(IcyText.decode(line)) : .malformedHeader(IcyText.decode(line))
        }
        guard first != nil else {
            if line.isEmpty, skipsLeadingEmptyLines { return nil }
            switch parseFirst(line) {
            case .success(let value): first = value; return nil
            case .failure(let error): return error
            }
        }
        if line.isEmpty {
            finished = true
            return nil
        }
        headerBytes += line.count
        guard headerBytes <= IcyLimits.maxHeaderBytes else { return .headersTooLarge(limit: IcyLimits.maxHeaderBytes) }
        guard fields.count < IcyLimits.maxHeaderCount else { return .tooManyHeaders(limit: IcyLimits.maxHeaderCount) }
        switch parseHeader(line) {
        case .success(let field): fields.append(field); return nil
        case .failure(let error): return error
        }
    }
}

/// Splits `Name: value` at the first colon; the name must be a non-empty HTTP token, the value is trimmed.
func parseHeader(_ line: ArraySlice<UInt8>) -> Result<HeaderField, IcyError> {
    guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
        return .failure(.malformedHeader(IcyText.decode(line)))
    }
    let name = line[..<colon]
    guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
        return .failure(.malformedHeader(IcyText.decode(line)))
    }
    let value = trimmed(line[(colon + 1)...])
    return .success(HeaderField(name: String(decoding: name, as: UTF8.self), value: IcyText.decode(value)))
}

/// Removes spaces and tabs at both ends.
func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
    guard let start = bytes.firstIndex(where: { !isBlank($0) }) else { return bytes[bytes.endIndex...] }
    let end = bytes.lastIndex(where: { !isBlank($0) })!
    return bytes[start...end]
}

/// The characters HTTP allows in a method or a header name.
func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        true
    default:
        "!#$%&'*+-.^_`|~".utf8.contains(byte)
    }
}

/// Splits a line at single spaces into at most `limit` parts, the last one taking the remainder.
func words(_ line: ArraySlice<UInt8>, limit: Int) -> [ArraySlice<UInt8>] {
    line.split(separator: UInt8(ascii: " "), maxSplits: limit - 1, omittingEmptySubsequences: false)
}
