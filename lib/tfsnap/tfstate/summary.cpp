#include "tfsnap/tfstate/summary.hpp"

#include "tfsnap/core/json.hpp"
#include "tfsnap/tfstate/detail/go_json.hpp"
#include "tfsnap/tfstate/error.hpp"
#include "tfsnap/tfstate/limits.hpp"

#include <rapidjson/filereadstream.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <unordered_set>

namespace tfsnap::tfstate {

const char* to_string(state_kind k) noexcept {
    switch (k) {
        case state_kind::state:
            return "state";
        case state_kind::legacy:
            return "legacy";
        case state_kind::encrypted:
            return "encrypted";
        case state_kind::opaque:
            return "opaque";
    }
    return "unknown";
}

namespace {

// Depths count open containers: keys of the root object arrive at depth 1, `resources` entries
// open at depth 2, their keys arrive at depth 3, and instance objects open at depth 4.
class summary_handler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, summary_handler> {
public:
    bool Null() {
        // Go leaves a string field alone on null
        if (depth_ == 1 && top_ == top_key::encryption_version) {
            return true;
        }
        return scalar();
    }
    bool Bool(bool) { return scalar(); }
    bool Int(int) { return scalar(); }
    bool Int64(std::int64_t) { return scalar(); }
    bool Uint(unsigned u) { return number(u); }
    bool Uint64(std::uint64_t u) { return number(u); }
    bool Double(double) { return scalar(); }
    bool RawNumber(const char*, rapidjson::SizeType, bool) { return scalar(); }

    bool String(const char* s, rapidjson::SizeType n, bool) {
        const std::string_view v{s, n};
        if (depth_ == 0) {
            return root_not_object();
        }
        if (depth_ == 1) {
            if (top_ == top_key::encryption_version) {
                encryption_version_ = v;
            } else if (top_ == top_key::lineage) {
                lineage_ = v;
            } else if (top_ == top_key::terraform_version) {
                terraform_version_ = v;
            } else {
                structure_scalar();
            }
        } else if (depth_ == 3 && section_ == section::resources) {
            if (res_ == res_key::mode) {
                mode_ = v == "managed" ? mode::managed : v == "data" ? mode::data : mode::bad;
            } else if (res_ == res_key::module) {
                module_ = v;
            }
        }
        return true;
    }

    bool Key(const char* s, rapidjson::SizeType n, bool) {
        const std::string_view k{s, n};
        if (depth_ == 1) {
            top_ = k == "version"             ? top_key::version
                   : k == "serial"            ? top_key::serial
                   : k == "lineage"           ? top_key::lineage
                   : k == "terraform_version" ? top_key::terraform_version
                   : k == "outputs"           ? top_key::outputs
                   : k == "resources"         ? top_key::resources
                                              : top_key::other;
            // OpenTofu reads its sigil with json.Unmarshal: Go's key matching, last one wins
            if (top_ == top_key::other && detail::go_key_matches(k, "encryption_version")) {
                top_ = top_key::encryption_version;
            }
        } else if (depth_ == 2 && section_ == section::outputs) {
            outputs_.emplace_back(k);
        } else if (depth_ == 3 && section_ == section::resources) {
            res_ = k == "mode"        ? res_key::mode
                   : k == "module"    ? res_key::module
                   : k == "instances" ? res_key::instances
                                      : res_key::other;
        }
        return true;
    }

    bool StartObject() {
        if (depth_ == 1) {
            not_a_sigil();
            if (top_ == top_key::outputs) {
                section_ = section::outputs;
            } else if (top_ == top_key::resources) {
                malformed_ = true;
            }
        } else if (depth_ == 2 && section_ == section::resources) {
            mode_ = mode::missing;
            module_.clear();
        } else if (depth_ == 4 && in_instances_) {
            ++instances_;
        } else if (depth_ == 3 && section_ == section::resources && res_ == res_key::instances) {
            malformed_ = true;
        }
        ++depth_;
        return true;
    }

    bool EndObject(rapidjson::SizeType) {
        --depth_;
        if (depth_ == 2 && section_ == section::resources) {
            finish_resource();
        } else if (depth_ == 1) {
            section_ = section::none;
        }
        return true;
    }

    bool StartArray() {
        if (depth_ == 0) {
            return root_not_object();
        }
        if (depth_ == 1) {
            not_a_sigil();
            if (top_ == top_key::resources) {
                section_ = section::resources;
            } else if (top_ == top_key::outputs) {
                malformed_ = true;
            }
        } else if (depth_ == 2 && section_ == section::resources) {
            malformed_ = true;
        } else if (depth_ == 3 && section_ == section::resources && res_ == res_key::instances) {
            in_instances_ = true;
        }
        ++depth_;
        return true;
    }

    bool EndArray(rapidjson::SizeType) {
        --depth_;
        if (depth_ == 3) {
            in_instances_ = false;
        } else if (depth_ == 1) {
            section_ = section::none;
        }
        return true;
    }

    inspection finish() {
        inspection out;
        if (!encryption_version_.empty() && !encryption_refused_) {
            out.kind = state_kind::encrypted;
            out.encryption_version = std::move(encryption_version_);
            return out;
        }
        if (!has_version_) {
            return out;
        }
        out.version = version_;
        if (version_ <= 3) {
            out.kind = state_kind::legacy;
            out.ec = errc::legacy_format;
            out.message = "state format version " + std::to_string(version_) +
                          " is older than Terraform 0.12; tfsnap reads version 4";
            return out;
        }
        out.kind = state_kind::state;
        if (version_ > 4) {
            out.ec = errc::unsupported_version;
            out.message = "state format version " + std::to_string(version_) +
                          " is newer than tfsnap understands; tfsnap reads version 4";
            return out;
        }
        if (malformed_) {
            out.ec = errc::malformed;
            out.message = describe(errc::malformed);
            return out;
        }
        auto& s = out.summary;
        s.version = version_;
        s.serial = serial_;
        s.lineage = std::move(lineage_);
        s.terraform_version = std::move(terraform_version_);
        s.managed_resources = managed_;
        s.data_resources = data_;
        s.instances = instances_;
        s.modules = modules_.size();
        std::sort(outputs_.begin(), outputs_.end());
        outputs_.erase(std::unique(outputs_.begin(), outputs_.end()), outputs_.end());
        s.outputs = std::move(outputs_);
        return out;
    }

private:
    enum class top_key {
        other,
        version,
        serial,
        lineage,
        terraform_version,
        outputs,
        resources,
        encryption_version
    };
    enum class section { none, outputs, resources };
    enum class res_key { other, mode, module, instances };
    enum class mode { missing, managed, data, bad };

    bool root_not_object() {
        root_not_object_ = true;
        return false;
    }

    // A scalar where the root object's `outputs` or `resources` should be.
    void structure_scalar() {
        if (top_ == top_key::outputs || top_ == top_key::resources) {
            malformed_ = true;
        }
        not_a_sigil();
    }

    // `encryption_version` that is not a string: json.Unmarshal fails, and OpenTofu then treats
    // the object as plaintext, whatever another `encryption_version` key said.
    void not_a_sigil() {
        if (top_ == top_key::encryption_version) {
            encryption_refused_ = true;
        }
    }

    bool scalar() {
        if (depth_ == 0) {
            return root_not_object();
        }
        if (depth_ == 1) {
            if (top_ == top_key::version) {
                has_version_ = false;
            }
            structure_scalar();
        }
        return true;
    }

    bool number(std::uint64_t u) {
        if (depth_ == 0) {
            return root_not_object();
        }
        if (depth_ == 1) {
            if (top_ == top_key::version) {
                has_version_ = u <= 1000;
                version_ = static_cast<int>(std::min<std::uint64_t>(u, 1000));
            } else if (top_ == top_key::serial) {
                serial_ = u;
            } else {
                structure_scalar();
            }
        }
        return true;
    }

    void finish_resource() {
        switch (mode_) {
            case mode::managed:
                ++managed_;
                break;
            case mode::data:
                ++data_;
                break;
            case mode::missing:
            case mode::bad:
                malformed_ = true;
                break;
        }
        if (!module_.empty()) {
            modules_.insert(module_);
        }
    }

    int depth_ = 0;
    top_key top_ = top_key::other;
    section section_ = section::none;
    res_key res_ = res_key::other;
    bool in_instances_ = false;
    mode mode_ = mode::missing;
    std::string module_;

    bool root_not_object_ = false;
    std::string encryption_version_;
    bool encryption_refused_ = false;
    bool malformed_ = false;
    bool has_version_ = false;
    int version_ = 0;
    std::uint64_t serial_ = 0;
    std::string lineage_;
    std::string terraform_version_;
    std::size_t managed_ = 0;
    std::size_t data_ = 0;
    std::size_t instances_ = 0;
    std::unordered_set<std::string> modules_;
    std::vector<std::string> outputs_;
};

template <class Stream>
inspection run(Stream& stream) {
    summary_handler handler;
    const core::json_status result = core::parse_json_sax(stream, handler, max_nesting);
    if (result.ec == core::errc::json_too_deep) {
        inspection out;
        out.ec = errc::too_deep;
        out.message = "the state " + result.message + ", deeper than Terraform itself reads";
        return out;
    }
    if (!result.ok()) {
        // Not JSON (or a root that is not an object): a valid snapshot, just not summarised.
        return inspection{};
    }
    return handler.finish();
}

struct file_closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

}  // namespace

inspection inspect(std::string_view bytes) {
    rapidjson::MemoryStream stream{bytes.data(), bytes.size()};
    return run(stream);
}

inspection inspect_file(const std::filesystem::path& path) {
    const std::unique_ptr<std::FILE, file_closer> file{std::fopen(path.c_str(), "rb")};
    if (!file) {
        inspection out;
        out.ec = boost::system::error_code{errno, boost::system::system_category()};
        out.message = "cannot open state file: " + out.ec.message();
        return out;
    }
    constexpr std::size_t buffer_size = 64 * 1024;
    const auto buffer = std::make_unique<char[]>(buffer_size);
    rapidjson::FileReadStream stream{file.get(), buffer.get(), buffer_size};
    inspection out = run(stream);
    if (std::ferror(file.get()) != 0) {
        out = inspection{};
        out.ec = boost::system::error_code{EIO, boost::system::system_category()};
        out.message = "cannot read state file: " + out.ec.message();
    }
    return out;
}

}  // namespace tfsnap::tfstate
