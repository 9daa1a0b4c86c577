// libFuzzer target: the users file. The input's first line is a user name to look up, the rest
// is the file. findEnrolment, parseEnrolments and parseEnrolmentLine must agree: a user found
// has a valid phone and at least one channel, and what parseEnrolments accepts is what a lookup
// of that user finds (or the lookup reports the user's bad or repeated line).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "verif8/Enrolment.hpp"

namespace {
void check(bool condition) {
    if (!condition)
        std::abort();
}

void checkEntry(const verif8::Enrolment& entry) {
    check(!entry.user.empty());
    check(verif8::isValidPhone(entry.phone));
    check(!entry.channels.empty());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t newline = input.find('\n');
    const std::string_view user = input.substr(0, newline);
    const std::string_view text =
        newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
    const auto defaultChannel = static_cast<verif8::Channel>(size % 4);

    const auto lookup = verif8::findEnrolment(text, user, defaultChannel, "fuzz.users");
    check((lookup.kind == verif8::EnrolmentLookup::Kind::Found) == lookup.entry.has_value());
    check(lookup.kind != verif8::EnrolmentLookup::Kind::Unavailable);
    if (lookup.entry) {
        checkEntry(*lookup.entry);
        check(lookup.entry->user == user);
        check(lookup.problems.empty());
    }

    const auto [entries, problems] = verif8::parseEnrolments(text, defaultChannel);
    for (const auto& problem : problems)
        check(problem.line > 0 && !problem.text.empty());
    std::size_t looked = 0;
    for (const auto& entry : entries) {
        checkEntry(entry);
        if (entry.user == user && lookup.entry) {
            check(entry.phone == lookup.entry->phone && entry.channels == lookup.entry->channels);
        }
        if (looked++ < 4) {
            const auto again =
                verif8::findEnrolment(text, entry.user, defaultChannel, "fuzz.users");
            if (again.entry)
                check(again.entry->phone == entry.phone && again.entry->channels == entry.channels);
            else
                check(!again.problems.empty());
        }
    }

    const auto line = verif8::parseEnrolmentLine(user, defaultChannel);
    if (line)
        checkEntry(line.value());
    else
        check(!line.problem().text.empty());
    return 0;
}
