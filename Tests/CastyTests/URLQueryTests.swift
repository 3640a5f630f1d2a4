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
        #expect(URLQuery.decode("Caf%C3%A9", charset: Charset(label: "ISO-8859-1")!) == "CafÃ©")
        #expect(URLQuery.decode("Caf%E9", charset: Charset(label: "iso-8859-1")!) == "Café")
        #expect(URLQuery.decode("Caf%C3%A9", charset: Charset(label: "UTF-8")!) == "Café")
    }

    @Test("Windows tools' punctuation (0x80–0x9F) is read as Windows-1252, as browsers read every Latin-1 label")
    func windows1252Punctuation_IsKept() {
        #expect(URLQuery.decode("Don%92t+Stop+%96+Live", charset: Charset(label: "windows-1252")!) == "Don\u{2019}t Stop \u{2013} Live")
        #expect(URLQuery.decode("Don%92t+Stop+%96+Live") == "Don\u{2019}t Stop \u{2013} Live", "not UTF-8: read the same way")
        #expect(URLQuery.decode("%80%99", charset: Charset(label: "cp1252")!) == "\u{20AC}\u{2122}")
        #expect(URLQuery.decode("%93quoted%94", charset: Charset(label: "ISO-8859-1")!) == "\u{201C}quoted\u{201D}")
        #expect(URLQuery.decode("%81", charset: Charset(label: "windows-1252")!) == "\u{81}", "undefined in Windows-1252: left a control character")
    }

    @Test("Cyrillic titles from Windows-1251 and KOI8-R encoders are read in their code page")
    func cyrillicCodePages_AreRead() {
        #expect(URLQuery.decode("%CF%F0%E8%E2%E5%F2", charset: Charset(label: "windows-1251")!) == "Привет")
        #expect(URLQuery.decode("%F0%D2%C9%D7%C5%D4", charset: Charset(label: "KOI8-R")!) == "Привет")
        #expect(URLQuery.decode("%A8%B8+%B9", charset: Charset(label: "CP1251")!) == "Ёё №")
    }

    @Test("The aliases IANA registers for the charsets Casty reads name them too: ISO_8859-1, iso-ir-100, csISOLatin1, ANSI_X3.4-1968, csKOI8R…")
    func ianaAliases_NameTheCharsets() {
        let aliases: [(String, Charset)] = [
            ("iso_8859-1", .windows1252), ("ISO_8859-1:1987", .windows1252), ("iso-ir-100", .windows1252), ("IBM819", .windows1252),
            ("CP819", .windows1252), ("csISOLatin1", .windows1252), ("cswindows1252", .windows1252), ("ANSI_X3.4-1968", .windows1252),
            ("ISO646-US", .windows1252), ("csASCII", .windows1252), ("csUTF8", .utf8), ("cswindows1251", .windows1251), ("csKOI8R", .koi8r),
        ]
        for (label, charset) in aliases {
            #expect(Charset(label: label) == charset, "\(label)")
        }
    }

    @Test func aCharsetCastyDoesNotRead_IsNone() {
        #expect(Charset(label: "Shift_JIS") == nil && Charset(label: "iso-8859-2") == nil && Charset(label: "") == nil)
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
