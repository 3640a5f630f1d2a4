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

/// Chapter 8: a source knocks, the station decides, and the audio is found frame by frame.
struct StationChecks {
    // MARK: Basic credentials

    @Test func credentials_fromABasicHeader_areTheUserAndThePassword() {
        #expect(Credentials(authorization: basic("source:hackme")) == Credentials(user: "source", password: "hackme"))
    }

    @Test func credentials_userEndsAtTheFirstColon_thePasswordMayHoldMore() {
        #expect(Credentials(authorization: basic("source:a:b:c")) == Credentials(user: "source", password: "a:b:c"))
        #expect(Credentials(authorization: basic(":")) == Credentials(user: "", password: ""))
    }

    @Test func credentials_schemeInAnyCase_isBasic() {
        let value = "bAsIc " + Base64.encode(Array("source:hackme".utf8))
        #expect(Credentials(authorization: value)?.password == "hackme")
    }

    @Test func credentials_thatAreNotBasic_areNone() {
        #expect(Credentials(authorization: basic("source:ok")) != nil, "the well-formed one first")
        #expect(Credentials(authorization: nil) == nil)
        #expect(Credentials(authorization: "Bearer c291cmNlOmhhY2ttZQ==") == nil, "another scheme")
        #expect(Credentials(authorization: "Basic ***") == nil, "not base64")
        #expect(Credentials(authorization: "Basic " + Base64.encode([0x73, 0x3A, 0xFF, 0xFE])) == nil,
                "base64 of bytes that are not UTF-8 text ('s:' then 0xFF 0xFE)")
        #expect(Credentials(authorization: basic("no colon")) == nil, "no ':' between user and password")
        #expect(Credentials(authorization: "Basic") == nil, "nothing after the scheme")
    }

    // MARK: The source's request

    @Test func sourceRequest_fromPUT_readsMountCredentialsTypeNameAndExpect() throws {
        let request = try parsed(
            "PUT /live HTTP/1.1\r\nAuthorization: \(basic("source:hackme"))\r\nContent-Type: audio/mpeg\r\n"
                + "Expect: 100-Continue\r\nice-name: My show\r\n\r\n")
        let source = try #require(SourceRequest(request))
        #expect(source.method == .put)
        #expect(source.mount == "/live")
        #expect(source.credentials == Credentials(user: "source", password: "hackme"))
        #expect(source.contentType == "audio/mpeg")
        #expect(source.expectsContinue)
        #expect(source.name == "My show")
    }

    @Test func sourceRequest_fromLegacySOURCE_dropsTheQueryFromTheMount() throws {
        let request = try parsed("SOURCE /live.mp3?id=7 HTTP/1.0\r\nContent-Type: audio/mpeg\r\n\r\n")
        let source = try #require(SourceRequest(request))
        #expect(source.method == .source)
        #expect(source.mount == "/live.mp3")
        #expect(source.credentials == nil, "no Authorization header")
        #expect(!source.expectsContinue)
        #expect(source.name == nil)
    }

    @Test func sourceRequest_fromAListener_isNone() throws {
        #expect(SourceRequest(try parsed("PUT /live HTTP/1.1\r\n\r\n")) != nil, "a PUT is a source")
        #expect(SourceRequest(try parsed("GET /live HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")) == nil)
        #expect(SourceRequest(try parsed("HEAD /live HTTP/1.0\r\n\r\n")) == nil)
    }

    // MARK: Admit, 401, 403, 415, 403

    @Test func admission_withTheRightPassword_admits() {
        let answer = admission(source(), rules: StationRules(sourcePassword: "hackme"))
        #expect(answer == .admit(mount: "/live"))
        #expect(answer.status == 200)
    }

    @Test func admission_wrongOrMissingPassword_is401_beforeAnythingElseIsTold() {
        let rules = StationRules(sourcePassword: "hackme", whitelist: ["/live"], live: ["/live"])
        #expect(admission(source(password: "guess"), rules: rules) == .unauthorized)
        #expect(admission(source(password: nil), rules: rules) == .unauthorized)
        #expect(admission(source(password: "hackm"), rules: rules) == .unauthorized, "a prefix is not the password")
        #expect(admission(source(password: "hackme!"), rules: rules) == .unauthorized, "nor is a longer one")
        #expect(admission(source("/secret", password: "guess"), rules: rules) == .unauthorized,
                "a stranger must not learn that /secret is off the list")
        #expect(admission(source(password: "guess", type: "audio/ogg"), rules: rules) == .unauthorized)
        #expect(Admission.unauthorized.status == 401)
    }

    @Test func admission_mountPassword_replacesTheSourcePasswordThere() {
        let rules = StationRules(sourcePassword: "hackme", mountPasswords: ["/vip": "s3cret"])
        #expect(admission(source("/vip", password: "s3cret"), rules: rules) == .admit(mount: "/vip"))
        #expect(admission(source("/vip", password: "hackme"), rules: rules) == .unauthorized)
        #expect(admission(source("/live", password: "hackme"), rules: rules) == .admit(mount: "/live"))
    }

    @Test func admission_mountOffTheWhitelist_is403Forbidden() {
        let rules = StationRules(sourcePassword: "hackme", whitelist: ["/live", "/backup"])
        #expect(admission(source("/backup"), rules: rules) == .admit(mount: "/backup"))
        #expect(admission(source("/other"), rules: rules) == .notOnWhitelist)
        #expect(admission(source("/other", type: "audio/ogg"), rules: rules) == .notOnWhitelist, "the list before the type")
        #expect(admission(source("/other"), rules: StationRules(sourcePassword: "hackme")) == .admit(mount: "/other"),
                "no whitelist: any mount")
        #expect(Admission.notOnWhitelist.status == 403 && Admission.notOnWhitelist.reason == "Forbidden")
    }

    @Test func admission_audioThatIsNotMP3_is415() {
        let rules = StationRules(sourcePassword: "hackme", live: ["/live"])
        #expect(admission(source("/new", type: "Audio/MPEG; charset=binary"), rules: rules) == .admit(mount: "/new"))
        #expect(admission(source("/new", type: "audio/ogg"), rules: rules) == .unsupportedType)
        #expect(admission(source("/new", type: "audio/mpegurl"), rules: rules) == .unsupportedType,
                "a playlist (M3U): its name only starts like MP3's")
        #expect(admission(source("/new", type: nil), rules: rules) == .unsupportedType)
        #expect(admission(source("/live", type: "audio/ogg"), rules: rules) == .unsupportedType, "the type before the mount's state")
        #expect(Admission.unsupportedType.status == 415)
    }

    @Test func admission_mountWithASourceLive_is403MountpointInUse() {
        let rules = StationRules(sourcePassword: "hackme", whitelist: ["/live", "/backup"], live: ["/live"])
        #expect(admission(source("/live"), rules: rules) == .mountInUse)
        #expect(admission(source("/backup"), rules: rules) == .admit(mount: "/backup"))
        #expect(Admission.mountInUse.status == 403 && Admission.mountInUse.reason == "Mountpoint in use")
    }

    // MARK: MP3 frame headers

    @Test func mp3Header_128kAt44k_saysItsFrameIs417Bytes_or418Padded() throws {
        let header = try #require(MP3Header(plain[...]))
        #expect(header == MP3Header(version: .mpeg1, bitrate: 128, sampleRate: 44100, padding: false))
        #expect(header.length == 417)
        #expect(MP3Header(padded[...])?.length == 418)
        #expect(MP3Header([0xFF, 0xFB, 0xE4, 0x44][...]) == MP3Header(version: .mpeg1, bitrate: 320, sampleRate: 48000, padding: false))
    }

    @Test func mp3Header_readsMPEG2AndMPEG25() {
        // MPEG-2 Layer III, 64 kbit/s, 22.05 kHz; MPEG-2.5, 32 kbit/s, 8 kHz with padding.
        #expect(MP3Header([0xFF, 0xF3, 0x80, 0xC0][...]) == MP3Header(version: .mpeg2, bitrate: 64, sampleRate: 22050, padding: false))
        #expect(MP3Header([0xFF, 0xE3, 0x4A, 0xC0][...]) == MP3Header(version: .mpeg25, bitrate: 32, sampleRate: 8000, padding: true))
        #expect(MP3Header([0xFF, 0xF3, 0x80, 0xC0][...])?.length == 208)
    }

    @Test func mp3Header_withACRC_isRead() {
        // Protection bit 0: a 16-bit CRC follows the header, inside the frame's length.
        #expect(MP3Header([0xFF, 0xFA, 0x90, 0x00][...]) == MP3Header(version: .mpeg1, bitrate: 128, sampleRate: 44100, padding: false))
    }

    @Test func mp3Header_refusesWhatIsNotALayerIIIHeader() {
        #expect(MP3Header(plain[...]) != nil, "the good one first")
        #expect(MP3Header([0xFF, 0xFB, 0x90][...]) == nil, "three bytes")
        #expect(MP3Header([0xFE, 0xFB, 0x90, 0x00][...]) == nil, "no sync in byte 0")
        #expect(MP3Header([0xFF, 0x1B, 0x90, 0x00][...]) == nil, "no sync in byte 1")
        #expect(MP3Header([0xFF, 0xEB, 0x90, 0x00][...]) == nil, "reserved version 01")
        #expect(MP3Header([0xFF, 0xFD, 0x90, 0x00][...]) == nil, "Layer II")
        #expect(MP3Header([0xFF, 0xFF, 0x90, 0x00][...]) == nil, "Layer I")
        #expect(MP3Header([0xFF, 0xF9, 0x90, 0x00][...]) == nil, "reserved layer 00")
        #expect(MP3Header([0xFF, 0xFB, 0x00, 0x00][...]) == nil, "free bitrate")
        #expect(MP3Header([0xFF, 0xFB, 0xF0, 0x00][...]) == nil, "bitrate index 15")
        #expect(MP3Header([0xFF, 0xFB, 0x9C, 0x00][...]) == nil, "sample rate index 3")
        #expect(MP3Header([0xFF, 0xFB, 0x90, 0x02][...]) == nil, "reserved emphasis")
    }

    // MARK: Frame boundaries

    @Test func frameStarts_framesBackToBack_areEveryFrame() {
        let audio = frame(plain) + frame(padded) + frame(plain)
        #expect(frameStarts(in: audio) == [0, 417, 835])
    }

    @Test func frameStarts_afterGarbage_findTheChainAgain() {
        let garbage: [UInt8] = [0x12, 0x34, 0xFF, 0x00, 0xFF, 0xFB, 0x90]
        let audio = garbage + frame(plain) + frame(plain) + garbage + frame(padded) + frame(plain)
        // The frame just before the garbage is not reported either: what follows it is no header, so nothing
        // confirms that it is whole.
        #expect(frameStarts(in: audio) == [7, 848, 1266])
    }

    @Test func frameStarts_aHeaderNotFollowedByItsNextFrame_isNoFrame() {
        // A false sync: a header whose frame would end inside real audio where no header is.
        let audio = plain + [UInt8](repeating: 0, count: 100) + frame(plain) + frame(plain) + frame(plain)
        #expect(frameStarts(in: audio) == [104, 521, 938])
    }

    @Test func frameStarts_aNextHeaderThatDoesNotContinueTheFrame_confirmsNothing() {
        // A 44.1 kHz frame, and exactly at its end a 48 kHz header: the same stream cannot change its sample rate,
        // so the first frame is not confirmed. The 48 kHz frame ends with the audio.
        let audio = frame(plain) + frame([0xFF, 0xFB, 0x94, 0x00])
        #expect(frameStarts(in: audio) == [417])
    }

    @Test func frameStarts_aFrameNotAllThereYet_isNotReported() {
        let audio = frame(plain) + frame(plain) + Array(frame(plain).prefix(100))
        #expect(frameStarts(in: audio) == [0, 417], "the third frame's end has not arrived")
        #expect(frameStarts(in: Array(frame(plain).prefix(416))) == [])
    }
}
