#include "tfsnap/dynamodb/json.hpp"

#include "tfsnap/core/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace tfsnap::dynamodb::json {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::string_view view(const rapidjson::Value& v) {
    return {v.GetString(), v.GetStringLength()};
}

const rapidjson::Value* member(const rapidjson::Value& obj, const char* name) {
    if (!obj.IsObject())
        return nullptr;
    const auto it = obj.FindMember(name);
    return it == obj.MemberEnd() ? nullptr : &it->value;
}

void write_value(writer& w, const attribute_value& v) {
    if (v.type == attribute_value::kind::raw) {
        w.RawValue(v.value.data(), v.value.size(), rapidjson::kObjectType);
        return;
    }
    w.StartObject();
    switch (v.type) {
        case attribute_value::kind::s:
            w.Key("S");
            w.String(v.value.data(), static_cast<rapidjson::SizeType>(v.value.size()));
            break;
        case attribute_value::kind::n:
            w.Key("N");
            w.String(v.value.data(), static_cast<rapidjson::SizeType>(v.value.size()));
            break;
        case attribute_value::kind::boolean:
            w.Key("BOOL");
            w.Bool(v.value == "true");
            break;
        case attribute_value::kind::raw:
            break;
    }
    w.EndObject();
}

std::optional<item> decode_object(const rapidjson::Value& obj) {
    if (!obj.IsObject())
        return std::nullopt;
    item out;
    for (const auto& m : obj.GetObject()) {
        const auto& v = m.value;
        if (!v.IsObject() || v.MemberCount() != 1)
            return std::nullopt;
        const auto& tv = *v.MemberBegin();
        const std::string_view type = view(tv.name);
        attribute_value a;
        if (type == "S" && tv.value.IsString()) {
            a = attribute_value::string(std::string(view(tv.value)));
        } else if (type == "N" && tv.value.IsString()) {
            a = attribute_value::number(std::string(view(tv.value)));
        } else if (type == "BOOL" && tv.value.IsBool()) {
            a = attribute_value::boolean(tv.value.GetBool());
        } else {
            // M and L nest: Accept recurses, within the depth parse_json allowed
            rapidjson::StringBuffer buf;
            writer w(buf);
            v.Accept(w);
            a = {attribute_value::kind::raw, std::string(buf.GetString(), buf.GetSize())};
        }
        out.emplace(std::string(view(m.name)), std::move(a));
    }
    return out;
}

}  // namespace

std::string encode_item(const item& it) {
    rapidjson::StringBuffer buf;
    writer w(buf);
    w.StartObject();
    for (const auto& [name, value] : it) {
        w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
        write_value(w, value);
    }
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

// Raw attributes are written back with Accept: numbers in them must parse exactly, or the text
// written back would read as another number (RapidJSON's default double parsing is approximate).
constexpr unsigned item_flags = rapidjson::kParseFullPrecisionFlag;

std::optional<item> decode_item(std::string_view object_json) {
    rapidjson::Document d;
    if (!core::parse_json<item_flags>(d, object_json).ok())
        return std::nullopt;
    return decode_object(d);
}

std::optional<error_reply> parse_error_reply(std::string_view body) {
    rapidjson::Document d;
    if (!core::parse_json(d, body).ok())
        return std::nullopt;
    const auto* type = member(d, "__type");
    if (type == nullptr || !type->IsString())
        return std::nullopt;
    error_reply out;
    std::string_view t = view(*type);
    if (const auto hash = t.rfind('#'); hash != std::string_view::npos)
        t = t.substr(hash + 1);
    out.type = std::string(t);
    for (const char* key : {"message", "Message"}) {
        if (const auto* m = member(d, key); m != nullptr && m->IsString())
            out.message = std::string(view(*m).substr(0, max_error_message));
    }
    return out;
}

std::optional<table_description> parse_describe_table_reply(std::string_view body) {
    rapidjson::Document d;
    if (!core::parse_json(d, body).ok())
        return std::nullopt;
    const auto* t = member(d, "Table");
    if (t == nullptr || !t->IsObject())
        return std::nullopt;
    table_description out;
    if (const auto* s = member(*t, "TableStatus"); s != nullptr && s->IsString())
        out.status = std::string(view(*s));
    if (const auto* keys = member(*t, "KeySchema"); keys != nullptr && keys->IsArray()) {
        for (const auto& k : keys->GetArray()) {
            const auto* kind = member(k, "KeyType");
            const auto* name = member(k, "AttributeName");
            if (kind != nullptr && kind->IsString() && view(*kind) == "HASH" && name != nullptr &&
                name->IsString())
                out.hash_key = std::string(view(*name));
        }
    }
    return out;
}

std::optional<get_item_reply> parse_get_item_reply(std::string_view body) {
    rapidjson::Document d;
    if (!core::parse_json<item_flags>(d, body).ok() || !d.IsObject())
        return std::nullopt;
    get_item_reply out;
    if (const auto* i = member(d, "Item")) {
        out.found = decode_object(*i);
        if (!out.found)
            return std::nullopt;
    }
    return out;
}

}  // namespace tfsnap::dynamodb::json
