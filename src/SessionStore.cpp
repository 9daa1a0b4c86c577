// SessionStore: which login may use the Verify session of a phone number: each claim, record and
// release is one short change to the table (SessionTable.hpp), kept in two copies
// (TwoCopyFile.hpp) under a lock and made where the caller of su cannot stop it (Unstoppable.hpp).
//
// Times are on the boot clock, which no one can set: a wall clock stepped by hours neither
// drops a live claim nor keeps a dead one. The table names its boot; a table from an earlier
// boot holds nothing that still runs, and is started afresh.
#include "verif8/SessionStore.hpp"

#include <algorithm>
#include <functional>

#include "verif8/StateDir.hpp"
#include "verif8/TextUtil.hpp"
#include "verif8/TwoCopyFile.hpp"
#include "verif8/Unstoppable.hpp"

namespace verif8 {

namespace {
// Copies both left damaged are started afresh once neither was written for longer than any
// code lives (code_validity is at most 7200 s): nothing in them can matter any more.
constexpr std::time_t kStaleAfter = 7200 + 60;

// What one change to a number's row came to.
enum class Change {
    Done,         // the edit changed the row, and the table was written
    Refused,      // the edit left the row as it was
    Busy,         // the table stayed locked past the bound (`problem` says by what)
    Unavailable,  // the table cannot be used (`problem` says why)
};

struct Changed {
    Change verdict = Change::Unavailable;
    std::optional<SessionRow> before;  // Done, Refused: the row as it was before the edit
    std::optional<Problem> problem;    // Busy, Unavailable
};

// Changes the row it is given (Done) or leaves it as it was (Refused).
using Edit = std::function<Change(SessionRow&)>;

Changed unusable(Change verdict, Problem problem) {
    return {verdict, std::nullopt, std::move(problem)};
}

// A Changed crosses from the worker as text: the verdict's digit, then the row before the edit
// (Done, Refused) or the problem (Busy, Unavailable).
std::string encode(const Changed& changed) {
    const std::string verdict(1, static_cast<char>('0' + static_cast<int>(changed.verdict)));
    if (changed.problem)
        return verdict + changed.problem->text;
    return verdict + (changed.before ? renderRow(*changed.before) : std::string());
}

Changed decode(std::string_view reply) {
    const Problem notOne("the table's worker gave an answer that is not one");
    if (reply.empty() || reply[0] < '0' || reply[0] > '3')
        return unusable(Change::Unavailable, notOne);
    const auto verdict = static_cast<Change>(reply[0] - '0');
    if (verdict == Change::Busy || verdict == Change::Unavailable)
        return unusable(verdict, Problem(std::string(reply.substr(1))));
    auto row = parseRow(trim(reply.substr(1)));
    if (!row)
        return unusable(Change::Unavailable, notOne);
    return {verdict, std::move(row), std::nullopt};
}

// Whether `holder` (the same process, the same run of the module in it) holds the row.
bool heldBy(const SessionRow& row, const Holder& holder) {
    return row.holder && row.holder->pid == holder.pid && row.holder->started == holder.started &&
           row.holder->nonce == holder.nonce;
}

bool claimLive(const SessionRow& row, std::int64_t now) {
    return row.holder && now < row.untilMs && holderAlive(*row.holder);
}

void dropEmptyRows(SessionTable& table) {
    table.rows.erase(
        std::remove_if(table.rows.begin(), table.rows.end(),
                       [](const SessionRow& row) { return !row.holder && !row.session; }),
        table.rows.end());
}

// Drops what binds nobody any more: claims of ended processes or past their time, sessions past
// their code's life, and rows left with neither.
void prune(SessionTable& table, std::int64_t now) {
    for (SessionRow& row : table.rows) {
        if (row.holder && !claimLive(row, now))
            row.holder.reset();
        if (row.session && now >= row.session->expiresMs)
            row.session.reset();
    }
    dropEmptyRows(table);
}

SessionRow& rowFor(SessionTable& table, const std::string& stamp) {
    for (SessionRow& row : table.rows) {
        if (row.phoneStamp == stamp)
            return row;
    }
    table.rows.push_back(SessionRow{stamp, std::nullopt, std::nullopt, 0});
    return table.rows.back();
}

// The newest whole table of the two copies; the empty table of this boot when it is from
// another (nothing in it still runs) or when both copies are damaged but stale.
Result<ParsedTable> currentTable(TwoCopyFile& file) {
    std::optional<ParsedTable> copies[2];
    for (int i = 0; i < 2; ++i)
        copies[i] = file.text(i) ? parseTable(*file.text(i)) : std::nullopt;
    const auto generationOf = [&](int i) {
        return copies[i] ? std::optional<std::uint64_t>(copies[i]->generation) : std::nullopt;
    };
    const auto newest = file.newest(generationOf(0), generationOf(1), time(nullptr));
    if (!newest)
        return newest.problem();
    ParsedTable current = newest.value() ? std::move(*copies[*newest.value()]) : ParsedTable{};
    std::string boot = bootId();
    if (!storable(boot))
        boot = "-";
    if (current.table.boot != boot)
        current.table = SessionTable{boot, {}};
    return current;
}

// One change to the table, in the worker: one short read-modify-write under the exclusive lock.
// `edit` gets the number's row of the pruned table (a new one when it has none).
Changed changeRow(const std::string& dir, uid_t owner, std::size_t maxBytes, int lockWaitMs,
                  const std::string& stamp, const Edit& edit) {
    if (const auto prepared = prepareStateDirectory(dir, owner); !prepared)
        return unusable(Change::Unavailable, prepared.problem());
    TwoCopyFile file(dir + "/pending.a", dir + "/pending.b", owner, maxBytes, kStaleAfter);
    const Locking locking = file.open(lockWaitMs);
    if (locking.verdict != LockVerdict::Locked)
        return unusable(locking.verdict == LockVerdict::Busy ? Change::Busy : Change::Unavailable,
                        *locking.problem);
    auto current = currentTable(file);
    if (!current)
        return unusable(Change::Unavailable, current.problem());
    SessionTable& table = current.value().table;
    const std::size_t rowsBefore = table.rows.size();
    prune(table, bootClockMs());
    const bool pruned = table.rows.size() != rowsBefore;
    SessionRow& row = rowFor(table, stamp);
    const SessionRow before = row;
    const Change verdict = edit(row);
    dropEmptyRows(table);
    if (verdict == Change::Done || pruned) {
        const auto written = file.writeOther(renderTable(table, current.value().generation + 1));
        if (!written)
            return unusable(Change::Unavailable, written.problem());
    }
    return {verdict, before, std::nullopt};
}

// changeRow where the caller cannot stop it. The worker needs the lock for microseconds; the
// wait for it is bounded by lockWaitMs.
Changed changeTable(const std::string& dir, uid_t owner, std::size_t maxBytes, int lockWaitMs,
                    const std::string& phone, const Edit& edit) {
    const std::string stamp = stateFileName("phone\n" + phone);
    const WorkResult work = runUnstoppable(
        [&] { return encode(changeRow(dir, owner, maxBytes, lockWaitMs, stamp, edit)); },
        lockWaitMs + 2000);
    if (work.verdict != WorkVerdict::Done)
        return unusable(work.verdict == WorkVerdict::TimedOut ? Change::Busy : Change::Unavailable,
                        Problem(dir + ": " + work.problem->text));
    return decode(work.reply);
}
}  // namespace

Claim FileSessionStore::claim(const std::string& phone, const Holder& holder,
                              std::int64_t untilMs) {
    Claim result;
    if (holder.pid <= 0) {
        result.problem = Problem("the login's process cannot be told (no /proc)");
        return result;
    }
    Changed changed =
        changeTable(stateDir_, owner_, maxBytes_, lockWaitMs_, phone, [&](SessionRow& row) {
            if (row.holder && !heldBy(row, holder))
                return Change::Refused;
            row.holder = holder;
            row.untilMs = untilMs;
            return Change::Done;
        });
    if (changed.verdict == Change::Done) {
        result.verdict = ClaimVerdict::Claimed;
        result.pending = std::move(changed.before->session);
    } else if (changed.verdict == Change::Refused) {
        result.verdict = ClaimVerdict::HeldByOther;
        result.holderPid = changed.before->holder ? changed.before->holder->pid : 0;
    } else {
        result.verdict =
            changed.verdict == Change::Busy ? ClaimVerdict::Busy : ClaimVerdict::Unavailable;
        result.problem = std::move(changed.problem);
    }
    return result;
}

Recording FileSessionStore::record(const std::string& phone, const Holder& holder,
                                   const PendingSession& session) {
    if (!storable(session.sessionId) || hasControlOrSpace(session.loginStamp))
        return {RecordVerdict::Unavailable,
                Problem("a session id with spaces or control characters is not kept")};
    Changed changed =
        changeTable(stateDir_, owner_, maxBytes_, lockWaitMs_, phone, [&](SessionRow& row) {
            if (!heldBy(row, holder))
                return Change::Refused;
            row.session = session;
            return Change::Done;
        });
    if (changed.verdict == Change::Done)
        return {RecordVerdict::Recorded, std::nullopt};
    if (changed.verdict == Change::Refused)
        return {RecordVerdict::ClaimLost, std::nullopt};
    return {RecordVerdict::Unavailable, std::move(changed.problem)};
}

Result<> FileSessionStore::release(const std::string& phone, const Holder& holder,
                                   bool keepSession) {
    Changed changed =
        changeTable(stateDir_, owner_, maxBytes_, lockWaitMs_, phone, [&](SessionRow& row) {
            if (!heldBy(row, holder))
                return Change::Refused;
            row.holder.reset();
            if (!keepSession)
                row.session.reset();
            return Change::Done;
        });
    if (changed.verdict == Change::Busy || changed.verdict == Change::Unavailable)
        return *changed.problem;
    return succeeded();
}

}  // namespace verif8
