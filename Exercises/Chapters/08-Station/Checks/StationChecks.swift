import Icy
import Station
import Testing

/// `Authorization: Basic …` for `user:password`, as a source sends it.
func basic(_ userAndPassword: String) -> String {
    "Basic " + Base64.encode(Array(userAndPassword.utf8))
}

/// A request head parsed by Casty's real parser, as the station's front door would hand it over.
func parsed(_ text: String) throws -> Request {
    guard case .done(let request, _) = Icy.request(Array(text.utf8)) else {
        throw CheckFailure("Icy could not parse the request: \(text)")
    }
    return request
}

struct CheckFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A source publishing MP3 to `mount` with `password`.
func source(_ mount: String = "/live", password: String? = "hackme", type: String? = "audio/mpeg") -> SourceRequest {
    SourceRequest(method: .put, mount: mount, credentials: password.map { Credentials(user: "source", password: $0) },
                  contentType: type)
}

/// An MP3 frame: a real header, then zeros up to the length it announces.
func frame(_ header: [UInt8]) -> [UInt8] {
    let length = MP3Header(header[...])?.length ?? 417
    return header + [UInt8](repeating: 0, count: length - header.count)
}

/// MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417 bytes, 418 with padding.
let plain: [UInt8] = [0xFF, 0xFB, 0x90, 0x00]
let padded: [UInt8] = [0xFF, 0xFB, 0x92, 0x00]

/// An expectation's message: the hole it checks, where that is, and what it expects of it — so that a hole still
/// returning its placeholder (`nil`, `.notImplemented`, no frames) is named when it fails.
func hole(_ function: String, _ what: String) -> Comment {
    "\(function) (Chapter 8, Starter/Holes.swift): \(what)"
}

/// Chapter 8: a source knocks, the station decides, and the audio is found frame by frame.
struct StationChecks {
    // MARK: Basic credentials

    @Test func credentials_fromABasicHeader_areTheUserAndThePassword() {
        #expect(Credentials(authorization: basic("source:hackme")) == Credentials(user: "source", password: "hackme"),
                hole("Credentials(authorization:)", "the user and the password of `Basic ` and base64 of `source:hackme`"))
    }

    @Test func credentials_userEndsAtTheFirstColon_thePasswordMayHoldMore() {
        #expect(Credentials(authorization: basic("source:a:b:c")) == Credentials(user: "source", password: "a:b:c"),
                hole("Credentials(authorization:)", "the user ends at the first colon; the password holds the others"))
        #expect(Credentials(authorization: basic(":")) == Credentials(user: "", password: ""), hole("Credentials(authorization:)", "an empty user and an empty password"))
    }

    @Test func credentials_schemeInAnyCase_isBasic() {
        let value = "bAsIc " + Base64.encode(Array("source:hackme".utf8))
        #expect(Credentials(authorization: value)?.password == "hackme", hole("Credentials(authorization:)", "`bAsIc` is Basic: the scheme in any case"))
    }

    @Test func credentials_thatAreNotBasic_areNone() {
        #expect(Credentials(authorization: basic("source:ok")) != nil, hole("Credentials(authorization:)", "the well-formed one first"))
        #expect(Credentials(authorization: nil) == nil, hole("Credentials(authorization:)", "no header"))
        #expect(Credentials(authorization: "Bearer c291cmNlOmhhY2ttZQ==") == nil, hole("Credentials(authorization:)", "another scheme"))
        #expect(Credentials(authorization: "Basic ***") == nil, hole("Credentials(authorization:)", "not base64"))
        #expect(Credentials(authorization: "Basic " + Base64.encode([0x73, 0x3A, 0xFF, 0xFE])) == nil,
                hole("Credentials(authorization:)", "base64 of bytes that are not UTF-8 text ('s:' then 0xFF 0xFE)"))
        #expect(Credentials(authorization: basic("no colon")) == nil, hole("Credentials(authorization:)", "no ':' between user and password"))
        #expect(Credentials(authorization: "Basic") == nil, hole("Credentials(authorization:)", "nothing after the scheme"))
    }

    // MARK: The source's request

    @Test func sourceRequest_fromPUT_readsMountCredentialsTypeNameAndExpect() throws {
        let request = try parsed(
            "PUT /live HTTP/1.1\r\nHost: radio.example\r\nAuthorization: \(basic("source:hackme"))\r\nContent-Type: audio/mpeg\r\n"
                + "Expect: 100-Continue\r\nice-name: My show\r\n\r\n")
        let source = try #require(SourceRequest(request), hole("SourceRequest(_:)", "a PUT is a source"))
        #expect(source.method == .put, hole("SourceRequest(_:)", "the method"))
        #expect(source.mount == "/live", hole("SourceRequest(_:)", "the mount, the request's path"))
        let queried = try #require(SourceRequest(try parsed("PUT /live?token=42 HTTP/1.1\r\nHost: radio.example\r\n\r\n")),
                                   hole("SourceRequest(_:)", "a PUT is a source"))
        #expect(queried.mount == "/live", hole("SourceRequest(_:)", "a PUT's mount is its path without the ?query, as a SOURCE's"))
        #expect(source.credentials == Credentials(user: "source", password: "hackme"),
                hole("SourceRequest(_:)", "the credentials of Authorization (Credentials(authorization:))"))
        #expect(source.contentType == "audio/mpeg", hole("SourceRequest(_:)", "the Content-Type"))
        #expect(source.expectsContinue, hole("SourceRequest(_:)", "Expect: 100-Continue, in any case"))
        #expect(source.name == "My show", hole("SourceRequest(_:)", "the name of ice-name"))
    }

    @Test func sourceRequest_fromLegacySOURCE_dropsTheQueryFromTheMount() throws {
        let request = try parsed("SOURCE /live.mp3?id=7 HTTP/1.0\r\nContent-Type: audio/mpeg\r\n\r\n")
        let source = try #require(SourceRequest(request), hole("SourceRequest(_:)", "a SOURCE is a source"))
        #expect(source.method == .source, hole("SourceRequest(_:)", "the method"))
        #expect(source.mount == "/live.mp3", hole("SourceRequest(_:)", "the mount: the path without its ?query"))
        #expect(source.credentials == nil, hole("SourceRequest(_:)", "no Authorization header: no credentials"))
        #expect(!source.expectsContinue, hole("SourceRequest(_:)", "no Expect header"))
        #expect(source.name == nil, hole("SourceRequest(_:)", "no ice-name header"))
    }

    @Test func sourceRequest_fromAListener_isNone() throws {
        #expect(SourceRequest(try parsed("PUT /live HTTP/1.1\r\nHost: radio.example\r\n\r\n")) != nil, hole("SourceRequest(_:)", "a PUT is a source"))
        #expect(SourceRequest(try parsed("GET /live HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")) == nil, hole("SourceRequest(_:)", "a listener's GET is none"))
        #expect(SourceRequest(try parsed("HEAD /live HTTP/1.0\r\n\r\n")) == nil, hole("SourceRequest(_:)", "a HEAD is none"))
    }

    // MARK: Admit, 401, 403, 415, 403

    @Test func admission_withTheRightPassword_admits() {
        let answer = admission(source(), rules: StationRules(sourcePassword: "hackme"))
        #expect(answer == .admit(mount: "/live"), hole("admission(_:rules:)", "the source password, a free mount, MP3: admitted"))
        #expect(answer.status == 200, hole("admission(_:rules:)", "admitted: 200"))
    }

    @Test func admission_asksThePasswordOnly_notTheUserName() {
        let rules = StationRules(sourcePassword: "hackme")
        var dj = source()
        dj.credentials = Credentials(user: "dj", password: "hackme")
        #expect(admission(dj, rules: rules) == .admit(mount: "/live"),
                hole("admission(_:rules:)", "any user name with the right password: these rules name no user of a mount, and Casty then takes any"))
        dj.credentials = Credentials(user: "source", password: "guess")
        #expect(admission(dj, rules: rules) == .unauthorized, hole("admission(_:rules:)", "the user `source` with a wrong password"))
    }

    @Test func admission_wrongOrMissingPassword_is401_beforeAnythingElseIsTold() {
        let rules = StationRules(sourcePassword: "hackme", whitelist: ["/live"], live: ["/live"])
        #expect(admission(source(password: "guess"), rules: rules) == .unauthorized, hole("admission(_:rules:)", "a wrong password"))
        #expect(admission(source(password: nil), rules: rules) == .unauthorized, hole("admission(_:rules:)", "no credentials"))
        #expect(admission(source(password: "hackm"), rules: rules) == .unauthorized, hole("admission(_:rules:)", "a prefix is not the password"))
        #expect(admission(source(password: "hackme!"), rules: rules) == .unauthorized, hole("admission(_:rules:)", "nor is a longer one"))
        #expect(admission(source("/secret", password: "guess"), rules: rules) == .unauthorized,
                hole("admission(_:rules:)", "a stranger must not learn that /secret is off the list"))
        #expect(admission(source(password: "guess", type: "audio/ogg"), rules: rules) == .unauthorized,
                hole("admission(_:rules:)", "nor that the type is wrong, nor that /live is live"))
        #expect(Admission.unauthorized.status == 401, "Admission.status (Given/Source.swift): unauthorized is 401")
    }

    @Test func admission_mountPassword_replacesTheSourcePasswordThere() {
        let rules = StationRules(sourcePassword: "hackme", mountPasswords: ["/vip": "s3cret"])
        #expect(admission(source("/vip", password: "s3cret"), rules: rules) == .admit(mount: "/vip"), hole("admission(_:rules:)", "the mount's own password admits there"))
        #expect(admission(source("/vip", password: "hackme"), rules: rules) == .unauthorized,
                hole("admission(_:rules:)", "the source password does not, where the mount has its own (StationRules.password(for:))"))
        #expect(admission(source("/live", password: "hackme"), rules: rules) == .admit(mount: "/live"),
                hole("admission(_:rules:)", "the source password, elsewhere"))
    }

    @Test func admission_mountOffTheWhitelist_is403Forbidden() {
        let rules = StationRules(sourcePassword: "hackme", whitelist: ["/live", "/backup"])
        #expect(admission(source("/backup"), rules: rules) == .admit(mount: "/backup"), hole("admission(_:rules:)", "a mount on the whitelist"))
        #expect(admission(source("/other"), rules: rules) == .notOnWhitelist, hole("admission(_:rules:)", "a mount off the whitelist"))
        #expect(admission(source("/other", type: "audio/ogg"), rules: rules) == .notOnWhitelist,
                hole("admission(_:rules:)", "the list before the type"))
        #expect(admission(source("/other"), rules: StationRules(sourcePassword: "hackme")) == .admit(mount: "/other"),
                hole("admission(_:rules:)", "no whitelist: any mount"))
        #expect(Admission.notOnWhitelist.status == 403 && Admission.notOnWhitelist.reason == "Forbidden",
                "Admission.status and .reason (Given/Source.swift): off the whitelist is 403 Forbidden")
    }

    @Test func admission_audioThatIsNotMP3_is415() {
        let rules = StationRules(sourcePassword: "hackme", live: ["/live"])
        #expect(admission(source("/new", type: "Audio/MPEG; charset=binary"), rules: rules) == .admit(mount: "/new"),
                hole("admission(_:rules:)", "audio/mpeg in any case, its parameters after ';' ignored"))
        #expect(admission(source("/new", type: "audio/ogg"), rules: rules) == .unsupportedType, hole("admission(_:rules:)", "Ogg is not MP3"))
        #expect(admission(source("/new", type: "audio/mpegurl"), rules: rules) == .unsupportedType,
                hole("admission(_:rules:)", "a playlist (M3U): its name only starts like MP3's"))
        #expect(admission(source("/new", type: nil), rules: rules) == .unsupportedType, hole("admission(_:rules:)", "no Content-Type"))
        #expect(admission(source("/live", type: "audio/ogg"), rules: rules) == .unsupportedType,
                hole("admission(_:rules:)", "the type before the mount's state"))
        #expect(Admission.unsupportedType.status == 415, "Admission.status (Given/Source.swift): not MP3 is 415")
    }

    @Test func admission_mountWithASourceLive_is403MountpointInUse() {
        let rules = StationRules(sourcePassword: "hackme", whitelist: ["/live", "/backup"], live: ["/live"])
        #expect(admission(source("/live"), rules: rules) == .mountInUse, hole("admission(_:rules:)", "a mount with a source live"))
        #expect(admission(source("/backup"), rules: rules) == .admit(mount: "/backup"), hole("admission(_:rules:)", "a mount with none"))
        #expect(Admission.mountInUse.status == 403 && Admission.mountInUse.reason == "Mountpoint in use",
                "Admission.status and .reason (Given/Source.swift): a live mount is 403 Mountpoint in use, as Casty writes it")
    }

    // MARK: MP3 frame headers

    @Test func mp3Header_128kAt44k_saysItsFrameIs417Bytes_or418Padded() throws {
        let header = try #require(MP3Header(plain[...]), hole("MP3Header(_:)", "FF FB 90 00 is a Layer III header"))
        #expect(header == MP3Header(version: .mpeg1, bitrate: 128, sampleRate: 44100, padding: false),
                hole("MP3Header(_:)", "FF FB 90 00: MPEG-1, 128 kbit/s, 44.1 kHz, no padding"))
        #expect(header.length == 417, "MP3Header.length (Given/MP3Header.swift): 144 · 128000 / 44100, rounded down")
        #expect(MP3Header(padded[...])?.length == 418, hole("MP3Header(_:)", "FF FB 92 00: the same, padded: 418 bytes"))
        #expect(MP3Header([0xFF, 0xFB, 0xE4, 0x44][...]) == MP3Header(version: .mpeg1, bitrate: 320, sampleRate: 48000, padding: false),
                hole("MP3Header(_:)", "FF FB E4 44: MPEG-1, 320 kbit/s, 48 kHz"))
    }

    @Test func mp3Header_readsMPEG2AndMPEG25() {
        // MPEG-2 Layer III, 64 kbit/s, 22.05 kHz; MPEG-2.5, 32 kbit/s, 8 kHz with padding.
        #expect(MP3Header([0xFF, 0xF3, 0x80, 0xC0][...]) == MP3Header(version: .mpeg2, bitrate: 64, sampleRate: 22050, padding: false),
                hole("MP3Header(_:)", "FF F3 80 C0: MPEG-2, 64 kbit/s (MPEG-2's table), 22.05 kHz"))
        #expect(MP3Header([0xFF, 0xE3, 0x4A, 0xC0][...]) == MP3Header(version: .mpeg25, bitrate: 32, sampleRate: 8000, padding: true),
                hole("MP3Header(_:)", "FF E3 4A C0: MPEG-2.5, 32 kbit/s, 8 kHz, padded"))
        #expect(MP3Header([0xFF, 0xF3, 0x80, 0xC0][...])?.length == 208, hole("MP3Header(_:)", "an MPEG-2 frame of 64 kbit/s at 22.05 kHz: 208 bytes"))
    }

    @Test func mp3Header_withACRC_isRead() {
        // Protection bit 0: a 16-bit CRC follows the header, inside the frame's length.
        #expect(MP3Header([0xFF, 0xFA, 0x90, 0x00][...]) == MP3Header(version: .mpeg1, bitrate: 128, sampleRate: 44100, padding: false),
                hole("MP3Header(_:)", "FF FA 90 00: protection bit 0 (a CRC follows) is a header too"))
    }

    @Test func mp3Header_refusesWhatIsNotALayerIIIHeader() {
        #expect(MP3Header(plain[...]) != nil, hole("MP3Header(_:)", "the good one first"))
        #expect(MP3Header([0xFF, 0xFB, 0x90][...]) == nil, hole("MP3Header(_:)", "three bytes"))
        #expect(MP3Header([0xFE, 0xFB, 0x90, 0x00][...]) == nil, hole("MP3Header(_:)", "no sync in byte 0"))
        #expect(MP3Header([0xFF, 0x1B, 0x90, 0x00][...]) == nil, hole("MP3Header(_:)", "no sync in byte 1"))
        #expect(MP3Header([0xFF, 0xEB, 0x90, 0x00][...]) == nil, hole("MP3Header(_:)", "reserved version 01"))
        #expect(MP3Header([0xFF, 0xFD, 0x90, 0x00][...]) == nil, hole("MP3Header(_:)", "Layer II"))
        #expect(MP3Header([0xFF, 0xFF, 0x90, 0x00][...]) == nil, hole("MP3Header(_:)", "Layer I"))
        #expect(MP3Header([0xFF, 0xF9, 0x90, 0x00][...]) == nil, hole("MP3Header(_:)", "reserved layer 00"))
        #expect(MP3Header([0xFF, 0xFB, 0x00, 0x00][...]) == nil, hole("MP3Header(_:)", "free bitrate"))
        #expect(MP3Header([0xFF, 0xFB, 0xF0, 0x00][...]) == nil, hole("MP3Header(_:)", "bitrate index 15"))
        #expect(MP3Header([0xFF, 0xFB, 0x9C, 0x00][...]) == nil, hole("MP3Header(_:)", "sample rate index 3"))
        #expect(MP3Header([0xFF, 0xFB, 0x90, 0x02][...]) == nil, hole("MP3Header(_:)", "reserved emphasis"))
    }

    // MARK: Frame boundaries

    @Test func frameStarts_framesBackToBack_areEveryFrame() {
        let audio = frame(plain) + frame(padded) + frame(plain)
        #expect(frameStarts(in: audio) == [0, 417, 835], hole("frameStarts(in:)", "three frames back to back, the second padded"))
    }

    @Test func frameStarts_afterGarbage_findTheChainAgain() {
        let garbage: [UInt8] = [0x12, 0x34, 0xFF, 0x00, 0xFF, 0xFB, 0x90]
        let audio = garbage + frame(plain) + frame(plain) + garbage + frame(padded) + frame(plain)
        // The frame just before the garbage is not reported either: what follows it is no header, so nothing
        // confirms that it is whole.
        #expect(frameStarts(in: audio) == [7, 848, 1266], hole("frameStarts(in:)", "the chain found after each stretch of garbage"))
    }

    @Test func frameStarts_aHeaderNotFollowedByItsNextFrame_isNoFrame() {
        // A false sync: a header whose frame would end inside real audio where no header is.
        let audio = plain + [UInt8](repeating: 0, count: 100) + frame(plain) + frame(plain) + frame(plain)
        #expect(frameStarts(in: audio) == [104, 521, 938], hole("frameStarts(in:)", "a header with no header at its end is a false sync"))
    }

    @Test func frameStarts_aNextHeaderThatDoesNotContinueTheFrame_confirmsNothing() {
        // A 44.1 kHz frame, and exactly at its end a 48 kHz header: the same stream cannot change its sample rate,
        // so the first frame is not confirmed. The 48 kHz frame ends with the audio.
        let audio = frame(plain) + frame([0xFF, 0xFB, 0x94, 0x00])
        #expect(frameStarts(in: audio) == [417], hole("frameStarts(in:)", "a 48 kHz header does not continue a 44.1 kHz frame (MP3Header.continues(_:))"))
    }

    @Test func frameStarts_aFrameNotAllThereYet_isNotReported() {
        let audio = frame(plain) + frame(plain) + Array(frame(plain).prefix(100))
        #expect(frameStarts(in: audio) == [0, 417], hole("frameStarts(in:)", "the third frame's end has not arrived"))
        #expect(frameStarts(in: Array(frame(plain).prefix(416))) == [], hole("frameStarts(in:)", "a frame one byte short"))
    }
}
