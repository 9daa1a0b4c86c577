// GraceTable: the codec of a grace file; every field percent-encoded, so that a user or service
// name of any bytes stays one field on one line.
#include "verif8/GraceTable.hpp"

#include "verif8/TextUtil.hpp"

namespace verif8 {

namespace {
constexpr std::string_view kHeader = "verif8-grace 1";
constexpr std::string_view kUserTag = "user ";
constexpr std::string_view kEnd = "end";
constexpr char kHex[] = "0123456789ABCDEF";

bool keptAsIs(char c) {
    return isAsciiAlnum(c) || c == '.' || c == '_' || c == '-' || c == ':' || c == '@';
}

std::string encode(std::string_view field) {
    std::string out;
    for (const char c : field) {
        if (keptAsIs(c)) {
            out += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 0xF];
        }
    }
    return out;
}

int hexValue(char c) {
    for (int i = 0; i < 16; ++i) {
        if (kHex[i] == c)
            return i;
    }
    return -1;
}

// nullopt for an empty field, a bad escape or a byte that should have been escaped.
std::optional<std::string> decode(std::string_view field) {
    if (field.empty())
        return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (keptAsIs(field[i])) {
            out += field[i];
            continue;
        }
        if (field[i] != '%' || i + 2 >= field.size())
            return std::nullopt;
        const int high = hexValue(field[i + 1]);
        const int low = hexValue(field[i + 2]);
        if (high < 0 || low < 0)
            return std::nullopt;
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

std::optional<GraceRecord> parseRecord(std::string_view line) {
    const auto fields = split(line, " ", EmptyFields::Keep);
    if (fields.size() != 3)
        return std::nullopt;
    const auto at = parseDecimal<std::time_t>(fields[0], 12);
    auto service = decode(fields[1]);
    auto rhost = decode(fields[2]);
    if (!at || !service || !rhost)
        return std::nullopt;
    return GraceRecord{std::move(*service), std::move(*rhost), *at};
}
}  // namespace

std::string renderGraceTable(const GraceTable& table) {
    std::string text =
        std::string(kHeader) + "\n" + std::string(kUserTag) + encode(table.user) + "\n";
    for (const GraceRecord& record : table.records)
        text += std::to_string(record.verifiedAt) + " " + encode(record.service) + " " +
                encode(record.rhost) + "\n";
    return text + std::string(kEnd) + "\n";
}

std::optional<GraceTable> parseGraceTable(std::string_view text) {
    if (text.empty() || text.back() != '\n')
        return std::nullopt;
    std::vector<std::string_view> lines;
    forEachLine(text, [&](std::string_view line) { lines.push_back(line); });
    if (lines.size() < 3 || lines.front() != kHeader || lines.back() != kEnd ||
        lines[1].substr(0, kUserTag.size()) != kUserTag)
        return std::nullopt;
    GraceTable table;
    auto user = decode(lines[1].substr(kUserTag.size()));
    if (!user)
        return std::nullopt;
    table.user = std::move(*user);
    for (std::size_t i = 2; i + 1 < lines.size(); ++i) {
        auto record = parseRecord(lines[i]);
        if (!record)
            return std::nullopt;
        table.records.push_back(std::move(*record));
    }
    return table;
}

}  // namespace verif8
