// GraceTable: the text of one account's grace records (grace_period), as state_dir keeps them.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace verif8 {

// A verified code for the account, from `rhost` (a canonical IP literal) to `service`.
struct GraceRecord {
    std::string service;
    std::string rhost;
    std::time_t verifiedAt = 0;  // wall clock, seconds
};

struct GraceTable {
    std::string user;
    std::vector<GraceRecord> records;
};

// "verif8-grace 1", the user, one record a line, then "end" once, as the last line: a text cut
// short by a crash has no "end", and a text with an older one's tail after it has lines after
// its "end"; either is refused whole.
std::string renderGraceTable(const GraceTable& table);

// nullopt: not a whole grace table (damaged, another format, or empty).
std::optional<GraceTable> parseGraceTable(std::string_view text);

}  // namespace verif8
