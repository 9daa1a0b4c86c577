// SessionTable: the text of the table of phone numbers' sessions and claims, and its rows; a pure
// codec (no I/O), so that every byte of a copy read back is checked in one place.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "verif8/Channel.hpp"
#include "verif8/LoginIdentity.hpp"

namespace verif8 {

// The API keeps one pending session per phone number and hands it to any login that asks for
// that number (and assumes a finished one answers VERIFIED to any code). This is what this host
// last saw of the number's session, so that only one login uses it at a time.
struct PendingSession {
    std::string sessionId;
    Channel channel = Channel::Sms;
    int sends = 0;                 // by the login that last sent
    std::int64_t lastSendMs = 0;   // boot clock
    std::int64_t expiresMs = 0;    // boot clock: last send + code_validity
    int apiAttempt = 0;            // the API's count of wrong codes, as it last answered
    std::time_t apiExpiresAt = 0;  // the API's expiresAt, as it last answered (0: not given)
    std::string loginStamp;        // the login that sent it (loginStamp() of its key)
};

// A phone number's row: its session, its claim, or both.
struct SessionRow {
    std::string phoneStamp;  // the number's stateFileName(): the table never names it
    std::optional<PendingSession> session;
    std::optional<Holder> holder;
    std::int64_t untilMs = 0;  // boot clock: the holder's claim ends then
};

struct SessionTable {
    std::string boot;  // bootId() of the boot whose clock the times count on
    std::vector<SessionRow> rows;
};

struct ParsedTable {
    SessionTable table;
    std::uint64_t generation = 0;  // which of two copies is newer (TwoCopyFile)
};

// Whether `text` can be a field of a row: 1 to 256 printable ASCII characters, not "-". Session
// ids come from the API; one that could break a line or a field is not kept.
bool storable(std::string_view text);

// "phone STAMP ID CHANNEL SENDS LAST_SEND_MS EXPIRES_MS API_ATTEMPT API_EXPIRES_AT LOGIN PID
// STARTED NONCE UNTIL_MS\n": ID and LOGIN are "-" and the numbers 0 without a session, PID 0
// without a claim.
std::string renderRow(const SessionRow& row);
// A row as renderRow writes it (without its newline); nullopt for anything else.
std::optional<SessionRow> parseRow(std::string_view line);

// "verif8-pending 2 GENERATION BOOT\n", a line per row, then "end HASH\n" (the FNV-1a hash of
// all before it, as stateFileName() gives it).
std::string renderTable(const SessionTable& table, std::uint64_t generation);
// The table a copy holds; nullopt when it is not one renderTable wrote whole (every line is
// checked: a damaged copy yields nothing). Empty text, never written, is the empty table of
// generation 0; a whole table of another format (an older release's) holds nothing this one can
// use, and reads as empty too. Empty lines after the end line (TwoCopyFile's padding) are allowed.
std::optional<ParsedTable> parseTable(std::string_view text);

}  // namespace verif8
