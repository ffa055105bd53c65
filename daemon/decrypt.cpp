#include "decrypt.hpp"

#include "tfsnap/crypto/sealed_file.hpp"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace tfsnap::daemon {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_usage = 64;
constexpr int exit_dataerr = 65;
constexpr int exit_noinput = 66;
constexpr int exit_software = 70;
constexpr int exit_cantcreat = 73;
constexpr int exit_ioerr = 74;

constexpr std::uint64_t stdout_limit = std::uint64_t{1} << 30;

constexpr std::string_view decrypt_usage =
    "usage: tfsnapd decrypt FILE (--key KEYFILE | --key-credential NAME) [--output OUT|-] [--force]\n";
constexpr std::string_view keygen_usage = "usage: tfsnapd keygen --output FILE\n";

int usage(std::ostream& err, std::string_view command, std::string_view usage_line,
          const std::string& message) {
    err << "tfsnapd " << command << ": " << message << "\n" << usage_line;
    return exit_usage;
}

int exit_status_for(const boost::system::error_code& ec, crypto::file_role role) {
    using crypto::errc;
    if (ec == core::errc::not_found)
        return exit_noinput;
    if (ec == core::errc::io_error)
        return role == crypto::file_role::output ? exit_cantcreat : exit_noinput;
    if (ec == errc::destination_exists)
        return exit_cantcreat;
    if (ec == errc::invalid_credential_name)
        return exit_usage;
    if (ec == errc::openssl_failure)
        return exit_software;
    // bad_magic, unsupported_version, wrong_key, truncated, authentication_failed, trailing_data,
    // invalid_key, too_large
    return exit_dataerr;
}

int report(std::ostream& err, std::string_view command, const boost::system::error_code& ec,
           const crypto::error_info& e) {
    err << "tfsnapd " << command << ": " << (e.message.empty() ? ec.message() : e.message) << "\n";
    return exit_status_for(ec, e.role);
}

}  // namespace

int decrypt_main(const std::vector<std::string_view>& args, std::string_view credentials_directory,
                 std::ostream& out, std::ostream& err) {
    std::optional<std::string_view> file, key_file, key_credential, output;
    bool force = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto a = args[i];
        const bool takes_value = a == "--key" || a == "--key-credential" || a == "--output" || a == "-o";
        if (takes_value && (i + 1 >= args.size() || args[i + 1].empty()))
            return usage(err, "decrypt", decrypt_usage, std::string(a) + " needs a value");
        if (a == "--key") {
            key_file = args[++i];
        } else if (a == "--key-credential") {
            key_credential = args[++i];
        } else if (a == "--output" || a == "-o") {
            output = args[++i];
        } else if (a == "--force") {
            force = true;
        } else if (a.size() > 1 && a.front() == '-') {
            return usage(err, "decrypt", decrypt_usage, "unknown option '" + std::string(a) + "'");
        } else if (file) {
            return usage(err, "decrypt", decrypt_usage,
                         "one FILE at a time; got '" + std::string(*file) + "' and '" + std::string(a) + "'");
        } else {
            file = a;
        }
    }
    if (!file || file->empty())
        return usage(err, "decrypt", decrypt_usage, "no FILE given");
    if (key_file.has_value() == key_credential.has_value())
        return usage(err, "decrypt", decrypt_usage,
                     "give exactly one of --key KEYFILE and --key-credential NAME");
    const bool to_stdout = !output || *output == "-";
    if (to_stdout && force)
        return usage(err, "decrypt", decrypt_usage, "--force only applies to --output FILE");

    const auto loaded = key_file ? crypto::load_key(std::string(*key_file))
                                 : crypto::load_key_credential(*key_credential, credentials_directory);
    if (!loaded.ok())
        return report(err, "decrypt", loaded.ec, loaded.error);
    if (loaded.readable_by_others) {
        const std::string key_path =
            key_file ? std::string(*key_file)
                     : std::string(credentials_directory) + "/" + std::string(*key_credential);
        err << "tfsnapd decrypt: warning: key file " << key_path
            << " can be read by its group or others; restrict it with chmod 600\n";
    }
    const auto& key = *loaded.key;
    const std::string sealed(*file);

    if (to_stdout) {
        const auto r = crypto::open_to_string(key, sealed, stdout_limit);
        if (r.ec == crypto::errc::too_large) {
            err << "tfsnapd decrypt: " << r.error.message << "; write it to a file with --output FILE\n";
            return exit_usage;
        }
        if (!r.ok())
            return report(err, "decrypt", r.ec, r.error);
        out.write(r.plaintext.data(), static_cast<std::streamsize>(r.plaintext.size()));
        out.flush();
        if (!out) {
            err << "tfsnapd decrypt: cannot write to standard output\n";
            return exit_ioerr;
        }
        return exit_ok;
    }
    const std::string dest(*output);
    const auto r = crypto::open_to_file(key, sealed, dest, {.overwrite = force});
    if (r.ec == crypto::errc::destination_exists) {
        err << "tfsnapd decrypt: " << dest << " exists; refusing to overwrite it (use --force)\n";
        return exit_cantcreat;
    }
    if (!r.ok())
        return report(err, "decrypt", r.ec, r.error);
    err << "tfsnapd decrypt: wrote " << dest << " (" << r.header.plaintext_size << " bytes, sha256 "
        << r.plaintext_sha256 << ")\n";
    return exit_ok;
}

int keygen_main(const std::vector<std::string_view>& args, std::ostream& out, std::ostream& err) {
    std::optional<std::string_view> output;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto a = args[i];
        if (a == "--output" || a == "-o") {
            if (i + 1 >= args.size() || args[i + 1].empty())
                return usage(err, "keygen", keygen_usage, std::string(a) + " needs a value");
            output = args[++i];
        } else {
            return usage(err, "keygen", keygen_usage, "unknown argument '" + std::string(a) + "'");
        }
    }
    if (!output)
        return usage(err, "keygen", keygen_usage, "--output FILE is required");
    if (*output == "-")
        return usage(err, "keygen", keygen_usage,
                     "a key is only written to a file, never to standard output");

    const auto generated = crypto::generate_key();
    if (!generated.ok())
        return report(err, "keygen", generated.ec, generated.error);
    const std::string path(*output);
    const auto w = crypto::save_key(*generated.key, path);
    if (!w.ok())
        return report(err, "keygen", w.ec, w.error);
    out << "wrote a new key to " << path << " (mode 0600), fingerprint " << generated.key->fingerprint()
        << "\nkeep a copy somewhere safe: the encrypted copies cannot be read without it\n";
    return exit_ok;
}

}  // namespace tfsnap::daemon
