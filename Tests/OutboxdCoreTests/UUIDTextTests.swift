import Foundation
import Testing
@testable import OutboxdCore

@Suite struct UUIDTextTests {
    @Test func formatsAndParsesLikeFoundation() {
        for _ in 0..<1000 {
            let id = UUID()
            #expect(id.lowercaseString == id.uuidString.lowercased())
            #expect(UUID(text: id.lowercaseString) == id)
            #expect(UUID(text: id.uuidString) == id)
        }
    }

    @Test(arguments: ["", "5d2f3a52-1d7e-4a39-9f4f-4c4a8f2b0c1", "5d2f3a52-1d7e-4a39-9f4f-4c4a8f2b0c1g",
                      "5d2f3a521d7e-4a39-9f4f-4c4a8f2b0c11x", "5d2f3a52+1d7e-4a39-9f4f-4c4a8f2b0c11", "ü2f3a52-1d7e-4a39-9f4f-4c4a8f2b0c1"])
    func rejectsAnythingElse(text: String) {
        #expect(UUID(text: text) == nil)
    }
}
