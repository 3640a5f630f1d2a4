import Testing

@testable import Casty

/// Query values as sources' tools send them to `/admin/metadata` (`song=`, with or without `charset=`).
struct URLQueryTests {
    @Test func utf8Bytes_AreReadAsUTF8_PlusIsASpace() {
        #expect(URLQuery.decode("Caf%C3%A9+del+Mar") == "Café del Mar")
    }

    @Test func bytesThatAreNotUTF8_AreReadAsLatin1() {
        #expect(URLQuery.decode("Caf%E9") == "Café")
    }

    @Test func charsetLatin1_ReadsEveryByteAsLatin1_EvenWhenTheyLookLikeUTF8() {
        #expect(URLQuery.decode("Caf%C3%A9", charset: "ISO-8859-1") == "CafÃ©")
        #expect(URLQuery.decode("Caf%E9", charset: "iso-8859-1") == "Café")
        #expect(URLQuery.decode("Caf%C3%A9", charset: "UTF-8") == "Café")
    }

    @Test func brokenEscapes_AreKeptAsTheyCame() {
        #expect(URLQuery.decode("100%") == "100%")
        #expect(URLQuery.decode("%zz") == "%zz")
    }

    @Test func encode_ThenDecode_GivesTheTextBack() {
        let title = "Blue in Green — Miles & Bill; 50% off?"
        #expect(URLQuery.decode(Substring(URLQuery.encode(title))) == title)
    }
}

/// Request paths (``URLQuery/decodePath(_:)``): escapes decoded, a `+` kept, escapes of control characters or of
/// bytes that are not UTF-8 left as they came.
struct URLQueryPathTests {
    @Test func escapedUTF8_IsDecoded_PlusStays() {
        #expect(URLQuery.decodePath("/m%C3%BAsic") == "/músic")
        #expect(URLQuery.decodePath("/liv%65+more") == "/live+more")
        #expect(URLQuery.decodePath("/live") == nil, "nothing to decode")
    }

    @Test func controlCharactersAndBytesThatAreNotUTF8_AreNotDecoded() {
        #expect(URLQuery.decodePath("/live%00") == nil)
        #expect(URLQuery.decodePath("/live%0D%0Ax") == nil)
        #expect(URLQuery.decodePath("/caf%E9") == nil)
        #expect(URLQuery.decodePath("/100%") == "/100%", "a % that escapes nothing stays")
    }

    @Test("An escaped slash is not a slash: /live%2Findex.m3u8 is not /live's playlist")
    func escapedSlash_IsNotDecoded() {
        #expect(URLQuery.decodePath("/live%2Findex.m3u8") == nil)
        #expect(URLQuery.decodePath("/live%2findex.m3u8") == nil)
        #expect(URLQuery.decodePath("/a%2Fb%C3%BA") == nil)
    }
}
