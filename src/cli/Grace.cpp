// grace: what grace_period remembers (state_dir/grace), listed or ended by the administrator.
#include <cstdio>
#include <ctime>

#include "Commands.hpp"
#include "Setup.hpp"
#include "verif8/GraceStore.hpp"
#include "verif8/LoginUser.hpp"

namespace verif8::cli {

namespace {
std::string utcTime(std::time_t at) {
    struct tm parts {};
    char text[32] = "?";
    if (gmtime_r(&at, &parts) != nullptr)
        strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

// The module records the account's canonical name: a clear by another spelling must find it.
std::string accountName(const Config& config, const std::string& typed) {
    LoginContext login;
    resolveLoginUser(config, typed, login);
    return login.userExists ? login.user : typed;
}
}  // namespace

int graceList(const Options& options) {
    Result<ConfigLoad> load = loadForCommand(options);
    if (!load)
        return kExitFailed;
    const Config& config = load.value().config;
    if (config.gracePeriod <= 0)
        printf("grace_period is 0 (off): no login is let in by grace\n");
    const std::string only = options.user.empty() ? "" : accountName(config, options.user);
    FileGraceStore store(config.stateDir);
    const FileGraceStore::Listing listing = store.list();
    for (const Problem& problem : listing.problems)
        fprintf(stderr, "%s\n", sanitize(problem.text).c_str());
    const std::time_t now = time(nullptr);
    std::size_t shown = 0;
    for (const GraceTable& table : listing.tables) {
        if (!only.empty() && table.user != only)
            continue;
        for (const GraceRecord& record : table.records) {
            const std::time_t age = now - record.verifiedAt;
            if (age < 0 || age >= config.gracePeriod)
                continue;  // gives no grace: ahead of the clock, or past the window
            if (shown++ == 0)
                printf("%-16s %-12s %-39s %-20s %s\n", "USER", "SERVICE", "ADDRESS", "VERIFIED",
                       "LEFT");
            printf("%-16s %-12s %-39s %-20s %lds\n", sanitize(table.user).c_str(),
                   sanitize(record.service).c_str(), sanitize(record.rhost).c_str(),
                   utcTime(record.verifiedAt).c_str(), static_cast<long>(config.gracePeriod - age));
        }
    }
    if (shown == 0)
        printf("no login has grace now%s\n",
               only.empty() ? "" : (" for " + sanitize(only)).c_str());
    return listing.problems.empty() ? kExitOk : kExitFailed;
}

int graceClear(const Options& options) {
    Result<ConfigLoad> load = loadForCommand(options);
    if (!load)
        return kExitFailed;
    const Config& config = load.value().config;
    FileGraceStore store(config.stateDir);
    if (options.all) {
        const Result<std::size_t> ended = store.endAll();
        if (!ended) {
            fprintf(stderr, "%s\n", sanitize(ended.problem().text).c_str());
            return kExitFailed;
        }
        printf("ended every grace (%zu records)\n", ended.value());
        return kExitOk;
    }
    const std::string user = accountName(config, options.user);
    if (const Result<> ended = store.end(user); !ended) {
        fprintf(stderr, "%s\n", sanitize(ended.problem().text).c_str());
        return kExitFailed;
    }
    printf("%s: grace ended; the next login is asked for a code\n", sanitize(user).c_str());
    return kExitOk;
}

}  // namespace verif8::cli
