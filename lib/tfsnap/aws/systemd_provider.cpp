// Static keys from a systemd credential (systemd.exec(5), "Credentials": LoadCredential=,
// SetCredential=, LoadCredentialEncrypted=; the service finds them in $CREDENTIALS_DIRECTORY).

#include "tfsnap/aws/detail/files.hpp"
#include "tfsnap/aws/detail/results.hpp"
#include "tfsnap/aws/providers.hpp"
#include "tfsnap/aws/systemd_credential.hpp"

#include <boost/system/errc.hpp>

namespace tfsnap::aws {

namespace {

class systemd_credential_provider final : public credentials_provider {
public:
    systemd_credential_provider(context_ptr ctx, std::string name)
        : ctx_(std::move(ctx)), name_(std::move(name)) {}

    boost::asio::awaitable<credentials_result> get() override {
        if (!is_valid_credential_name(name_)) {
            co_return detail::failed(
                errc::invalid_credential_name, "systemd-credential",
                "a credential name is 1-64 of A-Z a-z 0-9 . _ - and not . or ..; got \"" +
                    sanitise_service_text(name_, 80) + "\"");
        }
        const auto dir = env_value(ctx_->env, "CREDENTIALS_DIRECTORY");
        if (!dir) {
            co_return detail::not_configured(
                "systemd-credential",
                "CREDENTIALS_DIRECTORY is not set (no LoadCredential=" + name_ + ":... in the unit)");
        }
        const std::string path = *dir + "/" + name_;
        auto file = detail::read_small_file(path);
        if (file.ec == boost::system::errc::no_such_file_or_directory) {
            auto r = detail::not_configured("systemd-credential",
                                            "no credential " + name_ + " in CREDENTIALS_DIRECTORY");
            r.error.path = path;
            co_return r;
        }
        if (file.ec) {
            co_return detail::failed(errc::file_unreadable, "systemd-credential",
                                     "cannot read the credential: " + file.ec.message(), path);
        }
        auto keys = parse_systemd_credential(file.text.reveal(), path);
        if (!keys.ok())
            co_return detail::failed(keys.ec, std::move(keys.error));
        credentials_result r;
        r.creds = std::move(keys.creds);
        r.source = "systemd-credential " + name_;
        co_return r;
    }

private:
    context_ptr ctx_;
    std::string name_;
};

}  // namespace

provider_ptr make_systemd_credential_provider(context_ptr ctx, std::string name) {
    return std::make_shared<systemd_credential_provider>(std::move(ctx), std::move(name));
}

}  // namespace tfsnap::aws
