// libFuzzer target: the session table's codec (SessionTable.hpp) over arbitrary bytes, read as a
// whole copy and, so that the rows are reached past the end line's hash, as a body this target
// signs itself. Whatever parses must render to a text that parses back to the same table and
// generation, and each of its rows must do the same on its own.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "verif8/SessionTable.hpp"
#include "verif8/StateDir.hpp"

namespace {
void check(bool condition) {
    if (!condition)
        std::abort();
}

bool sameSession(const verif8::PendingSession& a, const verif8::PendingSession& b) {
    return a.sessionId == b.sessionId && a.channel == b.channel && a.sends == b.sends &&
           a.lastSendMs == b.lastSendMs && a.expiresMs == b.expiresMs &&
           a.apiAttempt == b.apiAttempt && a.apiExpiresAt == b.apiExpiresAt &&
           a.loginStamp == b.loginStamp;
}

bool sameRow(const verif8::SessionRow& a, const verif8::SessionRow& b) {
    if (a.phoneStamp != b.phoneStamp || a.session.has_value() != b.session.has_value() ||
        a.holder.has_value() != b.holder.has_value())
        return false;
    if (a.session && !sameSession(*a.session, *b.session))
        return false;
    return !a.holder || (a.holder->pid == b.holder->pid && a.holder->started == b.holder->started &&
                         a.holder->nonce == b.holder->nonce && a.untilMs == b.untilMs);
}

void checkRoundTrip(std::string_view text) {
    const auto parsed = verif8::parseTable(text);
    if (!parsed)
        return;
    const auto& table = parsed->table;
    if (table.boot.empty()) {
        // Never written, or an older release's: nothing in it, and nothing the store writes
        // back (it names this boot in every table it renders).
        check(table.rows.empty() && parsed->generation == 0);
        return;
    }
    const std::string rendered = verif8::renderTable(table, parsed->generation);
    const auto again = verif8::parseTable(rendered);
    check(again.has_value());
    check(again->generation == parsed->generation && again->table.boot == table.boot);
    check(again->table.rows.size() == table.rows.size());
    for (std::size_t i = 0; i < table.rows.size(); ++i) {
        check(sameRow(again->table.rows[i], table.rows[i]));
        std::string line = verif8::renderRow(table.rows[i]);
        check(!line.empty() && line.back() == '\n');
        line.pop_back();
        const auto row = verif8::parseRow(line);
        check(row && sameRow(*row, table.rows[i]));
    }
    // The padding a shorter rewrite leaves after the end line reads as the same table.
    const auto padded = verif8::parseTable(rendered + "\n\n\n");
    check(padded && padded->table.rows.size() == table.rows.size());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    checkRoundTrip(text);
    checkRoundTrip(text + "end " + verif8::stateFileName(text) + "\n");
    return 0;
}
