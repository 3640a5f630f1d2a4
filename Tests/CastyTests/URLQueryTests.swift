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
