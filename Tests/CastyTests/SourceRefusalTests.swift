import Testing

@testable import Casty

/// A source's refusal says what went wrong once; each way in adds its own answer (an HTTP status, an RTMP status
/// code, an SRT close), so an SRT or RTMP log line never carries an HTTP status the caller was not sent.
@Suite struct SourceRefusalTests {
    @Test(arguments: [
        (SourceAdmission.Refusal.keyRefused("the application answered 403"), "key not accepted, the application answered 403", 403),
        (.keyUnverified("the application could not be asked"), "key not verified, the application could not be asked", 403),
        (.rules(.inUse), "mount in use", 403),
        (.rules(.unauthorized(.password)), "wrong or missing credentials", 401),
        (.rules(.unauthorized(.mountPassword)), "wrong or missing credentials (this mount has a password of its own: --mount-password)", 401),
        (.rules(.unauthorized(.userName(given: "source", mount: "/dj"))),
         "wrong or missing credentials (its user name 'source' is not the one of /dj: --mount-user)", 401),
        (.rules(.unsupportedType("application/ogg")), "content type application/ogg not supported", 415),
        (.rules(.full(2)), "the server has its most sources (2)", 503),
        (.failed("no session"), "no session", 500),
    ])
    func aRefusal_SaysWhyWithoutAnAnswer_AndKnowsItsHTTPStatus(refusal: SourceAdmission.Refusal, why: String, status: Int) {
        #expect(refusal.description == why)
        #expect(refusal.status == status)
    }

    @Test("A source refused on a mount with a password of its own is told only that its credentials are wrong: the mount's password stays the log's")
    func aMountsOwnPassword_IsToldTheLogNotTheSource() {
        #expect(SourceAdmission.Refusal.rules(.unauthorized(.mountPassword)).told("/ez") == "/ez: wrong or missing credentials")
        #expect(SourceAdmission.Refusal.rules(.unauthorized(.userName(given: "source", mount: "/ez"))).told("/ez") == "/ez: wrong or missing credentials")
    }
}
