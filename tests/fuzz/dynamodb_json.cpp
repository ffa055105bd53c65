// DynamoDB's JSON as the lock table's endpoint (or anyone who can write to the table) sends it
// (dynamodb/json.hpp). The first byte picks the document, the rest is the body:
//   0  an item (GetItem's "Item"): what decodes encodes to JSON that decodes to the same item,
//      attribute types tfsnap does not use (nested M and L included) kept raw;
//   1  an error reply ({"__type", "message"});
//   2  a DescribeTable reply;
//   3  a GetItem reply.
#include "tfsnap/dynamodb/json.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tfsnap::dynamodb;
    if (size == 0)
        return 0;
    const std::string_view body = tfsnap::fuzz::as_text(data + 1, size - 1);
    switch (data[0] % 4) {
        case 0: {
            const auto it = json::decode_item(body);
            if (!it)
                break;
            const auto back = json::decode_item(json::encode_item(*it));
            FUZZ_CHECK(back.has_value());
            FUZZ_CHECK(*back == *it);
            break;
        }
        case 1:
            if (const auto e = json::parse_error_reply(body)) {
                FUZZ_CHECK(e->message.size() <= json::max_error_message);
                FUZZ_CHECK(e->type.find('#') == std::string::npos);
            }
            break;
        case 2:
            (void)json::parse_describe_table_reply(body);
            break;
        default:
            if (const auto r = json::parse_get_item_reply(body); r && r->found) {
                const std::string text = json::encode_item(*r->found);
                const auto back = json::decode_item(text);
                if (!back || *back != *r->found)
                    std::fprintf(stderr, "encoded: %s\nagain:   %s\n", text.c_str(),
                                 back ? json::encode_item(*back).c_str() : "(refused)");
                FUZZ_CHECK(back && *back == *r->found);
            }
            break;
    }
    return 0;
}
