#include "tfsnap/backup/records.hpp"

#include "tfsnap/core/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

namespace tfsnap::backup {

namespace {

using writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void field(writer& w, const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

std::string get(const rapidjson::Value& o, const char* k) {
    const auto it = o.FindMember(k);
    return it != o.MemberEnd() && it->value.IsString()
               ? std::string(it->value.GetString(), it->value.GetStringLength())
               : std::string();
}

void write_event(writer& w, const state_event& e) {
    w.StartObject();
    field(w, "at", e.at);
    field(w, "kind", e.kind);
    field(w, "version_id", e.version_id);
    field(w, "message", e.message);
    w.EndObject();
}

}  // namespace

std::string serialize(const backup_check& c) {
    rapidjson::StringBuffer buf;
    writer w(buf);
    w.SetIndent(' ', 2);
    w.StartObject();
    field(w, "checked_at", c.checked_at);
    field(w, "result", c.result);
    field(w, "schedule", c.schedule);
    field(w, "version_id", c.version_id);
    field(w, "snapshot_id", c.snapshot_id);
    field(w, "message", c.message);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

bool parse(std::string_view json, backup_check& out) {
    rapidjson::Document d;
    if (!core::parse_json(d, json).ok() || !d.IsObject())
        return false;
    out = {get(d, "checked_at"), get(d, "result"),      get(d, "schedule"),
           get(d, "version_id"), get(d, "snapshot_id"), get(d, "message")};
    return true;
}

catalog::status read_events(catalog::catalog& cat, std::string_view env, std::vector<state_event>& out) {
    out.clear();
    std::string text;
    if (auto s = cat.read_record(env, catalog::catalog::events_record, text)) {
        if (s.ec == catalog::errc::not_found)
            return {};
        return s;
    }
    rapidjson::Document d;
    if (!core::parse_json(d, text).ok() || !d.IsObject() || !d.HasMember("events") || !d["events"].IsArray())
        return {};  // unreadable history is replaced; the catalog itself is unaffected
    for (const auto& e : d["events"].GetArray()) {
        if (e.IsObject())
            out.push_back({get(e, "at"), get(e, "kind"), get(e, "version_id"), get(e, "message")});
    }
    return {};
}

catalog::status append_event(catalog::catalog& cat, std::string_view env, const state_event& e) {
    std::vector<state_event> events;
    if (auto s = read_events(cat, env, events))
        return s;
    events.push_back(e);
    constexpr std::size_t keep = 100;
    if (events.size() > keep)
        events.erase(events.begin(), events.end() - keep);
    rapidjson::StringBuffer buf;
    writer w(buf);
    w.SetIndent(' ', 2);
    w.StartObject();
    w.Key("events");
    w.StartArray();
    for (const auto& ev : events)
        write_event(w, ev);
    w.EndArray();
    w.EndObject();
    return cat.write_record(env, catalog::catalog::events_record,
                            std::string(buf.GetString(), buf.GetSize()) + "\n");
}

}  // namespace tfsnap::backup
