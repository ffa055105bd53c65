#include "tfsnap/tfstate/diff.hpp"

#include "tfsnap/core/json.hpp"
#include "tfsnap/tfstate/address.hpp"
#include "tfsnap/tfstate/detail/go_json.hpp"
#include "tfsnap/tfstate/error.hpp"
#include "tfsnap/tfstate/limits.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>

namespace tfsnap::tfstate {

const char* to_string(change_kind k) noexcept {
    switch (k) {
        case change_kind::added:
            return "added";
        case change_kind::removed:
            return "removed";
        case change_kind::changed:
            return "changed";
    }
    return "unknown";
}

namespace {

// FNV-1a, 64-bit: stable across runs and builds (std::hash is not), and enough to tell whether
// one instance changed between two versions.
class hasher {
public:
    void bytes(const void* data, std::size_t n) noexcept {
        const auto* p = static_cast<const unsigned char*>(data);
        for (std::size_t i = 0; i < n; ++i) {
            h_ = (h_ ^ p[i]) * 0x100000001b3ULL;
        }
    }
    void tag(char t) noexcept { bytes(&t, 1); }
    void size(std::uint64_t n) noexcept { bytes(&n, sizeof n); }
    void text(std::string_view s) noexcept {
        size(s.size());
        bytes(s.data(), s.size());
    }
    std::uint64_t value() const noexcept { return h_; }

private:
    std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

std::string_view view(const rapidjson::Value& v) {
    return {v.GetString(), v.GetStringLength()};
}

// One array or object being hashed: its elements, or its members in key order, and the next one.
struct open_container {
    const rapidjson::Value* array = nullptr;  // null for an object
    std::vector<const rapidjson::Value::Member*> members;
    rapidjson::SizeType next = 0;
};

// A scalar's encoding, or the header of a container (pushed onto `open` for its contents).
void hash_step(hasher& h, const rapidjson::Value& v, std::vector<open_container>& open) {
    switch (v.GetType()) {
        case rapidjson::kNullType:
            h.tag('n');
            return;
        case rapidjson::kFalseType:
            h.tag('f');
            return;
        case rapidjson::kTrueType:
            h.tag('t');
            return;
        case rapidjson::kStringType:
            h.tag('s');
            h.text(view(v));
            return;
        case rapidjson::kNumberType:
            if (v.IsInt64()) {
                h.tag('i');
                const std::int64_t i = v.GetInt64();
                h.bytes(&i, sizeof i);
            } else if (v.IsUint64()) {
                h.tag('u');
                const std::uint64_t u = v.GetUint64();
                h.bytes(&u, sizeof u);
            } else {
                h.tag('d');
                const double d = v.GetDouble();
                h.bytes(&d, sizeof d);
            }
            return;
        case rapidjson::kArrayType:
            h.tag('a');
            h.size(v.Size());
            open.push_back({&v, {}, 0});
            return;
        case rapidjson::kObjectType: {
            h.tag('o');
            h.size(v.MemberCount());
            open_container c;
            c.members.reserve(v.MemberCount());
            for (const auto& m : v.GetObject()) {
                c.members.push_back(&m);
            }
            std::sort(c.members.begin(), c.members.end(),
                      [](const auto* a, const auto* b) { return view(a->name) < view(b->name); });
            open.push_back(std::move(c));
            return;
        }
    }
}

// Canonical form: object members in key order, lengths before contents so no two values
// share an encoding. Iterative, with an explicit stack: a state's values may nest as deep as
// max_nesting, far beyond what recursion on a thread's stack survives.
void hash_value(hasher& h, const rapidjson::Value& root) {
    std::vector<open_container> open;
    hash_step(h, root, open);
    while (!open.empty()) {
        open_container& c = open.back();
        if (c.array != nullptr) {
            if (c.next == c.array->Size()) {
                open.pop_back();
                continue;
            }
            const rapidjson::Value& e = (*c.array)[c.next++];
            hash_step(h, e, open);  // may grow `open`: `c` is not used after this
        } else {
            if (c.next == c.members.size()) {
                open.pop_back();
                continue;
            }
            const rapidjson::Value::Member& m = *c.members[c.next++];
            h.text(view(m.name));
            hash_step(h, m.value, open);
        }
    }
}

struct output_digest {
    std::uint64_t hash = 0;  // value and type
    bool sensitive = false;
};

struct state_index {
    std::uint64_t serial = 0;
    std::string lineage;
    std::string terraform_version;
    std::unordered_map<std::string, std::uint64_t> instances;
    std::map<std::string, output_digest> outputs;
};

const rapidjson::Value* member(const rapidjson::Value& obj, const char* name) {
    const auto it = obj.FindMember(name);
    return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string string_member(const rapidjson::Value& obj, const char* name) {
    const auto* v = member(obj, name);
    return v != nullptr && v->IsString() ? std::string{view(*v)} : std::string{};
}

// OpenTofu's sigil, read as summary.hpp describes: a non-empty string in the last top-level key
// that Go matches to "encryption_version", and no such key of another type.
bool is_encrypted(const rapidjson::Value& doc) {
    std::string_view version;
    for (const auto& m : doc.GetObject()) {
        if (!detail::go_key_matches(view(m.name), "encryption_version") || m.value.IsNull()) {
            continue;
        }
        if (!m.value.IsString()) {
            return false;
        }
        version = view(m.value);
    }
    return !version.empty();
}

boost::system::error_code check_header(const rapidjson::Document& doc) {
    if (!doc.IsObject()) {
        return errc::not_a_state;
    }
    if (is_encrypted(doc)) {
        return errc::encrypted;
    }
    const auto* version = member(doc, "version");
    if (version == nullptr || !version->IsUint64()) {
        return errc::not_a_state;
    }
    if (version->GetUint64() <= 3) {
        return errc::legacy_format;
    }
    if (version->GetUint64() > 4) {
        return errc::unsupported_version;
    }
    return {};
}

std::optional<index_key> key_of(const rapidjson::Value& instance) {
    const auto* k = member(instance, "index_key");
    if (k == nullptr || k->IsNull()) {
        return index_key{};
    }
    if (k->IsInt64()) {
        return index_key{k->GetInt64()};
    }
    if (k->IsString()) {
        return index_key{std::string{view(*k)}};
    }
    return std::nullopt;
}

boost::system::error_code index_resources(const rapidjson::Value& resources, state_index& out) {
    for (const auto& r : resources.GetArray()) {
        if (!r.IsObject()) {
            return errc::malformed;
        }
        resource_address addr;
        const std::string mode = string_member(r, "mode");
        if (mode != "managed" && mode != "data") {
            return errc::malformed;
        }
        addr.data = mode == "data";
        addr.module = string_member(r, "module");
        addr.type = string_member(r, "type");
        addr.name = string_member(r, "name");
        if (addr.type.empty() || addr.name.empty()) {
            return errc::malformed;
        }
        hasher resource_hash;
        resource_hash.text(string_member(r, "provider"));
        const auto* instances = member(r, "instances");
        if (instances == nullptr) {
            continue;
        }
        if (!instances->IsArray()) {
            return errc::malformed;
        }
        for (const auto& inst : instances->GetArray()) {
            if (!inst.IsObject()) {
                return errc::malformed;
            }
            auto key = key_of(inst);
            if (!key) {
                return errc::malformed;
            }
            addr.key = std::move(*key);
            hasher h = resource_hash;
            hash_value(h, inst);
            out.instances.insert_or_assign(format(addr), h.value());
        }
    }
    return {};
}

boost::system::error_code index_outputs(const rapidjson::Value& outputs, state_index& out) {
    for (const auto& m : outputs.GetObject()) {
        if (!m.value.IsObject()) {
            return errc::malformed;
        }
        output_digest d;
        const auto* sensitive = member(m.value, "sensitive");
        d.sensitive = sensitive != nullptr && sensitive->IsBool() && sensitive->GetBool();
        hasher h;
        const auto* value = member(m.value, "value");
        h.tag(value != nullptr ? 'v' : '-');
        if (value != nullptr) {
            hash_value(h, *value);
        }
        const auto* type = member(m.value, "type");
        h.tag(type != nullptr ? 't' : '-');
        if (type != nullptr) {
            hash_value(h, *type);
        }
        d.hash = h.value();
        out.outputs.insert_or_assign(std::string{view(m.name)}, d);
    }
    return {};
}

boost::system::error_code index_state(std::string_view bytes, state_index& out) {
    rapidjson::Document doc;
    const core::json_status parsed = core::parse_json(doc, bytes, max_nesting);
    if (parsed.ec == core::errc::json_too_deep) {
        return errc::too_deep;
    }
    if (const auto ec = check_header(doc)) {
        return ec;
    }
    const auto* serial = member(doc, "serial");
    out.serial = serial != nullptr && serial->IsUint64() ? serial->GetUint64() : 0;
    out.lineage = string_member(doc, "lineage");
    out.terraform_version = string_member(doc, "terraform_version");
    if (const auto* resources = member(doc, "resources"); resources != nullptr && !resources->IsNull()) {
        if (!resources->IsArray()) {
            return errc::malformed;
        }
        if (const auto ec = index_resources(*resources, out)) {
            return ec;
        }
    }
    if (const auto* outputs = member(doc, "outputs"); outputs != nullptr && !outputs->IsNull()) {
        if (!outputs->IsObject()) {
            return errc::malformed;
        }
        if (const auto ec = index_outputs(*outputs, out)) {
            return ec;
        }
    }
    return {};
}

template <class T>
field_change<T> compare(const T& before, const T& after) {
    return {before != after, before, after};
}

std::vector<resource_change> diff_instances(const state_index& a, const state_index& b) {
    std::vector<resource_change> out;
    for (const auto& [address, hash] : a.instances) {
        const auto it = b.instances.find(address);
        if (it == b.instances.end()) {
            out.push_back({address, change_kind::removed});
        } else if (it->second != hash) {
            out.push_back({address, change_kind::changed});
        }
    }
    for (const auto& [address, hash] : b.instances) {
        if (!a.instances.contains(address)) {
            out.push_back({address, change_kind::added});
        }
    }
    std::sort(out.begin(), out.end(),
              [](const resource_change& x, const resource_change& y) { return x.address < y.address; });
    return out;
}

std::vector<output_change> diff_outputs(const state_index& a, const state_index& b) {
    std::vector<output_change> out;
    auto ia = a.outputs.begin();
    auto ib = b.outputs.begin();
    while (ia != a.outputs.end() || ib != b.outputs.end()) {
        if (ib == b.outputs.end() || (ia != a.outputs.end() && ia->first < ib->first)) {
            out.push_back({ia->first, change_kind::removed, ia->second.sensitive});
            ++ia;
        } else if (ia == a.outputs.end() || ib->first < ia->first) {
            out.push_back({ib->first, change_kind::added, ib->second.sensitive});
            ++ib;
        } else {
            if (ia->second.hash != ib->second.hash || ia->second.sensitive != ib->second.sensitive) {
                out.push_back(
                    {ia->first, change_kind::changed, ia->second.sensitive || ib->second.sensitive});
            }
            ++ia;
            ++ib;
        }
    }
    return out;
}

}  // namespace

diff_result diff(std::string_view before, std::string_view after) {
    diff_result result;
    state_index a;
    if (const auto ec = index_state(before, a)) {
        result.ec = ec;
        result.message = std::string{"before: "} + describe(static_cast<errc>(ec.value()));
        return result;
    }
    state_index b;
    if (const auto ec = index_state(after, b)) {
        result.ec = ec;
        result.message = std::string{"after: "} + describe(static_cast<errc>(ec.value()));
        return result;
    }
    auto& d = result.diff;
    d.resources = diff_instances(a, b);
    d.outputs = diff_outputs(a, b);
    d.serial = compare(a.serial, b.serial);
    d.lineage = compare(a.lineage, b.lineage);
    d.terraform_version = compare(a.terraform_version, b.terraform_version);
    return result;
}

}  // namespace tfsnap::tfstate
