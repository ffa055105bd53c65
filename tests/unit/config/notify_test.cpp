// notify.webhooks: the settings as loaded, every problem as one diagnostic with its position and
// fix, and a webhook URL's path and query never in a diagnostic (Slack's carries its token).
#include "bad_case.hpp"

#include "tfsnap/config/load.hpp"
#include "tfsnap/config/validate.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace {

using namespace tfsnap::config;
using namespace tfsnap::config::testing;
using namespace std::chrono_literals;

// Lines 1-4: a valid environment (env_prefix); the notify section starts on line 5.
std::string with_notify(const std::string& tail) {
    return std::string(env_prefix) + "notify:\n  webhooks:\n" + tail;
}

TEST(NotifyConfig, AbsentOrEmptyMeansNoWebhooks) {
    for (const std::string& yaml : {std::string(env_prefix), std::string(env_prefix) + "notify:\n",
                                    std::string(env_prefix) + "notify: { webhooks: [] }\n"}) {
        const auto r = load_string(yaml, "n.yaml");
        ASSERT_TRUE(r.ok()) << dump(r);
        EXPECT_TRUE(r.config->notify.webhooks.empty());
    }
}

TEST(NotifyConfig, EveryKey) {
    const auto r =
        load_string(with_notify("    - url: https://hooks.slack.com/services/T000/B000/XXXX\n"
                                "      events: [expiry, failure, state-deleted]\n"
                                "      slack_template: \":rotating_light: {event} {env}: {message}\"\n"
                                "      timeout: 5s\n"
                                "      retries: 0\n"
                                "      deadline: 2m\n"),
                    "n.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_EQ(r.config->notify.webhooks.size(), 1u);
    const auto& w = r.config->notify.webhooks[0];
    EXPECT_EQ(w.url, "https://hooks.slack.com/services/T000/B000/XXXX");
    EXPECT_EQ(w.url_credential, "");
    // normalised into webhook_events order
    EXPECT_EQ(w.events, (std::vector<std::string>{"failure", "state-deleted", "expiry"}));
    EXPECT_EQ(w.slack_template, ":rotating_light: {event} {env}: {message}");
    EXPECT_EQ(w.timeout, 5s);
    EXPECT_EQ(w.retries, 0);
    EXPECT_EQ(w.deadline, 2min);
    EXPECT_EQ(w.where.line, 7);
    EXPECT_EQ(w.where.column, 7);
}

TEST(NotifyConfig, Defaults) {
    const auto r = load_string(with_notify("    - url: http://127.0.0.1:8080/hook\n"
                                           "    - url_credential: slack-webhook\n"
                                           "      events: [success]\n"),
                               "n.yaml");
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_EQ(r.config->notify.webhooks.size(), 2u);
    const auto& w = r.config->notify.webhooks[0];
    EXPECT_EQ(w.events, (std::vector<std::string>{"failure", "restore", "state-deleted", "expiry"}));
    EXPECT_FALSE(w.slack_template.has_value());
    EXPECT_EQ(w.timeout, 10s);
    EXPECT_EQ(w.retries, 3);
    EXPECT_EQ(w.deadline, 60s);
    const auto& c = r.config->notify.webhooks[1];
    EXPECT_EQ(c.url, "");
    EXPECT_EQ(c.url_credential, "slack-webhook");
    EXPECT_EQ(c.events, std::vector<std::string>{"success"});
    EXPECT_EQ(c.where.line, 8);
}

// config/example.yaml shows the section commented out; uncommented, it must load.
TEST(NotifyConfig, CommentedExampleIsValid) {
    std::ifstream in(std::string(TFSNAP_SOURCE_DIR) + "/config/example.yaml");
    ASSERT_TRUE(in);
    std::string line;
    std::string section;
    while (std::getline(in, line)) {
        if (section.empty() && line != "# notify:")
            continue;
        if (!line.starts_with("#"))
            break;
        section += line.substr(line.size() > 1 ? 2 : 1) + "\n";
    }
    ASSERT_FALSE(section.empty());
    const auto r = load_string(std::string(env_prefix) + section, "example-notify.yaml");
    ASSERT_TRUE(r.ok()) << dump(r) << section;
    ASSERT_EQ(r.config->notify.webhooks.size(), 2u);
    EXPECT_EQ(r.config->notify.webhooks[0].url_credential, "slack-webhook");
    EXPECT_EQ(r.config->notify.webhooks[0].events.size(), 4u);
    EXPECT_EQ(r.config->notify.webhooks[1].url, "https://alerts.example.com/tfsnap");
}

TEST(NotifyConfig, EventNamesAreNotifyNames) {
    EXPECT_EQ(std::size(webhook_events), 5u);
    EXPECT_EQ(webhook_events[3], "state-deleted");
}

TEST(WebhookUrl, Valid) {
    for (const char* ok : {"https://hooks.slack.com/services/T000/B000/XXXX",
                           "http://127.0.0.1:8080/hook?token=abc&x=1", "https://[::1]:8443/h",
                           "https://example.com", "https://chat.googleapis.com/v1/spaces/A/messages?key=k"}) {
        EXPECT_EQ(check_webhook_url(ok), std::nullopt) << ok;
    }
}

TEST(WebhookUrl, InvalidWithoutQuotingTheUrl) {
    const std::pair<const char*, const char*> bad[] = {
        {"hooks.slack.com/services/T000/B000/XXXX", "the webhook URL must start with https:// or http://"},
        {"ftp://files.example.com/XXXX", "the webhook URL must start with https:// or http://"},
        {"https://user:XXXX@hooks.example.com/h",
         "the webhook URL contains user information (NAME@host), which tfsnap never sends"},
        {"https://hooks.example.com/h#XXXX",
         "the webhook URL has a fragment (#...), which is never sent to the server"},
        {"https:///XXXX", "the webhook URL has no valid host name"},
        {"https://:443/XXXX", "the webhook URL has no valid host name"},
        {"https://[::1/XXXX", "the webhook URL has no valid host name"},
        {"https://host name/XXXX",
         "the webhook URL contains a space, a control character or a non-ASCII character"},
        {"https://hooks.example.com/XXXX\n",
         "the webhook URL contains a space, a control character or a non-ASCII character"},
        {"https://hooks.example.com:0/XXXX", "the webhook URL's port is not a number from 1 to 65535"},
        {"https://hooks.example.com:99999/XXXX", "the webhook URL's port is not a number from 1 to 65535"},
        {"https://hooks.example.com:/XXXX", "the webhook URL's port is not a number from 1 to 65535"},
        {"https://a:b:c/XXXX", "the webhook URL has no valid host name"},
    };
    for (const auto& [url, message] : bad) {
        const auto why = check_webhook_url(url);
        ASSERT_NE(why, std::nullopt) << url;
        EXPECT_EQ(*why, message) << url;
        EXPECT_EQ(why->find("XXXX"), std::string::npos) << url;
    }
}

TEST(WebhookUrl, OriginIsAllThatMayBeShown) {
    EXPECT_EQ(url_origin("https://hooks.slack.com/services/T000/B000/XXXX"), "https://hooks.slack.com");
    EXPECT_EQ(url_origin("http://127.0.0.1:8080/hook?token=XXXX"), "http://127.0.0.1:8080");
    EXPECT_EQ(url_origin("https://[::1]:8443?token=XXXX"), "https://[::1]:8443");
    EXPECT_EQ(url_origin("https://user:XXXX@hooks.example.com/h"), "https://hooks.example.com");
    EXPECT_EQ(url_origin("hooks.slack.com/services/XXXX"), "");
    EXPECT_EQ(url_origin("https:///XXXX"), "");
}

const std::string valid_events = "failure, success, restore, state-deleted, expiry";
const std::string url_hint =
    "write the URL the service gave you, such as https://hooks.slack.com/services/..., or keep it in a "
    "systemd credential and write url_credential: NAME";
const std::string name_hint =
    "write the name given to LoadCredential=, 1-64 of A-Z a-z 0-9 . _ -, such as slack-webhook";

const bad_case cases[] = {
    {"UnknownNotifyKey", std::string(env_prefix) + "notify:\n  webhook: []\n", 6, 3,
     "notify.webhook: unknown key \"webhook\"; did you mean \"webhooks\"?"},
    {"UnknownWebhookKey", with_notify("    - url: https://h.example/XXXX\n      evnts: [failure]\n"), 8, 7,
     "notify.webhooks[0].evnts: unknown key \"evnts\"; did you mean \"events\"?"},
    {"WebhooksNotAList", with_notify("    https://hooks.slack.com/services/T000/B000/XXXX\n"), 7, 5,
     "notify.webhooks: expected a list of webhooks, got a single value; write one entry per webhook: - { "
     "url: "
     "https://..., events: [failure] }"},
    {"WebhookNotAMap", with_notify("    - https://hooks.slack.com/services/T000/B000/XXXX\n"), 7, 7,
     "notify.webhooks[0]: expected a map of webhook settings, got a single value; write { url: https://..., "
     "events: [failure] }, or url_credential: NAME instead of url"},
    {"UnknownEvent",
     with_notify("    - url: https://h.example/XXXX\n      events: [failure, state_deleted]\n"), 8, 25,
     "notify.webhooks[0].events[1]: unknown event \"state_deleted\"; did you mean \"state-deleted\"? valid "
     "events: " +
         valid_events},
    {"UnknownEventNoGuess", with_notify("    - url: https://h.example/XXXX\n      events: [frobnicate]\n"), 8,
     16, "notify.webhooks[0].events[0]: unknown event \"frobnicate\"; valid events: " + valid_events},
    {"DuplicateEvent", with_notify("    - url: https://h.example/XXXX\n      events: [expiry, expiry]\n"), 8,
     24, "notify.webhooks[0].events[1]: event \"expiry\" is listed twice; keep one"},
    {"EmptyEvents", with_notify("    - url: https://h.example/XXXX\n      events: []\n"), 8, 15,
     "notify.webhooks[0].events: the list of events is empty; write for example [failure, state-deleted]; "
     "valid events: " +
         valid_events},
    {"EventsNotAList", with_notify("    - url: https://h.example/XXXX\n      events: failure\n"), 8, 15,
     "notify.webhooks[0].events: expected a list, got \"failure\"; write for example [failure, "
     "state-deleted]; "
     "valid events: " +
         valid_events},
    {"UrlAndCredential", with_notify("    - url: https://h.example/XXXX\n      url_credential: slack\n"), 8,
     23,
     "notify.webhooks[0].url_credential: url and url_credential both name the webhook URL; keep one of them"},
    {"NoUrl", with_notify("    - events: [failure]\n"), 7, 7,
     "notify.webhooks[0]: missing key \"url\"; add url: https://..., or url_credential: NAME (a systemd "
     "credential holding the URL)"},
    {"UrlWithoutScheme", with_notify("    - url: hooks.slack.com/services/T000/B000/XXXX\n"), 7, 12,
     "notify.webhooks[0].url: the webhook URL must start with https:// or http://; " + url_hint},
    {"UrlWithUserInfo", with_notify("    - url: https://ops:XXXX@hooks.example.com/h\n"), 7, 12,
     "notify.webhooks[0].url: the webhook URL contains user information (NAME@host), which tfsnap never "
     "sends; " +
         url_hint},
    {"UrlWithFragment", with_notify("    - url: \"https://hooks.example.com/h#XXXX\"\n"), 7, 12,
     "notify.webhooks[0].url: the webhook URL has a fragment (#...), which is never sent to the server; " +
         url_hint},
    {"UrlBadPort", with_notify("    - url: https://hooks.example.com:70000/XXXX\n"), 7, 12,
     "notify.webhooks[0].url: the webhook URL's port is not a number from 1 to 65535; " + url_hint},
    {"UrlWithSpace", with_notify("    - url: https://hooks.example.com/a XXXX\n"), 7, 12,
     "notify.webhooks[0].url: the webhook URL contains a space, a control character or a non-ASCII "
     "character; " +
         url_hint},
    {"UrlNotAString", with_notify("    - url: [https://hooks.example.com/XXXX]\n"), 7, 12,
     "notify.webhooks[0].url: expected a string, got a list; write for example "
     "\"https://hooks.example.com/...\""},
    {"CredentialIsAUrl",
     with_notify("    - url_credential: https://hooks.slack.com/services/T000/B000/XXXX\n"), 7, 23,
     "notify.webhooks[0].url_credential: url_credential names a systemd credential, not a URL; write url: "
     "for "
     "the URL itself, or " +
         name_hint},
    {"CredentialWithSlash", with_notify("    - url_credential: hooks.slack.com/services/XXXX\n"), 7, 23,
     "notify.webhooks[0].url_credential: invalid credential name: it contains '/'; " + name_hint},
    {"CredentialDotDot", with_notify("    - url_credential: \"..\"\n"), 7, 23,
     "notify.webhooks[0].url_credential: invalid credential name \"..\"; " + name_hint},
    {"CredentialTypo", with_notify("    - url_credentail: slack\n"), 7, 7,
     "notify.webhooks[0].url_credentail: unknown key \"url_credentail\"; did you mean \"url_credential\"?"},
    {"TooManyRetries", with_notify("    - url: https://h.example/XXXX\n      retries: 11\n"), 8, 16,
     "notify.webhooks[0].retries: must be at most 10, got 11; write 0 to 10; the deadline bounds the "
     "delivery anyway"},
    {"NegativeRetries", with_notify("    - url: https://h.example/XXXX\n      retries: -1\n"), 8, 16,
     "notify.webhooks[0].retries: must not be negative, got -1; write 0 for a single attempt, or up to 10 "
     "retries"},
    {"ZeroTimeout", with_notify("    - url: https://h.example/XXXX\n      timeout: 0\n"), 8, 16,
     "notify.webhooks[0].timeout: timeout must be longer than 0s; write a duration such as 10s"},
    {"BadDeadline", with_notify("    - url: https://h.example/XXXX\n      deadline: soon\n"), 8, 17,
     "notify.webhooks[0].deadline: invalid duration \"soon\"; write a number and a unit, such as 90s, 5m, "
     "12h "
     "or 7d"},
    {"TimeoutOverDefaultDeadline", with_notify("    - url: https://h.example/XXXX\n      timeout: 90s\n"), 8,
     16,
     "notify.webhooks[0].timeout: timeout 1m30s is longer than deadline 1m; the deadline covers the whole "
     "delivery, retries included; raise deadline or lower timeout"},
    {"DeadlineUnderDefaultTimeout", with_notify("    - url: https://h.example/XXXX\n      deadline: 5s\n"), 8,
     17,
     "notify.webhooks[0].deadline: timeout 10s is longer than deadline 5s; the deadline covers the whole "
     "delivery, retries included; raise deadline or lower timeout"},
    {"EmptySlackTemplate", with_notify("    - url: https://h.example/XXXX\n      slack_template: \"\"\n"), 8,
     23,
     "notify.webhooks[0].slack_template: slack_template is empty; write a template such as "
     "\":rotating_light: "
     "{event} {env}: {message}\", or remove it to send tfsnap's JSON document"},
};

class BadNotifyConfig : public ::testing::TestWithParam<bad_case> {};

TEST_P(BadNotifyConfig, ReportsExactlyOneProblemWithoutTheSecret) {
    const std::string shown = expect_one_problem(GetParam());
    // every URL in the table carries XXXX where its token would be
    EXPECT_EQ(shown.find("XXXX"), std::string::npos) << shown;
}

INSTANTIATE_TEST_SUITE_P(Table, BadNotifyConfig, ::testing::ValuesIn(cases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(BadNotifyConfigMany, EachWebhookIsCheckedOnItsOwn) {
    const auto r = load_string(with_notify("    - url: https://h.example/XXXX\n"
                                           "      retries: 20\n"
                                           "    - url: https://h.example/XXXX\n"
                                           "      events: [failur]\n"),
                               "two.yaml");
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.diagnostics.size(), 2u) << dump(r);
    EXPECT_EQ(r.diagnostics[0].path, "notify.webhooks[0].retries");
    EXPECT_EQ(r.diagnostics[1].path, "notify.webhooks[1].events[0]");
    EXPECT_EQ(r.diagnostics[1].hint, "did you mean \"failure\"? valid events: " + valid_events);
}

}  // namespace
