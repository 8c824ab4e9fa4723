import Testing
@testable import OutboxdHTTP

@Suite struct EntityTagTests {
    @Test func listsParseStrongAndWeakTagsSkippingEmptyElements() {
        #expect(EntityTag.list(#""1""#) == [EntityTag(opaque: "1")])
        #expect(EntityTag.list(#"W/"1""#) == [EntityTag(opaque: "1", isWeak: true)])
        #expect(EntityTag.list(#""1", W/"1""#) == [EntityTag(opaque: "1"), EntityTag(opaque: "1", isWeak: true)])
        #expect(EntityTag.list(" ,\t\"a,b\" ,, W/\"\" ,") == [EntityTag(opaque: "a,b"), EntityTag(opaque: "", isWeak: true)])
        #expect(EntityTag.list("") == [])
        #expect(EntityTag.list("\"é\"") == [EntityTag(opaque: "é")])
    }

    @Test(arguments: ["1", "w/\"1\"", "W/ \"1\"", "W/1", "\"1", "\"1\" \"2\"", "\"1\"x", "\"a b\"", "\"a\tb\"", "*", "\"1\", *", "W/"])
    func malformedListsAreNil(value: String) {
        #expect(EntityTag.list(value) == nil)
    }
}
