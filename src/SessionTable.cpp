// SessionTable: the text of the table of phone numbers' sessions and claims, and its rows; a pure
// codec (no I/O), so that every byte of a copy read back is checked in one place.
#include "verif8/SessionTable.hpp"

#include <cinttypes>
#include <cstdio>

#include "verif8/StateDir.hpp"
#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
constexpr std::string_view kMagicPrefix = "verif8-pending ";
constexpr std::string_view kMagic = "verif8-pending 2 ";
constexpr std::string_view kEnd = "end ";
constexpr std::string_view kNone = "-";
constexpr std::size_t kRowFields = 14;

// Fields are separated by exactly one space: an empty field makes the line one renderRow never
// wrote.
std::vector<std::string_view> fieldsOf(std::string_view line) {
    return split(line, " ", EmptyFields::Keep);
}

std::string hex64(std::uint64_t value) {
    char text[17];
    snprintf(text, sizeof text, "%016" PRIx64, value);
    return text;
}

std::optional<std::uint64_t> parseHex64(std::string_view text) {
    if (text.size() != 16)
        return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text) {
        const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0)
            return std::nullopt;
        value = value * 16 + static_cast<std::uint64_t>(digit);
    }
    return value;
}

std::optional<std::int64_t> parseMs(std::string_view text) {
    return parseDecimal<std::int64_t>(text, 19);
}

// The session fields of a row (f[2] to f[9]), whether or not f[2] names a session; nullopt when
// a number or the channel is not one renderRow writes.
std::optional<PendingSession> parseSession(const std::vector<std::string_view>& f) {
    const auto channel = parseChannel(f[3]);
    const auto sends = parseDecimal<long>(f[4], 9);
    const auto lastSend = parseMs(f[5]);
    const auto expires = parseMs(f[6]);
    const auto attempt = parseDecimal<long>(f[7], 9);
    const auto apiExpires = parseDecimal<std::time_t>(f[8], 12);
    if (!channel || !sends || !lastSend || !expires || !attempt || !apiExpires)
        return std::nullopt;
    PendingSession session;
    session.sessionId = std::string(f[2]);
    session.channel = *channel;
    session.sends = static_cast<int>(*sends);
    session.lastSendMs = *lastSend;
    session.expiresMs = *expires;
    session.apiAttempt = static_cast<int>(*attempt);
    session.apiExpiresAt = *apiExpires;
    if (f[9] != kNone)
        session.loginStamp = std::string(f[9]);
    return session;
}

// The generation and boot of a header line's fields after the magic; nullopt if not one.
std::optional<ParsedTable> parseHeader(std::string_view fields) {
    const auto header = fieldsOf(fields);
    const auto generation =
        header.size() == 2 ? parseDecimal<std::uint64_t>(header[0], 19) : std::nullopt;
    // An empty boot is never written (renderTable would write a header that does not parse).
    if (!generation || header[1].empty() || hasControlOrSpace(header[1]))
        return std::nullopt;
    ParsedTable parsed;
    parsed.generation = *generation;
    parsed.table.boot = std::string(header[1]);
    return parsed;
}
}  // namespace

bool storable(std::string_view text) {
    if (text.empty() || text.size() > 256 || text == kNone)
        return false;
    for (unsigned char c : text) {
        if (c <= ' ' || c >= 0x7f)
            return false;
    }
    return true;
}

std::string renderRow(const SessionRow& row) {
    const PendingSession none;
    const PendingSession& s = row.session ? *row.session : none;
    const Holder nobody;
    const Holder& h = row.holder ? *row.holder : nobody;
    return "phone " + row.phoneStamp + " " + (row.session ? s.sessionId : std::string(kNone)) +
           " " + std::string(channelName(s.channel)) + " " + std::to_string(s.sends) + " " +
           std::to_string(s.lastSendMs) + " " + std::to_string(s.expiresMs) + " " +
           std::to_string(s.apiAttempt) + " " + std::to_string(s.apiExpiresAt) + " " +
           (row.session && !s.loginStamp.empty() ? s.loginStamp : std::string(kNone)) + " " +
           std::to_string(row.holder ? h.pid : 0) + " " + std::to_string(h.started) + " " +
           hex64(h.nonce) + " " + std::to_string(row.holder ? row.untilMs : 0) + "\n";
}

std::optional<SessionRow> parseRow(std::string_view line) {
    const auto f = fieldsOf(line);
    if (f.size() != kRowFields || f[0] != "phone" || f[1].size() != 16 || hasControlOrSpace(f[1]))
        return std::nullopt;
    const auto session = parseSession(f);
    const auto pid = parseDecimal<long>(f[10], 9);
    const auto started = parseDecimal<std::uint64_t>(f[11], 19);
    const auto nonce = parseHex64(f[12]);
    const auto until = parseMs(f[13]);
    if (!session || !pid || !started || !nonce || !until)
        return std::nullopt;
    SessionRow row;
    row.phoneStamp = std::string(f[1]);
    if (f[2] != kNone) {
        if (!storable(session->sessionId) || hasControlOrSpace(session->loginStamp))
            return std::nullopt;
        row.session = *session;
    }
    if (*pid != 0) {
        row.holder = Holder{static_cast<pid_t>(*pid), *started, *nonce};
        row.untilMs = *until;
    }
    return row;
}

std::string renderTable(const SessionTable& table, std::uint64_t generation) {
    std::string body = std::string(kMagic) + std::to_string(generation) + " " + table.boot + "\n";
    for (const SessionRow& row : table.rows)
        body += renderRow(row);
    return body + std::string(kEnd) + stateFileName(body) + "\n";
}

std::optional<ParsedTable> parseTable(std::string_view text) {
    if (text.empty())
        return ParsedTable{};
    const std::size_t endAt = text.rfind(std::string("\n") + std::string(kEnd));
    if (endAt == std::string_view::npos || text.substr(0, kMagicPrefix.size()) != kMagicPrefix)
        return std::nullopt;
    const std::string_view body = text.substr(0, endAt + 1);
    const std::string_view tail = text.substr(endAt + 1 + kEnd.size());
    const std::size_t newline = tail.find('\n');
    if (newline == std::string_view::npos ||
        tail.substr(0, newline) != stateFileName(std::string(body)) ||
        tail.substr(newline + 1).find_first_not_of('\n') != std::string_view::npos)
        return std::nullopt;
    if (text.substr(0, kMagic.size()) != kMagic)
        return ParsedTable{};
    const std::size_t headerEnd = body.find('\n');
    auto parsed = parseHeader(body.substr(kMagic.size(), headerEnd - kMagic.size()));
    bool valid = parsed.has_value();
    forEachLine(body.substr(headerEnd + 1), [&](std::string_view line) {
        auto row = valid ? parseRow(line) : std::nullopt;
        if (row)
            parsed->table.rows.push_back(std::move(*row));
        else
            valid = false;
    });
    if (!valid)
        return std::nullopt;
    return parsed;
}

}  // namespace verif8
