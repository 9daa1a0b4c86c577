// SendLimiter: sliding-window counters in locked files.
#include "verif8/SendLimiter.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>

#include "verif8/SafeFile.hpp"
#include "verif8/StateDir.hpp"
#include "verif8/TextUtil.hpp"
#include "verif8/Unstoppable.hpp"

namespace verif8 {

namespace {
constexpr std::string_view kHeader = "verif8-sends 1\n";
constexpr std::size_t kMaxFile = 64 * 1024;

// One counter file, opened checked and locked for the life of the object.
class Counter {
public:
    Counter(std::string path, FileDescriptor file)
        : path_(std::move(path)), file_(std::move(file)) {}

    const std::string& path() const { return path_; }

    // The send times still inside the window; nullopt when the file is not counters.
    std::optional<std::vector<std::time_t>> read(std::time_t since, std::time_t window) {
        const auto content = readCapped(file_, kMaxFile);
        if (!content)
            return std::nullopt;
        const std::string_view text = content.value().view();
        std::vector<std::time_t> times;
        if (text.empty())
            return times;  // a new counter
        if (text.compare(0, kHeader.size(), kHeader) != 0)
            return std::nullopt;
        bool valid = true;
        forEachLine(text.substr(kHeader.size()), [&](std::string_view line) {
            const auto value = parseDecimal<std::time_t>(line, 12);
            if (!value)
                valid = false;
            else if (*value >= since)
                // A time ahead of the clock (a counter from before a clock step back) counts
                // as now, so that it leaves the window like any other instead of never.
                times.push_back(std::min(*value, since + window));
        });
        if (!valid)
            return std::nullopt;
        return times;
    }

    bool write(const std::vector<std::time_t>& times) {
        std::string content(kHeader);
        for (std::time_t time : times)
            content += std::to_string(time) + "\n";
        // Over the old content, then cut to length: emptying a file first makes ext4 write it
        // back at close (its guard for files replaced by truncation), a disk write per login.
        // A crash between the two leaves the old tail after the new lines: older times that
        // count as extra sends, or a damaged counter that counts as full until it heals; never
        // fewer sends than were made.
        return pwrite(file_.get(), content.data(), content.size(), 0) ==
                   static_cast<ssize_t>(content.size()) &&
               ftruncate(file_.get(), static_cast<off_t>(content.size())) == 0;
    }

private:
    std::string path_;
    FileDescriptor file_;  // closing it releases the lock
};

// The counter at `path`, opened checked and locked; nullopt when it cannot be, with its problem
// added to `decision` (whose verdict becomes Busy when another process held it past the wait).
std::optional<Counter> lockCounter(const std::string& path, uid_t owner, int lockWaitMs,
                                   LimitDecision& decision) {
    auto opened = openStateFile(path, owner);
    if (!opened) {
        decision.problems.emplace_back(opened.problem().text);
        return std::nullopt;
    }
    const Locking locking = lockStateFile(opened.value(), true, path, lockWaitMs);
    if (locking.verdict != LockVerdict::Locked) {
        decision.problems.emplace_back(locking.problem->text);
        if (locking.verdict == LockVerdict::Busy)
            decision.verdict = LimitVerdict::Busy;
        return std::nullopt;
    }
    return Counter(path, std::move(opened).value());
}

// The window's sends, or, for a file that is not counters, a full window: a damaged counter
// must never let more sends through.
std::vector<std::time_t> sendsIn(Counter& counter, const SendLimit& limit, std::time_t now,
                                 const std::string& what, std::vector<Problem>& problems) {
    auto times = counter.read(now - limit.seconds, limit.seconds);
    if (times)
        return *times;
    problems.emplace_back(counter.path() + ": " + what +
                          " send counter is damaged; counted as full for " +
                          std::to_string(limit.seconds) + " s");
    return std::vector<std::time_t>(static_cast<std::size_t>(limit.count), now);
}
}  // namespace

namespace {
// A decision as the worker (Unstoppable.hpp) hands it back: the verdict, then one problem a line.
std::string encode(const LimitDecision& decision) {
    std::string text = std::to_string(static_cast<int>(decision.verdict)) + "\n";
    for (const Problem& problem : decision.problems) {
        std::string line = problem.text;
        std::replace(line.begin(), line.end(), '\n', ' ');
        text += line + "\n";
    }
    return text;
}

LimitDecision decode(const std::string& text) {
    LimitDecision decision;
    bool first = true;
    forEachLine(text, [&](std::string_view line) {
        if (first) {
            const auto verdict = parseDecimal<long>(line, 9);
            decision.verdict = verdict && *verdict <= static_cast<long>(LimitVerdict::Unavailable)
                                   ? static_cast<LimitVerdict>(*verdict)
                                   : LimitVerdict::Unavailable;
            first = false;
        } else {
            decision.problems.emplace_back(std::string(line));
        }
    });
    return decision;
}
}  // namespace

LimitDecision FileSendLimiter::take(const SendKeys& keys) {
    // The counters are locked files too: the caller of su must not hold them by stopping it.
    const WorkResult work =
        runUnstoppable([&] { return encode(takeHere(keys)); }, lockWaitMs_ * 3 + 2000);
    if (work.verdict == WorkVerdict::Done)
        return decode(work.reply);
    LimitDecision decision;
    decision.problems.emplace_back(stateDir_ + "/limits: " + work.problem->text);
    return decision;
}

void FileSendLimiter::refund(const SendKeys& keys) {
    // A refund that cannot be made leaves the send counted: the stricter answer.
    (void)runUnstoppable(
        [&] {
            refundHere(keys);
            return std::string();
        },
        lockWaitMs_ * 3 + 2000);
}

namespace {
// One allowance: its counter file, its limit, its word in problems and its verdict when full.
struct Allowance {
    std::string path;
    SendLimit limit;
    const char* what;
    LimitVerdict full;
};

std::vector<Allowance> allowances(const std::string& dir, const SendKeys& keys, SendLimit user,
                                  SendLimit source, SendLimit phone) {
    // Always in this order, so that two logins never wait on each other's later lock.
    return {
        {dir + "/user-" + stateFileName(keys.user), user, "user", LimitVerdict::UserLimit},
        {dir + "/source-" + stateFileName(keys.source), source, "source",
         LimitVerdict::SourceLimit},
        {dir + "/phone-" + stateFileName(keys.phone), phone, "phone", LimitVerdict::PhoneLimit}};
}
}  // namespace

LimitDecision FileSendLimiter::takeHere(const SendKeys& keys) {
    LimitDecision decision;
    const std::string dir = stateDir_ + "/limits";
    for (const std::string& path : {stateDir_, dir}) {
        if (auto prepared = prepareStateDirectory(path, owner_); !prepared) {
            decision.problems.emplace_back(prepared.problem().text);
            return decision;
        }
    }
    const auto all = allowances(dir, keys, user_, source_, phone_);
    std::vector<Counter> counters;
    for (const Allowance& allowance : all) {
        auto counter = lockCounter(allowance.path, owner_, lockWaitMs_, decision);
        if (!counter)
            return decision;
        counters.push_back(std::move(*counter));
    }
    const std::time_t now = time(nullptr);
    std::vector<std::vector<std::time_t>> sends;
    decision.verdict = LimitVerdict::Allowed;
    for (std::size_t i = 0; i < all.size(); ++i) {
        sends.push_back(sendsIn(counters[i], all[i].limit, now, all[i].what, decision.problems));
        if (decision.verdict == LimitVerdict::Allowed &&
            static_cast<int>(sends.back().size()) >= all[i].limit.count)
            decision.verdict = all[i].full;
    }
    // Written back either way: pruned, or rebuilt as full after damage.
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (decision.verdict == LimitVerdict::Allowed)
            sends[i].push_back(now);
        if (!counters[i].write(sends[i])) {
            decision.problems.emplace_back(dir + ": cannot write the send counters");
            decision.verdict = LimitVerdict::Unavailable;
        }
    }
    return decision;
}

void FileSendLimiter::refundHere(const SendKeys& keys) {
    const std::time_t now = time(nullptr);
    for (const Allowance& allowance :
         allowances(stateDir_ + "/limits", keys, user_, source_, phone_)) {
        LimitDecision unused;  // nothing to give back from a counter that cannot be opened
        auto counter = lockCounter(allowance.path, owner_, lockWaitMs_, unused);
        if (!counter)
            continue;
        auto times = counter->read(now - allowance.limit.seconds, allowance.limit.seconds);
        if (!times || times->empty())
            continue;  // damaged or empty: nothing that could be given back
        times->erase(std::max_element(times->begin(), times->end()));
        counter->write(*times);
    }
}

}  // namespace verif8
