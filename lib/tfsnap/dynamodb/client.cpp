#include "tfsnap/dynamodb/client.hpp"

#include "tfsnap/crypto/hash.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <boost/crc.hpp>

#include <charconv>

namespace tfsnap::dynamodb {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using writer = rapidjson::Writer<rapidjson::StringBuffer>;

namespace {

constexpr std::size_t reply_limit = 16 * 1024 * 1024;

// An item inside a request body, as json::encode_item writes it.
void write_item(writer& w, const item& it) {
    const std::string text = json::encode_item(it);
    w.RawValue(text.data(), text.size(), rapidjson::kObjectType);
}

void write_expression_maps(writer& w, const expression& a, const expression* b) {
    std::map<std::string, std::string> names = a.names;
    item values = a.values;
    if (b != nullptr) {
        names.insert(b->names.begin(), b->names.end());
        values.insert(b->values.begin(), b->values.end());
    }
    if (!names.empty()) {
        w.Key("ExpressionAttributeNames");
        w.StartObject();
        for (const auto& [k, v] : names) {
            w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
            w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
        }
        w.EndObject();
    }
    if (!values.empty()) {
        w.Key("ExpressionAttributeValues");
        write_item(w, values);
    }
}

// {"TableName": table, ...what `fill` writes...}
template <class Fill>
std::string request_body(const std::string& table, Fill fill) {
    rapidjson::StringBuffer buf;
    writer w(buf);
    w.StartObject();
    w.Key("TableName");
    w.String(table.data(), static_cast<rapidjson::SizeType>(table.size()));
    fill(w);
    w.EndObject();
    return buf.GetString();
}

// ConditionExpression (when there is one) and the placeholders of `condition` and `update`.
void write_condition(writer& w, const expression& condition, const expression* update) {
    if (!condition.text.empty()) {
        w.Key("ConditionExpression");
        w.String(condition.text.c_str());
    }
    write_expression_maps(w, condition, update);
}

}  // namespace

struct client::call_result {
    error_code ec;
    error_info info;
    std::string body;
};

client::client(http::client& http, client_config cfg, http::credentials_source credentials,
               const core::wall_clock& clock, http::random_unit random)
    : http_(http),
      cfg_(std::move(cfg)),
      credentials_(std::move(credentials)),
      clock_(clock),
      random_(std::move(random)) {
    const std::string endpoint = cfg_.endpoint.value_or("https://dynamodb." + cfg_.region + ".amazonaws.com");
    if (auto u = http::parse_url(endpoint)) {
        base_ = *u;
        base_ok_ = base_.path.find('?') == std::string::npos;
    }
}

asio::awaitable<client::call_result> client::execute(const char* operation, const std::string& table,
                                                     std::string body, bool idempotent) {
    call_result out;
    out.info.operation = operation;
    out.info.table = table;
    if (!base_ok_) {
        out.ec = http::errc::invalid_url;
        out.info.detail = "invalid DynamoDB endpoint";
        co_return out;
    }
    const std::string payload_hash = crypto::sha256_hex(body);
    http::string_sink sink(reply_limit);

    auto attempt = [&]() -> asio::awaitable<error_code> {
        out.info.http_status = 0;
        out.info.type.clear();
        out.info.message.clear();
        out.info.detail.clear();
        auto cred = co_await credentials_();
        if (cred.ec) {
            out.info.detail = "no credentials to sign with";
            co_return cred.ec;
        }
        http::aws_request req;
        req.method = bhttp::verb::post;
        req.origin = base_;
        req.path = base_.path.empty() ? "/" : base_.path;
        req.headers = {{"content-type", "application/x-amz-json-1.0"},
                       {"x-amz-target", std::string("DynamoDB_20120810.") + operation}};
        req.body = http::body_source::memory(body);
        req.payload_hash = payload_hash;
        req.region = cfg_.region;
        req.service = "dynamodb";
        req.idempotent = idempotent;
        auto r = co_await http::send_signed(http_, signer_, cred.creds, clock_, req, sink);
        if (r.ec) {
            out.info.detail = r.info.phase + ": " + r.info.detail;
            co_return r.ec;
        }
        out.info.http_status = r.res.status;
        out.info.request_id = r.res.header("x-amzn-requestid");
        if (const auto crc = r.res.header("x-amz-crc32"); !crc.empty()) {
            boost::crc_32_type sum;
            sum.process_bytes(sink.data().data(), sink.data().size());
            std::uint32_t expected = 0;
            const auto [end, pec] = std::from_chars(crc.data(), crc.data() + crc.size(), expected);
            if (pec != std::errc{} || end != crc.data() + crc.size() || expected != sum.checksum()) {
                out.info.detail = "x-amz-crc32 does not match the body";
                co_return errc::checksum_mismatch;
            }
        }
        if (r.res.status == 200)
            co_return error_code{};
        if (auto e = json::parse_error_reply(sink.data())) {
            out.info.type = std::move(e->type);
            out.info.message = std::move(e->message);
            co_return from_type(out.info.type, r.res.status);
        }
        if (const auto status = http::status_error(r.res.status))
            co_return status;
        co_return errc::other;
    };
    const auto outcome = co_await http::with_retries(cfg_.retry, idempotent, random_, attempt);
    out.ec = outcome.ec;
    out.body = sink.take();
    co_return out;
}

asio::awaitable<op_result> client::create_table(std::string table, std::string hash_key) {
    const auto body = request_body(table, [&](writer& w) {
        w.Key("AttributeDefinitions");
        w.StartArray();
        w.StartObject();
        w.Key("AttributeName");
        w.String(hash_key.c_str());
        w.Key("AttributeType");
        w.String("S");
        w.EndObject();
        w.EndArray();
        w.Key("KeySchema");
        w.StartArray();
        w.StartObject();
        w.Key("AttributeName");
        w.String(hash_key.c_str());
        w.Key("KeyType");
        w.String("HASH");
        w.EndObject();
        w.EndArray();
        w.Key("BillingMode");
        w.String("PAY_PER_REQUEST");
    });
    auto r = co_await execute("CreateTable", table, body, false);
    co_return op_result{r.ec, std::move(r.info)};
}

asio::awaitable<describe_table_result> client::describe_table(std::string table) {
    auto r = co_await execute("DescribeTable", table, request_body(table, [](writer&) {}), true);
    describe_table_result out;
    out.ec = r.ec;
    out.info = std::move(r.info);
    if (r.ec)
        co_return out;
    auto t = json::parse_describe_table_reply(r.body);
    if (!t) {
        out.ec = errc::bad_response;
        co_return out;
    }
    out.status = std::move(t->status);
    out.hash_key = std::move(t->hash_key);
    co_return out;
}

asio::awaitable<op_result> client::delete_table(std::string table) {
    auto r = co_await execute("DeleteTable", table, request_body(table, [](writer&) {}), true);
    co_return op_result{r.ec, std::move(r.info)};
}

asio::awaitable<get_item_result> client::get_item(std::string table, item key, bool consistent_read,
                                                  std::vector<std::string> projection) {
    const auto body = request_body(table, [&](writer& w) {
        w.Key("Key");
        write_item(w, key);
        w.Key("ConsistentRead");
        w.Bool(consistent_read);
        if (!projection.empty()) {
            // placeholders, so that reserved words (Info, Path, ...) can be projected
            std::string text;
            w.Key("ExpressionAttributeNames");
            w.StartObject();
            for (std::size_t i = 0; i < projection.size(); ++i) {
                const std::string ph = "#p" + std::to_string(i);
                text += (i ? "," : "") + ph;
                w.Key(ph.c_str());
                w.String(projection[i].c_str());
            }
            w.EndObject();
            w.Key("ProjectionExpression");
            w.String(text.c_str());
        }
    });
    auto r = co_await execute("GetItem", table, body, true);
    get_item_result out;
    out.ec = r.ec;
    out.info = std::move(r.info);
    if (r.ec)
        co_return out;
    auto reply = json::parse_get_item_reply(r.body);
    if (!reply) {
        out.ec = errc::bad_response;
        co_return out;
    }
    out.found = std::move(reply->found);
    co_return out;
}

asio::awaitable<op_result> client::put_item(std::string table, item value, expression condition) {
    const auto body = request_body(table, [&](writer& w) {
        w.Key("Item");
        write_item(w, value);
        write_condition(w, condition, nullptr);
    });
    auto r = co_await execute("PutItem", table, body, condition.text.empty());
    co_return op_result{r.ec, std::move(r.info)};
}

asio::awaitable<op_result> client::update_item(std::string table, item key, expression update,
                                               expression condition) {
    const auto body = request_body(table, [&](writer& w) {
        w.Key("Key");
        write_item(w, key);
        w.Key("UpdateExpression");
        w.String(update.text.c_str());
        write_condition(w, condition, &update);
    });
    auto r = co_await execute("UpdateItem", table, body, condition.text.empty());
    co_return op_result{r.ec, std::move(r.info)};
}

asio::awaitable<op_result> client::delete_item(std::string table, item key, expression condition) {
    const auto body = request_body(table, [&](writer& w) {
        w.Key("Key");
        write_item(w, key);
        write_condition(w, condition, nullptr);
    });
    auto r = co_await execute("DeleteItem", table, body, condition.text.empty());
    co_return op_result{r.ec, std::move(r.info)};
}

}  // namespace tfsnap::dynamodb
